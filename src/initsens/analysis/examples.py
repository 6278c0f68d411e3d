"""A small runs table whose answer is known, for the docstrings' examples (they run as tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def toy_runs(seeds: int = 6, seed: int = 0) -> pd.DataFrame:
    """Runs of two models x three initializers x one depth x ``seeds`` seeds, in initsens' column
    names.

    ``val_loss`` is 1 plus N(0, 0.1) noise, except under the ``normal`` initializer in ``IWAE``,
    which adds 1: the initializer matters in IWAE alone. Seeds are shared across initializers, and
    every run is ``ok``.

    Examples
    --------
    >>> runs = toy_runs()
    >>> runs.shape
    (36, 6)
    >>> runs.groupby(["model", "initializer"])["val_loss"].mean().round(0).tolist()
    [2.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    rng = np.random.default_rng(seed)
    rows = [
        {
            "model": model,
            "initializer": init,
            "depth": 1,
            "seed": s,
            "status": "ok",
            "val_loss": 1.0
            + (1.0 if (model, init) == ("IWAE", "normal") else 0.0)
            + rng.normal(0.0, 0.1),
        }
        for model in ("IWAE", "VanillaVAE")
        for init in ("normal", "uniform", "xavier_normal")
        for s in range(seeds)
    ]
    return pd.DataFrame(rows)
