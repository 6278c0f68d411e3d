"""``initsens train``: run the initialization sweep and write Parquet logs."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import tomllib
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from initsens.cli import options

console = Console()


@functools.cache
def _defaults() -> dict[str, Any]:
    """The defaults, read from the ``initsens`` preset file (equal to SweepConfig's defaults, a test checks it)
    rather than from SweepConfig, whose import pulls in torch and would make ``--help`` slow."""
    return tomllib.loads((resources.files("initsens") / "presets" / "initsens.toml").read_text())


def _default(key: str) -> str:
    """The built-in default of a configuration key, as shown in --help."""
    value = _defaults().get(key, "none")
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _opt(flag: str, help: str, key: str | None = None, panel: str = "Training"):
    """An option that is None unless given, so presets and TOML files can supply its value."""
    key = key or flag.lstrip("-").replace("-", "_")
    return typer.Option(None, flag, help=help, show_default=f"{_default(key)}, or the --config value",
                        rich_help_panel=panel)


GRID, DATA, MODEL, RUN, CLUSTER = "Grid", "Data", "Model hyperparameters", "Running", "Cluster (Dask)"


def train(
    models: str | None = _opt("--models", "Models, comma-separated or 'all'.", panel=GRID),
    inits: str | None = _opt("--inits", "Initializers, comma-separated or 'all'.", panel=GRID),
    depths: str | None = _opt("--depths", "Hidden-layer counts, comma-separated.", panel=GRID),
    normalizations: str | None = _opt("--normalizations", "Normalizations, comma-separated or 'all'.",
                                         panel=GRID),
    init_scopes: str | None = _opt("--init-scopes", "Which Linear weights the initializer draws: hidden, all, "
                                      "or both as a factor (hidden,all).", panel=GRID),
    init_scope: str | None = typer.Option(None, "--init-scope", help="Same as --init-scopes with one value.",
                                             show_default=False, rich_help_panel=GRID),
    repeats: int | None = typer.Option(None, "--repeats", help="Seeds 0..repeats-1 per combination.",
                                          show_default="10, or the --config value", rich_help_panel=GRID),
    seeds: str | None = typer.Option(None, "--seeds", help="Explicit seeds, comma-separated (instead of "
                                        "--repeats).", show_default=False, rich_help_panel=GRID),
    data: str | None = _opt(*options.DATA, panel=DATA),
    labels: str | None = _opt(*options.LABELS, panel=DATA),
    label_column: str | None = _opt(*options.LABEL_COLUMN, panel=DATA),
    layer: str | None = _opt(*options.LAYER, panel=DATA),
    gene_column: str | None = _opt(*options.GENE_COLUMN, panel=DATA),
    orientation: str | None = _opt(*options.ORIENTATION, panel=DATA),
    impute: str | None = _opt(*options.IMPUTE, panel=DATA),
    drop_missing: str | None = _opt(*options.DROP_MISSING, panel=DATA),
    transform: str | None = _opt(*options.TRANSFORM, panel=DATA),
    top_genes: int | None = _opt("--top-genes", "Keep the k most variable genes (0 keeps all).", panel=DATA),
    gene_selection: str | None = _opt("--gene-selection", "mad (median absolute deviation), meanad (mean "
                                         "absolute deviation, pandas' old .mad()) or variance.", panel=DATA),
    val_fraction: float | None = _opt("--val-fraction", "Validation fraction.", panel=DATA),
    split: str | None = _opt("--split", "fixed (one split, from --split-seed) or per-seed.", panel=DATA),
    split_seed: int | None = _opt("--split-seed", "Seed of the fixed train/validation split.", panel=DATA),
    stratify: bool | None = typer.Option(None, "--stratify/--no-stratify", help="Stratify the split by "
                                            "cancer type.", show_default=f"{_default('stratify')}, or the --config "
                                            "value", rich_help_panel=DATA),
    fit_on: str | None = _opt("--fit-on", "Fit gene selection and normalization on the training split (train) "
                                 "or on every sample (all).", panel=DATA),
    epochs: int | None = _opt("--epochs", "Maximum epochs (runs that reach it are recorded as capped)."),
    epoch_steps: int | None = _opt("--epoch-steps", "Optimizer steps per epoch: 0 is one pass over the training "
                                   "split; N counts every schedule (validation, early stopping, --min-epochs, "
                                   "--epochs, --lr-decay) in epochs of N steps, e.g. a larger dataset's."),
    min_epochs: int | None = _opt("--min-epochs", "Early stopping cannot end a run before this epoch."),
    patience: int | None = _opt("--patience", "Early stopping: epochs without improvement."),
    min_delta: float | None = _opt("--min-delta", "Early stopping: smallest improvement that counts."),
    select_epoch: str | None = _opt("--select-epoch", "Report the best epoch's numbers or the last one's."),
    batch_size: int | None = _opt("--batch-size", "Minibatch size."),
    drop_last: bool | None = typer.Option(None, "--drop-last/--keep-last", help="Drop a last minibatch smaller "
                                             "than --batch-size.", show_default=f"{_default('drop_last')}, or the "
                                             "--config value", rich_help_panel="Training"),
    lr: float | None = _opt("--lr", "Adam learning rate."),
    lr_decay: float | None = _opt("--lr-decay", "Learning rate multiplied by this every epoch (1: constant)."),
    clustering: str | None = _opt("--clustering", "ARI from kmeans on validation posterior means, or leiden on "
                                     "sampled z of all samples (needs initsens[leiden])."),
    latent_dim: int | None = _opt("--latent-dim", "Latent dimensions.", panel=MODEL),
    hidden_dims: str | None = _opt("--hidden-dims", "Hidden widths, e.g. 512 or 512,256 (halved to reach the "
                                      "depth).", panel=MODEL),
    activation: str | None = _opt("--activation", "leaky_relu, relu, elu, gelu or tanh.", panel=MODEL),
    kl_weight: str | None = _opt("--kl-weight", "KL weight beta, or mn (batch size / split size).", panel=MODEL),
    mn_sizes: str | None = _opt("--mn-sizes", "N_TRAIN,N_VAL: the split sizes --kl-weight mn divides the batch "
                                "size by, e.g. a larger dataset's (default: the splits' own).", panel=MODEL),
    recon_reduction: str | None = _opt("--recon-reduction", "Reconstruction term: sum (Gaussian "
                                          "log-likelihood over genes) or mean (MSE averaged over genes).",
                                          panel=MODEL),
    iwae_k: int | None = _opt("--iwae-k", "IWAE importance samples K.", panel=MODEL),
    iwae_objective: str | None = _opt("--iwae-objective", "bound (the IWAE bound) or pytorch-vae (softmax "
                                         "weighting, not the bound).", panel=MODEL),
    info_alpha: float | None = _opt("--info-alpha", "InfoVAE alpha.", panel=MODEL),
    info_lambda: float | None = _opt("--info-lambda", "InfoVAE lambda.", panel=MODEL),
    info_kernel: str | None = _opt("--info-kernel", "InfoVAE MMD kernel: imq or rbf.", panel=MODEL),
    info_recon_weight: float | None = _opt("--info-recon-weight", "InfoVAE reconstruction weight.", panel=MODEL),
    info_mmd: str | None = _opt("--info-mmd", "InfoVAE MMD estimate: unbiased or pytorch-vae.", panel=MODEL),
    logcosh_a: float | None = _opt("--logcosh-a", "LogCoshVAE a.", panel=MODEL),
    logcosh_form: str | None = _opt("--logcosh-form", "LogCoshVAE log cosh: stable or pytorch-vae (overflows).",
                                       panel=MODEL),
    device: str | None = _opt("--device", "auto, cpu or cuda.", panel=RUN),
    precision: str | None = _opt("--precision", "fp32 (strict), bf16 (autocast; pays on CPUs with AVX-512 "
                                    "bf16/AMX and on GPUs) or tf32 (CUDA only).", panel=RUN),
    trainer: str | None = _opt("--trainer", "ensemble (vectorized) or reference (one run at a time).", panel=RUN),
    ensemble_size: int | None = _opt("--ensemble-size", "Members per ensemble; 0 fits a memory budget.",
                                        panel=RUN),
    workers: int | None = typer.Option(None, "--workers", help="Train on a local Dask cluster of this many worker "
                                       "processes (needs initsens[dask]).", show_default="in-process",
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
    """Train every model x initializer x depth x normalization x init scope x seed and log to Parquet."""
    given = {
        "models": models, "inits": inits, "depths": depths, "normalizations": normalizations,
        "init_scopes": init_scopes, "init_scope": init_scope, "repeats": repeats, "seeds": seeds, "data": data,
        "labels": labels, "label_column": label_column, "layer": layer, "gene_column": gene_column,
        "orientation": orientation,
        "impute": impute, "drop_missing": drop_missing,
        "transform": transform, "top_genes": top_genes, "gene_selection": gene_selection,
        "val_fraction": val_fraction, "split": split, "split_seed": split_seed, "stratify": stratify,
        "fit_on": fit_on, "epochs": epochs, "epoch_steps": epoch_steps, "min_epochs": min_epochs, "patience": patience,
        "min_delta": min_delta,
        "select_epoch": select_epoch, "batch_size": batch_size, "drop_last": drop_last, "lr": lr,
        "lr_decay": lr_decay, "clustering": clustering, "latent_dim": latent_dim, "hidden_dims": hidden_dims,
        "activation": activation, "kl_weight": kl_weight, "mn_sizes": mn_sizes, "recon_reduction": recon_reduction,
        "iwae_k": iwae_k,
        "iwae_objective": iwae_objective, "info_alpha": info_alpha, "info_lambda": info_lambda,
        "info_kernel": info_kernel, "info_recon_weight": info_recon_weight, "info_mmd": info_mmd,
        "logcosh_a": logcosh_a, "logcosh_form": logcosh_form, "device": device, "precision": precision,
        "trainer": trainer,
        "ensemble_size": ensemble_size,
    }
    cfg = build_config(config, {key: value for key, value in given.items() if value is not None})
    cluster = Cluster(workers, threads_per_worker, scheduler, scheduler_file, connect_timeout)
    run_training(cfg, out, force=force, quiet=quiet, dry_run=dry_run, cluster=cluster, quarantine=quarantine)


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
            with _RichObserver() as observer:
                summary = train(observer)
    _report(summary, quiet, next_step)
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
        settings.add_row(key, cfg.shown(value), own, *([notes.get(key, "")] if notes else []))
    console.print(settings)
    console.print(f"{plan.total} runs on {plan.dataset.name} ({plan.dataset.n_samples} samples x "
                  f"{plan.dataset.n_genes} genes), up to {cfg.epochs} epochs each; {plan.total - len(plan.todo)} "
                  f"already recorded in {plan.store.root}/ are skipped, {len(plan.todo)} to train.")


class _RichObserver:
    """Live display: a bar for the grid (runs done / total, ETA) and a line for the current run."""

    def __enter__(self):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
        self.grid = self.progress.add_task("runs", total=None)
        self.line = Text()
        self.live = Live(Group(self.progress, self.line), console=console, refresh_per_second=4)
        self.live.__enter__()
        return self

    def __exit__(self, *exc):
        self.line.plain = ""
        self.live.__exit__(*exc)

    def start(self, total: int, todo: int) -> None:
        self.progress.update(self.grid, total=todo)
        if total > todo:
            console.print(f"{total - todo} of {total} runs are already recorded and are skipped (--force retrains).")

    def chunk_start(self, specs) -> None:
        self.label = f"{specs[0].model} depth {specs[0].depth} {specs[0].normalization}"
        self.line.plain = f"{self.label}: starting {len(specs)} run(s)"

    def epoch(self, specs, epoch: int, best: float) -> None:
        runs = f"{specs[0].initializer} seed {specs[0].seed}" if len(specs) == 1 else f"{len(specs)} runs active"
        self.line.plain = (f"{self.label}, {runs}: epoch {epoch}/{specs[0].config.epochs}, "
                           f"best val loss {best:.5g}")

    def run_done(self, spec, result, error) -> None:
        self.progress.advance(self.grid)
        if error:
            console.print(f"[yellow]run failed[/] {spec.model} {spec.initializer} depth {spec.depth} "
                          f"seed {spec.seed}: {error}")


def _report(summary: Any, quiet: bool, next_step: str | None = None) -> None:
    statuses: Counter[str] = Counter()
    for (_, _, status), n in summary.counts.items():
        statuses[status] += n
    line = (f"{summary.trained} runs trained ({', '.join(f'{n} {s}' for s, n in statuses.items()) or 'none'}), "
            f"{summary.skipped} already recorded, {summary.wall_seconds:.0f} s; results in {summary.out}/")
    if summary.capped:
        line += f"; {summary.capped} run(s) reached --epochs still improving (not converged)"
    if summary.interrupted:
        line = f"interrupted: {line}; run the same command again to continue"
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
    if next_step is None:
        console.print(f"Read them with pandas: pd.read_parquet('{summary.out}/runs') and "
                      f"pd.read_parquet('{summary.out}/epochs')")
        console.print(f"Next: [bold]initsens analyze {summary.out} --report reports/summary.md[/]")
