"""``initsens train``: run the initialization sweep and write Parquet logs."""

from __future__ import annotations

import dataclasses
import inspect
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer

from initsens.cli.display import INTERRUPTED, RichObserver, console, print_plan, report_summary
from initsens.cli.help import Command
from initsens.cli.options import setting_option
from initsens.settings import ALIASES, GRID, MODEL, RUN, flag_and_help, option, shown, table

CLUSTER = "Cluster (Dask)"
#: Where :class:`TrainCommand` hands the model hyperparameters given to :func:`train` (the context's
#: ``meta``).
HYPERPARAMETERS = "initsens.train.hyperparameters"


def _shown_default(f: dataclasses.Field) -> str:
    """A setting's default as ``--help`` shows it: a flag's name (``keep-last``), a list with spaces
    (it wraps), or none.
    """
    if isinstance(f.default, bool) and "/" in option(f):
        return option(f).split("/")[0 if f.default else 1].removeprefix("--")
    if isinstance(f.default, tuple):
        return ", ".join(map(str, f.default)) + ";" if f.default else "none"
    return "none" if f.default is None else shown(f.default)


def _option(f: dataclasses.Field) -> inspect.Parameter:
    """A setting's ``initsens train`` option, from its row of the settings table."""
    return setting_option(
        f.name,
        shown_default=f"{_shown_default(f)} or the --config value",
        panel=f.metadata["panel"],
    )


def _hyperparameter_options() -> dict[str, Any]:
    """An option for each hyperparameter initsens's models declare (``--iwae-k``: flag, type, help
    and default from the declaration), None unless given, in the model panel.
    """
    from initsens.models import declared_hyperparameters

    parameters = [
        inspect.Parameter(
            h.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=(h.kind if h.kind in (int, float, bool) else str) | None,
            default=typer.Option(
                None,
                "--" + h.name.replace("_", "-"),
                help=h.help.replace("[", "\\["),
                rich_help_panel=MODEL,
                show_default=f"{shown(h.default)} or the --config value",
            ),
        )
        for h in declared_hyperparameters(own=True).values()
    ]

    def options(**values: Any) -> None:
        """The models' hyperparameters (typer builds the options of a signature)."""

    options.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    built = typer.Typer(add_completion=False)
    built.command()(options)
    return {param.name or "": param for param in typer.main.get_command(built).params}


class TrainCommand(Command):
    """``initsens train``, whose model hyperparameter options join the settings' (closing the model
    panel) when it is parsed or its help shown: they come from the model classes, whose import
    imports torch, which ``initsens --help`` and the other commands do without. Their values reach
    :func:`train` as ``ctx.meta[HYPERPARAMETERS]``.
    """

    hyperparameters: dict[str, Any] | None = None

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, the models' hyperparameters added on the first call."""
        if self.hyperparameters is None:
            self.hyperparameters = _hyperparameter_options()
            panel = [
                i for i, p in enumerate(self.params) if getattr(p, "rich_help_panel", None) == MODEL
            ]
            self.params[panel[-1] + 1 : panel[-1] + 1] = self.hyperparameters.values()
        return super().get_params(ctx)

    def invoke(self, ctx: Any) -> Any:
        """Run :func:`train`, the hyperparameters given handed over apart (its signature is the
        settings').
        """
        ctx.meta[HYPERPARAMETERS] = {
            name: value
            for name in self.hyperparameters or {}
            if (value := ctx.params.pop(name, None)) is not None
        }
        return super().invoke(ctx)


def _alias(column: str, name: str) -> inspect.Parameter:
    """The option a factor's column gives it: ``--init-scope`` for ``--init-scopes`` with one
    value.
    """
    flag = "--" + column.replace("_", "-")
    return inspect.Parameter(
        column,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=str | None,
        default=typer.Option(
            None,
            flag,
            help=f"Same as {flag_and_help(name)[0]} with one value.",
            show_default=False,
            rich_help_panel=GRID,
        ),
    )


def _aliases(
    repeats: int | None = typer.Option(
        None,
        "--repeats",
        help="Seeds 0..repeats-1 per combination (instead of --seeds).",
        show_default="10 or the --config value",
        rich_help_panel=GRID,
    ),
    model_set: list[str] | None = typer.Option(
        None,
        "--model-set",
        help="MODEL.KEY=VALUE: a setting for one model "
        "only, or a hyperparameter of a model of yours (repeatable; as a "
        "\\[model.MODEL] table in TOML), e.g. BetaVAE.beta=2.",
        show_default=False,
        rich_help_panel=GRID,
    ),
) -> None:
    """Options that name a setting another way (``repeats`` gives ``seeds``; a factor's
    :data:`ALIASES` are added beside it).
    """


