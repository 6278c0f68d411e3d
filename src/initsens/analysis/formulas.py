"""Formulas for the across-cell models, and readable names for statsmodels' terms.

Every factor enters as ``C(Q('name'), Sum)``: quoted (column names may hold any character) and with
sum-to-zero contrasts, which type III sums of squares need and which make fixed effects deviations
from the grand mean (as R's ``contr.sum``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_TERM = re.compile(r"Q\('([^']+)'\), Sum\)(?:\[S\.([^\]]+)\])?")


def factorial_formula(metric: str, factors: Sequence[str]) -> str:
    """``Q('metric') ~ C(Q('a'), Sum) * C(Q('b'), Sum) ...`` (the full factorial; ``~ 1`` without
    factors).
    """
    rhs = " * ".join(f"C(Q('{f}'), Sum)" for f in factors) or "1"
    return f"Q('{metric}') ~ {rhs}"


def term_name(term: str) -> str:
    """``C(Q('model'), Sum):C(Q('depth'), Sum)`` -> ``model:depth``; with levels,
    ``model[IWAE]``.
    """
    parts = _TERM.findall(term)
    if not parts:
        return term
    return ":".join(f"{f}[{level}]" if level else f for f, level in parts)
