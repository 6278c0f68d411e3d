"""Statistics on results tables: each function takes a tidy DataFrame and returns a tidy DataFrame.

- :func:`load_results` reads a results folder or file; :func:`analyze` runs everything below and
  returns an :class:`Analysis` whose ``tables`` are what ``initsens analyze`` writes. A :class:`Design`
  names the columns of any seed sweep (factor, cells, replicate); initsens' own names by default.
- Per cell (model x depth): :func:`describe`, :func:`oneway` (one-way ANOVA, effect sizes with
  bootstrap CIs, Welch, Kruskal-Wallis, Brown-Forsythe), :func:`pairwise` (Tukey, Games-Howell),
  :func:`improvement` (paired probability of improvement), :func:`variance_components` (REML, ICC),
  :func:`failures` (counts, exact Fisher test).
- Across cells: :func:`factorial_anova` (types II and III), :func:`mixed_model` and
  :func:`initializer_lrt` (random-intercept REML/ML), :func:`spearman` (metric vs ARI).

All are validated against R and NIST (see tests/fixtures/anova/reference.R and tests/test_nist_anova.py).
"""

from initsens.analysis.association import spearman
from initsens.analysis.descriptives import describe
from initsens.analysis.design import Design
from initsens.analysis.factorial import factorial_anova
from initsens.analysis.failures import failures
from initsens.analysis.inputs import Results, load_results
from initsens.analysis.mixed import initializer_lrt, mixed_model
from initsens.analysis.oneway import oneway
from initsens.analysis.posthoc import improvement, pairwise
from initsens.analysis.study import Analysis, analyze
from initsens.analysis.variance import variance_components

__all__ = [
    "Analysis",
    "Design",
    "Results",
    "analyze",
    "describe",
    "factorial_anova",
    "failures",
    "improvement",
    "initializer_lrt",
    "load_results",
    "mixed_model",
    "oneway",
    "pairwise",
    "spearman",
    "variance_components",
]