def _running(
    workers: int | None = typer.Option(
        None,
        "--workers",
        help="Train on a local Dask cluster of this many worker "
        "processes (needs initsens\\[dask]).",
        show_default="in-process",
        rich_help_panel=CLUSTER,
    ),
    threads_per_worker: int | None = typer.Option(
        None,
        "--threads-per-worker",
        help="Threads of each local worker.",
        show_default="cores / workers",
        rich_help_panel=CLUSTER,
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Address of a running Dask scheduler, e.g. tcp://10.1.2.3:8786.",
        show_default=False,
        rich_help_panel=CLUSTER,
    ),
    scheduler_file: Path | None = typer.Option(
        None,
        "--scheduler-file",
        help="Scheduler file written by dask-jobqueue or dask-mpi.",
        show_default=False,
        rich_help_panel=CLUSTER,
    ),
    connect_timeout: float = typer.Option(
        20.0,
        "--connect-timeout",
        help="Seconds to wait for the scheduler and a first worker before giving up.",
        rich_help_panel=CLUSTER,
    ),
    out: Path = typer.Option(Path("results"), "--out", help="Results folder.", rich_help_panel=RUN),
    config: str | None = typer.Option(
        None,
        "--config",
        help="A preset (initsens, eltager2023: see `initsens "
        "presets`) or a TOML file with the same keys (use _ for -); command-line "
        "values win.",
        show_default=False,
        rich_help_panel=RUN,
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Check the data and --out, print the grid and every setting, train nothing.",
        rich_help_panel=RUN,
    ),
    force: bool = typer.Option(
        False, "--force", help="Retrain runs that are already recorded.", rich_help_panel=RUN
    ),
    quarantine: bool = typer.Option(
        False,
        "--quarantine",
        help="Set part files that cannot be read aside "
        "(in <out>/set-aside/) and retrain their runs, instead of stopping.",
        rich_help_panel=RUN,
    ),
    quiet: bool = typer.Option(
        False, "--quiet", help="No progress display; one summary line.", rich_help_panel=RUN
    ),
) -> None:
    """Options of the run itself (where, how, what to show), not settings of the sweep."""


def train(**values: Any) -> None:
    """Train every model x initializer x depth x normalization x init scope x seed and log to
    Parquet.
    """
    from initsens.api import train as run_training
    from initsens.training import SweepConfig
    from initsens.training.distributed import Cluster
    from initsens.training.values import model_tables

    given = {key: values.pop(key) for key in [*SETTINGS, *ALIASES, "repeats"]}
    given |= values.pop("ctx").meta.get(HYPERPARAMETERS, {})
    tables = model_tables(values.pop("model_set") or [])
    cfg = SweepConfig.resolve(
        values["config"],
        {key: value for key, value in given.items() if value is not None}
        | ({"model": tables} if tables else {}),
        "command line",
    )
    cluster = Cluster(
        values["workers"],
        values["threads_per_worker"],
        values["scheduler"],
        values["scheduler_file"],
        values["connect_timeout"],
    )
    quiet, dry_run, out = values["quiet"], values["dry_run"], values["out"]
    spinner = (
        None if quiet or dry_run else console.status(f"Loading {cfg.data} and checking {out}/ ...")
    )

    def on_plan(plan: Any) -> None:
        if spinner is not None:
            spinner.stop()
        for note in plan.notes:
            console.print(note)
        if dry_run:
            print_plan(plan)
        elif cluster.remote and not quiet:
            console.print("Connecting to the Dask cluster ...")

    def on_trained(summary: Any) -> None:
        if observer is not None:
            observer.stop()
        report_summary(summary, quiet)

    if spinner is not None:
        spinner.start()
    try:
        with nullcontext() if quiet or dry_run else RichObserver() as observer:
            run_training(
                cfg,
                out,
                force=values["force"],
                quarantine=values["quarantine"],
                dry_run=dry_run,
                cluster=cluster,
                observer=observer,
                on_plan=on_plan,
                on_connect=None if quiet else console.print,
                on_trained=on_trained,
            )
    except (
        KeyboardInterrupt
    ):  # the summary said what is saved; a script's `train && analyze` stops here
        raise typer.Exit(INTERRUPTED) from None
    finally:
        if spinner is not None:
            spinner.stop()


def _signature() -> inspect.Signature:
    """``train``'s options: one per setting of the table (its alias beside the setting it names),
    then the run's own options.
    """
    aliases = inspect.signature(_aliases, eval_str=True).parameters
    beside = {"seeds": [aliases["repeats"]], "models": [aliases["model_set"]]}
    for column, name in ALIASES.items():
        beside.setdefault(name, []).append(_alias(column, name))
    parameters = []
    for f in table():
        if f.metadata["cli"]:
            parameters += [_option(f), *beside.get(f.name, [])]
    parameters += inspect.signature(_running, eval_str=True).parameters.values()
    parameters.append(
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
    )
    return inspect.Signature([p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters])


SETTINGS = [f.name for f in table() if f.metadata["cli"]]
train.__signature__ = _signature()  # type: ignore[attr-defined]
