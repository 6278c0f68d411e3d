"""The ``initsens`` command line (typer + rich).

User mistakes (:class:`~initsens.errors.InitsensError`) are printed as one red line on stderr with
exit status 2, never as a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from initsens.cli.analyze import analyze
from initsens.cli.check import check
from initsens.cli.data import app as data_app
from initsens.cli.help import Command, Group, described
from initsens.cli.models import list_models
from initsens.cli.presets import list_presets
from initsens.cli.reproduce import reproduce
from initsens.cli.train import TrainCommand, train
from initsens.errors import InitsensError
from initsens.version import __version__

app = typer.Typer(
    name="initsens",
    help="How sensitive is each VAE to its weight initialization on TCGA RNA-seq?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
)
app.add_typer(data_app, name="data")
for _name, _command in (
    ("train", train),
    ("analyze", analyze),
    ("check", check),
    ("models", list_models),
    ("presets", list_presets),
    ("reproduce", reproduce),
):
    app.command(
        _name, cls=TrainCommand if _command is train else Command, help=described(_command)
    )(_command)


def _version(value: bool) -> None:
    if value:
        print(f"initsens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """initsens: train VAEs under different initializers and measure how much it matters."""


def main() -> None:
    """Console-script entry point."""
    try:
        app(standalone_mode=True)
    except InitsensError as exc:
        from rich.markup import escape

        Console(stderr=True).print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
