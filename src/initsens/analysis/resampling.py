"""Seeds for per-cell resampling.

Each cell's bootstrap must use its own random stream: with one shared seed, two cells of the same
size would resample the same positions (or simulate the same normal draws), their replicates would
be correlated, and the CI of a difference between cells (the sensitivity ranking) would be too narrow.
"""

from __future__ import annotations

import zlib

import numpy as np


def cell_seed(seed: int, keys: tuple) -> np.random.SeedSequence:
    """A stream for the cell ``keys`` derived from the user's ``seed``, stable across runs and platforms."""
    return np.random.SeedSequence([seed, zlib.crc32(repr(tuple(str(k) for k in keys)).encode())])
