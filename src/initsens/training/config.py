"""The sweep's configuration: every choice with its default, validation, TOML loading and the run grid.

A :class:`SweepConfig` holds lists for the swept factors (models, initializers, depths,
normalizations, seeds) and single values for everything else. :meth:`SweepConfig.runs` expands the
grid into :class:`RunSpec` objects, each with a deterministic ``run_id``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from initsens.data.normalize import NORMALIZERS
from initsens.errors import InitsensError
from initsens.models import ACTIVATIONS, INITIALIZERS, KERNELS, MODELS, SCOPES, VAE, build_model, hidden_dims_for
from initsens.training.seeds import RunSeeds

SPLITS = ("fixed", "per-seed")
DEVICES = ("auto", "cpu", "cuda")
TRAINERS = ("ensemble", "reference")
#: Hyperparameters handed to the models (each model takes the ones it defines).
MODEL_HYPERPARAMETERS = ("kl_weight", "iwae_k", "info_alpha", "info_lambda", "info_kernel", "logcosh_a")


@dataclass(frozen=True)
class SweepConfig:
    """Everything a sweep needs; defaults are the study's set-up unless noted."""

    models: tuple[str, ...] = ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE")
    inits: tuple[str, ...] = ("default", "normal", "uniform", "xavier_normal", "xavier_uniform")
    depths: tuple[int, ...] = (1, 2)
    normalizations: tuple[str, ...] = ("zscore",)
    seeds: tuple[int, ...] = tuple(range(10))
    data: str = "synthetic"
    labels: str | None = None
    label_column: str | None = None
    impute: str | None = None
    drop_missing: str | None = None
    top_genes: int = 5000
    val_fraction: float = 0.2
    split: str = "fixed"
    split_seed: int = 0
    epochs: int = 30
    patience: int = 5
    min_delta: float = 0.0
    batch_size: int = 64
    lr: float = 1e-3
    latent_dim: int = 50
    hidden_dims: tuple[int, ...] = (512,)
    activation: str = "leaky_relu"
    init_scope: str = "all"
    kl_weight: float = 1.0
    iwae_k: int = 5
    info_alpha: float = 0.0
    info_lambda: float = 100.0
    info_kernel: str = "imq"
    logcosh_a: float = 10.0
    device: str = "auto"
    trainer: str = "ensemble"
    ensemble_size: int = 0

    def __post_init__(self) -> None:
        for name, registry in (("models", MODELS), ("inits", INITIALIZERS), ("normalizations", NORMALIZERS)):
            values = getattr(self, name)
            if not values:
                raise InitsensError(f"--{name} is empty; choose from: {', '.join(registry.names())}")
            for value in values:
                if value not in registry:
                    raise InitsensError(
                        f"unknown value {value!r} in --{name}; choose from: {', '.join(registry.names())} (or all)"
                    )
        checks = [
            (all(d >= 1 for d in self.depths) and bool(self.depths), f"--depths must be >= 1 (got {list(self.depths)})"),
            (bool(self.seeds) and all(s >= 0 for s in self.seeds), f"--seeds must be >= 0 (got {list(self.seeds)})"),
            (len(set(self.seeds)) == len(self.seeds), f"--seeds has repeated values ({list(self.seeds)})"),
            (self.epochs >= 1, f"--epochs must be >= 1 (got {self.epochs})"),
            (self.patience >= 1, f"--patience must be >= 1 (got {self.patience})"),
            (self.min_delta >= 0, f"--min-delta must be >= 0 (got {self.min_delta})"),
            (self.batch_size >= 2, f"--batch-size must be >= 2, BatchNorm needs 2 samples (got {self.batch_size})"),
            (self.lr > 0, f"--lr must be > 0 (got {self.lr})"),
            (self.latent_dim >= 1, f"--latent-dim must be >= 1 (got {self.latent_dim})"),
            (bool(self.hidden_dims) and all(w >= 1 for w in self.hidden_dims),
             f"--hidden-dims must be positive widths (got {list(self.hidden_dims)})"),
            (self.top_genes >= 0, f"--top-genes must be >= 0 (got {self.top_genes})"),
            (0 < self.val_fraction < 1, f"--val-fraction must be between 0 and 1 (got {self.val_fraction})"),
            (self.split in SPLITS, f"unknown --split {self.split!r}; choose one of: {', '.join(SPLITS)}"),
            (self.device in DEVICES, f"unknown --device {self.device!r}; choose one of: {', '.join(DEVICES)}"),
            (self.trainer in TRAINERS, f"unknown --trainer {self.trainer!r}; choose one of: {', '.join(TRAINERS)}"),
            (self.ensemble_size >= 0, f"--ensemble-size must be >= 0, 0 meaning automatic (got {self.ensemble_size})"),
            (self.init_scope in SCOPES, f"unknown --init-scope {self.init_scope!r}; choose one of: {', '.join(SCOPES)}"),
            (self.activation in ACTIVATIONS,
             f"unknown --activation {self.activation!r}; choose one of: {', '.join(ACTIVATIONS.names())}"),
            (self.info_kernel in KERNELS, f"unknown --info-kernel {self.info_kernel!r}; choose one of: "
             f"{', '.join(KERNELS.names())}"),
            (self.iwae_k >= 1, f"--iwae-k must be >= 1 (got {self.iwae_k})"),
            (self.kl_weight >= 0, f"--kl-weight must be >= 0 (got {self.kl_weight})"),
            (self.logcosh_a > 0, f"--logcosh-a must be > 0 (got {self.logcosh_a})"),
        ]
        for ok, message in checks:
            if not ok:
                raise InitsensError(message)

    @classmethod
    def from_mapping(cls, values: dict[str, Any], source: str = "configuration") -> SweepConfig:
        """Build from plain values (TOML or command line); lists may be given as 'a,b' strings or 'all'."""
        valid = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(valid) - {"repeats"})
        if unknown:
            raise InitsensError(
                f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted([*valid, 'repeats']))}"
            )
        values = dict(values)
        repeats = values.pop("repeats", None)
        if repeats is not None:
            if "seeds" in values:
                raise InitsensError(f"{source}: give repeats or seeds, not both")
            if int(repeats) < 1:
                raise InitsensError(f"--repeats must be >= 1 (got {repeats})")
            values["seeds"] = tuple(range(int(repeats)))
        choices = {"models": MODELS.names(), "inits": INITIALIZERS.names(), "normalizations": NORMALIZERS.names()}
        converted: dict[str, Any] = {}
        for key, value in values.items():
            kind = valid[key].type
            try:
                if "tuple[int" in str(kind):
                    converted[key] = tuple(int(v) for v in _as_list(value))
                elif "tuple[str" in str(kind):
                    items = _as_list(value)
                    converted[key] = tuple(choices[key]) if items == ["all"] else tuple(str(v) for v in items)
                elif kind in ("int", int):
                    converted[key] = int(value)
                elif kind in ("float", float):
                    converted[key] = float(value)
                else:
                    converted[key] = None if value is None else str(value)
            except (TypeError, ValueError):
                raise InitsensError(f"{source}: {key} = {value!r} is not a valid {kind}") from None
        return cls(**converted)

    @classmethod
    def from_toml(cls, path: str | Path, overrides: dict[str, Any] | None = None) -> SweepConfig:
        """Keys from a TOML file (same names as the options, with _ for -); ``overrides`` win."""
        path = Path(path)
        if not path.is_file():
            raise InitsensError(f"{path}: no such config file")
        try:
            values = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InitsensError(f"{path}: not valid TOML ({exc})") from None
        overrides = overrides or {}
        if "seeds" in overrides:
            values.pop("repeats", None)
        if "repeats" in overrides:
            values.pop("seeds", None)
        return cls.from_mapping({**values, **overrides}, source=str(path))

    def model_hyperparameters(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in MODEL_HYPERPARAMETERS}

    def split_seed_for(self, seed: int) -> int:
        """The split of a run: fixed by ``split_seed``, or varied with the run's seed (``--split per-seed``)."""
        return self.split_seed if self.split == "fixed" else seed

    def runs(self) -> list[RunSpec]:
        """The whole grid, in the order it is trained (architecture groups together)."""
        return [
            RunSpec(model, init, depth, norm, seed, self.split_seed_for(seed), self)
            for norm in self.normalizations
            for model in self.models
            for depth in self.depths
            for init in self.inits
            for seed in self.seeds
        ]

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _as_list(value: Any) -> list:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


