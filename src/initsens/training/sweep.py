"""Running a whole sweep: load and prepare the data, skip finished runs, train, write Parquet.

Runs are trained group by group (runs sharing model, depth, normalization and split); each group's
results are written as one pair of Parquet parts when the group ends, or when the sweep is
interrupted (Ctrl-C), so finished work is never lost.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

import torch

import initsens
from initsens.data import Dataset, PreparedData, load_dataset, prepare
from initsens.errors import InitsensError
from initsens.training.config import RunSpec, SweepConfig
from initsens.training.device import resolve_device
from initsens.training.reference import EpochRecord, RunResult, train_run
from initsens.training.store import SCHEMA_VERSION, ResultsStore, utc_now

Trainer = Callable[..., RunResult]


class SweepObserver:
    """Callbacks for progress displays; the default does nothing."""

    def start(self, total: int, todo: int) -> None: ...

    def run_start(self, spec: RunSpec) -> None: ...

    def epoch(self, spec: RunSpec, record: EpochRecord, best: float) -> None: ...

    def run_done(self, spec: RunSpec, result: RunResult, error: str | None) -> None: ...


@dataclass
class SweepSummary:
    """What a sweep did: how many runs were in the grid, skipped, trained, and their statuses."""

    out: Path
    total: int
    skipped: int
    trained: int = 0
    wall_seconds: float = 0.0
    counts: Counter = field(default_factory=Counter)  # (model, initializer, status) -> runs
    interrupted: bool = False


def run_row(spec: RunSpec, run_id: str, result: RunResult, data: PreparedData, device: torch.device) -> dict:
    """The runs-table row of one finished run (see the README for the columns)."""
    cfg = spec.config
    return {
        "run_id": run_id, "model": spec.model, "initializer": spec.initializer, "depth": spec.depth,
        "normalization": spec.normalization, "seed": spec.seed, "split_seed": spec.split_seed,
        "latent_dim": cfg.latent_dim, "hidden_dims": "-".join(map(str, spec.hidden_dims())),
        "learning_rate": cfg.lr, "batch_size": cfg.batch_size, "max_epochs": cfg.epochs,
        "dataset": data.dataset, "dataset_sha256": data.dataset_sha256, "n_genes": data.n_genes,
        "n_train": data.n_train, "n_val": data.n_val, "status": result.status,
        "epochs_trained": result.epochs_trained, "best_epoch": result.best_epoch,
        "val_loss": result.val_loss, "val_recon_mse": result.val_recon_mse, "val_kl": result.val_kl,
        "val_nelbo": result.val_nelbo, "train_loss": result.train_loss, "ari": result.ari,
        "wall_seconds": result.wall_seconds, "device": str(device), "initsens_version": initsens.__version__,
        "torch_version": torch.__version__, "schema_version": SCHEMA_VERSION, "finished_at": utc_now(),
    }


@dataclass
class SweepPlan:
    """A checked sweep, ready to train: data loaded, results folder open, finished runs identified."""

    config: SweepConfig
    store: ResultsStore
    dataset: Dataset
    device: torch.device
    run_ids: dict[RunSpec, str]
    todo: list[RunSpec]

    @property
    def total(self) -> int:
        return len(self.run_ids)


def plan_sweep(config: SweepConfig, out: str | Path = "results", force: bool = False) -> SweepPlan:
    """Check everything that can go wrong before training (device, folder, data), then list the runs to do.

    With ``force`` the grid's runs already recorded in ``out`` are removed, so they are trained again.
    """
    device = resolve_device(config.device)
    store = ResultsStore.open(out)
    dataset = load_dataset(config.data, config.labels, config.label_column, impute=config.impute,
                           drop_missing=config.drop_missing)
    if config.top_genes > dataset.n_genes:
        raise InitsensError(f"--top-genes {config.top_genes} asks for more genes than {dataset.name} has "
                            f"({dataset.n_genes}); use --top-genes {dataset.n_genes} or less (0 keeps all)")
    run_ids = {spec: spec.run_id(dataset.sha256) for spec in config.runs()}
    if force:
        store.remove_runs(run_ids.values())
    finished = store.finished_run_ids()
    todo = [spec for spec, run_id in run_ids.items() if run_id not in finished]
    return SweepPlan(config, store, dataset, device, run_ids, todo)


def run_sweep(plan: SweepPlan, observer: SweepObserver | None = None, trainer: Trainer = train_run) -> SweepSummary:
    """Train the plan's runs group by group, writing each group's results when it ends (or on Ctrl-C)."""
    observer = observer or SweepObserver()
    config = plan.config
    summary = SweepSummary(plan.store.root, total=plan.total, skipped=plan.total - len(plan.todo))
    observer.start(plan.total, len(plan.todo))
    prepared: dict[tuple[str, int], PreparedData] = {}
    start = time.perf_counter()
    try:
        for _, group in groupby(plan.todo, key=RunSpec.group_key):
            rows: list[dict] = []
            epochs: list[dict] = []
            try:
                for spec in group:
                    key = (spec.normalization, spec.split_seed)
                    if key not in prepared:
                        prepared[key] = prepare(plan.dataset, config.top_genes, "mad", spec.normalization,
                                                config.val_fraction, spec.split_seed)
                    data = prepared[key]
                    observer.run_start(spec)
                    error = None
                    try:
                        result = trainer(spec, data, plan.device,
                                         on_epoch=lambda record, best, s=spec: observer.epoch(s, record, best))
                    except (InitsensError, KeyboardInterrupt):
                        raise
                    except Exception as exc:  # a run that crashes (e.g. out of memory) must not stop the sweep
                        result, error = RunResult(status="failed"), f"{type(exc).__name__}: {exc}"
                    run_id = plan.run_ids[spec]
                    rows.append(run_row(spec, run_id, result, data, plan.device))
                    epochs.extend({"run_id": run_id, **record.__dict__} for record in result.history)
                    summary.trained += 1
                    summary.counts[(spec.model, spec.initializer, result.status)] += 1
                    observer.run_done(spec, result, error)
            finally:
                plan.store.append(rows, epochs)
    except KeyboardInterrupt:
        summary.interrupted = True
    summary.wall_seconds = time.perf_counter() - start
    return summary
