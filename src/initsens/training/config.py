"""The sweep's configuration: every choice with its default, validation, TOML/preset loading and the grid.

A :class:`SweepConfig` holds lists for the swept factors (models, initializers, depths,
normalizations, init scopes, seeds) and single values for everything else, optionally overridden per
model (``[model.IWAE]`` tables in TOML, as the original study's per-model config files did).
:meth:`SweepConfig.runs` expands the grid into :class:`RunSpec` objects, each carrying the
configuration of its own model and a deterministic ``run_id``.

Which settings enter a run's identity is declared on the field itself (``_setting(identity=False)``
for the few that do not change a run's numbers), so a new option cannot silently change every id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from initsens.data.files import ORIENTATIONS
from initsens.data.genes import SELECTION_METHODS as GENE_SELECTIONS
from initsens.data.normalize import NORMALIZERS
from initsens.data.transform import TRANSFORMS
from initsens.errors import InitsensError
from initsens.models import ACTIVATIONS, INITIALIZERS, KERNELS, MODELS, SCOPES, VAE, build_model, hidden_dims_for
from initsens.models.base import RECON_REDUCTIONS
from initsens.models.infovae import MMD_FORMS as INFO_MMDS
from initsens.models.iwae import OBJECTIVES as IWAE_OBJECTIVES
from initsens.models.logcosh import FORMS as LOGCOSH_FORMS
from initsens.registry import Registry
from initsens.training.clustering import CLUSTERINGS
from initsens.training.device import DEVICES
from initsens.training.seeds import RunSeeds
from initsens.training.trainers import TRAINERS

SPLITS = ("fixed", "per-seed")
FIT_ON = ("train", "all")
SELECT_EPOCH = ("best", "last")
PRECISIONS = ("fp32", "bf16", "tf32")
#: Hyperparameters handed to the models (each model takes the ones it defines).
MODEL_HYPERPARAMETERS = ("kl_weight", "recon_reduction", "iwae_k", "iwae_objective", "info_alpha", "info_lambda",
                         "info_kernel", "info_recon_weight", "info_mmd", "logcosh_a", "logcosh_form")
#: Settings a preset or TOML file may set per model (``[model.NAME]`` tables).
PER_MODEL = ("epochs", "epoch_steps", "min_epochs", "patience", "min_delta", "select_epoch", "batch_size", "drop_last",
             "lr", "lr_decay", "latent_dim", "hidden_dims", "activation", *MODEL_HYPERPARAMETERS)


def _setting(default: Any, identity: bool = True, added: bool = False) -> Any:
    """A configuration field; ``identity=False`` keeps it out of ``run_id`` (it cannot change a run's numbers,
    or its effect is already captured elsewhere: the data's content hash, the run's factors). ``added`` marks a
    setting added after results were recorded: at its default it stays out of the identity, so the runs
    recorded before it existed keep their ids (and resume)."""
    return field(default=default, metadata={"identity": identity, "added": added})


@dataclass(frozen=True)
class SweepConfig:
    """Everything a sweep needs; the defaults are the ``initsens`` protocol (``presets/initsens.toml``)."""

    models: tuple[str, ...] = _setting(("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE"), identity=False)
    inits: tuple[str, ...] = _setting(("default", "normal", "uniform", "xavier_normal", "xavier_uniform"),
                                      identity=False)
    depths: tuple[int, ...] = _setting((1, 2), identity=False)
    normalizations: tuple[str, ...] = _setting(("zscore",), identity=False)
    init_scopes: tuple[str, ...] = _setting(("hidden",), identity=False)
    seeds: tuple[int, ...] = _setting(tuple(range(10)), identity=False)
    data: str = _setting("tcga5", identity=False)
    labels: str | None = _setting(None, identity=False)
    orientation: str = _setting("auto", identity=False, added=True)
    label_column: str | None = _setting(None, identity=False)
    layer: str | None = _setting(None, identity=False)
    gene_column: str | None = _setting(None, identity=False)
    impute: str | None = _setting(None, identity=False)
    drop_missing: str | None = _setting(None, identity=False)
    transform: str = _setting("auto")
    top_genes: int = _setting(5000)
    gene_selection: str = _setting("mad")
    val_fraction: float = _setting(0.2)
    split: str = _setting("fixed")
    split_seed: int = _setting(0)
    stratify: bool = _setting(True)
    fit_on: str = _setting("train")
    epochs: int = _setting(1000)
    epoch_steps: int = _setting(0, added=True)
    min_epochs: int = _setting(1)
    patience: int = _setting(10)
    min_delta: float = _setting(0.0)
    select_epoch: str = _setting("best")
    batch_size: int = _setting(64)
    drop_last: bool = _setting(False)
    lr: float = _setting(1e-3)
    lr_decay: float = _setting(1.0)
    latent_dim: int = _setting(50)
    hidden_dims: tuple[int, ...] = _setting((512,))
    activation: str = _setting("leaky_relu")
    kl_weight: float | str = _setting(1.0)
    mn_sizes: tuple[int, ...] = _setting((), added=True)
    recon_reduction: str = _setting("sum")
    iwae_k: int = _setting(5)
    iwae_objective: str = _setting("bound")
    info_alpha: float = _setting(0.0)
    info_lambda: float = _setting(100.0)
    info_kernel: str = _setting("imq")
    info_recon_weight: float = _setting(1.0)
    info_mmd: str = _setting("unbiased")
    logcosh_a: float = _setting(10.0)
    logcosh_form: str = _setting("stable")
    clustering: str = _setting("kmeans")
    precision: str = _setting("fp32")
    device: str = _setting("auto", identity=False)
    trainer: str = _setting("ensemble", identity=False)
    ensemble_size: int = _setting(0, identity=False)
    preset: str | None = _setting(None, identity=False)
    #: Per-model overrides: ((model, ((key, value), ...)), ...); see :meth:`for_model`.
    model_settings: tuple = _setting((), identity=False)

    def __post_init__(self) -> None:
        registries: dict[str, Registry[Any]] = {"models": MODELS, "inits": INITIALIZERS,
                                                "normalizations": NORMALIZERS}
        for name, registry in registries.items():
            values = getattr(self, name)
            if not values:
                raise InitsensError(f"--{name} is empty; choose from: {', '.join(registry.names())}")
            for value in values:
                if value not in registry:
                    raise InitsensError(
                        f"unknown value {value!r} in --{name}; choose from: {', '.join(registry.names())} (or all)"
                    )

        def choice(name: str, options) -> tuple[bool, str]:
            value = getattr(self, name)
            flag = "--" + name.replace("_", "-")
            return value in options, f"unknown {flag} {value!r}; choose one of: {', '.join(options)}"

        checks = [
            (bool(self.init_scopes) and all(s in SCOPES for s in self.init_scopes),
             f"--init-scopes must be among {', '.join(SCOPES)} (got {list(self.init_scopes)})"),
            (len(set(self.init_scopes)) == len(self.init_scopes),
             f"--init-scopes repeats a value ({list(self.init_scopes)})"),
            (all(d >= 1 for d in self.depths) and bool(self.depths),
             f"--depths must be >= 1 (got {list(self.depths)})"),
            (bool(self.seeds) and all(s >= 0 for s in self.seeds), f"--seeds must be >= 0 (got {list(self.seeds)})"),
            (len(set(self.seeds)) == len(self.seeds), f"--seeds has repeated values ({list(self.seeds)})"),
            (self.epochs >= 1, f"--epochs must be >= 1 (got {self.epochs})"),
            (self.epoch_steps >= 0, f"--epoch-steps must be >= 0, 0 meaning one pass over the training split "
                                    f"(got {self.epoch_steps})"),
            (not self.mn_sizes or (len(self.mn_sizes) == 2 and min(self.mn_sizes) >= 1),
             f"--mn-sizes takes two sizes, N_TRAIN,N_VAL, each >= 1 (got {list(self.mn_sizes)})"),
            (not self.mn_sizes or self.kl_weight == "mn",
             f"--mn-sizes sets the split sizes of --kl-weight mn; it has no effect with --kl-weight "
             f"{self.kl_weight}"),
            (self.min_epochs >= 1, f"--min-epochs must be >= 1 (got {self.min_epochs}); above --epochs it "
                                   "means no early stopping"),
            (self.patience >= 1, f"--patience must be >= 1 (got {self.patience})"),
            (self.min_delta >= 0, f"--min-delta must be >= 0 (got {self.min_delta})"),
            (self.batch_size >= 2, f"--batch-size must be >= 2, BatchNorm needs 2 samples (got {self.batch_size})"),
            (self.lr > 0, f"--lr must be > 0 (got {self.lr})"),
            (0 < self.lr_decay <= 1, f"--lr-decay must be in (0, 1], 1 meaning a constant rate (got {self.lr_decay})"),
            (self.latent_dim >= 1, f"--latent-dim must be >= 1 (got {self.latent_dim})"),
            (bool(self.hidden_dims) and all(w >= 1 for w in self.hidden_dims),
             f"--hidden-dims must be positive widths (got {list(self.hidden_dims)})"),
            (self.top_genes >= 0, f"--top-genes must be >= 0 (got {self.top_genes})"),
            (0 < self.val_fraction < 1, f"--val-fraction must be between 0 and 1 (got {self.val_fraction})"),
            choice("transform", TRANSFORMS), choice("orientation", ORIENTATIONS),
            choice("gene_selection", GENE_SELECTIONS), choice("split", SPLITS),
            choice("fit_on", FIT_ON), choice("select_epoch", SELECT_EPOCH), choice("clustering", CLUSTERINGS),
            choice("device", DEVICES), choice("trainer", TRAINERS.names()), choice("precision", PRECISIONS),
            choice("recon_reduction", RECON_REDUCTIONS),
            choice("iwae_objective", IWAE_OBJECTIVES), choice("info_mmd", INFO_MMDS),
            choice("logcosh_form", LOGCOSH_FORMS),
            (self.ensemble_size >= 0, f"--ensemble-size must be >= 0, 0 meaning automatic (got {self.ensemble_size})"),
            (self.activation in ACTIVATIONS,
             f"unknown --activation {self.activation!r}; choose one of: {', '.join(ACTIVATIONS.names())}"),
            (self.info_kernel in KERNELS, f"unknown --info-kernel {self.info_kernel!r}; choose one of: "
             f"{', '.join(KERNELS.names())}"),
            (self.iwae_k >= 1, f"--iwae-k must be >= 1 (got {self.iwae_k})"),
            (self.kl_weight == "mn" or (isinstance(self.kl_weight, float) and self.kl_weight >= 0),
             f"--kl-weight must be a number >= 0 or 'mn' (got {self.kl_weight!r})"),
            (self.info_recon_weight > 0, f"--info-recon-weight must be > 0 (got {self.info_recon_weight})"),
            (self.logcosh_a > 0, f"--logcosh-a must be > 0 (got {self.logcosh_a})"),
        ]
        for ok, message in checks:
            if not ok:
                raise InitsensError(message)
        for model, _overrides in self.model_settings:
            if model not in MODELS:
                raise InitsensError(f"[model.{model}]: unknown model; choose from: {', '.join(MODELS.names())}")
            self.for_model(model)  # validates the model's effective settings

    # -- building --------------------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, values: dict[str, Any], source: str = "configuration") -> SweepConfig:
        """Build from plain values (TOML or command line); lists may be given as 'a,b' strings or 'all'.

        ``init_scope`` is accepted for ``init_scopes`` and ``repeats`` for ``seeds`` (0..repeats-1);
        a ``model`` mapping ({name: {key: value}}) sets values for one model only.
        """
        valid = {f.name: f for f in fields(cls)} | {"repeats": None, "init_scope": None, "model": None}
        unknown = sorted(set(values) - set(valid) - {"model_settings"})
        if unknown:
            raise InitsensError(
                f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: "
                f"{', '.join(sorted(k for k in valid if k not in ('model_settings', 'preset')))}"
            )
        values = dict(values)
        repeats = values.pop("repeats", None)
        if repeats is not None:
            if "seeds" in values:
                raise InitsensError(f"{source}: give repeats or seeds, not both")
            if _to_int(repeats, "repeats", source) < 1:
                raise InitsensError(f"--repeats must be >= 1 (got {repeats})")
            values["seeds"] = tuple(range(int(repeats)))
        if "init_scope" in values:
            if "init_scopes" in values:
                raise InitsensError(f"{source}: give init_scope or init_scopes, not both")
            values["init_scopes"] = values.pop("init_scope")
        per_model = values.pop("model", None) or {}
        if not isinstance(per_model, dict):
            raise InitsensError(f"{source}: 'model' must be a table of [model.NAME] sections")
        converted = {key: _convert(key, value, source) for key, value in values.items() if key != "model_settings"}
        settings = []
        for model, overrides in per_model.items():
            if not isinstance(overrides, dict):
                raise InitsensError(f"{source}: [model.{model}] must be a table of settings")
            bad = sorted(set(overrides) - set(PER_MODEL))
            if bad:
                raise InitsensError(f"{source}: [model.{model}] cannot set {', '.join(bad)}; per-model settings: "
                                    f"{', '.join(PER_MODEL)}")
            settings.append((model, tuple(sorted((k, _convert(k, v, f"{source} [model.{model}]"))
                                                 for k, v in overrides.items()))))
        return cls(**converted, model_settings=tuple(sorted(settings)) or values.get("model_settings", ()))

    @classmethod
    def load(cls, config: str | Path, overrides: dict[str, Any] | None = None) -> SweepConfig:
        """A preset by name (``initsens``, ``eltager2023``) or a TOML file; ``overrides`` (the command line) win,
        also over the file's per-model values."""
        from initsens.training.presets import PRESETS, read_toml

        name = str(config)
        if name in PRESETS:
            values, source = dict(PRESETS.get(name).values), f"preset {name}"
            values["preset"] = name
        else:
            path = Path(config)
            if not path.is_file():
                raise InitsensError(f"{path}: no such config file and no preset of that name; "
                                    f"give a TOML file or one of: {', '.join(PRESETS.names())}")
            values, source = read_toml(path), str(path)
        overrides = dict(overrides or {})
        if "seeds" in overrides:
            values.pop("repeats", None)
        if "repeats" in overrides:
            values.pop("seeds", None)
        if "init_scope" in overrides or "init_scopes" in overrides:
            values.pop("init_scope", None)
            values.pop("init_scopes", None)
        per_model = {model: {k: v for k, v in table.items() if k not in overrides}
                     for model, table in (values.pop("model", None) or {}).items()}
        merged = {**values, **overrides}
        if any(per_model.values()):
            merged["model"] = {model: table for model, table in per_model.items() if table}
        return cls.from_mapping(merged, source=source)

    # -- use -------------------------------------------------------------------------------------------

    def for_model(self, model: str) -> SweepConfig:
        """This configuration with ``model``'s own settings applied (no per-model table left)."""
        overrides = dict(next((table for name, table in self.model_settings if name == model), ()))
        return dataclasses.replace(self, model_settings=(), **overrides) if overrides or self.model_settings else self

    def model_hyperparameters(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in MODEL_HYPERPARAMETERS}

    def mn_split(self, n_train: int, n_val: int) -> tuple[int, int]:
        """The split sizes that ``--kl-weight mn`` divides the batch size by: the splits' own, or ``mn_sizes``
        (the sizes of a reference dataset, e.g. the original study's Pan-Cancer splits)."""
        return (self.mn_sizes[0], self.mn_sizes[1]) if self.mn_sizes else (n_train, n_val)

    def split_seed_for(self, seed: int) -> int:
        """The split of a run: fixed by ``split_seed``, or varied with the run's seed (``--split per-seed``)."""
        return self.split_seed if self.split == "fixed" else seed

    def runs(self) -> list[RunSpec]:
        """The whole grid, in the order it is trained (architecture groups together)."""
        own = {model: self.for_model(model) for model in self.models}
        return [
            RunSpec(model, init, depth, norm, scope, seed, self.split_seed_for(seed), own[model])
            for norm in self.normalizations
            for model in self.models
            for depth in self.depths
            for scope in self.init_scopes
            for init in self.inits
            for seed in self.seeds
        ]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "model_settings":
                out["model"] = {model: dict(table) for model, table in value}
            else:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @staticmethod
    def shown(value: Any) -> str:
        """A setting's value as displays print it (lists comma-separated)."""
        return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)

    def settings(self) -> list[tuple[str, Any, dict[str, Any]]]:
        """(key, value, {model: its own value}) for every setting, for displays such as ``--dry-run``."""
        own = {model: self.for_model(model) for model in MODELS.names() if model in self.models}
        rows = []
        for f in fields(self):
            if f.name in ("model_settings", "preset"):
                continue
            value = getattr(self, f.name)
            per_model = {m: getattr(c, f.name) for m, c in own.items() if getattr(c, f.name) != value}
            rows.append((f.name, value, per_model))
        return rows


