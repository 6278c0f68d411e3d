"""Command-line options shared by several commands (data source, labels, missing values): each flag and its
help text once, as (flag, help) pairs that commands turn into options with their own defaults."""

from __future__ import annotations

from pathlib import Path

import typer

DATA = ("--data", "A dataset name (tcga5, tcga5-tumor, synthetic, xena-pancan), a matrix file (CSV/TSV, "
                  "optionally .gz, or Parquet; samples x genes or genes x samples) or an AnnData .h5ad file.")
LABELS = ("--labels", "Phenotype table whose first column holds sample ids.")
LABEL_COLUMN = ("--label-column", "Column (an obs column for .h5ad) holding the cancer type (found "
                                  "automatically when it is 'cancer type abbreviation', 'cancer_type', 'label' or "
                                  "'cell_type').")
LAYER = ("--layer", "For .h5ad: read this layer (e.g. counts) instead of X.")
GENE_COLUMN = ("--gene-column", "For .h5ad: the var column holding gene ids (default: var_names).")
IMPUTE = ("--impute", "Fill missing/infinite values: mean (gene mean) or zero.")
DROP_MISSING = ("--drop-missing", "Drop every gene or sample with a missing value: genes or samples.")
TRANSFORM = ("--transform", "Per-sample transform before gene selection: auto, none, log2p1, log2cpm "
                            "(auto: log2cpm for raw counts).")

Data = typer.Option("tcga5", DATA[0], help=DATA[1])
Labels = typer.Option(None, LABELS[0], help=LABELS[1])
LabelColumn = typer.Option(None, LABEL_COLUMN[0], help=LABEL_COLUMN[1])
Layer = typer.Option(None, LAYER[0], help=LAYER[1])
GeneColumn = typer.Option(None, GENE_COLUMN[0], help=GENE_COLUMN[1])
ORIENTATION = ("--orientation", "Matrix orientation: auto, samples-x-genes or genes-x-samples.")
Orientation = typer.Option("auto", ORIENTATION[0], help=ORIENTATION[1])
ImputeOpt = typer.Option(None, IMPUTE[0], help=IMPUTE[1])
DropMissingOpt = typer.Option(None, DROP_MISSING[0], help=DROP_MISSING[1])
Transform = typer.Option("auto", TRANSFORM[0], help=TRANSFORM[1])
CacheDir = typer.Option(None, "--cache-dir", help="Where downloaded datasets are cached "
                        "(default: the user cache folder).")

OptionalPath = Path | None
OptionalStr = str | None
