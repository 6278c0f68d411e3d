"""Which column plays which part in an analysis: the factor whose effect is measured, the columns
that define a cell, the replicate, and how a ``status`` column's words map to finished and failed
runs.

The defaults are initsens' own runs tables (``initializer`` within ``model`` x ``depth`` cells,
``seed`` replicates); any seed sweep analyzes the same way with its own names
(``--factor optimizer --by model,dataset --replicate seed``), and the report, figures and tables use
those names throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from initsens.errors import InitsensError
from initsens.results.schema import FAILED, OK, STATUSES
from initsens.settings import FACTORS, VARIED_CELL_KEYS

#: Default cell columns, and the optional ones that join them when they hold several levels
#: (initsens' runs).
DEFAULT_BY = tuple(factor.column for _, factor in FACTORS if factor.cell == "always")
OPTIONAL_BY = VARIED_CELL_KEYS

#: Status words of other tools mapped to ours (MLflow's run statuses; W&B writes finished / failed /
#: crashed). A run still running or scheduled has no final metric: it counts as not ok, like a
#: failure.
STATUS_WORDS = {
    "finished": OK,
    "completed": OK,
    "complete": OK,
    "success": OK,
    "succeeded": OK,
    "failed": FAILED,
    "killed": FAILED,
    "crashed": FAILED,
    "error": FAILED,
    "errored": FAILED,
    "running": FAILED,
    "scheduled": FAILED,
}


@dataclass(frozen=True)
class Design:
    """The roles of a runs table's columns. ``by=None`` is initsens' cell definition: model x depth,
    plus normalization and init scope when they hold several levels; a given ``by`` is the whole
    cell definition.

    Examples
    --------
    >>> design = Design.parse("optimizer", "model,dataset", "run")
    >>> design.required, design.is_default
    (('model', 'dataset', 'optimizer', 'run'), False)
    """

    factor: str = "initializer"
    by: tuple[str, ...] | None = None
    replicate: str = "seed"

    @classmethod
    def parse(
        cls,
        factor: str | None = None,
        by: str | Sequence[str] | None = None,
        replicate: str | None = None,
    ) -> Design:
        """From command-line strings (``by`` comma-separated); a column may play one part only."""
        columns = (
            tuple(c.strip() for c in by.split(","))
            if isinstance(by, str)
            else None
            if by is None
            else tuple(by)
        )
        if columns is not None and (not columns or not all(columns)):
            raise InitsensError(
                f"--by {by!r} names no column; give comma-separated column names, e.g. model,depth"
            )
        design = cls(factor or cls.factor, columns, replicate or cls.replicate)
        roles = [design.factor, design.replicate, *(columns or ())]
        repeated = sorted({c for c in roles if roles.count(c) > 1})
        if repeated:
            raise InitsensError(
                f"column {repeated[0]!r} is given more than one part (--factor, --by, "
                "--replicate); each column plays one part"
            )
        return design

    @property
    def is_default(self) -> bool:
        """Whether this is initsens' own design (initializer, model x depth, seed)."""
        return self == Design()

    @property
    def required(self) -> tuple[str, ...]:
        """The columns a runs table must have for this design."""
        return (*(self.by or DEFAULT_BY), self.factor, self.replicate)

    def cell_keys(self, runs: pd.DataFrame) -> list[str]:
        """The columns that define a cell in ``runs`` (the default adds normalization and init scope
        when they vary).
        """
        if self.by is not None:
            return list(self.by)
        return [
            *DEFAULT_BY,
            *(k for k in OPTIONAL_BY if k in runs.columns and runs[k].nunique() > 1),
        ]


def map_status(runs: pd.DataFrame, source: str) -> tuple[pd.DataFrame, str | None]:
    """``runs`` with a ``status`` column in initsens' words (``ok`` / ``failed``), and a note on
    what was done.

    A column already in our words is kept. One in another tool's words (MLflow's FINISHED / FAILED /
    KILLED, W&B's finished / crashed, ...) is mapped, case-insensitively. A column with any other
    word is ignored: then only a non-finite metric marks a run as failed (and the note says so).
    """
    if "status" not in runs.columns:
        return runs, None
    words = runs["status"].astype(str)
    if words.isin(STATUSES).all():
        return runs, None
    lowered = words.str.strip().str.lower()
    if lowered.isin(STATUS_WORDS).all():
        mapped = lowered.map(STATUS_WORDS)
        shown = ", ".join(
            f"{w} → {STATUS_WORDS[w.strip().lower()]}" for w in sorted(words.unique())
        )
        return runs.assign(
            status=mapped.to_numpy()
        ), f"status column mapped to initsens' words ({shown})"
    unknown = sorted(set(words[~lowered.isin(STATUS_WORDS) & ~words.isin(STATUSES)]))
    return runs.drop(columns="status"), (
        f"status column in {source} ignored: its word(s) {', '.join(map(repr, unknown[:3]))} are "
        f"neither initsens' ({', '.join(STATUSES)}) nor a known tool's (e.g. MLflow's "
        "FINISHED/FAILED); only a non-finite metric marks a run as failed"
    )


def coerce_replicate(values: pd.Series) -> pd.Series:
    """Replicate ids as integers when they all are whole numbers, else as strings (any ids pair
    runs).
    """
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all() and bool(np.all(numbers == np.round(numbers))):
        return numbers.astype(np.int64)
    return values.astype(str)
