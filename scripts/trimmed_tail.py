"""How Games-Howell on means (rules v3) and on 20% trimmed means with Yuen's errors (v4) behave at a
Bonferroni tail when all five initializers of a cell tie (the complete null, as in the centred
null's worlds), ten seeds each: the share of tables in which some pair is significant at alpha / m,
on fresh samples and in a centred bootstrap world made from one sample (what
``initsens.reproduction.nulls.centred`` does to the runs).

``python scripts/trimmed_tail.py [--tables 20000] [--m 8]``; the documentation's numbers
(docs/reproduction.md, "The null checks") came from the defaults.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from initsens.analysis.posthoc import studentized_range_quantile

K, N = 5, 10
SHAPES = {
    "normal": lambda rng, size: rng.standard_normal(size),
    "normal, spreads 1 to 100": lambda rng, size: (
        rng.standard_normal(size) * np.array([1, 3, 10, 30, 100])[None, :, None]
    ),
    "one run in ten far out": lambda rng, size: (
        rng.standard_normal(size) + 40.0 * (rng.random(size) < 0.1)
    ),
}


def any_pair_significant(groups: np.ndarray, trim: float, critical) -> np.ndarray:
    """Per table (tables, K, N): some pair's Games-Howell statistic above the studentized range's
    quantile.
    """
    g = int(np.floor(trim * N))
    h = N - 2 * g
    ordered = np.sort(groups, axis=-1)
    centres = ordered[..., g : N - g].mean(-1)
    winsorized = np.clip(ordered, ordered[..., g : g + 1], ordered[..., N - g - 1 : N - g])
    var = (N - 1) * winsorized.var(-1, ddof=1) / (h * (h - 1))
    hit = np.zeros(groups.shape[0], bool)
    for i in range(K):
        for j in range(i + 1, K):
            se2 = var[:, i] + var[:, j]
            with np.errstate(divide="ignore", invalid="ignore"):
                df = se2**2 / (var[:, i] ** 2 / (h - 1) + var[:, j] ** 2 / (h - 1))
                q = np.sqrt(2) * np.abs(centres[:, i] - centres[:, j]) / np.sqrt(se2)
                hit |= (se2 > 0) & (q > critical(np.nan_to_num(df, nan=1.0)))
    return hit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=20000)
    parser.add_argument(
        "--m", type=int, default=8, help="Bonferroni divisor: the level is 0.05 / m"
    )
    args = parser.parse_args()
    level = 0.05 / args.m
    grid = np.geomspace(1.0, 2000.0, 80)
    quantiles = np.array([studentized_range_quantile(1 - level, K, df) for df in grid])

    def critical(df: np.ndarray) -> np.ndarray:
        return np.interp(np.log(np.clip(df, 1.0, 2000.0)), np.log(grid), quantiles)

    rng = np.random.default_rng(0)
    shape = (args.tables, K, N)
    print(f"level 0.05/{args.m} = {level:.5f}; {args.tables} tables; rate (rate / level)")
    for name, draw in SHAPES.items():
        population = draw(rng, (200_000, K, N))
        for trim, rules in ((0.0, "v3, means"), (0.2, "v4, 20% trimmed")):
            # the complete null: every initializer's population centred on the statistic the rule
            # compares
            centre = stats.trim_mean(population.swapaxes(0, 1).reshape(K, -1), trim, axis=1)
            fresh = draw(rng, shape) - centre[None, :, None]
            sample = draw(
                rng, shape
            )  # the centred null: one sample per table, each group moved to a common
            moved = (
                sample - stats.trim_mean(sample, trim, axis=-1)[..., None]
            )  # centre, then resampled
            world = np.take_along_axis(moved, rng.integers(0, N, shape), axis=-1)
            fresh_rate = any_pair_significant(fresh, trim, critical).mean()
            world_rate = any_pair_significant(world, trim, critical).mean()
            print(
                f"{name:26s} {rules:16s} fresh samples {fresh_rate:.4f} "
                f"({fresh_rate / level:.1f}x)   centred bootstrap worlds {world_rate:.4f} "
                f"({world_rate / level:.1f}x)"
            )


if __name__ == "__main__":
    main()
