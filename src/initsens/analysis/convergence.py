"""Convergence: the share of runs per cell that reached the epoch cap while still improving.

A run that stops at ``--epochs`` without early stopping (``stopped == 'cap'`` in the runs table) was
still improving, so its numbers are those of an unconverged model; comparing initializers on such runs
compares how fast they train, not where they end. Runs that diverged or failed are not counted here
(``failures`` covers them). Tables from trainers that do not record ``stopped`` give an empty table.

Columns: the cell keys, ``initializer``, ``n_finished`` (runs that finished: stopped early or at the cap),
``n_capped``, ``capped_share``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from initsens.results.schema import CAP, EARLY

#: Above this share of capped runs in a cell, the report warns that its runs are not converged.
CAPPED_WARNING = 0.10


def convergence(runs: pd.DataFrame, by: Sequence[str], factor: str = "initializer") -> pd.DataFrame:
    """Runs and capped runs per cell and initializer (see the module docstring)."""
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
    """Cells whose share of capped runs exceeds ``threshold``: the cell keys, n_finished, n_capped, capped_share."""
    if table.empty:
        return table.reindex(columns=[*by, "n_finished", "n_capped", "capped_share"])
    cells = table.groupby(list(by), sort=True)[["n_finished", "n_capped"]].sum().reset_index()
    cells["capped_share"] = cells["n_capped"] / cells["n_finished"]
    return cells[cells["capped_share"] > threshold].reset_index(drop=True)
