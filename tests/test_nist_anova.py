"""One-way ANOVA against the NIST StRD certified values (SiRstv, SmLs01-09, AtmWtAg).

SmLs07-09 hold values such as 1000000000000.4: as float64 (spacing 1.2e-4 at 1e12) the data
themselves lose about four of their digits before any algorithm sees them. The loader therefore
centres the responses in decimal arithmetic (subtracting the first response exactly) before the
conversion to float, as any careful user would; the algorithm's own centring is what
test_analysis_anova.test_sums_of_squares_survive_a_huge_offset probes.
"""

from __future__ import annotations

import gzip
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from initsens.analysis import oneway

NIST = Path(__file__).parent / "fixtures" / "nist"
DATASETS = ["SiRstv", *(f"SmLs{i:02d}" for i in range(1, 10)), "AtmWtAg"]
NUMBER = r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?"


def read_nist(name: str) -> tuple[pd.DataFrame, dict[str, float]]:
    lines = gzip.open(NIST / f"{name}.dat.gz", "rt").read().splitlines()
    between = next(line for line in lines if line.startswith("Between "))
    within = next(line for line in lines if line.startswith("Within "))
    b, w = re.findall(NUMBER, between), re.findall(NUMBER, within)
    certified = {
        "df_between": float(b[0]),
        "ss_between": float(b[1]),
        "f": float(b[3]),
        "df_within": float(w[0]),
        "ss_within": float(w[1]),
    }
    start = (
        max(i for i, line in enumerate(lines) if line.startswith("Data:  ")) + 1
    )  # header also has one
    rows = [line.split() for line in lines[start:] if line.strip()]
    pivot = Decimal(rows[0][1])
    frame = pd.DataFrame(
        {
            "model": "nist",
            "depth": 1,
            "initializer": [int(r[0]) for r in rows],
            "val_loss": [float(Decimal(r[1]) - pivot) for r in rows],
        }
    )
    return frame, certified


@pytest.mark.parametrize("name", DATASETS)
def test_oneway_matches_nist_certified_values(name):
    frame, certified = read_nist(name)
    row = oneway(frame, n_boot=10).iloc[0]
    assert (
        row["df_between"] == certified["df_between"] and row["df_within"] == certified["df_within"]
    )
    for column in ("ss_between", "ss_within", "f"):
        assert row[column] == pytest.approx(certified[column], rel=1e-9), column
