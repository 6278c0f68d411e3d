"""The reproduction study, after training: judge the original claims on every study (the protocols, their
ablations and the scale ladder's rungs, :mod:`initsens.studies`) and write the report.

Each study is judged three ways (:data:`CHECKS`): on each claim's own metric (the verdict), on ``val_nelbo``
(one loss definition for every model and protocol: the robustness check) and, where the runs hold both readings
of the poster's "default", with the other reading standing for it. Protocols and ablations also get the full
``initsens analyze`` report of their own loss; rungs get a row of the ladder's table. A rung whose runs are not
all trained yet is shown with how many are, and not judged: its cells would be a different test.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from initsens.analysis import Results, analyze, load_results
from initsens.analysis.claims import (
    CHECKS,
    CLAIMS,
    EXTRAPOLATION,
    LOSS_CLAIMS,
    NELBO,
    OWN_LOSS,
    PRIMARY,
    SOURCE,
    evaluate,
    verdicts,
)
from initsens.atomic import atomic_path
from initsens.report import versions, write_report
from initsens.report.reproduction import Context, forest_plot, ladder_plot, render
from initsens.report.tables import write_table
from initsens.schema import EARLY, OK, VALIDATION_COLUMNS
from initsens.studies import DEFAULT_READINGS, Study
from initsens.study_cache import CACHE_FOLDER, judge_studies
from initsens.study_result import PhaseProgress, StudyResult
from initsens.training.loop import batch_count


@dataclass
class Reproduction:
    """What :func:`judge` wrote and decided."""

    report: Path
    claims: pd.DataFrame
    results: list[StudyResult]


def readings(runs: pd.DataFrame, own: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The runs with ``own`` reading of "the default" (the other one left out), and, when the runs hold both, the
    runs with the other reading instead (None otherwise).
    """
    other = next(r for r in DEFAULT_READINGS if r != own)
    inits = set(runs["initializer"])
    if not {own, other} <= inits:
        return runs, None
    return runs[runs["initializer"] != other], runs[runs["initializer"] != own]


def judge_runs(runs: pd.DataFrame, own: str, alpha: float) -> pd.DataFrame:
    """Every check's sub-results for one study's runs (see :data:`CHECKS`), with a ``check`` column."""
    mine, theirs = readings(runs, own)
    frames = []
    for check, (claims, metric, other) in CHECKS.items():
        frame = theirs if other else mine
        if frame is None or (metric not in frame.columns):
            continue
        frames.append(evaluate(frame, metric, alpha, claims).assign(check=check))
    return pd.concat(frames, ignore_index=True)


def verdict_table(evidence: pd.DataFrame) -> pd.DataFrame:
    """One row per claim, check and scope (the checks' claims only)."""
    rows = []
    for check, (claims, _, _) in CHECKS.items():
        sub = evidence[evidence["check"] == check]
        if not len(sub):
            continue
        for scope in (SOURCE, EXTRAPOLATION):
            table = verdicts(sub, scope)
            rows.append(table[table["claim"].isin(claims)].assign(check=check))
    return pd.concat(rows, ignore_index=True)


def training_seconds(folder: Path) -> float:
    """Training time: each runs part is one ensemble chunk, and its longest run is the chunk's time."""
    total = 0.0
    for part in sorted((folder / "runs").glob("part-*.parquet")):
        walls = pq.read_table(part, columns=["wall_seconds"])["wall_seconds"].to_numpy()
        total += float(np.nanmax(walls)) if len(walls) else 0.0
    return total


