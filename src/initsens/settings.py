"""Every setting of a sweep, declared once: name, type, default, help, CLI panel, run identity,
checks.

:class:`Settings` is that table; the options of ``initsens train``, the presets' defaults,
:class:`~initsens.training.SweepConfig`, the run id and the analysis' cell keys derive from it. It
imports nothing heavy, so ``initsens --help`` stays fast. A row's metadata and how to add a setting
or a factor: the docs' :doc:`Developing initsens </development>` page.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from dataclasses import Field, dataclass, field, fields
from typing import Any

from initsens.errors import InitsensError

GRID, DATA, TRAINING, MODEL, RUN = "Grid", "Data", "Training", "Model hyperparameters", "Running"

Check = tuple[Callable[[Any], bool], str]

SPLITS = ("fixed", "per-seed")
FIT_ON = ("train", "all")
SELECT_EPOCH = ("best", "last")
PRECISIONS = ("fp32", "bf16", "tf32")
DENORMALS = ("keep", "flush")


@dataclass(frozen=True)
class Factor:
    """A grid setting that is swept: each run takes one of its values.

    Parameters
    ----------
    column : the run's field, runs column and run-id key (``init_scope`` for ``init_scopes``).
    nesting : its place in the training order, outermost first (runs sharing an architecture train
        together).
    cell : ``always`` (a cell key of the analysis), ``varied`` (a cell key where the runs hold
        several levels) or '' (not one: the factor measured, or the replicate).
    alias : the column's name also sets the factor to one value (``--init-scope hidden``).
    about : what the column holds, as the analysis tables describe it.
    stacked : runs at different levels of it may train stacked in one ensemble (the same network
        shapes, objective and optimizer); a factor that changes any of them leaves it False, and its
        levels train apart.
    """

    column: str
    nesting: int
    cell: str = ""
    alias: bool = False
    about: str = ""
    stacked: bool = False


def setting(
    default: Any,
    help: str = "",
    *,
    panel: str = TRAINING,
    identity: bool = True,
    added: bool = False,
    former_identity: Any = None,
    per_model: bool = False,
    flag: str | None = None,
    cli: bool = True,
    checks: tuple[Check, ...] = (),
    choices: str | tuple[str, ...] | None = None,
    factor: Factor | None = None,
) -> Any:
    """One row of the table: a dataclass field whose metadata carries the rest of the row."""
    return field(
        default=default,
        metadata={
            "help": help,
            "panel": panel,
            "identity": identity,
            "added": added,
            "former_identity": former_identity,
            "per_model": per_model,
            "flag": flag,
            "cli": cli,
            "checks": checks,
            "choices": choices,
            "factor": factor,
        },
    )


def at_least(low: float, why: str = "") -> Check:
    """A check that the value is >= ``low`` (``why`` follows the bound in the message)."""
    return (lambda v: v >= low, f"{{flag}} must be >= {low:g}{why} (got {{value}})")


def above(low: float, why: str = "") -> Check:
    """A check that the value is > ``low`` (``why`` follows the bound in the message)."""
    return (lambda v: v > low, f"{{flag}} must be > {low:g}{why} (got {{value}})")


@dataclass(frozen=True)
class Settings:
    """The settings table (module docstring); its defaults are the ``initsens`` protocol."""

    # -- grid: the swept factors -------------------------------------------------------------------
    models: tuple[str, ...] = setting(
        ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE"),
        "Models, comma-separated or 'all'.",
        panel=GRID,
        identity=False,
        choices="models",
        factor=Factor("model", 1, "always", about="VAE model"),
    )
    inits: tuple[str, ...] = setting(
        ("default", "normal", "uniform", "xavier_normal", "xavier_uniform"),
        "Initializers, comma-separated or 'all'.",
        panel=GRID,
        identity=False,
        choices="initializers",
        factor=Factor("initializer", 4, about="weight initializer", stacked=True),
    )
    depths: tuple[int, ...] = setting(
        (1, 2),
        "Hidden-layer counts, comma-separated.",
        panel=GRID,
        identity=False,
        checks=((lambda v: bool(v) and min(v) >= 1, "{flag} must be >= 1 (got {value})"),),
        factor=Factor("depth", 2, "always", about="number of hidden layers"),
    )
    normalizations: tuple[str, ...] = setting(
        ("zscore",),
        "Normalizations, comma-separated or 'all'.",
        panel=GRID,
        identity=False,
        choices="normalizations",
        factor=Factor("normalization", 0, "varied", about="data normalization"),
    )
    init_scopes: tuple[str, ...] = setting(
        ("hidden",),
        "Which Linear weights the initializer draws: hidden, all, "
        "or both as a factor (hidden,all).",
        panel=GRID,
        identity=False,
        choices="init_scopes",
        checks=((lambda v: len(set(v)) == len(v), "{flag} repeats a value ({value})"),),
        factor=Factor(
            "init_scope",
            3,
            "varied",
            alias=True,
            stacked=True,
            about="which Linear weights the initializer drew",
        ),
    )
    seeds: tuple[int, ...] = setting(
        tuple(range(10)),
        "Explicit seeds, comma-separated (instead of --repeats).",
        panel=GRID,
        identity=False,
        checks=(
            (lambda v: bool(v) and min(v) >= 0, "{flag} must be >= 0 (got {value})"),
            (lambda v: len(set(v)) == len(v), "{flag} has repeated values ({value})"),
        ),
        factor=Factor("seed", 5, about="seed of the run's random streams", stacked=True),
    )
    # -- data --------------------------------------------------------------------------------------
    data: str = setting(
        "tcga5",
        "A dataset name (tcga5, tcga5-tumor, synthetic, xena-pancan), a matrix file "
        "(CSV/TSV, optionally .gz, or Parquet; samples x genes or genes x samples) or an AnnData "
        ".h5ad file.",
        panel=DATA,
        identity=False,
    )
    labels: str | None = setting(
        None, "Phenotype table whose first column holds sample ids.", panel=DATA, identity=False
    )
    orientation: str = setting(
        "auto",
        "Matrix orientation: auto, samples-x-genes or genes-x-samples.",
        panel=DATA,
        identity=False,
        added=True,
        choices="orientations",
    )
    label_column: str | None = setting(
        None,
        "Column (an obs column for .h5ad) holding the cancer type (found "
        "automatically when it is 'cancer type abbreviation', 'cancer_type', "
        "'label' or 'cell_type').",
        panel=DATA,
        identity=False,
    )
    layer: str | None = setting(
        None, "For .h5ad: read this layer (e.g. counts) instead of X.", panel=DATA, identity=False
    )
    gene_column: str | None = setting(
        None,
        "For .h5ad: the var column holding gene ids (default: var_names).",
        panel=DATA,
        identity=False,
    )
    impute: str | None = setting(
        None, "Fill missing/infinite values: mean (gene mean) or zero.", panel=DATA, identity=False
    )
    drop_missing: str | None = setting(
        None,
        "Drop every gene or sample with a missing value: genes or samples.",
        panel=DATA,
        identity=False,
    )
    transform: str = setting(
        "auto",
        "Per-sample transform before gene selection: auto, none, log2p1, log2cpm "
        "(auto: log2cpm for raw counts).",
        panel=DATA,
        choices="transforms",
    )
    top_genes: int = setting(
        5000, "Keep the k most variable genes (0 keeps all).", panel=DATA, checks=(at_least(0),)
    )
    gene_selection: str = setting(
        "mad",
        "mad (median absolute deviation), meanad (mean absolute deviation, "
        "pandas' old .mad()) or variance.",
        panel=DATA,
        choices="gene_selections",
    )
    val_fraction: float = setting(
        0.2,
        "Validation fraction.",
        panel=DATA,
        checks=((lambda v: 0 < v < 1, "{flag} must be between 0 and 1 (got {value})"),),
    )
    split: str = setting(
        "fixed", "fixed (one split, from --split-seed) or per-seed.", panel=DATA, choices=SPLITS
    )
    split_seed: int = setting(0, "Seed of the fixed train/validation split.", panel=DATA)
    stratify: bool = setting(
        True, "Stratify the split by cancer type.", panel=DATA, flag="--stratify/--no-stratify"
    )
    fit_on: str = setting(
        "train",
        "Fit gene selection and normalization on the training split (train) or on every "
        "sample (all).",
        panel=DATA,
        choices=FIT_ON,
    )
    # -- training ----------------------------------------------------------------------------------
    epochs: int = setting(
        1000,
        "Maximum epochs (runs that reach it are recorded as capped).",
        per_model=True,
        checks=(at_least(1),),
    )
    epoch_steps: int = setting(
        0,
        "Optimizer steps per epoch: 0 is one pass over the training split; N counts every "
        "schedule (validation, early stopping, --min-epochs, --epochs, --lr-decay) in epochs "
        "of N steps, e.g. a larger dataset's.",
        added=True,
        per_model=True,
        checks=(at_least(0, ", 0 meaning one pass over the training split"),),
    )
    min_epochs: int = setting(
        1,
        "Early stopping cannot end a run before this epoch.",
        per_model=True,
        checks=(
            (
                lambda v: v >= 1,
                "{flag} must be >= 1 (got {value}); above --epochs it means no early stopping",
            ),
        ),
    )
    patience: int = setting(
        10, "Early stopping: epochs without improvement.", per_model=True, checks=(at_least(1),)
    )
    min_delta: float = setting(
        0.0,
        "Early stopping: smallest improvement that counts.",
        per_model=True,
        checks=(at_least(0),),
    )
    select_epoch: str = setting(
        "best",
        "Report the best epoch's numbers or the last one's.",
        per_model=True,
        choices=SELECT_EPOCH,
    )
    batch_size: int = setting(
        64, "Minibatch size.", per_model=True, checks=(at_least(2, ", BatchNorm needs 2 samples"),)
    )
    drop_last: bool = setting(
        False,
        "Drop a last minibatch smaller than --batch-size.",
        per_model=True,
        flag="--drop-last/--keep-last",
    )
    lr: float = setting(1e-3, "Adam learning rate.", per_model=True, checks=(above(0),))
    weight_decay: float = setting(
        0.0,
        "Adam weight decay (L2 penalty) on all parameters.",
        per_model=True,
        added=True,
        checks=(at_least(0),),
    )
    lr_decay: float = setting(
        1.0,
        "Learning rate multiplied by this every epoch (1: constant).",
        per_model=True,
        checks=(
            (
                lambda v: 0 < v <= 1,
                "{flag} must be in (0, 1], 1 meaning a constant rate (got {value})",
            ),
        ),
    )
    clustering: str = setting(
        "kmeans",
        "ARI from kmeans on validation posterior means, or leiden on sampled z of all "
        "samples (needs initsens[leiden]).",
        choices="clusterings",
    )
    # -- model -------------------------------------------------------------------------------------
    latent_dim: int = setting(
        50, "Latent dimensions.", panel=MODEL, per_model=True, checks=(at_least(1),)
    )
    hidden_dims: tuple[int, ...] = setting(
        (512,),
        "Hidden widths, e.g. 512 or 512,256 (halved to reach the depth).",
        panel=MODEL,
        per_model=True,
        checks=(
            (lambda v: bool(v) and min(v) >= 1, "{flag} must be positive widths (got {value})"),
        ),
    )
    activation: str = setting(
        "leaky_relu",
        "leaky_relu, relu, elu, gelu or tanh.",
        panel=MODEL,
        per_model=True,
        choices="activations",
    )
    mn_sizes: tuple[int, ...] = setting(
        (),
        "N_TRAIN,N_VAL: the split sizes --kl-weight mn divides the batch size "
        "by, e.g. a larger dataset's (default: the splits' own).",
        panel=MODEL,
        added=True,
        checks=(
            (
                lambda v: not v or (len(v) == 2 and min(v) >= 1),
                "{flag} takes two sizes, N_TRAIN,N_VAL, each >= 1 (got {value})",
            ),
        ),
    )
    # -- running -----------------------------------------------------------------------------------
    precision: str = setting(
        "fp32",
        "fp32 (strict), bf16 (autocast; pays on CPUs with AVX-512 bf16/AMX and on "
        "GPUs) or tf32 (CUDA only).",
        panel=RUN,
        choices=PRECISIONS,
    )
    denormals: str = setting(
        "flush",
        "Subnormal floats on the CPU: flush (to zero while a fit runs: IWAE's gradients "
        "are full of them, and flushing trains it up to 3x faster on a CPU with a subnormal slow "
        "path) or keep (IEEE arithmetic). "
        "Recorded per run (runs column denormals), not part of the run id: results differ "
        "in the last bits only.",
        panel=RUN,
        identity=False,
        former_identity="keep",
        choices=DENORMALS,
    )
    device: str = setting(
        "auto", "auto, cpu or cuda.", panel=RUN, identity=False, choices="devices"
    )
    trainer: str = setting(
        "ensemble",
        "ensemble (vectorized) or reference (one run at a time).",
        panel=RUN,
        identity=False,
        choices="trainers",
    )
    ensemble_size: int = setting(
        0,
        "Members per ensemble; 0 fits a memory budget.",
        panel=RUN,
        identity=False,
        checks=(at_least(0, ", 0 meaning automatic"),),
    )
    preset: str | None = setting(None, identity=False, cli=False)
    #: Model hyperparameters (each declared by the models that take it,
    #: :meth:`~initsens.models.VAE.hyperparameters`) set for every model: ((name, value), ...); see
    #: :meth:`SweepConfig.hyperparameters_of`.
    hyperparameters: tuple = setting((), identity=False, cli=False)
    #: Per-model overrides: ((model, ((key, value), ...)), ...); see :meth:`SweepConfig.for_model`.
    model_settings: tuple = setting((), identity=False, cli=False)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            for ok, message in f.metadata["checks"]:
                if not ok(value):  # the value as the user typed it: 0,1 (not [0, 1])
                    raise InitsensError(
                        message.format(flag=flag_of(f), value=shown(value) or "nothing")
                    )
            if isinstance(
                f.metadata["choices"], tuple
            ):  # its own values; a registry's are checked by SweepConfig
                check_choice(f, value, f.metadata["choices"])


def option(f: Field) -> str:
    """The option's spelling: ``--top-genes``, or a pair such as ``--drop-last/--keep-last``."""
    return f.metadata["flag"] or "--" + f.name.replace("_", "-")


