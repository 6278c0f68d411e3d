"""Running a whole sweep: load and prepare the data, skip finished runs, train, write Parquet.

Runs are trained group by group (runs sharing model, depth and normalization, each on its own
split). With the ensemble trainer (default) a group trains as stacked ensembles of up to
``ensemble_size`` members (0: as many as a memory budget allows); the reference trainer takes its
runs one at a time. Each chunk's results are written as one pair of Parquet parts as soon as it
ends, so a killed sweep loses at most the chunk in progress, and Ctrl-C stops cleanly after saving
what is finished.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from itertools import groupby
from pathlib import Path

import pandas as pd
import torch

from initsens import settings
from initsens.atomic import deferred_interrupt
from initsens.data import Dataset, PreparedData, load_dataset, prepare
from initsens.data.genes import check_top_genes, top_variable_genes
from initsens.data.matrix import value_range
from initsens.data.prepare import DataInfo
from initsens.data.transform import TRANSFORMS, apply_transform, resolve_transform
from initsens.errors import InitsensError
from initsens.models.plugins import stackable, unstackable_reason
from initsens.results.lock import utc_now
from initsens.results.schema import RUN_COLUMNS, SCHEMA_VERSION
from initsens.results.store import ResultsStore
from initsens.training.clustering import require_clustering
from initsens.training.config import RunSpec, SweepConfig
from initsens.training.device import resolve_device
from initsens.training.fit import member_bytes, n_parameters
from initsens.training.loop import denormals
from initsens.training.record import CAP, EpochCallback, RunResult
from initsens.training.trainers import TRAINERS
from initsens.version import __version__

#: Memory for one ensemble chunk: a quarter of the free GPU memory, or this many bytes on the CPU.
CPU_ENSEMBLE_BYTES = 4 << 30


@dataclass(frozen=True)
class Shapes:
    """Sizes every prepared split of a sweep has (all splits of one dataset have the same)."""

    n_genes: int
    n_train: int
    n_val: int

    @classmethod
    def of(cls, dataset: Dataset, config: SweepConfig) -> Shapes:
        """The shapes of the sweep's runs: from the data and the configuration alone."""
        n_val = int(round(config.val_fraction * dataset.n_samples))
        return cls(config.top_genes or dataset.n_genes, dataset.n_samples - n_val, n_val)


def ensemble_budget(device: torch.device) -> int:
    """Bytes for one ensemble chunk: a quarter of the free GPU memory, or CPU_ENSEMBLE_BYTES on the
    CPU.
    """
    return torch.cuda.mem_get_info(device)[0] // 4 if device.type == "cuda" else CPU_ENSEMBLE_BYTES


def trainer_of(config: SweepConfig, model: str) -> str:
    """The trainer of ``model``'s chunks: ``config``'s, or the reference for a model that cannot be
    stacked.
    """
    return config.trainer if stackable(model) else "reference"


