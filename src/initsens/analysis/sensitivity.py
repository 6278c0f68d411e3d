"""Which model is most sensitive to its initialization, and do the data resolve it?

Models are ranked within each depth by two scale-free indices, ``omega_sq`` and ``icc``, and each is
compared with the next-ranked one through the bootstrap interval of their difference; where it
includes 0, ``seeds_needed`` says how many seeds would likely resolve it
(:func:`planning_is_stable`). Details: the docs' :doc:`Analyze a sweep </guide/analyze>` page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd


def seeds_needed(seeds: int, half_width: float, difference: float) -> float:
    """seeds * (half-width / difference)^2, at least seeds + 1; infinite when the difference is 0 or
    so small that no number of seeds would resolve it (a null result is a result: no model is
    ahead).
    """
    if not difference > 0 or half_width / difference > 1e6:
        return math.inf
    return float(max(math.ceil(seeds * (half_width / difference) ** 2), seeds + 1))


#: Fewest seeds from which ``seeds_needed`` is given: below it the spread of the estimates is itself
#: unknown.
PLANNING_MIN_SEEDS = 5


def planning_is_stable(seeds: int, half_width: float, difference: float) -> bool:
    """Whether ``seeds_needed`` from these numbers means something: at least
    :data:`PLANNING_MIN_SEEDS` seeds, and a difference at least one standard error (half-width /
    1.96) from 0, so that the figure, which grows with 1 / difference², is off by at most a factor
    of about 4 when the difference is off by one standard error (a difference 0.5 SE from 0 could be
    anything from 0 to 3x its size, and the figure anything from a third to infinity). Otherwise the
    report says it cannot say.
    """
    return seeds >= PLANNING_MIN_SEEDS and difference >= half_width / 1.96


def rank_cells(
    values: pd.DataFrame,
    draws: dict[tuple, np.ndarray],
    cell_keys: Sequence[str],
    seeds: dict[tuple, int],
    level: float = 0.95,
) -> pd.DataFrame:
    """Rank one index: ``values`` has the cell keys, ``index``, ``value``, ``ci_low``,
    ``ci_high``.
    """
    alpha = (1.0 - level) / 2
    ranked, group_keys = cell_keys[0], list(cell_keys[1:])
    next_column = f"next_{ranked}"
    rows = []
    grouped = values.groupby(group_keys, sort=True) if group_keys else [((), values)]
    for _, group in grouped:
        order = (
            ["value", "raw"] if "raw" in group else ["value"]
        )  # a tie at a bound keeps the raw values' order
        group = group.sort_values(order, ascending=False, kind="stable").reset_index(drop=True)
        for i, row in group.iterrows():
            out = {
                **row.to_dict(),
                "rank": i + 1,
                next_column: None,
                "diff_next": np.nan,
                "diff_ci_low": np.nan,
                "diff_ci_high": np.nan,
                "resolved": False,
            }
            key = tuple(row[k] for k in cell_keys)
            out["seeds"] = seeds.get(key, 0)
            out["seeds_needed"], out["seeds_note"] = np.nan, ""
            if i + 1 < len(group):
                nxt = group.iloc[i + 1]
                a, b = draws.get(key), draws.get(tuple(nxt[k] for k in cell_keys))
                out[next_column], out["diff_next"] = nxt[ranked], row["value"] - nxt["value"]
                if a is not None and b is not None:
                    diff = a[: min(a.size, b.size)] - b[: min(a.size, b.size)]
                    diff = diff[np.isfinite(diff)]
                    if diff.size:
                        low, high = np.quantile(diff, [alpha, 1.0 - alpha])
                        out["diff_ci_low"], out["diff_ci_high"] = float(low), float(high)
                        out["resolved"] = bool(low > 0 or high < 0)
                        half = (high - low) / 2
                        if not out["resolved"] and out["diff_next"] >= 0 and out["seeds"]:
                            out["seeds_needed"] = (
                                seeds_needed(out["seeds"], half, out["diff_next"])
                                if planning_is_stable(out["seeds"], half, out["diff_next"])
                                else np.nan
                            )
                            out["seeds_note"] = (
                                ""
                                if np.isfinite(out["seeds_needed"]) or np.isinf(out["seeds_needed"])
                                else "cannot say"
                            )
            rows.append(out)
    return pd.DataFrame(rows)


def sensitivity(
    oneway_table: pd.DataFrame,
    variance_table: pd.DataFrame,
    omega_draws: dict[tuple, np.ndarray],
    icc_draws: dict[tuple, np.ndarray],
    cell_keys: Sequence[str],
    seeds: dict[tuple, int],
    factor: str = "initializer",
    level: float = 0.95,
) -> pd.DataFrame:
    """The ranking table from the one-way (omega^2) and variance-component (ICC) tables.

    Returns
    -------
    pandas.DataFrame
        The group keys (``depth`` [, ``normalization``]), ``model``, ``index``, ``value``,
        ``ci_low``, ``ci_high``, ``rank``, ``next_model``, ``diff_next``, ``diff_ci_low``,
        ``diff_ci_high``, ``resolved``, ``seeds``, ``seeds_needed``, ``seeds_note``.
    """
    frames = []
    if len(oneway_table):
        omega = oneway_table[
            [*cell_keys, "omega_sq", "omega_sq_ci_low", "omega_sq_ci_high"]
        ].rename(
            columns={"omega_sq": "raw", "omega_sq_ci_low": "ci_low", "omega_sq_ci_high": "ci_high"}
        )
        bounded = {key: np.maximum(draws, 0.0) for key, draws in omega_draws.items()}
        frames.append(
            rank_cells(
                omega.assign(value=omega["raw"].clip(lower=0.0), index="omega_sq"),
                bounded,
                cell_keys,
                seeds,
                level,
            )
        )
    if len(variance_table):
        icc = variance_table[variance_table["component"] == factor][
            [*cell_keys, "share", "ci_low", "ci_high"]
        ]
        frames.append(
            rank_cells(
                icc.rename(columns={"share": "value"}).assign(index="icc"),
                icc_draws,
                cell_keys,
                seeds,
                level,
            )
        )
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    ranked, groups = cell_keys[0], list(cell_keys[1:])
    return table[
        [
            *groups,
            ranked,
            "index",
            "value",
            "ci_low",
            "ci_high",
            "rank",
            f"next_{ranked}",
            "diff_next",
            "diff_ci_low",
            "diff_ci_high",
            "resolved",
            "seeds",
            "seeds_needed",
            "seeds_note",
        ]
    ]
