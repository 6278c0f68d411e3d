"""The reproduction's tables and numbers in README.md and docs/reproduction.md are generated from
the committed report tables: the committed files match them, and the blocks say what the tables say
(checked on small tables written out by hand).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from initsens.reproduction.claims import RULES_VERSION
from initsens.reproduction.readme import (
    BLOCKS,
    DEFAULT_FILES,
    PAGES,
    Tables,
    load_tables,
    main,
    update,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", DEFAULT_FILES, ids=str)
def test_the_readme_and_the_docs_are_up_to_date_with_the_committed_tables(name):
    """A report regenerated without ``python -m initsens.reproduction.readme`` leaves README.md or
    the documentation's page on the reproduction stale: this fails (and so does a file that lost a
    block it must hold).
    """
    text = (ROOT / name).read_text(encoding="utf-8")
    fresh = update(
        text, load_tables(ROOT / "reports" / "reproduction" / "tables"), PAGES[name.name]
    )
    assert fresh == text, (
        f"{name}'s reproduction blocks are stale: run `python -m initsens.reproduction.readme`"
    )


def test_every_block_has_a_home_and_readme_keeps_the_verdicts():
    assert set(PAGES["reproduction.md"]) == set(BLOCKS) and "claims" in PAGES["README.md"]


def verdict_row(claim: str, check: str, verdict: str, coverage: str, **extra) -> dict:
    counts = {"n_supported": 0, "n_contradicted": 0, "n_unresolved": 0, "n_not_testable": 0}
    counts[f"n_{verdict.replace(' ', '_')}"] = 2
    return {
        "claim": claim,
        "study": "proto",
        "kind": "protocol",
        "check": check,
        "scope": "source",
        "verdict": verdict,
        "coverage": coverage,
        "n_stated_before": 1,
        "where": "",
        "estimate": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "stated_before": "",
        "contradiction": "",
        **counts,
        **extra,
    }


@pytest.fixture
def tables() -> Tables:
    """One protocol: P3 contradicted with a positive Δ (its deciding cell judged after seeing its
    runs), E1 supported on the claim's metric only; the other claims not judged. v2 gave P3
    'supported' and E1 'supported'.
    """
    claims = pd.DataFrame(
        [
            verdict_row(
                "P3",
                "verdict",
                "contradicted",
                "contradicted",
                where="IWAE, depth 2",
                estimate=0.1004,
                ci_low=0.04178,
                ci_high=0.1591,
                stated_before="no",
                contradiction="xavier_normal beats claimed default: "
                "xavier_normal − default = -0.112",
            ),
            verdict_row("P3", "val_nelbo", "supported", "supported (1 of 2 sub-results testable)"),
            verdict_row(
                "E1",
                "verdict",
                "supported",
                "supported",
                where="IWAE, depth 1",
                estimate=-0.5,
                ci_low=-0.7,
                ci_high=-0.3,
                stated_before="yes",
            ),
        ]
    )
    evidence = pd.DataFrame(
        [
            {
                "study": "proto",
                "check": "verdict",
                "scope": "source",
                "claim": "E1",
                "where": "IWAE, depth 1",
                "verdict": "supported",
                "estimate": -0.5,
                "ci_low": -0.7,
                "ci_high": -0.3,
                "contradiction": "nan",
                "stated_before": "yes",
            },
            {
                "study": "proto",
                "check": "verdict",
                "scope": "source",
                "claim": "P3",
                "where": "IWAE, depth 2",
                "verdict": "contradicted",
                "estimate": 0.1004,
                "ci_low": 0.04178,
                "ci_high": 0.1591,
                "contradiction": "xavier_normal beats claimed default",
                "stated_before": "no",
            },
            {
                "study": "proto",
                "check": "val_nelbo",
                "scope": "source",
                "claim": "P3",
                "where": "IWAE, depth 2",
                "verdict": "supported",
                "estimate": 5.0,
                "ci_low": 1.0,
                "ci_high": 9.0,
                "contradiction": "",
                "stated_before": "no",
            },
        ]
    )
    null = pd.DataFrame(
        [
            {
                "protocol": "proto",
                "runs": 40,
                "permutation": p,
                "claim": c,
                "verdict": "contradicted" if (c == "P3" and p < 2) else "unresolved",
            }
            for p in range(5)
            for c in ("P2", "P3")
        ]
    )
    v2 = pd.DataFrame(
        [
            {
                "claim": c,
                "study": "proto",
                "check": "verdict",
                "scope": "source",
                "verdict": "supported",
            }
            for c in ("P3", "E1")
        ]
    )
    return Tables(claims, evidence, pd.DataFrame(), null, {"v2": v2})


def test_blocks_say_what_the_tables_say(tables):
    claims = BLOCKS["claims"](tables).splitlines()
    assert claims[0] == "| claim | proto |"
    assert claims[4] == (
        "| P3 With more hidden layers, Xavier normal, Xavier uniform and the default perform "
        "best. | contradicted (val_nelbo: supported (1 of 2 sub-results testable)) |"
    )
    assert claims[5].endswith(
        "| not judged yet (waits for a later phase; see the report) |"
    )  # P4: no verdict row
    assert claims[6].endswith("| supported |")  # E1: no val_nelbo row
    deciding = BLOCKS["deciding"](tables).splitlines()
    assert deciding[2:] == [
        "| P3 | proto | contradicted | IWAE, depth 2 (judged after seeing its runs) | 0.1 "
        "[0.0418, 0.159] | xavier_normal beats claimed default: xavier_normal − default = -0.112 "
        "| 1 of 2 |",
        "| E1 | proto | supported | IWAE, depth 1 | -0.5 [-0.7, -0.3] | – | 1 of 2 |",
    ]
    sub = BLOCKS["original-scale"](
        tables.__class__(
            tables.claims,
            tables.evidence.assign(study="eltager2023-pancan"),
            tables.ladder,
            tables.null,
        )
    ).splitlines()
    assert sub[2:] == [
        "| P3 | IWAE, depth 2 | contradicted | 0.1 [0.0418, 0.159] | xavier_normal beats claimed "
        "default | no |",
        "| E1 | IWAE, depth 1 | supported | -0.5 [-0.7, -0.3] | – | yes |",
    ]
    # 2 of 5 worlds contradicted P3: 40%, its exact interval (scipy), above 5% (binomial p 0.023)
    ci = binomtest(2, 5).proportion_ci(0.95, method="exact")
    assert binomtest(2, 5, 0.05, alternative="greater").pvalue < 0.05
    p3 = f"2 (40.0% [{100 * ci.low:.1f}, {100 * ci.high:.1f}]) ▲"
    zero = f"0 (0.0% [0.0, {100 * binomtest(0, 5).proportion_ci(0.95, method='exact').high:.1f}])"
    assert BLOCKS["null"](tables).splitlines()[2] == (
        f"| v3 | permuted | proto | 40 | 5 | – | {zero} | {p3} | – | – | – |"
    )
    # the last version with a committed report before the one in force: v2 in these tables
    assert BLOCKS["history"](tables) == (
        f"Moving from v2 to {RULES_VERSION} changed 1 of 2 verdict rows"
    )


def test_update_rewrites_only_between_markers_and_knows_every_block(tables, tmp_path):
    inline = "<!-- reproduction:history -->"
    text = "\n\n".join(
        f"<!-- reproduction:{name} -->\nstale\n<!-- /reproduction:{name} -->"
        for name in BLOCKS
        if name != "history"
    )
    text = (
        "Intro 0.22 stays.\n\n"
        + text
        + f"\n\nSo: {inline}old<!-- /reproduction:history -->, since.\n"
    )
    new = update(text, tables)
    assert new.startswith("Intro 0.22 stays.\n\n<!-- reproduction:claims -->\n| claim | proto |")
    assert new.endswith(
        f"So: {inline}Moving from v2 to {RULES_VERSION} changed 1 of 2 verdict rows"
        "<!-- /reproduction:history -->, since.\n"
    )
    assert "stale" not in new and update(new, tables) == new
    with pytest.raises(ValueError, match="missing"):
        update(text.replace("reproduction:ladder", "reproduction:lad"), tables)
    readme = tmp_path / "README.md"
    readme.write_text(text, encoding="utf-8")
    folder = tmp_path / "tables"
    folder.mkdir()
    tables.claims.to_parquet(folder / "claims.parquet")
    tables.evidence.to_parquet(folder / "evidence.parquet")
    assert (
        main([str(readme), "--tables", str(folder), "--check"]) == 1
    )  # stale: says so, writes nothing
    assert readme.read_text(encoding="utf-8") == text
    assert main([str(readme), "--tables", str(folder)]) == 0
    assert main([str(readme), "--tables", str(folder), "--check"]) == 0
