"""Cells: how a results table splits into the groups analyzed one by one (model x depth ...).

:func:`iter_cells` yields each cell's keys as a tuple (pandas gives a scalar for one key), and
:func:`cell_mask` selects a cell's rows in any table that carries the keys. :func:`cell_seed` gives
each cell its own random stream: with one shared seed, two cells of the same size would resample the
same positions (or simulate the same normal draws), their replicates would be correlated, and the CI
of a difference between cells (the sensitivity ranking) would be too narrow.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from initsens.errors import InitsensError


def require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """One-line error naming the missing ``columns`` and listing the ones found."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InitsensError(
            f"results table has no column(s) {', '.join(missing)} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )


def iter_cells(frame: pd.DataFrame, by: Sequence[str]) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """(keys as a tuple, rows) for every cell of ``by``, in sorted order."""
    for keys, cell in frame.groupby(list(by), sort=True):
        yield (keys if isinstance(keys, tuple) else (keys,)), cell


def cell_mask(frame: pd.DataFrame, keys: Mapping[str, object]) -> np.ndarray:
    """Boolean mask of ``frame``'s rows whose columns equal ``keys`` (column -> value)."""
    return np.logical_and.reduce(
        [frame[k].to_numpy() == v for k, v in keys.items()] or [np.ones(len(frame), bool)]
    )


def cell_seed(seed: int, keys: tuple) -> np.random.SeedSequence:
    """A stream for the cell ``keys`` derived from the user's ``seed``, stable across runs and
    platforms.
    """
    return np.random.SeedSequence([seed, zlib.crc32(repr(tuple(str(k) for k in keys)).encode())])


def cell_label(keys: Mapping) -> str:
    """A cell's name in reports: ``IWAE, depth 1`` (the model bare, every other key with its
    name).
    """
    return ", ".join(f"{k} {v}" if k != "model" else str(v) for k, v in keys.items())