def chunk_size(
    config: SweepConfig,
    spec: RunSpec,
    data: Shapes | PreparedData,
    device: torch.device,
    budget: int | None = None,
) -> int:
    """Members per ensemble: ``ensemble_size`` if set, else what fits the memory budget (1 for
    reference).
    """
    if trainer_of(config, spec.model) == "reference":
        return 1
    if config.ensemble_size:
        return config.ensemble_size
    own_data = data.n_train + data.n_val if config.split == "per-seed" else 0
    budget = ensemble_budget(device) if budget is None else budget
    return max(1, budget // member_bytes(spec, data.n_genes, data.n_val, own_data))


def chunks(plan: SweepPlan, budget: int | None = None) -> list[list[RunSpec]]:
    """The plan's runs in training order (architecture groups together), cut into ensemble chunks.
    The cut depends on the grid, the chunk size and the memory budget only, never on how many
    workers train them.
    """
    order = {key: i for i, key in enumerate(dict.fromkeys(spec.group_key() for spec in plan.todo))}
    shapes = Shapes.of(plan.dataset, plan.config)
    out = []
    for _, members in groupby(
        sorted(plan.todo, key=lambda spec: order[spec.group_key()]), key=RunSpec.group_key
    ):
        group = list(members)
        size = chunk_size(group[0].config, group[0], shapes, plan.device, budget)
        out += [group[first : first + size] for first in range(0, len(group), size)]
    return out


class PreparedCache:
    """``prepare`` once per (normalization, split seed) of a sweep's dataset (a chunk may span
    several splits).
    """

    def __init__(self, dataset: Dataset, config: SweepConfig) -> None:
        self.dataset, self.config = dataset, config
        self.prepared: dict[tuple[str, int], PreparedData] = {}

    def __call__(self, spec: RunSpec) -> PreparedData:
        """The prepared data of ``spec``'s normalization and split."""
        key = (spec.normalization, spec.split_seed)
        if key not in self.prepared:
            cfg = self.config
            self.prepared[key] = prepare(
                self.dataset,
                top_genes=cfg.top_genes,
                gene_selection=cfg.gene_selection,
                normalization=key[0],
                val_fraction=cfg.val_fraction,
                split_seed=key[1],
                transform=cfg.transform,
                fit_on=cfg.fit_on,
                stratify=cfg.stratify,
            )
        return self.prepared[key]


def train_chunk(
    chunk: Sequence[RunSpec],
    data: Sequence[PreparedData],
    device: torch.device,
    on_epoch: EpochCallback | None = None,
) -> tuple[list[RunResult], str | None]:
    """Train one chunk with the configured trainer. A crash that is not a user error (e.g. out of
    memory) gives ``failed`` results and the message, so the sweep goes on.
    """
    trainer = TRAINERS.get(trainer_of(chunk[0].config, chunk[0].model))
    try:
        return trainer(chunk, data, device, on_epoch or (lambda *_: None)), None
    except InitsensError:
        raise
    except Exception as exc:
        return [RunResult.failed() for _ in chunk], f"{type(exc).__name__}: {exc}"


class SweepObserver:
    """Callbacks for progress displays; the default does nothing."""

    def start(self, total: int, todo: int) -> None:
        """A sweep begins: ``total`` runs in the grid, ``todo`` of them to train."""

    def planned(self, chunks: Sequence[Sequence[RunSpec]], sizes: Mapping[tuple, float]) -> None:
        """The ensembles about to train, in order, and each architecture group's size (``group_key``
        -> ``training.fit.n_parameters``), for a time-left estimate. Called after :meth:`start`,
        when an observer has it (older observers need not).
        """

    def chunk_start(self, specs: Sequence[RunSpec]) -> None:
        """An ensemble of runs (one architecture group) begins."""

    def epoch(self, specs: Sequence[RunSpec], epoch: int, best: float) -> None:
        """An epoch ended for the active runs; ``best`` is their lowest best validation loss."""

    def run_done(self, spec: RunSpec, result: RunResult, error: str | None) -> None:
        """A run finished (``error`` is its error message when it crashed)."""


@dataclass
class SweepSummary:
    """What a sweep did: how many runs were in the grid, skipped, trained, and their statuses."""

    out: Path
    total: int
    skipped: int
    trained: int = 0
    wall_seconds: float = 0.0
    counts: Counter = field(default_factory=Counter)  # (model, initializer, status) -> runs
    capped: int = 0  # runs that reached --epochs while still improving
    interrupted: bool = False
    lost: int = 0  # runs of the ensembles in flight when interrupted (trained in part, not saved)


def run_row(
    spec: RunSpec, run_id: str, result: RunResult, data: PreparedData | DataInfo, device: str
) -> dict:
    """The runs-table row of one finished run, built column by column from the schema
    (``RUN_COLUMNS``): the result's and the data's fields by their own names, the rest from the run
    and its configuration.
    """
    cfg = spec.config
    info = data if isinstance(data, DataInfo) else data.info()
    values = {
        **{f.name: getattr(result, f.name) for f in fields(RunResult) if f.name != "history"},
        **asdict(info),
        "run_id": run_id,
        **spec.factors(),
        "split_seed": spec.split_seed,
        "latent_dim": cfg.latent_dim,
        "hidden_dims": "-".join(map(str, spec.hidden_dims())),
        "activation": cfg.activation,
        "learning_rate": cfg.lr,
        "batch_size": cfg.batch_size,
        "max_epochs": cfg.epochs,
        "precision": cfg.precision,
        "denormals": denormals(cfg, torch.device(device).type),
        "preset": cfg.preset or "",
        "settings": json.dumps(spec.identity(info.dataset_sha256), sort_keys=True, default=str),
        "device": device,
        "initsens_version": __version__,
        "torch_version": torch.__version__,
        "schema_version": SCHEMA_VERSION,
        "finished_at": utc_now(),
    }
    missing = [name for name, _, _ in RUN_COLUMNS if name not in values]
    if (
        missing
    ):  # a column added to the schema without a source: a programming error, caught by every test
        raise KeyError(f"runs columns without a value: {', '.join(missing)}")
    return {name: values[name] for name, _, _ in RUN_COLUMNS}


@dataclass
class SweepPlan:
    """A checked sweep, ready to train: data loaded, results folder open, finished runs
    identified.
    """

    config: SweepConfig
    store: ResultsStore
    dataset: Dataset
    device: torch.device
    run_ids: dict[RunSpec, str]
    todo: list[RunSpec]
    transform: str = "none"

    @property
    def notes(self) -> list[str]:
        """Lines worth telling the user before training (the transform ``auto`` chose, a lock taken
        over, parts moved aside).
        """
        notes = list(self.store.notices)
        notes += [
            f"{model} trains one run at a time: {unstackable_reason(model)}"
            for model in self.config.models
            if not stackable(model) and any(spec.model == model for spec in self.todo)
        ]
        if self.config.transform == "auto" and self.transform != "none":
            notes.append(
                f"{self.dataset.name}: the values look like raw counts (non-negative whole "
                f"numbers, max {value_range(self.dataset.X)[1]:,.0f}), so --transform auto applies "
                f"{self.transform} ({TRANSFORMS[self.transform]}) before gene selection"
            )
        return notes

    @property
    def total(self) -> int:
        """Number of runs in the grid."""
        return len(self.run_ids)

    def grid(self) -> pd.DataFrame:
        """One row per run of the grid: its id, swept factors, and whether it is already
        ``recorded``.
        """
        todo = set(self.todo)
        return pd.DataFrame(
            [
                {"run_id": run_id, **spec.factors(), "recorded": spec not in todo}
                for spec, run_id in self.run_ids.items()
            ]
        )


def load_data(config: SweepConfig) -> tuple[Dataset, str]:
    """The sweep's dataset, checked (enough genes for ``top_genes``, enough of them with a positive
    spread; no ``transform none`` on raw counts), and the transform it resolves to: what can be
    wrong with the data, found before anything is created (each run's own selection, on its training
    split, is checked again).
    """
    dataset = load_dataset(
        config.data,
        labels=config.labels,
        label_column=config.label_column,
        orientation=config.orientation,
        impute=config.impute,
        drop_missing=config.drop_missing,
        layer=config.layer,
        gene_column=config.gene_column,
    )
    check_top_genes(config.top_genes, dataset.n_genes, dataset.name)
    transform = resolve_transform(dataset.X, config.transform, dataset.name)
    if config.top_genes:
        top_variable_genes(
            apply_transform(dataset.X, transform, dataset.name),
            config.top_genes,
            config.gene_selection,
        )
    return dataset, transform


#: The settings table's data rows, which :func:`load_data`'s answer depends on (with a few split
#: settings it does not read): sweeps equal in these share one loaded, checked dataset, and a new
#: data setting joins by itself.
DATA_SETTINGS = tuple(f.name for f in settings.table() if f.metadata["panel"] == settings.DATA)


def data_key(config: SweepConfig) -> tuple:
    """The values of ``config``'s :data:`DATA_SETTINGS`: equal keys, equal :func:`load_data`
    answers.
    """
    return tuple(getattr(config, name) for name in DATA_SETTINGS)


def plan_sweep(
    config: SweepConfig,
    out: str | Path = "results",
    force: bool = False,
    dry_run: bool = False,
    local_device: bool = True,
    quarantine: bool = False,
    loaded: tuple[Dataset, str] | None = None,
) -> SweepPlan:
    """Check everything that can go wrong before training (device, folder, data), then list the runs
    to do.

    Opening the folder takes its lock (one writer at a time) until :func:`run_sweep` ends.

    Parameters
    ----------
    force : remove the grid's runs already recorded in ``out``, so they are trained again.
    dry_run : create or remove nothing; ``out`` is only checked to be creatable or writable.
    local_device : False when training on remote workers: they check the device, not this call (the
        trainer is checked here, where the trainers are; the configuration checked the other
        choices).
    quarantine : move unreadable part files aside and train their runs again, instead of stopping.
    loaded : what :func:`load_data` returned for a config with the same :func:`data_key` (sweeps on
        one dataset load it once).
    """
    settings.check_choice(settings.row("trainer"), config.trainer, TRAINERS.names())
    device = resolve_device(config.device) if local_device else torch.device("cpu")
    if config.precision == "tf32" and device.type != "cuda" and local_device:
        raise InitsensError(f"--precision tf32 is a CUDA mode; on {device.type} use fp32 or bf16")
    require_clustering(config.clustering)
    dataset, transform = load_data(config) if loaded is None else loaded
    store = (
        ResultsStore.check(out) if dry_run else ResultsStore.open(out, quarantine)
    )  # bad data: no folder
    specs = config.runs()
    if force and not dry_run:
        store.remove_runs(run_id for spec in specs for run_id in spec.run_ids(dataset.sha256))
    finished = set() if force else store.finished_run_ids()
    run_ids = {spec: spec.recorded_id(dataset.sha256, finished) for spec in specs}
    if not dry_run:
        store.record_sweep(run_ids.values(), config.preset)
    todo = [spec for spec, run_id in run_ids.items() if run_id not in finished]
    return SweepPlan(
        config=config,
        store=store,
        dataset=dataset,
        device=device,
        run_ids=run_ids,
        todo=todo,
        transform=transform,
    )


def record_chunk(
    plan: SweepPlan,
    summary: SweepSummary,
    observer: SweepObserver,
    *,
    chunk: Sequence[RunSpec],
    data: Sequence[PreparedData | DataInfo],
    results: Sequence[RunResult],
    error: str | None,
    device: str,
) -> None:
    """Write one chunk's runs, epochs and metrics (one atomic set of parts) and count it in the
    summary.
    """
    rows = [
        run_row(spec, plan.run_ids[spec], result, run_data, device)
        for spec, result, run_data in zip(chunk, results, data)
    ]
    histories = [
        (plan.run_ids[spec], record)
        for spec, result in zip(chunk, results)
        for record in result.history
    ]
    with (
        deferred_interrupt()
    ):  # Ctrl-C now would leave the chunk written but not counted in the summary
        plan.store.append(
            rows,
            [record.epochs_row(run_id) for run_id, record in histories],
            [row for run_id, record in histories for row in record.metrics_rows(run_id)],
        )
        for spec, result in zip(chunk, results):
            summary.trained += 1
            summary.counts[(spec.model, spec.initializer, result.status)] += 1
            summary.capped += result.stopped == CAP
            observer.run_done(spec, result, error)


def run_sweep(plan: SweepPlan, observer: SweepObserver | None = None) -> SweepSummary:
    """Train the plan's runs chunk by chunk, writing each chunk's results when it ends (or on
    Ctrl-C).
    """
    observer = observer or SweepObserver()
    summary = SweepSummary(plan.store.root, total=plan.total, skipped=plan.total - len(plan.todo))
    observer.start(plan.total, len(plan.todo))
    prepared = PreparedCache(plan.dataset, plan.config)
    start = time.perf_counter()
    in_flight: list[RunSpec] = []
    try:
        work = chunks(plan)
        announce = getattr(
            observer, "planned", None
        )  # an observer written before the hook has none
        if announce is not None and work:
            n_genes = Shapes.of(plan.dataset, plan.config).n_genes
            announce(
                work,
                {chunk[0].group_key(): float(n_parameters(chunk[0], n_genes)) for chunk in work},
            )
        for chunk in work:
            in_flight = chunk
            data = [prepared(spec) for spec in chunk]
            observer.chunk_start(chunk)
            results, error = train_chunk(chunk, data, plan.device, observer.epoch)
            record_chunk(
                plan,
                summary,
                observer,
                chunk=chunk,
                data=data,
                results=results,
                error=error,
                device=str(plan.device),
            )
            in_flight = []
    except KeyboardInterrupt:
        summary.interrupted, summary.lost = True, len(in_flight)
    finally:
        plan.store.release()
    summary.wall_seconds = time.perf_counter() - start
    return summary
