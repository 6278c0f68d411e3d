"""The examples in the docstrings of the analysis functions and the API run, and print what they
show.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "initsens.analysis.examples",
    "initsens.analysis.descriptives",
    "initsens.analysis.oneway",
    "initsens.analysis.posthoc",
    "initsens.analysis.failures",
    "initsens.analysis.factorial",
    "initsens.analysis.mixed",
    "initsens.analysis.variance",
    "initsens.analysis.design",
    "initsens.analysis.study",
    "initsens.api",
    "initsens.training.values",
    "initsens.report.format",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
