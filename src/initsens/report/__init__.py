"""Turn an :class:`~initsens.analysis.study.Analysis` into a Markdown report, PNG figures and
Parquet tables.

Layout next to the report: ``figures/*.png`` and ``tables/*.parquet``. Every file is written
atomically (temporary name, then rename), the report last, so a report never points at a missing
file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from initsens.analysis.inputs import Results, sha256
from initsens.analysis.study import Analysis
from initsens.atomic import atomic_path
from initsens.report import figures
from initsens.report.markdown import render
from initsens.report.tables import descriptions, write_table
from initsens.version import __version__


@dataclass
class Written:
    """Paths written by :func:`write_report`."""

    report: Path
    figures: list[Path]
    tables: list[Path]


def versions() -> dict[str, str]:
    """Versions of the packages behind the numbers (read from the installed metadata: importing
    torch here would cost seconds and is not needed to report on results).
    """
    out = {"initsens": __version__}
    for package in ("pandas", "scipy", "statsmodels", "torch"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def write_report(analysis: Analysis, results: Results, report: str | Path, command: str) -> Written:
    """Write tables, figures and the Markdown report at ``report``."""
    report = Path(report)
    root = report.parent
    tables_dir, figures_dir = root / "tables", root / "figures"
    tables = []
    described = descriptions(analysis.factor, analysis.replicate, analysis.cell_keys)
    for name, frame in analysis.tables.items():
        tables.append(tables_dir / f"{name}.parquet")
        write_table(frame, tables[-1], described)
    made = {
        "metric_by_factor": figures.metric_by_factor(
            analysis, figures_dir / f"metric_by_{analysis.factor}.png"
        )
    }
    if len(analysis.tables["sensitivity"]):
        made["sensitivity"] = figures.sensitivity_indices(analysis, figures_dir / "sensitivity.png")
    if "learning_curves" in analysis.tables and len(analysis.tables["learning_curves"]):
        made["learning_curves"] = figures.learning_curves(
            analysis, figures_dir / "learning_curves.png"
        )
    links = {name: os.path.relpath(path, root) for name, path in made.items()}
    files = [(str(f), sha256(f)) for f in results.files]
    text = render(
        analysis,
        files=files,
        figures=links,
        tables_dir=os.path.relpath(tables_dir, root),
        command=command,
        versions=versions(),
        warnings=results.warnings,
    )
    with atomic_path(report) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Written(report, list(made.values()), tables)
