"""Capped runs (still improving at the epoch cap) counted per cell, flagged above 10%, and init
scope as a cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from initsens.analysis import analyze
from initsens.analysis.convergence import capped_cells, convergence
from initsens.report.summary import convergence_summary


def runs_table() -> pd.DataFrame:
    """2 models x 2 initializers x 2 init scopes x 10 seeds; VanillaVAE/all has 3 of 20 runs capped
    (15%), IWAE/hidden 2 of 20 (10%: not above the threshold), one diverged run that does not count.
    """
    rng = np.random.default_rng(0)
    rows = []
    for model in ("VanillaVAE", "IWAE"):
        for scope in ("hidden", "all"):
            for init in ("default", "uniform"):
                for seed in range(10):
                    rows.append(
                        {
                            "model": model,
                            "init_scope": scope,
                            "initializer": init,
                            "depth": 1,
                            "seed": seed,
                            "val_loss": rng.normal(10 + (init == "uniform") * (scope == "all"), 1),
                            "status": "ok",
                            "stopped": "early",
                            "run_id": f"{model}{scope}{init}{seed}",
                        }
                    )
    frame = pd.DataFrame(rows)
    cap = (
        (frame.model == "VanillaVAE")
        & (frame.init_scope == "all")
        & (frame.seed < 3)
        & (frame.initializer == "uniform")
    )
    frame.loc[cap, "stopped"] = "cap"
    cap2 = (frame.model == "IWAE") & (frame.init_scope == "hidden") & (frame.seed < 1)
    frame.loc[cap2, "stopped"] = "cap"
    gone = (
        (frame.model == "IWAE")
        & (frame.init_scope == "all")
        & (frame.seed == 9)
        & (frame.initializer == "default")
    )
    frame.loc[gone, ["status", "stopped", "val_loss"]] = ["diverged", "diverged", np.nan]
    return frame


def test_capped_share_per_cell_and_initializer():
    table = convergence(runs_table(), ["model", "depth", "init_scope"])
    row = table[
        (table.model == "VanillaVAE")
        & (table.init_scope == "all")
        & (table.initializer == "uniform")
    ]
    assert (
        row[["n_finished", "n_capped"]].iloc[0].tolist() == [10, 3]
        and row.capped_share.iloc[0] == 0.3
    )
    gone = table[
        (table.model == "IWAE") & (table.init_scope == "all") & (table.initializer == "default")
    ]
    assert gone.n_finished.iloc[0] == 9  # the diverged run is a failure, not a finished run
    flagged = capped_cells(table, ["model", "depth", "init_scope"])
    assert flagged[["model", "init_scope", "n_finished", "n_capped"]].values.tolist() == [
        ["VanillaVAE", "all", 20, 3]
    ]


def test_init_scope_becomes_a_cell_and_the_report_warns():
    analysis = analyze(runs_table(), "val_loss", n_boot=50, n_boot_icc=20)
    assert analysis.cell_keys == ["model", "depth", "init_scope"]
    assert "init_scope" in analysis.factors and len(analysis.tables["oneway_anova"]) == 4
    sentence = " ".join(convergence_summary(analysis))
    assert (
        "Warning: not converged" in sentence
        and "VanillaVAE, depth 1, init_scope all 15%" in sentence
    )
    assert "IWAE" not in sentence
    calm = runs_table().assign(stopped="early")
    assert "Convergence.** 0 of" in " ".join(
        convergence_summary(analyze(calm, "val_loss", n_boot=50, n_boot_icc=20))
    )


def test_tables_without_stopped_have_no_convergence_rows():
    assert convergence(runs_table().drop(columns="stopped"), ["model"]).empty
