"""The reproduction report (:func:`render`), its sections and its figures."""

from initsens.reproduction.report.context import Context
from initsens.reproduction.report.document import render
from initsens.reproduction.report.figures import forest_plot, ladder_plot

__all__ = ["Context", "forest_plot", "ladder_plot", "render"]
