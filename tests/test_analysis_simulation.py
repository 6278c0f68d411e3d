"""Simulated results tables with known truth: nominal size without an effect, the planted model
found.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from initsens.analysis import oneway
from initsens.analysis.study import analyze

pytestmark = pytest.mark.slow  # subprocesses or simulations: seconds to minutes

INITS = ["default", "normal", "uniform", "xavier_normal", "xavier_uniform"]


def simulated(
    rng: np.random.Generator, effects: dict[str, float], seeds: int = 10, seed_sd: float = 0.5
) -> pd.DataFrame:
    """Runs of every model x initializer x seed; ``effects[model]`` is the sd of its initializer
    means.
    """
    rows = []
    for model, effect in effects.items():
        means = rng.normal(0.0, effect, len(INITS))
        seed_effect = rng.normal(0.0, seed_sd, seeds)
        for init, mean in zip(INITS, means):
            for seed in range(seeds):
                rows.append(
                    {
                        "model": model,
                        "depth": 1,
                        "initializer": init,
                        "seed": seed,
                        "val_loss": 100.0 + mean + seed_effect[seed] + rng.normal(0.0, 1.0),
                    }
                )
    return pd.DataFrame(rows)


def test_no_effect_rejects_at_the_nominal_rate():
    rng = np.random.default_rng(11)
    n_sims = 400
    tables = [
        simulated(rng, {f"M{i}": 0.0 for i in range(4)}, seed_sd=0.0).assign(sim=s)
        for s in range(n_sims // 4)
    ]
    frame = pd.concat(tables).assign(model=lambda d: d["model"] + "_" + d["sim"].astype(str))
    result = oneway(frame, n_boot=10)
    assert len(result) == n_sims
    low, high = stats.binom.ppf([0.0005, 0.9995], n_sims, 0.05) / n_sims  # 99.9% band around 5%
    for column in ("p_value", "welch_p", "kruskal_p", "bf_p"):
        rate = (result[column] < 0.05).mean()
        assert low <= rate <= high, (column, rate)


def test_planted_effect_is_ranked_most_sensitive():
    rng = np.random.default_rng(12)
    frame = simulated(
        rng, {"VanillaVAE": 0.0, "IWAE": 0.2, "InfoVAE": 2.0, "LogCoshVAE": 0.0}, seeds=12
    )
    analysis = analyze(frame, n_boot=500, n_boot_icc=100)
    sens = analysis.tables["sensitivity"]
    for index in ("omega_sq", "icc"):
        top = sens[(sens["index"] == index) & (sens["rank"] == 1)].iloc[0]
        assert top["model"] == "InfoVAE" and top["resolved"], (index, top.to_dict())
    ow = analysis.tables["oneway_anova"].set_index("model")
    assert ow.loc["InfoVAE", "p_holm"] < 0.001
    assert (ow.drop(index="InfoVAE")["omega_sq"] < ow.loc["InfoVAE", "omega_sq"]).all()


def test_cells_resample_independently():
    """Two models with identical runs: their difference in omega^2 and ICC is 0, and its bootstrap
    CI must have width (with a shared random stream it collapsed to [0, 0] and 'resolved' noise).
    """
    rng = np.random.default_rng(13)
    one = simulated(rng, {"A": 1.0}, seeds=8)
    frame = pd.concat([one, one.assign(model="B")], ignore_index=True)
    sens = analyze(frame, n_boot=400, n_boot_icc=100).tables["sensitivity"]
    for index in ("omega_sq", "icc"):
        top = sens[(sens["index"] == index) & (sens["rank"] == 1)].iloc[0]
        assert top["diff_next"] == 0.0 and not top["resolved"]
        assert top["diff_ci_low"] < 0 < top["diff_ci_high"], (index, top.to_dict())