def best_epoch_runs(runs: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with the loss metrics of each run's best epoch (``best_epoch``: the early-stopping tracker's, which
    counts an epoch better only by more than ``min_delta``) in place of the reported ones: what ``--select-epoch
    best`` would have reported (ARI cannot be re-derived).
    """
    best = runs.set_index("run_id")["best_epoch"]
    chosen = epochs[epochs["epoch"].to_numpy() == epochs["run_id"].map(best).to_numpy()].set_index("run_id")
    out = runs.copy()
    for column in VALIDATION_COLUMNS:
        if column in chosen.columns:
            out[column] = np.where(out["status"] == OK, out["run_id"].map(chosen[column]), out[column])
    return out


def run_settings(runs: pd.DataFrame) -> pd.DataFrame:
    """Each run's recorded settings, one column per setting (JSON-decoded)."""
    if "settings" not in runs.columns:
        return pd.DataFrame(index=runs.index)
    return pd.DataFrame([json.loads(s) for s in runs["settings"]], index=runs.index)


def steps_per_epoch(runs: pd.DataFrame) -> pd.Series:
    """Optimizer steps per epoch of each run: ``epoch_steps``, else one pass over the training split in
    minibatches.
    """
    settings = run_settings(runs)
    fixed = pd.to_numeric(settings.get("epoch_steps", pd.Series(0, index=runs.index)), errors="coerce").fillna(0)
    drop = settings.get("drop_last", pd.Series(False, index=runs.index)).fillna(False).astype(bool)
    one_pass = [batch_count(int(n), int(b), bool(d)) for n, b, d in zip(runs["n_train"], runs["batch_size"], drop)]
    return pd.Series(np.where(fixed.to_numpy() > 0, fixed.to_numpy(), one_pass), index=runs.index)


def optimizer_steps(runs: pd.DataFrame) -> pd.Series:
    """Optimizer steps each run took: epochs trained times its steps per epoch."""
    return runs["epochs_trained"] * steps_per_epoch(runs)


