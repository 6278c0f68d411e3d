"""A new claim is one module (tests/plugins/toyclaim.py) and one line in CLAIMS: it is judged under
every check that takes it, aggregated, tabled, written into the report's rules, claims table and
evidence, and drawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from initsens.reproduction.claims import CLAIMS, NELBO, PRIMARY, SUPPORTED
from initsens.reproduction.report.figures import forest_plot
from initsens.reproduction.report.sections import claim_section, claims_overview, rules
from initsens.reproduction.result import PhaseProgress, StudyResult
from initsens.reproduction.studies import plan_studies
from initsens.reproduction.verdicts import judge_runs, verdict_table

INITS = ("default", "normal", "uniform", "xavier_normal", "xavier_uniform")


def toy_runs() -> pd.DataFrame:
    """Four models x five initializers x 3 seeds at depth 1: the default's loss is the lowest,
    normal's the highest.
    """
    rng = np.random.default_rng(0)
    rows = [
        {
            "model": m,
            "initializer": i,
            "depth": 1,
            "normalization": "zscore",
            "seed": s,
            "status": "ok",
            "run_id": f"{m}-{i}-{s}",
            "val_loss": 100.0 + 3 * k + rng.normal(),
            "ari": 0.5,
        }
        for m in ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE")
        for k, i in enumerate(INITS)
        for s in range(3)
    ]
    runs = pd.DataFrame(rows)
    runs.loc[runs["initializer"] == "normal", "val_loss"] += 20.0
    return runs.assign(val_nelbo=runs["val_loss"] + 1.0)


def test_a_claim_added_by_one_module_and_one_registry_line_is_judged_reported_and_drawn(
    monkeypatch, tmp_path
):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent / "plugins"))
    import toyclaim

    monkeypatch.setitem(CLAIMS, "T1", toyclaim.CLAIM)  # the registry line
    runs = toy_runs()
    evidence = judge_runs(runs, "default", 0.05)
    toy = evidence[evidence["claim"] == "T1"]
    assert set(toy["check"]) == {
        PRIMARY,
        NELBO,
    }  # on_loss: the common loss too; it names no default
    own = toy[toy["check"] == PRIMARY].set_index("where")["estimate"]
    means = runs.groupby(["model", "initializer"])["val_loss"].mean().unstack()
    expected = means.max(axis=1) - means["default"]  # computed here by pandas, apart from the rule
    assert len(own) == 4 and np.allclose(sorted(own), sorted(expected))
    table = verdict_table(evidence)
    row = table[
        (table["claim"] == "T1") & (table["check"] == PRIMARY) & (table["scope"] == "source")
    ].iloc[0]
    assert row["verdict"] == SUPPORTED and row["n_supported"] == 4

    study = plan_studies(["initsens"], {"repeats": 3}, tmp_path, ladder=False)[0]
    result = StudyResult(
        study,
        runs,
        evidence,
        table,
        len(runs),
        len(runs),
        phases=[PhaseProgress(study.phases[0], len(runs), len(runs), True)],
    )
    assert "**T1** (poster;" in "\n".join(rules(0.05))
    assert "The default initializer is never the worst." in claims_overview([result])
    section = "\n".join(claim_section("T1", [result], "figures/claim_T1.png"))
    assert "**initsens: supported**" in section and "worst: normal" in section
    png = forest_plot("T1", [result], tmp_path / "claim_T1.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
