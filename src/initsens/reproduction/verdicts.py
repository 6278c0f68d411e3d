"""Judging one study: its checks' sub-results and verdicts on the runs of its complete phases."""

from __future__ import annotations

import pandas as pd

from initsens.analysis import Results, load_results
from initsens.reproduction.claims import CHECKS, EXTRAPOLATION, OWN_LOSS, SOURCE, evaluate, verdicts
from initsens.reproduction.result import PhaseProgress, StudyResult
from initsens.reproduction.runs import shared_settings
from initsens.reproduction.studies import DEFAULT_READINGS, Study
from initsens.results.store import ResultsStore


def readings(runs: pd.DataFrame, own: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The runs with ``own`` reading of "the default" (the other one left out), and, when the runs
    hold both, the runs with the other reading instead (None otherwise).
    """
    other = next(r for r in DEFAULT_READINGS if r != own)
    inits = set(runs["initializer"])
    if not {own, other} <= inits:
        return runs, None
    return runs[runs["initializer"] != other], runs[runs["initializer"] != own]


def judge_runs(runs: pd.DataFrame, own: str, alpha: float) -> pd.DataFrame:
    """Every check's sub-results for one study's runs (see :data:`CHECKS`), with a ``check``
    column.
    """
    runs_as_read, runs_other_reading = readings(runs, own)
    frames = []
    for check in CHECKS.values():
        frame = runs_other_reading if check.other_default else runs_as_read
        if frame is None or (check.metric not in frame.columns):
            continue
        frames.append(evaluate(frame, check.metric, alpha, check.claims()).assign(check=check.name))
    return pd.concat(frames, ignore_index=True)


def verdict_table(evidence: pd.DataFrame) -> pd.DataFrame:
    """One row per claim, check and scope (the checks' claims only)."""
    rows = []
    for check in CHECKS.values():
        sub = evidence[evidence["check"] == check.name]
        if not len(sub):
            continue
        for scope in (SOURCE, EXTRAPOLATION):
            table = verdicts(sub, scope)
            rows.append(table[table["claim"].isin(check.claims())].assign(check=check.name))
    return pd.concat(rows, ignore_index=True)


def phase_progress(study: Study, recorded: set[str], sha: str | None) -> list[PhaseProgress]:
    """Each phase's trained and expected runs (``recorded``: the run ids in the study's folder;
    ``sha``: the data's content hash, None when nothing is recorded), judged while it and every
    phase before it are complete.
    """
    out, open_ = [], True
    for phase, specs in study.phase_runs():
        ids = (
            frozenset(spec.recorded_id(sha, recorded) for spec in specs)
            if sha is not None
            else frozenset()
        )
        done = len(ids & recorded)
        open_ = open_ and done == len(specs)
        out.append(PhaseProgress(phase, done, len(specs), open_, ids))
    return out


def study_result(study: Study, alpha: float) -> tuple[StudyResult, Results | None]:
    """One study's claims judged on the runs of its complete phases (the judge's first step, without
    the full analysis), and what was read from its folder (None when nothing is recorded yet).
    """
    expected = len(study.config.runs())
    empty = pd.DataFrame(columns=["run_id", "model", "initializer", "status"])
    if not ResultsStore(study.folder).run_parts():  # not started yet
        return StudyResult(
            study,
            empty,
            pd.DataFrame(),
            pd.DataFrame(),
            0,
            expected,
            phases=phase_progress(study, set(), None),
        ), None
    loaded = load_results(study.folder, OWN_LOSS)
    runs = loaded.runs
    sha = (
        str(runs["dataset_sha256"].iloc[0])
        if "dataset_sha256" in runs.columns and len(runs)
        else None
    )
    phases = phase_progress(study, set(runs["run_id"]), sha)
    if sha is not None:  # the study's grid only (a folder may hold more)
        runs = runs[
            runs["run_id"].isin(frozenset().union(*(p.run_ids for p in phases)))
        ].reset_index(drop=True)
    judged = runs[runs["run_id"].isin(frozenset().union(*(p.run_ids for p in phases if p.judged)))]
    judged = judged.reset_index(drop=True)
    result = StudyResult(
        study,
        judged,
        pd.DataFrame(),
        pd.DataFrame(),
        len(runs),
        expected,
        settings=shared_settings(runs),
        phases=phases,
    )
    if result.judged:
        evidence = judge_runs(judged, study.default, alpha)
        waiting = {
            w for p in phases if not p.judged for w in p.phase.waits
        }  # no evidence, no verdict yet
        result.evidence, result.verdicts = (
            frame[~frame["claim"].isin(waiting) & ~frame["check"].isin(waiting)].reset_index(
                drop=True
            )
            for frame in (evidence, verdict_table(evidence))
        )
    return result, loaded