def flag_of(f: Field) -> str:
    """The option's name as messages write it: ``--drop-last`` (the first spelling of a pair)."""
    return option(f).split("/")[0]


def expands_all(f: Field, allowed: Sequence[str]) -> bool:
    """Whether ``all`` stands for every value ``allowed`` of a swept factor (not where ``all`` is
    itself one).
    """
    return typing.get_origin(kind(f.name)) is tuple and "all" not in allowed


def check_choice(f: Field, value: Any, allowed: Sequence[str]) -> None:
    """A one-line error unless ``value`` (each value of a factor) is among the values
    ``allowed``.
    """
    flag = flag_of(f)
    if isinstance(value, tuple):  # a swept factor: every value must be known, and there must be one
        if not value:
            raise InitsensError(f"{flag} is empty; choose from: {', '.join(allowed)}")
        for item in value:
            if item not in allowed:
                every = " (or all)" if expands_all(f, allowed) else ""
                raise InitsensError(
                    f"unknown value {item!r} in {flag}; choose from: {', '.join(allowed)}{every}"
                )
    elif value not in allowed:
        raise InitsensError(f"unknown {flag} {value!r}; choose one of: {', '.join(allowed)}")


def shown(value: Any) -> str:
    """A setting's value as displays print it (lists comma-separated)."""
    return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def table() -> tuple[Field, ...]:
    """The rows of the table, in order."""
    return fields(Settings)


