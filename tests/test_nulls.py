"""The claim rules' null worlds: the permuted one pools spreads, the centred one keeps each
initializer's spread and failures and removes only its centre; a rule's count of false
contradictions comes with an exact interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from initsens.reproduction.claims.best import TRIM
from initsens.reproduction.nulls import centre_on_cell, centred, error_rate, normal, permuted


def _runs(seed=0):
    """Two cells, three initializers with centres 0, 5, 50 and spreads 1, 10, 100; one failed run
    per group.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for model in ("A", "B"):
        for init, centre, sd in (("i1", 0.0, 1.0), ("i2", 5.0, 10.0), ("i3", 50.0, 100.0)):
            for s in range(10):
                failed = s == 9
                rows.append(
                    {
                        "run_id": f"{model}{init}{s}",
                        "model": model,
                        "depth": 1,
                        "normalization": "zscore",
                        "initializer": init,
                        "seed": s,
                        "status": "diverged" if failed else "ok",
                        "val_loss": np.nan if failed else centre + sd * rng.standard_normal(),
                        "val_nelbo": np.nan if failed else 2 * centre + rng.standard_normal(),
                        "ari": np.nan if failed else 0.5 + 0.01 * rng.standard_normal(),
                    }
                )
    return pd.DataFrame(rows)


def test_centring_gives_every_initializer_the_cells_centre_and_keeps_its_spread():
    runs = _runs()
    out = centre_on_cell(runs)
    for _, group in out.groupby(["model", "initializer"]):
        before = runs.loc[group.index]
        cell = runs[(runs["model"] == group["model"].iloc[0]) & (runs["status"] == "ok")]
        for m in ("val_loss", "val_nelbo", "ari"):
            finished = group[m].dropna().to_numpy()
            assert stats.trim_mean(finished, TRIM) == pytest.approx(
                stats.trim_mean(cell[m].dropna().to_numpy(), TRIM), abs=1e-9
            )
            assert group[m].std() == pytest.approx(before[m].std(), rel=1e-12)
    assert out.loc[runs["status"] != "ok", "val_loss"].isna().all()


def test_a_centred_world_resamples_finished_runs_whole_and_leaves_failures_and_identities():
    runs = _runs()
    world = centred(runs, np.random.default_rng(1))
    assert world[["run_id", "initializer", "seed", "status"]].equals(
        runs[["run_id", "initializer", "seed", "status"]]
    )
    centre = centre_on_cell(runs)
    ok = runs["status"] == "ok"
    pairs = set(map(tuple, centre.loc[ok, ["model", "initializer", "val_loss", "ari"]].to_numpy()))
    assert (
        set(map(tuple, world.loc[ok, ["model", "initializer", "val_loss", "ari"]].to_numpy()))
        <= pairs
    )
    assert world.loc[~ok, ["val_loss", "ari"]].isna().all().all()
    means = np.mean(
        [
            centred(runs, np.random.default_rng(s))
            .groupby(["model", "initializer"])["val_loss"]
            .mean()
            for s in range(400)
        ],
        axis=0,
    )
    cell = centre.groupby(["model", "initializer"])["val_loss"].mean().to_numpy()
    sd = (
        centre.groupby(["model", "initializer"])["val_loss"].std().to_numpy() / 3 / 20
    )  # se of a mean of 400 means
    assert np.all(
        np.abs(means - cell) < 4 * sd
    )  # resampling keeps each initializer's (centred) law


def test_the_permuted_null_shuffles_within_cell_and_seed_only():
    runs = _runs()
    world = permuted(runs, np.random.default_rng(3))
    key = ["model", "seed"]
    assert (
        world.groupby(key)["initializer"].apply(sorted)
        == runs.groupby(key)["initializer"].apply(sorted)
    ).all()
    assert not world["initializer"].equals(runs["initializer"])


def test_error_rate_interval_is_clopper_pearson():
    # 5 of 100: 1.64% to 11.28% (Clopper and Pearson's exact interval, as tabled e.g. in Newcombe
    # 1998, Stat Med)
    found = error_rate(5, 100)
    assert (round(found["low"], 4), round(found["high"], 4)) == (0.0164, 0.1128)
    assert error_rate(0, 400)["low"] == 0.0 and error_rate(400, 400)["high"] == 1.0
    # P(X >= 30 | n = 400, p = 0.05) by the complement of a sum of binomial terms
    from math import comb

    assert error_rate(30, 400)["p_above_level"] == pytest.approx(
        1 - sum(comb(400, k) * 0.05**k * 0.95 ** (400 - k) for k in range(30)), rel=1e-9
    )


def test_a_normal_world_keeps_each_initializers_spread_and_failures_at_a_common_centre():
    runs = _runs()
    ok = runs["status"] == "ok"
    worlds = [normal(runs, np.random.default_rng(s)) for s in range(300)]
    for world in worlds[:3]:
        assert world[["run_id", "initializer", "seed", "status"]].equals(
            runs[["run_id", "initializer", "seed", "status"]]
        )
        assert world.loc[~ok, ["val_loss", "ari"]].isna().all().all()
    stacked = pd.concat(worlds)
    finished = stacked[stacked["status"] == "ok"]
    centre = centre_on_cell(runs)[ok]
    for (model, init), group in finished.groupby(["model", "initializer"]):
        cell = centre[(centre["model"] == model) & (centre["initializer"] == init)]["val_loss"]
        sd = runs[ok & (runs["model"] == model) & (runs["initializer"] == init)]["val_loss"].std()
        # normal draws around the cell's common trimmed mean with the initializer's own SD
        assert group["val_loss"].mean() == pytest.approx(
            stats.trim_mean(cell, TRIM), abs=4 * sd / np.sqrt(len(group))
        )
        assert group["val_loss"].std() == pytest.approx(sd, rel=0.05)
