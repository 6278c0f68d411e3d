"""One study's share of the reproduction once judged (:class:`StudyResult`) and how far each of its
phases is trained (:class:`PhaseProgress`): what the judge (:mod:`initsens.reproduction`) produces
and the report (:mod:`initsens.reproduction.report`) shows, in a module of its own so that neither
imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from initsens.reproduction.claims import OTHER_DEFAULT, PRIMARY, SOURCE
from initsens.reproduction.studies import Phase, Study


@dataclass(frozen=True)
class PhaseProgress:
    """How far one phase of a study is trained, and whether its runs are judged (it and every phase
    before it complete).
    """

    phase: Phase
    trained: int
    expected: int
    judged: bool
    run_ids: frozenset[str] = frozenset()

    def shown(self) -> str:
        """e.g. ``min-max: 37 of 400 trained``."""
        return f"{self.phase.label}: {self.trained} of {self.expected} trained"


@dataclass
class StudyResult:
    """One study's share of the reproduction: the runs judged (those of its complete phases), every
    sub-result (``check`` column), the verdicts (one row per claim, check and scope), how much of it
    is trained (in all and per phase), and provenance.
    """

    study: Study
    runs: pd.DataFrame
    evidence: pd.DataFrame
    verdicts: pd.DataFrame
    trained: int
    expected: int
    report: str = ""  # relative link to the full analysis ('' for rungs)
    settings: dict[str, str] = field(default_factory=dict)
    diagnostics: list[str] = field(default_factory=list)
    phases: list[PhaseProgress] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The study's name (its folder under the results root)."""
        return self.study.name

    @property
    def complete(self) -> bool:
        """Whether every run of the study's grid is recorded."""
        return self.trained >= self.expected

    @property
    def judged(self) -> bool:
        """Whether the study's claims are judged: its first phase (its only one, for most) is
        complete.
        """
        return bool(self.phases) and self.phases[0].judged

    def progress(self) -> str:
        """How far the study is trained, e.g.
        ``300 of 960 runs (z-score: 300 of 400 trained; ...)``.
        """
        parts = f" ({'; '.join(p.shown() for p in self.phases)})" if len(self.phases) > 1 else ""
        return f"{self.trained} of {self.expected} runs{parts}"

    def judged_on(self) -> str:
        """The phases the verdicts rest on, when some phase is not yet judged ('' otherwise)."""
        if all(p.judged for p in self.phases):
            return ""
        return (
            "judged on "
            + ", ".join(p.phase.label for p in self.phases if p.judged)
            + "; "
            + "; ".join(p.shown() for p in self.phases if not p.judged)
        )

    def _row(self, claim: str, check: str, scope: str) -> pd.DataFrame:
        """The verdict table's row of ``claim`` under ``check`` in ``scope`` (empty when there is
        none).
        """
        v = self.verdicts
        return (
            v[(v["claim"] == claim) & (v["check"] == check) & (v["scope"] == scope)]
            if len(v)
            else v
        )

    def verdict(self, claim: str, check: str = PRIMARY, scope: str = SOURCE) -> str:
        """The verdict of ``claim`` under ``check`` in ``scope`` ('' when that check does not apply
        or waits for a phase).
        """
        hit = self._row(claim, check, scope)
        return str(hit["verdict"].iloc[0]) if len(hit) else ""

    def shown(self, claim: str, check: str = PRIMARY, scope: str = SOURCE) -> str:
        """The verdict as tables print it: with its coverage (``supported (1 of 2 sub-results
        testable)``), what it waits for, or how far the study is trained when nothing is judged yet.
        """
        if not self.judged:
            return f"not judged: {self.trained} of {self.expected} runs trained"
        hit = self._row(claim, check, scope)
        if not len(hit):
            waits = self.waits_for(claim if check != OTHER_DEFAULT else OTHER_DEFAULT)
            return f"waits for {waits}" if waits else ""
        return (
            str(hit["coverage"].iloc[0])
            if "coverage" in hit.columns
            else str(hit["verdict"].iloc[0])
        )

    def waits_for(self, what: str) -> str:
        """The unjudged phase ``what`` (a claim, or the other-default check) waits for, with its
        progress.
        """
        return next((p.shown() for p in self.phases if not p.judged and what in p.phase.waits), "")

    def primary(self) -> pd.DataFrame:
        """The sub-results of the verdict check."""
        return (
            self.evidence[self.evidence["check"] == PRIMARY]
            if len(self.evidence)
            else self.evidence
        )


def named_alike(pairs: Sequence[tuple[StudyResult, pd.DataFrame]]) -> list[pd.DataFrame]:
    """Each study's sub-results (``where`` column) with cells named as the other studies name
    theirs: a study judged on one normalization (a phase of the original scale) leaves it out of its
    cells' names ("IWAE, depth 1"), so it is added back where another study's names carry one, and
    the same cell reads alike in every study.
    """
    named = any(
        frame["where"].str.contains("normalization ").any() for _, frame in pairs if len(frame)
    )
    out = []
    for result, frame in pairs:
        runs = result.runs
        norms = runs["normalization"].unique() if "normalization" in runs.columns else []
        if (
            named
            and len(norms) == 1
            and len(frame)
            and not frame["where"].str.contains("normalization ").any()
        ):
            frame = frame.assign(where=frame["where"] + f", normalization {norms[0]}")
        out.append(frame)
    return out
