"""How the reports print p-values: never on the wrong side of the level they are read against, nor
on it.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from initsens.report.format import fmt_p, fmt_p_against, table


def _side(value: float, level: float) -> int:
    return (value > level) - (value < level)


def _printed(text: str) -> float:
    """The number a reader takes from a printed p-value (``< 0.001`` read as just below 0.001)."""
    return math.nextafter(0.001, 0) if text == "< 0.001" else float(text)


@pytest.mark.parametrize("level", [0.05, 0.01])
@pytest.mark.parametrize("offset", [-3e-4, -1e-5, -1e-9, 0.0, 1e-9, 1e-5, 3e-4])
def test_a_p_value_near_a_conventional_level_stays_on_its_side(level, offset):
    """0.0497 printed as 0.050 read as not significant; every p near 0.05 and 0.01 is now read the
    right way.
    """
    p = level + offset
    text = fmt_p(p)
    assert _side(_printed(text), level) == _side(p, level), text


def test_the_printed_p_values_the_issue_names():
    assert fmt_p(0.0497) == "0.0497"  # was 0.050
    assert fmt_p(0.0503) == "0.0503"  # was 0.050 (equal to the level: neither side)
    assert fmt_p(0.0099) == "0.0099" and fmt_p(0.0101) == "0.0101"  # were 0.010
    assert fmt_p(0.2) == "0.200" and fmt_p(0.0497, floor=None) == "0.0497"
    assert fmt_p(0.0004) == "< 0.001" and fmt_p(float("nan")) == "–" and fmt_p(None) == "–"
    assert fmt_p(0.05) == "0.050"  # exactly the level: printed as it is


@pytest.mark.parametrize("level", [0.05 / 3, 0.05 / 4, 0.05 / 8, 0.05 / 64, 0.1])
@pytest.mark.parametrize("ratio", [0.97, 0.999, 0.99999, 1.0, 1.00001, 1.001, 1.03])
def test_other_levels_such_as_bonferronis_and_alpha_are_kept_too(level, ratio):
    """A level given to the formatter (the analysis' α, a Bonferroni level below 0.001 included) is
    kept like the conventional ones, with three decimals or with three significant digits
    (``floor=None``).
    """
    p = level * ratio
    for floor in (0.001, None):
        text = fmt_p(p, (level,), floor=floor)
        assert _side(_printed(text), level) == _side(p, level), (text, floor)
    p_text, level_text = fmt_p_against(p, level)
    assert _side(float(p_text), float(level_text)) == _side(p, level), (p_text, level_text)


def test_tables_print_p_columns_against_the_given_level():
    frame = pd.DataFrame({"pair": ["a − b", "a − c"], "p_adj": [0.0497, 0.0995]})
    text = table(frame, {"pair": "pair", "p_adj": "p adj"}, p_columns=("p_adj",), levels=(0.1,))
    assert "| a − b | 0.0497 |" in text and "| a − c | 0.0995 |" in text  # 0.050 and 0.100 before
