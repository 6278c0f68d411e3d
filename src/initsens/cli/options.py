"""Command-line options shared by several commands (data source, labels, missing values)."""

from __future__ import annotations

from pathlib import Path

import typer

Data = typer.Option("tcga5", "--data", help="A dataset name (tcga5, tcga5-tumor, synthetic, xena-pancan) "
                    "or a matrix file "
                    "(CSV/TSV, optionally .gz, or Parquet; samples x genes or genes x samples).")
Labels = typer.Option(None, "--labels", help="Phenotype table whose first column holds sample ids.")
LabelColumn = typer.Option(None, "--label-column", help="Column holding the cancer type (found "
                           "automatically when it is 'cancer type abbreviation', 'cancer_type' or 'label').")
Orientation = typer.Option("auto", "--orientation", help="auto, samples-x-genes or genes-x-samples.")
ImputeOpt = typer.Option(None, "--impute", help="Fill missing/infinite values: mean (gene mean) or zero.")
DropMissingOpt = typer.Option(None, "--drop-missing", help="Drop every gene or sample with a missing "
                              "value: genes or samples.")
CacheDir = typer.Option(None, "--cache-dir", help="Where downloaded datasets are cached "
                        "(default: the user cache folder).")

OptionalPath = Path | None
OptionalStr = str | None
