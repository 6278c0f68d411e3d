"""Command-line options shared by several commands (data source, labels, missing values): each flag
and its help text come from the settings table (:mod:`initsens.settings`), as (flag, help) pairs
that commands turn into options with their own defaults.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import typer

from initsens.settings import default, flag_and_help, kind

DATA = flag_and_help("data")
LABELS = flag_and_help("labels")
LABEL_COLUMN = flag_and_help("label_column")
LAYER = flag_and_help("layer")
GENE_COLUMN = flag_and_help("gene_column")
ORIENTATION = flag_and_help("orientation")
IMPUTE = flag_and_help("impute")
DROP_MISSING = flag_and_help("drop_missing")
TRANSFORM = flag_and_help("transform")
GENE_SELECTION = flag_and_help("gene_selection")

Data = typer.Option(default("data"), DATA[0], help=DATA[1])
Labels = typer.Option(None, LABELS[0], help=LABELS[1])
LabelColumn = typer.Option(None, LABEL_COLUMN[0], help=LABEL_COLUMN[1])
Layer = typer.Option(None, LAYER[0], help=LAYER[1])
GeneColumn = typer.Option(None, GENE_COLUMN[0], help=GENE_COLUMN[1])
Orientation = typer.Option(default("orientation"), ORIENTATION[0], help=ORIENTATION[1])
ImputeOpt = typer.Option(None, IMPUTE[0], help=IMPUTE[1])
DropMissingOpt = typer.Option(None, DROP_MISSING[0], help=DROP_MISSING[1])
Transform = typer.Option(default("transform"), TRANSFORM[0], help=TRANSFORM[1])
GeneSelection = typer.Option(default("gene_selection"), GENE_SELECTION[0], help=GENE_SELECTION[1])
CacheDir = typer.Option(
    None,
    "--cache-dir",
    help="Where downloaded datasets are cached (default: the user cache folder).",
)


def setting_option(name: str, *, shown_default: str, panel: str) -> inspect.Parameter:
    """A setting's option, None unless given (so presets and TOML files can supply the value): its
    flag, help and type from the settings table, its ``--help`` panel and shown default from the
    command.
    """
    flag, help_text = flag_and_help(name)
    annotation = kind(name) if kind(name) in (int, float, bool) else str
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=annotation | None,
        default=typer.Option(
            None, flag, help=help_text, show_default=shown_default, rich_help_panel=panel
        ),
    )


OptionalPath = Path | None
OptionalStr = str | None