def _changes(base: pd.DataFrame, other: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    a = base[base["scope"] == SOURCE].set_index("claim")["verdict"]
    b = other[other["scope"] == SOURCE].set_index("claim")["verdict"]
    return [f"{k} {a[k]} → {b[k]}" for k in keys if k in a.index and k in b.index and a[k] != b[k]]


def diagnostics(result: StudyResult, epochs: pd.DataFrame | None, alpha: float) -> list[str]:
    """Data-driven lines on what makes this study's verdicts what they are."""
    name, runs, settings = result.name, result.runs, result.settings
    lines = []
    ok = runs[runs["status"] == OK]
    if len(ok) and {"val_kl", "ari"} <= set(ok.columns):
        lines.append(f"{name}: finished runs have a median validation KL of {ok['val_kl'].median():.3g} nats per "
                     "sample (near 0: the posterior is the prior and the latent code carries almost nothing), a "
                     f"median validation reconstruction MSE of {ok['val_recon_mse'].median():.3g} and a median ARI "
                     f"of {ok['ari'].median():.3g}.")
    failed = runs[runs["status"] != OK]
    if len(failed):
        by = failed.groupby(["model", "initializer"]).size().sort_values(ascending=False)
        where = ", ".join(f"{m} {i} {n}" for (m, i), n in by.head(8).items())
        first = ""
        if epochs is not None:
            last = epochs[epochs["run_id"].isin(failed["run_id"])].groupby("run_id")["epoch"].max()
            if len(last):
                first = f"; {int((last == 1).sum())} of them in their first epoch"
        lines.append(f"{name}: {len(failed)} of {len(runs)} runs diverged or failed ({where}){first}.")
    if len(ok):
        trained, steps = ok["epochs_trained"], optimizer_steps(ok)
        stopped = runs["stopped"].value_counts().to_dict() if "stopped" in runs.columns else {}
        at_min = int(((trained == int(settings.get("min_epochs", 1))) & (ok["stopped"] == EARLY)).sum())
        lines.append(f"{name}: finished runs trained a median of {int(np.median(trained))} epochs (range "
                     f"{int(trained.min())}–{int(trained.max())}), {int(np.median(steps))} optimizer steps; "
                     f"{at_min} stopped at the minimum of {settings.get('min_epochs', 1)} epochs; stopped: "
                     f"{', '.join(f'{k} {v}' for k, v in stopped.items())}.")
    if epochs is not None and settings.get("select_epoch") == "last" and "best_epoch" in runs.columns:
        mine, _ = readings(runs, result.study.default)
        again = verdicts(evaluate(best_epoch_runs(mine, epochs), OWN_LOSS, alpha, (*LOSS_CLAIMS, "E2")))
        base = result.verdicts[result.verdicts["check"] == PRIMARY]
        changed = _changes(base, again, (*LOSS_CLAIMS, "E2"))
        lines.append(f"{name}: re-judged with each run's best epoch instead of its last (`select_epoch`, from the "
                     "epochs log): " + ("; ".join(changed) + ", so the reported epoch drives these verdicts."
                                        if changed else "no verdict of P1–P4 or E2 changes."))
    return lines


def ablation_lines(base: StudyResult, variant: StudyResult) -> list[str]:
    """What changing the settings did: sub-results whose verdict moved, and the medians that moved most."""
    merged = base.primary().merge(variant.primary(), on=["claim", "where"], suffixes=("", "_v"))
    if set(variant.runs["model"]) != set(base.runs["model"]):  # P1 compares models: only with all of them
        merged = merged[merged["claim"] != "P1"]
    moved = merged[merged["verdict"] != merged["verdict_v"]]
    lines = []
    for key in CLAIMS:
        sub = moved[moved["claim"] == key]
        if len(sub):
            lines.append(f"{variant.name} vs {base.name}, {key}: " + "; ".join(
                f"{r.where} {r.verdict} → {r.verdict_v}" for r in sub.itertuples()) + ".")
    runs, other = base.runs, variant.runs
    shared = sorted(set(runs["model"]) & set(other["model"]))
    for column in ("ari", "val_kl"):
        a = runs.loc[runs["model"].isin(shared) & (runs["status"] == OK), column].median()
        b = other.loc[other["model"].isin(shared) & (other["status"] == OK), column].median()
        lines.append(f"{variant.name} vs {base.name}: median {column} of finished runs {a:.3g} → {b:.3g}.")
    failed = (runs["model"].isin(shared) & (runs["status"] != OK)).sum(), (other["status"] != OK).sum()
    lines.append(f"{variant.name} vs {base.name}: diverged or failed runs {failed[0]} → {failed[1]} "
                 f"(models {', '.join(shared)}).")
    if not len(moved):
        lines.append(f"{variant.name} vs {base.name}: no sub-result changes its verdict.")
    return lines


def ladder_table(results: Sequence[StudyResult]) -> pd.DataFrame:
    """One row per rung: its sizes and schedule, how far it trained, what its runs learned, and its verdicts
    (``<claim>`` on the claim's metric, ``<claim>_nelbo`` on val_nelbo; '' for a rung not completely trained).
    """
    rows = []
    for result in results:
        rung, runs = result.study.rung, result.runs
        assert rung is not None
        ok = runs[runs["status"] == OK] if len(runs) else runs
        batch = int(runs["batch_size"].iloc[0]) if len(runs) else int(result.study.config.batch_size)
        steps = optimizer_steps(ok) if len(ok) else pd.Series(dtype=float)
        per_epoch = int(steps_per_epoch(runs.iloc[:1]).iloc[0]) if len(runs) else rung.epoch_steps or np.nan
        row = {"rung": rung.name, "label": rung.label, "n_train_mn": rung.n_train, "mn_train": batch / rung.n_train,
               "epoch_steps": per_epoch, "trained": result.trained,
               "expected": result.expected, "failed": int((runs["status"] != OK).sum()) if len(runs) else 0,
               "median_epochs": float(ok["epochs_trained"].median()) if len(ok) else np.nan,
               "median_steps": float(steps.median()) if len(steps) else np.nan,
               **{f"median_{c}": float(ok[c].median()) if len(ok) else np.nan
                  for c in ("val_kl", "ari", "val_recon_mse")}}
        for key in CLAIMS:
            row[key] = result.verdict(key) if result.complete else ""
            row[f"{key}_nelbo"] = result.verdict(key, NELBO) if result.complete else ""
            row[f"{key}_shown"] = result.shown(key) if result.complete else ""
        rows.append(row)
    return pd.DataFrame(rows)


def phase_progress(study: Study, recorded: set[str], sha: str | None) -> list[PhaseProgress]:
    """Each phase's trained and expected runs (``recorded``: the run ids in the study's folder; ``sha``: the data's
    content hash, None when nothing is recorded), judged while it and every phase before it are complete.
    """
    out, open_ = [], True
    for phase, specs in study.phase_runs():
        ids = frozenset(spec.recorded_id(sha, recorded) for spec in specs) if sha is not None else frozenset()
        done = len(ids & recorded)
        open_ = open_ and done == len(specs)
        out.append(PhaseProgress(phase, done, len(specs), open_, ids))
    return out


def study_result(study: Study, alpha: float) -> tuple[StudyResult, Results | None]:
    """One study's claims judged on the runs of its complete phases (the judge's first step, without the full
    analysis), and what was read from its folder (None when nothing is recorded yet).
    """
    expected = len(study.config.runs())
    empty = pd.DataFrame(columns=["run_id", "model", "initializer", "status"])
    if not list((study.folder / "runs").glob("part-*.parquet")):  # not started yet
        return StudyResult(study, empty, pd.DataFrame(), pd.DataFrame(), 0, expected,
                           phases=phase_progress(study, set(), None)), None
    loaded = load_results(study.folder, OWN_LOSS)
    runs = loaded.runs
    sha = str(runs["dataset_sha256"].iloc[0]) if "dataset_sha256" in runs.columns and len(runs) else None
    phases = phase_progress(study, set(runs["run_id"]), sha)
    if sha is not None:  # the study's grid only (a folder may hold more)
        runs = runs[runs["run_id"].isin(frozenset().union(*(p.run_ids for p in phases)))].reset_index(drop=True)
    judged = runs[runs["run_id"].isin(frozenset().union(*(p.run_ids for p in phases if p.judged)))]
    judged = judged.reset_index(drop=True)
    result = StudyResult(study, judged, pd.DataFrame(), pd.DataFrame(), len(runs), expected,
                         settings=_settings(runs), phases=phases)
    if result.judged:
        result.evidence = judge_runs(judged, study.default, alpha)
        waiting = {w for p in phases if not p.judged for w in p.phase.waits}
        table = verdict_table(result.evidence)
        result.verdicts = table[~table["claim"].isin(waiting) & ~table["check"].isin(waiting)].reset_index(drop=True)
    return result, loaded


@dataclass(frozen=True)
class StudyWork:
    """What judging one study needs besides the study: where the report goes and the analysis' parameters."""

    report: Path
    alpha: float
    n_boot: int
    n_boot_icc: int
    seed: int

    def __call__(self, study: Study) -> StudyResult:
        """One study's whole share of the judge: its claims, for protocols and ablations the full analysis of their
        own loss (written beside the report), for protocols the diagnostics.
        """
        result, loaded = study_result(study, self.alpha)
        epochs = loaded.epochs if loaded is not None else None
        if study.kind != "rung" and result.judged:
            assert loaded is not None  # judged, so it has runs
            analysis = analyze(result.runs, OWN_LOSS, epochs, self.n_boot, self.n_boot_icc, self.alpha, self.seed)
            sub_report = self.report.parent / self.report.stem / study.name / "summary.md"
            write_report(analysis, loaded, sub_report, f"initsens analyze {study.folder} --metric {OWN_LOSS}")
            result.report = os.path.relpath(sub_report, self.report.parent)
        if study.kind == "protocol" and result.judged:
            result.diagnostics = diagnostics(result, epochs, self.alpha)
        return result

    def is_current(self, result: StudyResult) -> bool:
        """Whether the full analysis the result links to is still written (a cached result needs it)."""
        return not result.report or (self.report.parent / result.report).is_file()


def judge(studies: Sequence[Study], report: str | Path, command: str, alpha: float = 0.05, n_boot: int = 2000,
          n_boot_icc: int = 500, seed: int = 0, on_step: Callable[[str], None] | None = None) -> Reproduction:
    """Judge every study, write each protocol's and ablation's full analysis, the figures, the tables and the
    reproduction report.
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
            data = {"name": str(result.runs["dataset"].iloc[0]), "sha256": str(result.runs["dataset_sha256"].iloc[0])}
    by_name = {r.name: r for r in results}
    for r in results:
        if r.study.ablation is not None and r.study.ablation.base in by_name and r.judged \
                and by_name[r.study.ablation.base].judged:
            by_name[r.study.ablation.base].diagnostics += ablation_lines(by_name[r.study.ablation.base], r)
    step("figures and report")
    protocols = [r for r in results if r.study.kind == "protocol"]
    rungs = [r for r in results if r.study.kind == "rung"]
    judged = [r for r in results if r.judged]
    figures = {key: forest_plot(key, protocols, root / "figures" / f"claim_{key}.png") for key in CLAIMS
               if protocols}
    ladder = ladder_table(rungs) if rungs else pd.DataFrame()
    if len(ladder):
        figures["ladder"] = ladder_plot(ladder, root / "figures" / "ladder.png")
        write_table(ladder, root / "tables" / "ladder.parquet")
    claims = claims_table(judged)
    write_table(claims, root / "tables" / "claims.parquet")
    evidence = pd.concat([r.evidence.assign(study=r.name) for r in judged], ignore_index=True) if judged \
        else pd.DataFrame()
    write_table(evidence.astype({c: str for c in evidence.columns if evidence[c].dtype == object}),
                root / "tables" / "evidence.parquet")
    # the verdicts earlier rule versions gave, kept beside the report (``history/claims-v1.parquet``, ...)
    history = {f.stem.split("-", 1)[1]: pd.read_parquet(f) for f in sorted((root / "history").glob("claims-*.parquet"))}
    context = Context(command, versions(), data, wall, alpha, str((root / "tables").relative_to(report.parent)),
                      {k: str(p.relative_to(report.parent)) for k, p in figures.items()}, history)
    text = render(results, ladder, context)
    with atomic_path(report) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Reproduction(report, claims, results)


def claims_table(results: Sequence[StudyResult]) -> pd.DataFrame:
    """One row per claim, study, check and scope (written as ``tables/claims.parquet``)."""
    frames = [r.verdicts.assign(study=r.name, kind=r.study.kind) for r in results if len(r.verdicts)]
    if not frames:
        return pd.DataFrame(columns=["claim", "study", "kind", "check", "scope", "verdict"])
    frame = pd.concat(frames, ignore_index=True)
    first = ["claim", "study", "kind", "check", "scope", "verdict"]
    return frame[[*first, *(c for c in frame.columns if c not in first)]]


def _settings(runs: pd.DataFrame) -> dict[str, str]:
    """The study's settings as its runs recorded them (values shared by all runs; per-model ones listed)."""
    parsed = run_settings(runs)
    if parsed.empty:
        return {}
    parsed["model"] = runs["model"].to_numpy()
    skip = {"model", "initializer", "depth", "normalization", "seed", "split_seed", "dataset_sha256", "init_scope"}
    out = {}
    for column in parsed.columns:
        if column in skip:
            continue
        values = parsed[column].map(lambda v: json.dumps(v) if isinstance(v, list) else v)
        present = values.notna()  # a model's own hyperparameters are absent from the other models' settings
        per_model = values[present].groupby(parsed.loc[present, "model"]).first()
        if values[present].nunique() == 1:
            shared = str(values[present].iloc[0])
            out[column] = shared if present.all() else f"{shared} ({', '.join(per_model.index)})"
        else:
            out[column] = "; ".join(f"{m} {v}" for m, v in per_model.items())
    return out
