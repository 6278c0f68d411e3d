"""Statistics on results tables: each function takes a tidy DataFrame and returns a tidy DataFrame.

:func:`load_results` reads a results folder or file; :func:`analyze` runs every analysis and returns
an :class:`Analysis` whose ``tables`` are what ``initsens analyze`` writes; a :class:`Design` names
the columns of any seed sweep. What each function computes, and how it is checked against R and
NIST: the docs' :doc:`Analyze a sweep </guide/analyze>` page.
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
