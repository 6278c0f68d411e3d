"""``initsens analyze``: statistics on a results folder, written up as a Markdown report."""

from __future__ import annotations

import shlex
import sys
from contextlib import nullcontext
from pathlib import Path

import typer
from rich.console import Console

console = Console()


def analyze(
    path: Path = typer.Argument(
        Path("results"),
        help="Results folder (as `initsens train --out` wrote it, "
        "searched recursively for Parquet files) or one Parquet/CSV runs table.",
    ),
    report: Path = typer.Option(
        Path("reports/summary.md"),
        "--report",
        help="Markdown report to write; figures/ and tables/ go beside it.",
    ),
    metric: str = typer.Option(
        "val_loss",
        "--metric",
        help="Numeric column to analyze (e.g. val_nelbo, val_recon_mse, ari).",
    ),
    factor: str = typer.Option(
        "initializer",
        "--factor",
        help="The column whose effect is measured (e.g. optimizer in another tool's sweep).",
    ),
    by: str = typer.Option(
        None,
        "--by",
        help="Comma-separated columns that define a cell (the whole cell "
        "definition; the sensitivity ranking ranks the first within the others).",
        show_default="model,depth (+ normalization, init_scope when they vary)",
    ),
    replicate: str = typer.Option(
        "seed", "--replicate", help="The column of replicate ids (any values)."
    ),
    n_boot: int = typer.Option(
        2000, "--n-boot", help="Bootstrap resamples for omega^2 and P(better) CIs."
    ),
    n_boot_icc: int = typer.Option(
        500, "--n-boot-icc", help="Parametric-bootstrap refits for the ICC's CI."
    ),
    alpha: float = typer.Option(
        0.05, "--alpha", help="Significance level (tests, post-hoc, Holm)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling."),
    higher_is_better: bool = typer.Option(
        None,
        "--higher-is-better/--lower-is-better",
        help="Direction of the metric.",
        show_default="higher for ari, accuracy, auc, f1, r2, ...; else lower",
    ),
    log: bool = typer.Option(
        False, "--log", help="Analyze log10 of the metric (for losses spanning decades)."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", help="No progress display; print the report path only."
    ),
) -> None:
    """Quantify how much the initializer matters (ANOVA, REML, mixed model, post-hoc) and write a
    report.
    """
    from initsens.api import analyze as run_analysis

    read: list = []
    written: list = []

    def on_loaded(results) -> None:
        read.append(results)
        for warning in results.warnings:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)

    command = "initsens " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with nullcontext() if quiet else console.status("reading results") as status:
        progress = None if status is None else (lambda s: status.update(f"analyzing: {s}"))
        analysis = run_analysis(
            path,
            metric,
            report=report,
            factor=factor,
            by=by,
            replicate=replicate,
            n_boot=n_boot,
            n_boot_icc=n_boot_icc,
            alpha=alpha,
            seed=seed,
            higher_is_better=higher_is_better,
            log=log,
            on_step=progress,
            on_loaded=on_loaded,
            on_written=written.append,
            command=command,
        )
    if quiet:
        print(written[0].report)
        return
    console.print(
        f"{len(read[0].runs)} runs from {len(read[0].files)} file(s); "
        f"{int(analysis.runs['failed'].sum())} failed run(s) left out of the fits."
    )
    for note in analysis.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    report_path = written[0].report
    console.print(
        f"Report: [bold]{report_path}[/]  (figures: {len(written[0].figures)} PNG in "
        f"{report_path.parent / 'figures'}, tables: {len(written[0].tables)} Parquet in "
        f"{report_path.parent / 'tables'})"
    )
