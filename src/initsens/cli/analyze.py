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
    path: Path = typer.Argument(Path("results"), help="Results folder (as `initsens train --out` wrote it, "
                                "searched recursively for Parquet files) or one Parquet/CSV runs table."),
    report: Path = typer.Option(Path("reports/summary.md"), "--report", help="Markdown report to write; "
                                "figures/ and tables/ go beside it."),
    metric: str = typer.Option("val_loss", "--metric", help="Numeric column to analyze (e.g. val_nelbo, "
                               "val_recon_mse, ari)."),
    factor: str = typer.Option("initializer", "--factor", help="The column whose effect is measured (e.g. "
                               "optimizer in another tool's sweep)."),
    by: str = typer.Option(None, "--by", help="Comma-separated columns that define a cell (the whole cell "
                           "definition; the sensitivity ranking ranks the first within the others).",
                           show_default="model,depth (+ normalization, init_scope when they vary)"),
    replicate: str = typer.Option("seed", "--replicate", help="The column of replicate ids (any values)."),
    n_boot: int = typer.Option(2000, "--n-boot", help="Bootstrap resamples for omega^2 and P(better) CIs."),
    n_boot_icc: int = typer.Option(500, "--n-boot-icc", help="Parametric-bootstrap refits for the ICC's CI."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level (tests, post-hoc, Holm)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling."),
    higher_is_better: bool = typer.Option(None, "--higher-is-better/--lower-is-better",
                                          help="Direction of the metric.",
                                          show_default="higher for ari, accuracy, auc, f1, r2, ...; else lower"),
    log: bool = typer.Option(False, "--log", help="Analyze log10 of the metric (for losses spanning decades)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress display; print the report path only."),
) -> None:
    """Quantify how much the initializer matters (ANOVA, REML, mixed model, post-hoc) and write a report."""
    from initsens.analysis.design import Design
    from initsens.analysis.inputs import load_results
    from initsens.analysis.study import analyze as run_analysis
    from initsens.analysis.study import check_options, log_metric
    from initsens.report import write_report

    check_options(alpha, n_boot, n_boot_icc)  # before reading: a typo costs no wait
    design = Design.parse(factor, by, replicate)
    results = load_results(path, metric, design)
    if log:
        results.runs, metric = log_metric(results.runs, metric)
    for warning in results.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    command = "initsens " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with nullcontext() if quiet else console.status("reading results") as status:
        progress = None if status is None else (lambda s: status.update(f"analyzing: {s}"))
        analysis = run_analysis(results.runs, metric, results.epochs, n_boot, n_boot_icc, alpha, seed,
                                higher_is_better, on_step=progress, design=design)
        if status is not None:
            status.update("writing tables, figures and the report")
        written = write_report(analysis, results, report, command)
    if quiet:
        print(written.report)
        return
    console.print(f"{len(results.runs)} runs from {len(results.files)} file(s); "
                  f"{int(analysis.runs['failed'].sum())} failed run(s) left out of the fits.")
    for note in analysis.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(f"Report: [bold]{written.report}[/]  (figures: {len(written.figures)} PNG in "
                  f"{written.report.parent / 'figures'}, tables: {len(written.tables)} Parquet in "
                  f"{written.report.parent / 'tables'})")
