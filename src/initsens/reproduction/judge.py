"""The reproduction study, after training: judge the original claims on every study (the protocols,
their ablations and the scale ladder's rungs, :mod:`initsens.reproduction.studies`) and write the
report.

Each study is judged on each claim's own metric, on ``val_nelbo`` and with the other reading of "the
default" (:data:`~initsens.reproduction.claims.CHECKS`); a rung not fully trained is shown, not
judged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from initsens.analysis import analyze
from initsens.atomic import atomic_path
from initsens.report import versions, write_report
from initsens.report.tables import write_table
from initsens.reproduction.cache import CACHE_FOLDER, judge_studies
from initsens.reproduction.claims import CLAIMS, OWN_LOSS
from initsens.reproduction.diagnostics import ablation_lines, diagnostics, ladder_table
from initsens.reproduction.report import Context, forest_plot, ladder_plot, render
from initsens.reproduction.report.sections import NULL_TABLE
from initsens.reproduction.result import StudyResult
from initsens.reproduction.runs import training_seconds
from initsens.reproduction.studies import Study
from initsens.reproduction.verdicts import study_result


@dataclass
class Reproduction:
    """What :func:`judge` wrote and decided."""

    report: Path
    claims: pd.DataFrame
    results: list[StudyResult]


@dataclass(frozen=True)
class StudyWork:
    """What judging one study needs besides the study: where the report goes and the analysis'
    parameters.
    """

    report: Path
    alpha: float
    n_boot: int
    n_boot_icc: int
    seed: int

    def __call__(self, study: Study) -> StudyResult:
        """One study's whole share of the judge: its claims, for protocols and ablations the full
        analysis of their own loss (written beside the report), for protocols the diagnostics.
        """
        result, loaded = study_result(study, self.alpha)
        epochs = loaded.epochs if loaded is not None else None
        if study.kind != "rung" and result.judged:
            assert loaded is not None  # judged, so it has runs
            analysis = analyze(
                result.runs,
                OWN_LOSS,
                epochs,
                n_boot=self.n_boot,
                n_boot_icc=self.n_boot_icc,
                alpha=self.alpha,
                random_state=self.seed,
            )
            sub_report = self.report.parent / self.report.stem / study.name / "summary.md"
            write_report(
                analysis, loaded, sub_report, f"initsens analyze {study.folder} --metric {OWN_LOSS}"
            )
            result.report = os.path.relpath(sub_report, self.report.parent)
        if study.kind == "protocol" and result.judged:
            result.diagnostics = diagnostics(result, epochs, self.alpha)
        return result

    def is_current(self, result: StudyResult) -> bool:
        """Whether the full analysis the result links to is still written (a cached result needs
        it).
        """
        return not result.report or (self.report.parent / result.report).is_file()


def judge(
    studies: Sequence[Study],
    report: str | Path,
    command: str,
    *,
    alpha: float = 0.05,
    n_boot: int = 2000,
    n_boot_icc: int = 500,
    seed: int = 0,
    on_step: Callable[[str], None] | None = None,
) -> Reproduction:
    """Judge every study, write each protocol's and ablation's full analysis, the figures, the
    tables and the reproduction report.
    """
    step = on_step or (lambda _: None)
    report = Path(report)
    root = report.parent / report.stem
    wall: dict[str, float] = {}
    data: dict[str, str] = {}
    work = StudyWork(report, alpha, n_boot, n_boot_icc, seed)
    results = judge_studies(studies, work, root / CACHE_FOLDER, step)
    for study, result in zip(studies, results):
        wall[study.name] = training_seconds(study.folder)
        if "dataset_sha256" in result.runs.columns and len(result.runs) and not data:
            data = {
                "name": str(result.runs["dataset"].iloc[0]),
                "sha256": str(result.runs["dataset_sha256"].iloc[0]),
            }
    by_name = {r.name: r for r in results}
    for r in results:
        if (
            r.study.ablation is not None
            and r.study.ablation.base in by_name
            and r.judged
            and by_name[r.study.ablation.base].judged
        ):
            by_name[r.study.ablation.base].diagnostics += ablation_lines(
                by_name[r.study.ablation.base], r
            )
    step("figures and report")
    protocols = [r for r in results if r.study.kind == "protocol"]
    rungs = [r for r in results if r.study.kind == "rung"]
    judged = [r for r in results if r.judged]
    figures = {
        key: forest_plot(key, protocols, root / "figures" / f"claim_{key}.png")
        for key in CLAIMS
        if protocols
    }
    ladder = ladder_table(rungs) if rungs else pd.DataFrame()
    if len(ladder):
        figures["ladder"] = ladder_plot(ladder, root / "figures" / "ladder.png")
        write_table(ladder, root / "tables" / "ladder.parquet")
    claims = claims_table(judged)
    write_table(claims, root / "tables" / "claims.parquet")
    evidence = (
        pd.concat([r.evidence.assign(study=r.name) for r in judged], ignore_index=True)
        if judged
        else pd.DataFrame()
    )
    write_table(
        evidence.astype({c: str for c in evidence.columns if evidence[c].dtype == object}),
        root / "tables" / "evidence.parquet",
    )
    # the verdicts earlier rule versions gave, kept beside the report
    # (``history/claims-v1.parquet``, ...)
    history = {
        f.stem.split("-", 1)[1]: pd.read_parquet(f)
        for f in sorted((root / "history").glob("claims-*.parquet"))
    }
    null = root / "tables" / NULL_TABLE  # scripts/permuted_null.py's output, when it was run
    context = Context(
        command=command,
        versions=versions(),
        data=data,
        wall=wall,
        alpha=alpha,
        tables_dir=str((root / "tables").relative_to(report.parent)),
        figures={k: str(p.relative_to(report.parent)) for k, p in figures.items()},
        history=history,
        null=pd.read_csv(null) if null.is_file() else pd.DataFrame(),
    )
    text = render(results, ladder, context)
    with atomic_path(report) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Reproduction(report, claims, results)


def claims_table(results: Sequence[StudyResult]) -> pd.DataFrame:
    """One row per claim, study, check and scope (written as ``tables/claims.parquet``)."""
    frames = [
        r.verdicts.assign(study=r.name, kind=r.study.kind) for r in results if len(r.verdicts)
    ]
    if not frames:
        return pd.DataFrame(columns=["claim", "study", "kind", "check", "scope", "verdict"])
    frame = pd.concat(frames, ignore_index=True)
    first = ["claim", "study", "kind", "check", "scope", "verdict"]
    return frame[[*first, *(c for c in frame.columns if c not in first)]]
