"""Numbers and tables as the Markdown reports print them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd


def fmt(value, digits: int = 4) -> str:
    """A number with ``digits`` significant digits; scientific notation when very large or small."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if abs(value) < 1e-12:  # rounding noise around an exact 0 (e.g. a bootstrap quantile)
        return "0"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def fmt_p(p) -> str:
    """p-values as journals print them: < 0.001 below that, else three decimals (two significant)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def ci(low, high) -> str:
    """A confidence interval as ``[low, high]`` with three significant digits."""
    return f"[{fmt(low, 3)}, {fmt(high, 3)}]"


def table(frame: pd.DataFrame, columns: dict[str, str], p_columns: Sequence[str] = ()) -> str:
    """A Markdown table of ``frame``'s ``columns`` (name -> header), p-value columns formatted as such."""
    if frame.empty:
        return "_(nothing to show)_\n"
    header = "| " + " | ".join(columns.values()) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    lines = [header, rule]
    for _, row in frame.iterrows():
        cells = [fmt_p(row[c]) if c in p_columns else (str(row[c]) if isinstance(row[c], str) else fmt(row[c]))
                 for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
