"""Statistics on results tables: each function takes a tidy DataFrame and returns a tidy DataFrame.

So far: :func:`oneway` (per-cell one-way ANOVA, effect sizes with bootstrap CIs, Welch,
Kruskal-Wallis, Brown-Forsythe), :func:`factorial_anova` (types II and III) and
:func:`variance_components` (REML, crossed initializer and seed, the ICC as the initializer's share).
All are validated against R (see tests/fixtures/anova/reference.R).
"""

from initsens.analysis.factorial import factorial_anova
from initsens.analysis.oneway import oneway
from initsens.analysis.variance import variance_components

__all__ = ["factorial_anova", "oneway", "variance_components"]