def row(name: str) -> Field:
    """The table's row (dataclass field) of a setting."""
    return next(f for f in fields(Settings) if f.name == name)


def kind(name: str) -> Any:
    """A setting's type as the table declares it (a real type: ``tuple[int, ...]``, ``float | str``,
    ``bool``).
    """
    return _TYPES[name]


def default(name: str) -> Any:
    """A setting's default."""
    return row(name).default


def flag_and_help(name: str) -> tuple[str, str]:
    """(flag, help) of a setting's command-line option, the help escaped for rich's markup
    (``initsens[leiden]`` is text, not a style).
    """
    f = row(name)
    return option(f), f.metadata["help"].replace("[", "\\[")


_TYPES = typing.get_type_hints(Settings)
#: The swept factors: (setting, its :class:`Factor`) in the table's order.
FACTORS: tuple[tuple[str, Factor], ...] = tuple(
    (f.name, f.metadata["factor"]) for f in fields(Settings) if f.metadata["factor"] is not None
)
#: The factors' columns (a run's fields), in the table's order.
FACTOR_COLUMNS = tuple(factor.column for _, factor in FACTORS)
#: (column, value) of a factor added after results were recorded (``added``), at its default: kept
#: out of run ids, so runs recorded before the factor existed keep theirs.
ADDED_FACTOR_DEFAULTS = frozenset(
    (f.metadata["factor"].column, value)
    for f in fields(Settings)
    if f.metadata["factor"] and f.metadata["added"]
    for value in default(f.name)
)
#: A factor's column that also sets it to one value (``init_scope`` -> ``init_scopes``).
ALIASES = {factor.column: name for name, factor in FACTORS if factor.alias}


def ensemble_keys(factors: Sequence[tuple[str, Factor]]) -> tuple[str, ...]:
    """The columns whose values the runs of one stacked ensemble share: the ``factors`` not
    ``stacked``.
    """
    return tuple(factor.column for _, factor in factors if not factor.stacked)


#: The table's :func:`ensemble_keys`, in its order: :meth:`~initsens.training.RunSpec.group_key`.
ENSEMBLE_KEYS = ensemble_keys(FACTORS)
#: The columns that make a cell where the runs hold several of their levels (model and depth always
#: do).
VARIED_CELL_KEYS = tuple(factor.column for _, factor in FACTORS if factor.cell == "varied")
#: Settings a preset or TOML file may set per model (``[model.NAME]`` tables, beside the model's
#: hyperparameters).
PER_MODEL = tuple(f.name for f in fields(Settings) if f.metadata["per_model"])
