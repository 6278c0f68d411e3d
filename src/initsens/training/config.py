"""The sweep's configuration: every choice with its default, validation, TOML/preset loading and the
grid.

A :class:`SweepConfig` holds lists for the swept factors and single values for everything else,
optionally overridden per model (``[model.IWAE]`` tables); :meth:`SweepConfig.runs` expands the grid
into :class:`RunSpec` objects, each with a deterministic ``run_id``. Settings are declared in
:class:`initsens.settings.Settings`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from initsens.errors import InitsensError
from initsens.models import (
    INITIALIZERS,
    MODELS,
    VAE,
    build_model,
    declared_hyperparameters,
    hidden_dims_for,
)
from initsens.settings import (
    ADDED_FACTOR_DEFAULTS,
    ALIASES,
    ENSEMBLE_KEYS,
    FACTOR_COLUMNS,
    FACTORS,
    MODEL,
    PER_MODEL,
    Settings,
)
from initsens.training.choices import check_registry_choices, choices_of
from initsens.training.seeds import RunSeeds
from initsens.training.values import convert, convert_hyperparameter, to_int


@dataclass(frozen=True)
class SweepConfig(Settings):
    """Everything a sweep needs: the settings table (:class:`initsens.settings.Settings`, whose
    defaults are the ``initsens`` protocol), the checks that relate settings, and the grid of runs.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        check_registry_choices(self)
        declared = declared_hyperparameters()
        unknown = sorted({name for name, _ in self.hyperparameters} - set(declared))
        if unknown:
            raise InitsensError(
                f"unknown model hyperparameter(s) {', '.join(unknown)}; valid: "
                f"{', '.join(sorted(declared))}"
            )
        for model, _overrides in self.model_settings:
            if model not in MODELS:
                raise InitsensError(
                    f"[model.{model}]: unknown model; choose from: {', '.join(MODELS.names())}"
                )
            self.for_model(model)  # its own settings, checked as the sweep's are
        if self.mn_sizes and all(
            self.hyperparameters_of(m).get("kl_weight") != "mn" for m in self.models
        ):
            kl_weight = dict(self.hyperparameters).get("kl_weight", declared["kl_weight"].default)
            raise InitsensError(
                f"--mn-sizes sets the split sizes of --kl-weight mn; it has no effect with "
                f"--kl-weight {kl_weight}"
            )
        for model in (
            MODELS.names()
        ):  # each of initsens's models checks the hyperparameters it takes, whether swept
            if not MODELS.source(
                model
            ):  # or not (a model of yours was tried when it was registered)
                MODELS.get(model).check(self.hyperparameters_of(model))

    # -- building ----------------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, values: dict[str, Any], source: str = "configuration") -> SweepConfig:
        """Build from plain values (TOML or command line); lists may be given as 'a,b' strings or
        'all'.

        A factor's singular (``init_scope`` for ``init_scopes``, :data:`ALIASES`) is accepted for it
        and ``repeats`` for ``seeds`` (0..repeats-1); a model hyperparameter's name sets it for
        every model that declares it; a ``model`` mapping ({name: {key: value}}) sets values for one
        model only.
        """
        values = dict(values)
        if (
            "models" in values
        ):  # models of yours by import path are registered first: their hyperparameters are keys
            values["models"] = convert("models", values["models"], source)
        declared = declared_hyperparameters()
        settings = {f.name for f in fields(cls)}
        valid = settings | {"repeats", "model"} | set(ALIASES) | set(declared)
        unknown = sorted(set(values) - valid)
        if unknown:
            raise InitsensError(
                f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: "
                f"{', '.join(sorted(valid - {'model_settings', 'hyperparameters', 'preset'}))}"
            )
        repeats = values.pop("repeats", None)
        if repeats is not None:
            if "seeds" in values:
                raise InitsensError(f"{source}: give repeats or seeds, not both")
            if to_int(repeats, "repeats", source) < 1:
                raise InitsensError(f"--repeats must be >= 1 (got {repeats})")
            values["seeds"] = tuple(range(int(repeats)))
        for alias, name in ALIASES.items():
            if alias in values:
                if name in values:
                    raise InitsensError(f"{source}: give {alias} or {name}, not both")
                values[name] = values.pop(alias)
        per_model = values.pop("model", None) or {}
        if not isinstance(per_model, dict):
            raise InitsensError(f"{source}: 'model' must be a table of [model.NAME] sections")
        passed = {
            key: values.pop(key) for key in ("model_settings", "hyperparameters") if key in values
        }
        converted = {
            key: convert(key, value, source) for key, value in values.items() if key in settings
        }
        shared = {
            key: convert_hyperparameter(declared[key], value, source)
            for key, value in values.items()
            if key not in settings
        }
        tables = []
        for model, overrides in per_model.items():
            if not isinstance(overrides, dict):
                raise InitsensError(f"{source}: [model.{model}] must be a table of settings")
            model_hyperparameters = MODELS.get(model).hyperparameters() if model in MODELS else {}
            bad = sorted(set(overrides) - set(PER_MODEL) - set(model_hyperparameters))
            if bad:
                raise InitsensError(
                    f"{source}: [model.{model}] cannot set {', '.join(bad)}; per-model settings: "
                    f"{', '.join((*PER_MODEL, *model_hyperparameters))}"
                )
            where = f"{source} [model.{model}]"
            tables.append(
                (
                    model,
                    tuple(
                        sorted(
                            (
                                k,
                                convert(k, v, where)
                                if k in PER_MODEL
                                else convert_hyperparameter(model_hyperparameters[k], v, where),
                            )
                            for k, v in overrides.items()
                        )
                    ),
                )
            )
        return cls(
            **converted,
            hyperparameters=tuple(sorted(shared.items())) or passed.get("hyperparameters", ()),
            model_settings=tuple(sorted(tables)) or passed.get("model_settings", ()),
        )

    @classmethod
    def load(cls, config: str | Path, overrides: dict[str, Any] | None = None) -> SweepConfig:
        """A preset by name (``initsens``, ``eltager2023``) or a TOML file; ``overrides`` (the
        command line) win, also over the file's per-model values.
        """
        from initsens.training.presets import PRESETS, read_toml

        name = str(config)
        if name in PRESETS:
            values, source = dict(PRESETS.get(name).values), f"preset {name}"
            values["preset"] = name
        else:
            path = Path(config)
            if not path.is_file():
                raise InitsensError(
                    f"{path}: no such config file and no preset of that name; "
                    f"give a TOML file or one of: {', '.join(PRESETS.names())}"
                )
            values, source = read_toml(path), str(path)
        overrides = dict(overrides or {})
        if "seeds" in overrides:
            values.pop("repeats", None)
        if "repeats" in overrides:
            values.pop("seeds", None)
        for alias, name in ALIASES.items():
            if alias in overrides or name in overrides:
                values.pop(alias, None)
                values.pop(name, None)
        given = overrides.pop("model", None) or {}
        per_model = {
            model: {k: v for k, v in table.items() if k not in overrides}
            for model, table in (values.pop("model", None) or {}).items()
        }
        for (
            model,
            table,
        ) in given.items():  # the command line's per-model values win over the file's
            per_model[model] = {**per_model.get(model, {}), **table}
        merged = {**values, **overrides}
        if any(per_model.values()):
            merged["model"] = {model: table for model, table in per_model.items() if table}
        return cls.from_mapping(merged, source=source)

    @classmethod
    def resolve(
        cls,
        config: str | Path | SweepConfig | None,
        settings: dict[str, Any],
        source: str = "Python",
    ) -> SweepConfig:
        """The sweep's configuration: a :class:`SweepConfig` as it is, or a preset or TOML file
        (initsens's defaults when None) with ``settings`` on top (``source`` names them in errors).
        """
        if isinstance(config, SweepConfig):
            if settings:
                raise InitsensError(
                    f"give settings in the SweepConfig or as keywords, not both (got "
                    f"{sorted(settings)})"
                )
            return config
        return cls.load(config, settings) if config else cls.from_mapping(settings, source)

    # -- use ---------------------------------------------------------------------------------------

    def _table(self, model: str) -> dict[str, Any]:
        """``model``'s own table (``[model.NAME]``): its settings and hyperparameters."""
        return dict(next((table for name, table in self.model_settings if name == model), ()))

    def for_model(self, model: str) -> SweepConfig:
        """The configuration with ``model``'s own table applied: its settings replace the sweep's,
        its hyperparameters join the sweep's (``hyperparameters``); no table is left.
        """
        if not self.model_settings:
            return self
        table = self._table(model)
        hyperparameters = dict(self.hyperparameters) | {
            k: v for k, v in table.items() if k not in PER_MODEL
        }
        return dataclasses.replace(
            self,
            model_settings=(),
            hyperparameters=tuple(sorted(hyperparameters.items())),
            **{k: v for k, v in table.items() if k in PER_MODEL},
        )

    def hyperparameters_of(self, model: str) -> dict[str, Any]:
        """Each hyperparameter ``model`` declares, as its own table sets it, else as the sweep does,
        else its default (what its class is built with).
        """
        given = dict(self.hyperparameters) | {
            k: v for k, v in self._table(model).items() if k not in PER_MODEL
        }
        return {
            name: given.get(name, h.default)
            for name, h in MODELS.get(model).hyperparameters().items()
        }

    def mn_split(self, n_train: int, n_val: int) -> tuple[int, int]:
        """The split sizes that ``--kl-weight mn`` divides the batch size by: the splits' own, or
        ``mn_sizes`` (the sizes of a reference dataset, e.g. the original study's Pan-Cancer
        splits).
        """
        return (self.mn_sizes[0], self.mn_sizes[1]) if self.mn_sizes else (n_train, n_val)

    def split_seed_for(self, seed: int) -> int:
        """The split of a run: fixed by ``split_seed``, or varied with the run's seed
        (``--split per-seed``).
        """
        return self.split_seed if self.split == "fixed" else seed

    def runs(self) -> list[RunSpec]:
        """The whole grid, in the order it is trained (architecture groups together)."""
        model_configs = {model: self.for_model(model) for model in self.models}
        nested = sorted(FACTORS, key=lambda item: item[1].nesting)
        cells = (
            dict(zip((factor.column for _, factor in nested), values))
            for values in itertools.product(*(getattr(self, name) for name, _ in nested))
        )
        return [
            RunSpec(
                **cell,
                split_seed=self.split_seed_for(cell["seed"]),
                config=model_configs[cell["model"]],
            )
            for cell in cells
        ]

    def to_dict(self) -> dict[str, Any]:
        """Every setting and hyperparameter set as plain values (lists, ``model`` tables), as TOML
        would hold them.
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "model_settings":
                out["model"] = {model: dict(table) for model, table in value}
            elif f.name == "hyperparameters":
                out |= dict(value)
            else:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def settings(self) -> list[tuple[str, Any, dict[str, Any]]]:
        """(key, value, {model: its own value}) for every setting, and every hyperparameter of
        initsens's models and the sweep's closing the model settings (as in
        ``initsens train --help``), for displays such as ``--dry-run``.
        """
        model_configs = {
            model: self.for_model(model) for model in MODELS.names() if model in self.models
        }
        taken = {model: self.hyperparameters_of(model) for model in model_configs}
        shared, builtin = dict(self.hyperparameters), declared_hyperparameters(own=True)
        rows, model_rows, at = [], [], 0
        for name, h in declared_hyperparameters().items():
            if name in builtin or any(name in values for values in taken.values()):
                value = shared.get(name, h.default)
                model_rows.append(
                    (
                        name,
                        value,
                        {
                            m: values[name]
                            for m, values in taken.items()
                            if name in values and values[name] != value
                        },
                    )
                )
        for f in fields(self):
            if f.name not in ("hyperparameters", "model_settings", "preset"):
                value = getattr(self, f.name)
                rows.append(
                    (
                        f.name,
                        value,
                        {
                            m: getattr(c, f.name)
                            for m, c in model_configs.items()
                            if getattr(c, f.name) != value
                        },
                    )
                )
                if f.metadata["panel"] == MODEL:
                    at = len(rows)
        return rows[:at] + model_rows + rows[at:]


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

    def factors(self) -> dict[str, Any]:
        """The run's value of each swept factor, by column (:data:`~initsens.settings.FACTORS`)."""
        return {column: getattr(self, column) for column in FACTOR_COLUMNS}

    def hidden_dims(self) -> list[int]:
        """The run's hidden widths (``hidden_dims`` of the config, continued or cut to
        ``depth``).
        """
        return hidden_dims_for(self.depth, self.config.hidden_dims)

    def build_model(self, n_genes: int) -> VAE:
        """The run's model, with initial weights drawn from its seed's init stream."""
        cfg = self.config
        return build_model(
            self.model,
            n_genes,
            depth=self.depth,
            hidden_dims=cfg.hidden_dims,
            latent_dim=cfg.latent_dim,
            activation=cfg.activation,
            initializer=self.initializer,
            init_scope=self.init_scope,
            seed=RunSeeds.from_seed(self.seed).init,
            hyperparameters=self.hyperparameters(),
        )

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters the run's model is built with: each one it declares, valued by
        :meth:`SweepConfig.hyperparameters_of`.
        """
        return self.config.hyperparameters_of(self.model)

    def group_key(self) -> tuple:
        """The run's values of the factors whose levels cannot share an ensemble (those not
        ``stacked``, :class:`~initsens.settings.Factor`): runs with the same key share an
        architecture and data shapes, and may train stacked.
        """
        return tuple(getattr(self, column) for column in ENSEMBLE_KEYS)

    def identity(self, dataset_sha256: str) -> dict[str, Any]:
        """Everything that determines the run's result: its factors, the data's content hash, its
        model's settings (fields declared with identity) and the hyperparameters its model declares:
        those of initsens's models by name, a model of yours' others under
        ``model_hyperparameters``, beside its import path.
        """
        shared = {
            f.name: getattr(self.config, f.name)
            for f in fields(self.config)
            if f.metadata.get("identity", True)
            and not (f.metadata.get("added") and getattr(self.config, f.name) == f.default)
        }
        shared = {k: list(v) if isinstance(v, tuple) else v for k, v in shared.items()}
        builtin = declared_hyperparameters(own=True)
        run_hyperparameters = self.hyperparameters()
        shared |= {k: v for k, v in run_hyperparameters.items() if k in builtin}
        plugin: dict[str, Any] = {
            key: value
            for key, value in (
                ("model_source", MODELS.source(self.model)),
                ("initializer_source", INITIALIZERS.source(self.initializer)),
            )
            if value
        }
        if plugin.get("model_source"):
            plugin["model_hyperparameters"] = {
                k: v for k, v in run_hyperparameters.items() if k not in builtin
            }
        factors = {
            column: value
            for column, value in self.factors().items()
            if (column, value) not in ADDED_FACTOR_DEFAULTS
        }
        return {
            **plugin,
            **factors,
            "split_seed": self.split_seed,
            "dataset_sha256": dataset_sha256,
            **shared,
        }

    def run_id(self, dataset_sha256: str) -> str:
        """A deterministic 16-hex-digit hash of :meth:`identity`."""
        return _hash(self.identity(dataset_sha256))

    def run_ids(self, dataset_sha256: str) -> tuple[str, ...]:
        """The run's id, then the ids earlier versions gave the same run where a setting has since
        left the identity (``former_identity``: ``denormals = "flush"`` entered run ids until schema
        4), so folders written then resume instead of training their runs again, whatever the
        setting's value now.
        """
        identity = self.identity(dataset_sha256)
        former = [
            [(f.name, value) for value in choices_of(f) if value != f.metadata["former_identity"]]
            for f in fields(self.config)
            if f.metadata.get("former_identity") is not None
        ]
        return (
            _hash(identity),
            *(
                _hash({**identity, **dict(values)})
                for values in itertools.product(*former)
                if values
            ),
        )

    def recorded_id(self, dataset_sha256: str, recorded: set[str] | frozenset[str]) -> str:
        """The run's id in a folder whose runs are ``recorded``: the first of :meth:`run_ids` found
        there, else its id.
        """
        ids = self.run_ids(dataset_sha256)
        return next((run_id for run_id in ids if run_id in recorded), ids[0])


def _hash(identity: dict[str, Any]) -> str:
    canonical = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
