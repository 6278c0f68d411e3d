"""``initsens train``: run the initialization sweep and write Parquet logs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

console = Console()

# Option name -> config key, for the options whose value is passed on unchanged.
_KEYS = ("models", "inits", "depths", "normalizations", "repeats", "seeds", "data", "labels", "label_column",
         "impute", "drop_missing", "top_genes", "val_fraction", "split", "split_seed", "epochs", "patience",
         "min_delta", "batch_size", "lr", "latent_dim", "hidden_dims", "activation", "init_scope", "kl_weight",
         "iwae_k", "info_alpha", "info_lambda", "info_kernel", "logcosh_a", "device", "trainer", "ensemble_size")


def _opt(help: str, flag: str):
    return typer.Option(None, flag, help=help, show_default=False)


def train(
    models: Optional[str] = _opt("Models, comma-separated or 'all' [default: all four].", "--models"),
    inits: Optional[str] = _opt("Initializers, comma-separated or 'all' [default: all five].", "--inits"),
    depths: Optional[str] = _opt("Hidden-layer counts, comma-separated [default: 1,2].", "--depths"),
    normalizations: Optional[str] = _opt("Normalizations, comma-separated or 'all' [default: zscore].",
                                         "--normalizations"),
    repeats: Optional[int] = _opt("Seeds 0..repeats-1 per combination [default: 10].", "--repeats"),
    seeds: Optional[str] = _opt("Explicit seeds, comma-separated (instead of --repeats).", "--seeds"),
    data: Optional[str] = _opt("Dataset name (synthetic, xena-pancan) or matrix file [default: synthetic].", "--data"),
    labels: Optional[str] = _opt("Phenotype table whose first column holds sample ids.", "--labels"),
    label_column: Optional[str] = _opt("Column holding the cancer type.", "--label-column"),
    impute: Optional[str] = _opt("Fill missing values: mean or zero.", "--impute"),
    drop_missing: Optional[str] = _opt("Drop genes or samples with missing values: genes or samples.",
                                       "--drop-missing"),
    top_genes: Optional[int] = _opt("Keep the k most variable genes (MAD; 0 keeps all) [default: 5000].",
                                    "--top-genes"),
    val_fraction: Optional[float] = _opt("Validation fraction [default: 0.2].", "--val-fraction"),
    split: Optional[str] = _opt("fixed (one split, from --split-seed) or per-seed [default: fixed].", "--split"),
    split_seed: Optional[int] = _opt("Seed of the fixed train/validation split [default: 0].", "--split-seed"),
    epochs: Optional[int] = _opt("Maximum epochs [default: 30].", "--epochs"),
    patience: Optional[int] = _opt("Early stopping: epochs without improvement [default: 5].", "--patience"),
    min_delta: Optional[float] = _opt("Early stopping: smallest improvement that counts [default: 0].",
                                      "--min-delta"),
    batch_size: Optional[int] = _opt("Minibatch size [default: 64].", "--batch-size"),
    lr: Optional[float] = _opt("Adam learning rate [default: 0.001].", "--lr"),
    latent_dim: Optional[int] = _opt("Latent dimensions [default: 50].", "--latent-dim"),
    hidden_dims: Optional[str] = _opt("Hidden widths, e.g. 512 or 512,256 (halved to reach the depth) "
                                      "[default: 512].", "--hidden-dims"),
    activation: Optional[str] = _opt("leaky_relu, relu, elu, gelu or tanh [default: leaky_relu].", "--activation"),
    init_scope: Optional[str] = _opt("Initialize all Linear layers or only hidden ones [default: all].",
                                     "--init-scope"),
    kl_weight: Optional[float] = _opt("KL weight beta (VanillaVAE, LogCoshVAE) [default: 1].", "--kl-weight"),
    iwae_k: Optional[int] = _opt("IWAE importance samples K [default: 5].", "--iwae-k"),
    info_alpha: Optional[float] = _opt("InfoVAE alpha [default: 0].", "--info-alpha"),
    info_lambda: Optional[float] = _opt("InfoVAE lambda [default: 100].", "--info-lambda"),
    info_kernel: Optional[str] = _opt("InfoVAE MMD kernel: imq or rbf [default: imq].", "--info-kernel"),
    logcosh_a: Optional[float] = _opt("LogCoshVAE a [default: 10].", "--logcosh-a"),
    device: Optional[str] = _opt("auto, cpu or cuda [default: auto].", "--device"),
    trainer: Optional[str] = _opt("ensemble (vectorized, runs of one architecture together) or reference "
                                  "(one run at a time) [default: ensemble].", "--trainer"),
    ensemble_size: Optional[int] = _opt("Members per ensemble; 0 fits a memory budget [default: 0].",
                                        "--ensemble-size"),
    out: Path = typer.Option(Path("results"), "--out", help="Results folder."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file with the same keys "
                                          "(use _ for -); command-line values win."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the grid and the run count, train nothing."),
    force: bool = typer.Option(False, "--force", help="Retrain runs that are already recorded."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress display; one summary line."),
) -> None:
    """Train every model x initializer x depth x normalization x seed and log to Parquet."""
    from initsens.training.config import SweepConfig

    given = {key: value for key, value in locals().items() if key in _KEYS and value is not None}
    cfg = SweepConfig.from_toml(config, given) if config else SweepConfig.from_mapping(given, "command line")
    if dry_run:
        _print_grid(cfg)
        return
    from initsens.training.sweep import plan_sweep, run_sweep

    if quiet:
        summary = run_sweep(plan_sweep(cfg, out, force))
    else:
        with console.status(f"Loading {cfg.data} and checking {out}/ ..."):
            plan = plan_sweep(cfg, out, force)
        with _RichObserver() as observer:
            summary = run_sweep(plan, observer)
    _report(summary, quiet)


def _print_grid(cfg: Any) -> None:
    table = Table(title="Sweep grid", show_header=False)
    for label, values in (("models", cfg.models), ("initializers", cfg.inits), ("depths", cfg.depths),
                          ("normalizations", cfg.normalizations), ("seeds", cfg.seeds)):
        table.add_row(label, ", ".join(map(str, values)), str(len(values)))
    console.print(table)
    console.print(f"{len(cfg.runs())} runs on {cfg.data}, up to {cfg.epochs} epochs each "
                  f"(runs already recorded in --out are skipped).")


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


def _report(summary: Any, quiet: bool) -> None:
    statuses = Counter()
    for (_, _, status), n in summary.counts.items():
        statuses[status] += n
    line = (f"{summary.trained} runs trained ({', '.join(f'{n} {s}' for s, n in statuses.items()) or 'none'}), "
            f"{summary.skipped} already recorded, {summary.wall_seconds:.0f} s; results in {summary.out}/")
    if summary.interrupted:
        line = f"interrupted: {line}; run the same command again to continue"
    if quiet:
        print(line)
        return
    if summary.counts:
        table = Table(title="Runs trained")
        for column in ("model", "initializer", "ok", "diverged", "failed"):
            table.add_column(column, justify="left" if column in ("model", "initializer") else "right")
        pairs = dict.fromkeys((m, i) for m, i, _ in summary.counts)
        for model, init in pairs:
            table.add_row(model, init, *(str(summary.counts[(model, init, s)]) for s in ("ok", "diverged", "failed")))
        console.print(table)
    console.print(line)
    console.print(f"Read them with pandas: pd.read_parquet('{summary.out}/runs') and pd.read_parquet('{summary.out}/epochs')")
    console.print(f"Next: [bold]initsens analyze {summary.out} --report reports/summary.md[/]")