def _as_list(value: Any) -> list:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _to_int(value: Any, key: str, source: str) -> int:
    try:
        number = float(value)
        if isinstance(value, bool) or not number.is_integer():
            raise ValueError
        return int(number)
    except (TypeError, ValueError):
        raise InitsensError(f"{source}: {key} = {value!r} is not a whole number") from None


def _convert(key: str, value: Any, source: str) -> Any:
    """A TOML or command-line value as the field ``key`` holds it, or a one-line error."""
    kind = str(next(f.type for f in fields(SweepConfig) if f.name == key))
    # 'all' selects every choice, except for init_scopes, where 'all' is itself a scope
    choices = {"models": MODELS.names(), "inits": INITIALIZERS.names(), "normalizations": NORMALIZERS.names()}
    try:
        if "tuple[int" in kind:
            return tuple(_to_int(v, key, source) for v in _as_list(value))
        if "tuple[str" in kind:
            items = _as_list(value)
            return tuple(choices[key]) if items == ["all"] and key in choices else tuple(str(v) for v in items)
        if kind == "bool":
            if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.lower() in ("true", "yes", "1")
            if isinstance(value, bool):
                return value
            raise ValueError
        if kind == "int":
            return _to_int(value, key, source)
        if kind == "float":
            number = float(value)
            if isinstance(value, bool) or math.isnan(number):
                raise ValueError
            return number
        if kind == "float | str":  # kl_weight: a number or the name of a rule
            return value if value == "mn" else float(value)
        return None if value is None else str(value)
    except (TypeError, ValueError):
        raise InitsensError(f"{source}: {key} = {value!r} is not a valid {kind}") from None


