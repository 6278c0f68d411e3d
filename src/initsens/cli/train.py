"""``initsens train``: run the initialization sweep and write Parquet logs."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
from collections import Counter
from pathlib import Path
from typing import Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from initsens.settings import GRID, RUN, flag_and_help, shown, table

console = Console()


CLUSTER = "Cluster (Dask)"


def _option(f: dataclasses.Field) -> inspect.Parameter:
    """A setting's ``initsens train`` option, from its row of the settings table; None unless given, so presets and
    TOML files can supply the value.
    """
    annotation: Any = {"int": int, "float": float, "bool": bool}.get(str(f.type), str)
    flag, help = flag_and_help(f.name)
    return inspect.Parameter(
        f.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation | None,
        default=typer.Option(None, flag, help=help,
                             show_default=f"{'none' if f.default is None else shown(f.default)}, or the --config "
                                          "value",
                             rich_help_panel=f.metadata["panel"]))


def _aliases(
    init_scope: str | None = typer.Option(None, "--init-scope", help="Same as --init-scopes with one value.",
                                          show_default=False, rich_help_panel=GRID),
    repeats: int | None = typer.Option(None, "--repeats", help="Seeds 0..repeats-1 per combination (instead of "
                                       "--seeds).", show_default="10, or the --config value", rich_help_panel=GRID),
    model_set: list[str] | None = typer.Option(None, "--model-set", help="MODEL.KEY=VALUE: a setting for one model "
                                               "only, or a hyperparameter of a model of yours (repeatable; as a "
                                               "[model.MODEL] table in TOML), e.g. BetaVAE.beta=2.",
                                               show_default=False, rich_help_panel=GRID),
) -> None:
    """Options that name a setting another way (``repeats`` gives ``seeds``)."""


def _running(
    workers: int | None = typer.Option(None, "--workers", help="Train on a local Dask cluster of this many worker "
                                       "processes (needs initsens\\[dask]).", show_default="in-process",
                                       rich_help_panel=CLUSTER),
    threads_per_worker: int | None = typer.Option(None, "--threads-per-worker", help="Threads of each local "
                                                  "worker.", show_default="cores / workers",
                                                  rich_help_panel=CLUSTER),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler, e.g. "
                                         "tcp://10.1.2.3:8786.", show_default=False, rich_help_panel=CLUSTER),
    scheduler_file: Path | None = typer.Option(None, "--scheduler-file", help="Scheduler file written by "
                                               "dask-jobqueue or dask-mpi.", show_default=False,
                                               rich_help_panel=CLUSTER),
    connect_timeout: float = typer.Option(20.0, "--connect-timeout", help="Seconds to wait for the scheduler and "
                                          "a first worker before giving up.", rich_help_panel=CLUSTER),
    out: Path = typer.Option(Path("results"), "--out", help="Results folder.", rich_help_panel=RUN),
    config: str | None = typer.Option(None, "--config", help="A preset (initsens, eltager2023: see `initsens "
                                         "presets`) or a TOML file with the same keys (use _ for -); command-line "
                                         "values win.", show_default=False, rich_help_panel=RUN),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the data and --out, print the grid and every "
                                 "setting, train nothing.", rich_help_panel=RUN),
    force: bool = typer.Option(False, "--force", help="Retrain runs that are already recorded.", rich_help_panel=RUN),
    quarantine: bool = typer.Option(False, "--quarantine", help="Move part files that cannot be read aside (renamed "
                                    "*.corrupt) and retrain their runs, instead of stopping.", rich_help_panel=RUN),
    quiet: bool = typer.Option(False, "--quiet", help="No progress display; one summary line.", rich_help_panel=RUN),
) -> None:
    """Options of the run itself (where, how, what to show), not settings of the sweep."""


def train(**values: Any) -> None:
    """Train every model x initializer x depth x normalization x init scope x seed and log to Parquet."""
    from initsens.training.config import model_tables

    given = {key: values.pop(key) for key in [*SETTINGS, "init_scope", "repeats"]}
    tables = model_tables(values.pop("model_set") or [])
    cfg = build_config(values["config"], {key: value for key, value in given.items() if value is not None}
                       | ({"model": tables} if tables else {}))
    cluster = Cluster(values["workers"], values["threads_per_worker"], values["scheduler"], values["scheduler_file"],
                      values["connect_timeout"])
    summary = run_training(cfg, values["out"], force=values["force"], quiet=values["quiet"],
                           dry_run=values["dry_run"], cluster=cluster, quarantine=values["quarantine"])
    if summary is not None and summary.interrupted:
        raise typer.Exit(INTERRUPTED)  # after the summary: a script's `train && analyze` stops here


#: The exit status of a command stopped by Ctrl-C (the shell's 128 + SIGINT).
INTERRUPTED = 130


def _signature() -> inspect.Signature:
    """``train``'s options: one per setting of the table (its alias beside the setting it names), then the run's
    own options.
    """
    aliases = inspect.signature(_aliases, eval_str=True).parameters
    beside = {"init_scopes": "init_scope", "seeds": "repeats", "models": "model_set"}
    parameters = []
    for f in table():
        if f.metadata["cli"]:
            parameters.append(_option(f))
            if f.name in beside:
                parameters.append(aliases[beside[f.name]])
    parameters += inspect.signature(_running, eval_str=True).parameters.values()
    return inspect.Signature([p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters])


SETTINGS = [f.name for f in table() if f.metadata["cli"]]
train.__signature__ = _signature()  # type: ignore[attr-defined]


def build_config(config: str | None, given: dict[str, Any]):
    """The sweep's configuration: a preset or TOML file with the command line's values on top."""
    from initsens.training.config import SweepConfig

    return SweepConfig.load(config, given) if config else SweepConfig.from_mapping(given, "command line")


@dataclasses.dataclass(frozen=True)
class Cluster:
    """Where to train: in-process (nothing set), a local Dask cluster, or an existing one."""

    workers: int | None = None
    threads_per_worker: int | None = None
    scheduler: str | None = None
    scheduler_file: Path | None = None
    timeout: float = 20.0

    @property
    def remote(self) -> bool:
        """Whether the sweep trains on Dask (a local cluster or a running scheduler)."""
        return any(v is not None for v in (self.workers, self.scheduler, self.scheduler_file))


def run_training(cfg: Any, out: Path, force: bool = False, quiet: bool = False, dry_run: bool = False,
                 next_step: str | None = None, cluster: Cluster = Cluster(), quarantine: bool = False) -> Any:
    """Check, then train (or with ``dry_run`` only check and print) one sweep; returns its summary."""
    from initsens.training.sweep import plan_sweep, run_sweep

    if cluster.threads_per_worker is not None and cluster.workers is None:
        from initsens.errors import InitsensError

        raise InitsensError("--threads-per-worker applies to --workers (a local cluster)")
    local = not cluster.remote
    if quiet or dry_run:
        plan = plan_sweep(cfg, out, force, dry_run=dry_run, local_device=local, quarantine=quarantine)
    else:
        with console.status(f"Loading {cfg.data} and checking {out}/ ..."):
            plan = plan_sweep(cfg, out, force, local_device=local, quarantine=quarantine)
    for note in plan.notes:
        console.print(note)
    if dry_run:
        print_plan(plan)
        return None
    with contextlib.ExitStack() as stack:
        if local:
            train = functools.partial(run_sweep, plan)
        else:
            from initsens.training.distributed import connect, run_sweep_distributed

            with contextlib.nullcontext() if quiet else console.status("Connecting to the Dask cluster ..."):
                client = stack.enter_context(connect(cluster.workers, cluster.threads_per_worker, cluster.scheduler,
                                                     cluster.scheduler_file, cluster.timeout))
            if not quiet:
                console.print(f"Dask: {len(client.scheduler_info()['workers'])} worker(s) at "
                              f"{client.scheduler.address}")
            train = functools.partial(run_sweep_distributed, plan, client)
        if quiet:
            summary = train()
        else:
            with RichObserver() as observer:
                summary = train(observer)
    report_summary(summary, quiet, next_step)
    return summary


def print_plan(plan: Any) -> None:
    """The grid, every setting (with per-model values and where each came from) and what a run would do."""
    from initsens.training.presets import PRESETS

    cfg = plan.config
    table = Table(title="Sweep grid", show_header=False)
    for label, values in (("models", cfg.models), ("initializers", cfg.inits), ("depths", cfg.depths),
                          ("normalizations", cfg.normalizations), ("init scopes", cfg.init_scopes),
                          ("seeds", cfg.seeds)):
        table.add_row(label, ", ".join(map(str, values)), str(len(values)))
    console.print(table)
    notes = PRESETS.get(cfg.preset).notes if cfg.preset else {}
    settings = Table(title=f"Settings ({'preset ' + cfg.preset if cfg.preset else 'initsens defaults'}; "
                           "command-line values win)")
    for column in ("setting", "value", "per model", "why" if notes else ""):
        if column:
            settings.add_column(column, overflow="fold")
    for key, value, per_model in cfg.settings():
        own = "; ".join(f"{m}: {v}" for m, v in per_model.items())
        settings.add_row(key, shown(value), own, *([notes.get(key, "")] if notes else []))
    console.print(settings)
    console.print(f"{plan.total} runs on {plan.dataset.name} ({plan.dataset.n_samples} samples x "
                  f"{plan.dataset.n_genes} genes), up to {cfg.epochs} epochs each; {plan.total - len(plan.todo)} "
                  f"already recorded in {plan.store.root}/ are skipped, {len(plan.todo)} to train.")


class RichObserver:
    """Live display: a bar for the grid (runs done / total, elapsed, time left from the work done: see
    :class:`~initsens.training.eta.Eta`) and a line for the current run.
    """

    def __init__(self, clock: Any = None) -> None:
        from initsens.training.eta import Eta

        self.eta = Eta() if clock is None else Eta(clock=clock)

    def __enter__(self):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[eta]}"))
        self.grid = self.progress.add_task("runs", total=None, eta=self.eta.shown())
        self.line = Text()
        self.live = Live(Group(self.progress, self.line), console=console, refresh_per_second=4)
        self.live.__enter__()
        return self

    def __exit__(self, *exc):
        self.line.plain = ""
        self.live.__exit__(*exc)

    def start(self, total: int, todo: int) -> None:
        """A sweep begins: the bar counts the runs to train."""
        self.progress.reset(self.grid, total=todo)  # one display may follow several sweeps (reproduce's studies)
        self.eta.start(todo)
        self.progress.update(self.grid, eta=self.eta.shown())
        if total > todo:
            console.print(f"{total - todo} of {total} runs are already recorded and are skipped (--force retrains).")

    def chunk_start(self, specs) -> None:
        """An ensemble (one architecture group) begins."""
        self.label = f"{specs[0].model} depth {specs[0].depth} {specs[0].normalization}"
        self.line.plain = f"{self.label}: starting {len(specs)} run(s)"
        self.eta.chunk_start(len(specs))

    def epoch(self, specs, epoch: int, best: float) -> None:
        """Show the current epoch and the best validation loss so far."""
        runs = f"{specs[0].initializer} seed {specs[0].seed}" if len(specs) == 1 else f"{len(specs)} runs active"
        self.line.plain = (f"{self.label}, {runs}: epoch {epoch}/{specs[0].config.epochs}, "
                           f"best val loss {best:.5g}")
        self.progress.update(self.grid, eta=self.eta.shown())

    def run_done(self, spec, result, error) -> None:
        """Advance the bar; name a failed run and its error."""
        self.eta.run_done()
        self.progress.update(self.grid, advance=1, eta=self.eta.shown())
        if error:
            console.print(f"[yellow]run failed[/] {spec.model} {spec.initializer} depth {spec.depth} "
                          f"seed {spec.seed}: {error}")


def report_summary(summary: Any, quiet: bool, next_step: str | None = None) -> None:
    """Print a sweep's summary: statuses per model and initializer, then one line (that line alone if ``quiet``)."""
    statuses: Counter[str] = Counter()
    for (_, _, status), n in summary.counts.items():
        statuses[status] += n
    line = (f"{summary.trained} runs trained ({', '.join(f'{n} {s}' for s, n in statuses.items()) or 'none'}), "
            f"{summary.skipped} already recorded, {summary.wall_seconds:.0f} s; results in {summary.out}/")
    if summary.capped:
        line += f"; {summary.capped} run(s) reached --epochs still improving (not converged)"
    if summary.interrupted:
        lost = (f"; {summary.lost} run(s) of the ensemble in progress were lost (trained in part, not saved)"
                if summary.lost else "")
        line = f"interrupted: {line}{lost}; run the same command again to continue"
    if quiet:
        print(line)
        return
    from initsens.schema import STATUSES

    if summary.counts:
        table = Table(title="Runs trained")
        for column in ("model", "initializer", *STATUSES):
            table.add_column(column, justify="left" if column in ("model", "initializer") else "right")
        pairs = dict.fromkeys((m, i) for m, i, _ in summary.counts)
        for model, init in pairs:
            table.add_row(model, init, *(str(summary.counts[(model, init, s)]) for s in STATUSES))
        console.print(table)
    console.print(line)
    if next_step is None and not summary.interrupted:
        console.print(f"Read them with pandas: pd.read_parquet('{summary.out}/runs') and "
                      f"pd.read_parquet('{summary.out}/epochs')")
        console.print(f"Next: [bold]initsens analyze {summary.out} --report reports/summary.md[/]")
