"""What the commands show while they work: the sweep's live progress, its summary and its plan
(rich).
"""

from __future__ import annotations

import shlex
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from initsens.settings import FACTORS, shown

console = Console()
#: The exit status of a command stopped by Ctrl-C (the shell's 128 + SIGINT).
INTERRUPTED = 130


def print_plan(plan: Any) -> None:
    """The grid, every setting (with per-model values and where each came from) and what a run would
    do.
    """
    from initsens.training.presets import PRESETS

    cfg = plan.config
    table = Table(title="Sweep grid", show_header=False)
    for name, factor in FACTORS:
        values = getattr(cfg, name)
        table.add_row(
            factor.column.replace("_", " ") + "s", ", ".join(map(str, values)), str(len(values))
        )
    console.print(table)
    notes = PRESETS.get(cfg.preset).notes if cfg.preset else {}
    settings = Table(
        title=f"Settings ({'preset ' + cfg.preset if cfg.preset else 'initsens defaults'}; "
        "command-line values win)"
    )
    for column in ("setting", "value", "per model", "why" if notes else ""):
        if column:
            settings.add_column(column, overflow="fold")
    for key, value, per_model in cfg.settings():
        per_model_values = "; ".join(f"{m}: {v}" for m, v in per_model.items())
        settings.add_row(
            key, shown(value), per_model_values, *([notes.get(key, "")] if notes else [])
        )
    console.print(settings)
    console.print(
        f"{plan.total} runs on {plan.dataset.name} ({plan.dataset.n_samples} samples x "
        f"{plan.dataset.n_genes} genes), up to {cfg.epochs} epochs each; "
        f"{plan.total - len(plan.todo)} already recorded in {plan.store.root}/ are skipped, "
        f"{len(plan.todo)} to train."
    )


class RichObserver:
    """Live display: a bar for the grid (runs done / total, elapsed, time left from the work done:
    see :class:`~initsens.training.eta.Eta`) and a line for the current run.
    """

    def __init__(self, clock: Any = None) -> None:
        from initsens.training.eta import Eta

        self.eta = Eta() if clock is None else Eta(clock=clock)

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
        )
        self.grid = self.progress.add_task("runs", total=None, eta=self.eta.shown())
        self.line = Text()
        self.live: Live | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        """End the live display (a sweep's summary prints below it); the next sweep starts it
        again.
        """
        if self.live is not None:
            self.line.plain = ""
            self.live.stop()
            self.live = None

    def start(self, total: int, todo: int) -> None:
        """A sweep begins: the display starts (not before: a spinner may run while the data load)
        and the bar counts the runs to train.
        """
        if self.live is None:
            self.live = Live(Group(self.progress, self.line), console=console, refresh_per_second=4)
            self.live.start()
        self.progress.reset(
            self.grid, total=todo
        )  # one display may follow several sweeps (reproduce's studies)
        self.eta.start(todo)
        self.progress.update(self.grid, eta=self.eta.shown())
        if total > todo:
            console.print(
                f"{total - todo} of {total} runs are already recorded and are skipped (--force "
                "retrains)."
            )

    def planned(self, chunks, sizes) -> None:
        """The ensembles to train and each group's size: the time left charges each group at its own
        rate, a model's other groups at that model's rate per parameter.
        """
        runs = Counter(spec.group_key() for chunk in chunks for spec in chunk)
        models = {spec.group_key(): spec.model for chunk in chunks for spec in chunk}
        self.eta.plan({group: (n, sizes.get(group, 1.0)) for group, n in runs.items()}, models)

    def chunk_start(self, specs) -> None:
        """An ensemble (one architecture group) begins."""
        self.label = f"{specs[0].model} depth {specs[0].depth} {specs[0].normalization}"
        self.line.plain = f"{self.label}: starting {len(specs)} run(s)"
        self.eta.chunk_start(len(specs), specs[0].group_key())

    def epoch(self, specs, epoch: int, best: float) -> None:
        """Show the current epoch and the best validation loss so far."""
        runs = (
            f"{specs[0].initializer} seed {specs[0].seed}"
            if len(specs) == 1
            else f"{len(specs)} runs active"
        )
        self.line.plain = (
            f"{self.label}, {runs}: epoch {epoch}/{specs[0].config.epochs}, "
            f"best val loss {best:.5g}"
        )
        self.progress.update(self.grid, eta=self.eta.shown())

    def run_done(self, spec, result, error) -> None:
        """Advance the bar; name a failed run and its error."""
        self.eta.run_done()
        self.progress.update(self.grid, advance=1, eta=self.eta.shown())
        if error:
            console.print(
                f"[yellow]run failed[/] {spec.model} {spec.initializer} depth {spec.depth} "
                f"seed {spec.seed}: {error}"
            )


def next_command(out: Path) -> str:
    """``initsens analyze OUT --report REPORT`` for runs written to ``out``: ``results[/x]`` reports
    in ``reports[/x]/summary.md`` (README's layout); any other folder in ``OUT-report/summary.md``
    beside it, never inside it (analyze reads every Parquet file under OUT, and the report's tables
    are Parquet files).
    """
    parts = out.parts
    if "results" in parts:
        at = parts.index("results")
        report = Path(*parts[:at], "reports", *parts[at + 1 :], "summary.md")
    else:
        report = out.with_name(f"{out.name}-report") / "summary.md"
    return f"initsens analyze {shlex.quote(str(out))} --report {shlex.quote(str(report))}"


def report_summary(summary: Any, quiet: bool, next_step: str | None = None) -> None:
    """Print a sweep's summary: statuses per model and initializer, then one line (that line alone
    if ``quiet``).
    """
    statuses: Counter[str] = Counter()
    for (_, _, status), n in summary.counts.items():
        statuses[status] += n
    line = (
        f"{summary.trained} runs trained "
        f"({', '.join(f'{n} {s}' for s, n in statuses.items()) or 'none'}), {summary.skipped} "
        f"already recorded, {summary.wall_seconds:.0f} s; results in {summary.out}/"
    )
    if summary.capped:
        line += f"; {summary.capped} run(s) reached --epochs still improving (not converged)"
    if summary.interrupted:
        lost = (
            f"; {summary.lost} run(s) of the ensemble in progress were lost (trained in part, not "
            "saved)"
            if summary.lost
            else ""
        )
        line = f"interrupted: {line}{lost}; run the same command again to continue"
    if quiet:
        print(line)
        return
    from initsens.results.schema import STATUSES

    if summary.counts:
        table = Table(title="Runs trained")
        for column in ("model", "initializer", *STATUSES):
            table.add_column(
                column, justify="left" if column in ("model", "initializer") else "right"
            )
        pairs = dict.fromkeys((m, i) for m, i, _ in summary.counts)
        for model, init in pairs:
            table.add_row(model, init, *(str(summary.counts[(model, init, s)]) for s in STATUSES))
        console.print(table)
    console.print(line)
    if next_step is None and not summary.interrupted:
        console.print(
            f"Read them with pandas: pd.read_parquet('{summary.out}/runs') and "
            f"pd.read_parquet('{summary.out}/epochs')"
        )
        console.print(f"Next: [bold]{escape(next_command(Path(summary.out)))}[/]")