@dataclass(frozen=True)
class RunSpec:
    """One run of the grid: its swept factors and its model's configuration."""

    model: str
    initializer: str
    depth: int
    normalization: str
    init_scope: str
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
                           self.initializer, self.init_scope, RunSeeds.from_seed(self.seed).init,
                           cfg.model_hyperparameters())

    def group_key(self) -> tuple:
        """Runs with the same key share an architecture and data shapes (they may train together, each on
        its own split)."""
        return (self.model, self.depth, self.normalization)

    def identity(self, dataset_sha256: str) -> dict[str, Any]:
        """Everything that determines the run's result: its factors, the data's content hash, its model's
        settings (fields declared with identity) and only the hyperparameters its model defines."""
        own = MODELS.get(self.model).hyperparameters()
        shared = {f.name: getattr(self.config, f.name) for f in fields(self.config)
                  if f.metadata.get("identity", True)
                  and (f.name not in MODEL_HYPERPARAMETERS or f.name in own)
                  and not (f.metadata.get("added") and getattr(self.config, f.name) == f.default)}
        shared = {k: list(v) if isinstance(v, tuple) else v for k, v in shared.items()}
        return {"model": self.model, "initializer": self.initializer, "depth": self.depth,
                "normalization": self.normalization, "init_scope": self.init_scope, "seed": self.seed,
                "split_seed": self.split_seed, "dataset_sha256": dataset_sha256, **shared}

    def run_id(self, dataset_sha256: str) -> str:
        """A deterministic 16-hex-digit hash of :meth:`identity`."""
        canonical = json.dumps(self.identity(dataset_sha256), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