@dataclass(frozen=True)
class RunSpec:
    """One run of the grid: its swept factors and the sweep's shared settings."""

    model: str
    initializer: str
    depth: int
    normalization: str
    seed: int
    split_seed: int
    config: SweepConfig = field(repr=False)

    def hidden_dims(self) -> list[int]:
        """The run's hidden widths (``hidden_dims`` of the config, continued or cut to ``depth``)."""
        return hidden_dims_for(self.depth, self.config.hidden_dims)

    def build_model(self, n_genes: int) -> VAE:
        """The run's model, with initial weights drawn from its seed's init stream."""
        cfg = self.config
        return build_model(self.model, n_genes, self.depth, cfg.hidden_dims, cfg.latent_dim, cfg.activation,
                           self.initializer, cfg.init_scope, RunSeeds.from_seed(self.seed).init,
                           cfg.model_hyperparameters())

    def group_key(self) -> tuple:
        """Runs with the same key share an architecture and data (they may train together)."""
        return (self.model, self.depth, self.normalization, self.split_seed)

    def identity(self, dataset_sha256: str) -> dict[str, Any]:
        """Everything that determines the run's result: its factors, the data's content hash, the
        shared training settings and its own model's hyperparameters (not the device, and not file
        options whose effect the content hash already captures)."""
        excluded = {"models", "inits", "depths", "normalizations", "seeds", "device", "data", "labels",
                    "label_column", "impute", "drop_missing", "trainer", "ensemble_size", *MODEL_HYPERPARAMETERS}
        shared = {k: v for k, v in self.config.to_dict().items() if k not in excluded}
        own = MODELS.get(self.model).hyperparameters()
        hyper = {k: v for k, v in self.config.model_hyperparameters().items() if k in own}
        return {"model": self.model, "initializer": self.initializer, "depth": self.depth,
                "normalization": self.normalization, "seed": self.seed, "split_seed": self.split_seed,
                "dataset_sha256": dataset_sha256, **shared, **hyper}

    def run_id(self, dataset_sha256: str) -> str:
        """A deterministic 16-hex-digit hash of :meth:`identity`."""
        canonical = json.dumps(self.identity(dataset_sha256), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

