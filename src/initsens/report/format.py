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


#: Levels a p-value is commonly read against: a printed p-value never lands on one of them, nor on
#: its wrong side.
P_LEVELS = (0.05, 0.01)
_MAX_DIGITS = 15


def _kept(text: str, value: float, levels: Sequence[float]) -> bool:
    """Whether ``text`` read as a number sits on the same side of every level as ``value`` (on it
    only if equal).
    """
    shown = float(text)
    return all(
        (shown < level) == (value < level) and (shown == level) == (value == level)
        for level in levels
    )


def fmt_p(p, levels: Sequence[float] = (), *, floor: float | None = 0.001) -> str:
    """A p-value as journals print it (``< 0.001`` below ``floor``, else three decimals), with as
    many more digits as it takes for rounding not to move it onto or across a level it is read
    against: :data:`P_LEVELS` and ``levels`` (the analysis' α, a Bonferroni level). 0.0497 prints as
    ``0.0497``, not ``0.050``. With ``floor=None`` (or a level below ``floor``) small p-values get
    three significant digits instead.

    >>> fmt_p(0.0497), fmt_p(0.0503), fmt_p(0.2), fmt_p(0.0004), fmt_p(0.0004, floor=None)
    ('0.0497', '0.0503', '0.200', '< 0.001', '0.0004')
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    p = float(p)
    marks = sorted({*P_LEVELS, *map(float, levels)})
    significant = floor is None or p < floor
    if significant and floor is not None and all(level >= floor for level in marks):
        return f"< {floor:g}"
    for digits in range(3, _MAX_DIGITS + 1):
        text = f"{p:.{digits}g}" if significant else f"{p:.{digits}f}"
        if _kept(text, p, marks):
            return text
    return repr(p)


def fmt_p_against(p: float, level: float) -> tuple[str, str]:
    """``p`` and the ``level`` it is compared with, both with three significant digits or as many
    more as it takes for the printed pair to compare as the values do (``0.0166 < 0.0167`` never for
    a p above 0.05 / 3).
    """
    for digits in range(3, _MAX_DIGITS + 1):
        p_text, level_text = f"{p:.{digits}g}", f"{level:.{digits}g}"
        shown_p, shown_level = float(p_text), float(level_text)
        if (shown_p < shown_level) == (p < level) and (shown_p == shown_level) == (p == level):
            return p_text, level_text
    return repr(p), repr(level)


def ci(low, high) -> str:
    """A confidence interval as ``[low, high]`` with three significant digits."""
    return f"[{fmt(low, 3)}, {fmt(high, 3)}]"


def table(
    frame: pd.DataFrame,
    columns: dict[str, str],
    p_columns: Sequence[str] = (),
    levels: Sequence[float] = (),
) -> str:
    """A Markdown table of ``frame``'s ``columns`` (name -> header), p-value columns formatted as
    such (kept on their side of ``levels``, see :func:`fmt_p`).
    """
    if frame.empty:
        return "_(nothing to show)_\n"
    header = "| " + " | ".join(columns.values()) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    lines = [header, rule]
    for _, row in frame.iterrows():
        cells = [
            fmt_p(row[c], levels)
            if c in p_columns
            else (str(row[c]) if isinstance(row[c], str) else fmt(row[c]))
            for c in columns
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
