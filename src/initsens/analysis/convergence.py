"""Convergence: the share of runs per cell that reached the epoch cap while still improving.

Such runs describe unconverged models, so comparing initializers on them compares how fast they
train, not where they end (the docs' :doc:`Analyze a sweep </guide/analyze>` page, How the
statistics are computed).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from initsens.results.schema import CAP, EARLY

#: Above this share of capped runs in a cell, the report warns that its runs are not converged.
CAPPED_WARNING = 0.10


def convergence(runs: pd.DataFrame, by: Sequence[str], factor: str = "initializer") -> pd.DataFrame:
    """Runs and capped runs per cell and initializer; an empty table when ``runs`` has no
    ``stopped`` column.

    Returns
    -------
    pandas.DataFrame
        The cell keys, ``initializer``, ``n_finished`` (runs that stopped early or at the cap),
        ``n_capped``, ``capped_share``.
    """
    columns = [*by, factor, "n_finished", "n_capped", "capped_share"]
    if "stopped" not in runs.columns:
        return pd.DataFrame(columns=columns)
    finished = runs[runs["stopped"].isin([EARLY, CAP])]
    table = (
        finished.groupby([*by, factor], sort=True)["stopped"]
        .agg(n_finished="size", n_capped=lambda s: int((s == CAP).sum()))
        .reset_index()
    )
    table["capped_share"] = table["n_capped"] / table["n_finished"]
    return table[columns]


def capped_cells(
    table: pd.DataFrame, by: Sequence[str], threshold: float = CAPPED_WARNING
) -> pd.DataFrame:
    """Cells whose share of capped runs exceeds ``threshold``: the cell keys, n_finished, n_capped,
    capped_share.
    """
    if table.empty:
        return table.reindex(columns=[*by, "n_finished", "n_capped", "capped_share"])
    cells = table.groupby(list(by), sort=True)[["n_finished", "n_capped"]].sum().reset_index()
    cells["capped_share"] = cells["n_capped"] / cells["n_finished"]
    return cells[cells["capped_share"] > threshold].reset_index(drop=True)
