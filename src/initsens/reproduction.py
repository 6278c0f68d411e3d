"""The reproduction study, after training: judge the original claims under each protocol and write the report.

For each protocol's results folder: the standard analysis of ``val_nelbo`` (its full report beside the
reproduction report), the claims' sub-results and verdicts (:mod:`initsens.analysis.claims`), and
diagnostics that the data can answer: which initializers diverged and when, how long runs trained,
and whether a verdict changes when the reported epoch (``select_epoch``) or the judged metric (the
protocol's own loss) is swapped, re-judged from the logged epochs without retraining.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from initsens.analysis import analyze, load_results
from initsens.analysis.claims import CLAIMS, METRIC, evaluate, verdicts
from initsens.atomic import atomic_path
from initsens.errors import InitsensError
from initsens.report import versions, write_report
from initsens.report.reproduction import ProtocolResult, claims_table, forest_plot, render
from initsens.report.tables import write_table
from initsens.schema import EARLY, OK
from initsens.studies import Ablation

LOSS_CLAIMS = ("P1", "P2", "P3", "P4")


def ablation_lines(base: ProtocolResult, variant: ProtocolResult) -> list[str]:
    """What changing the settings did: sub-results whose verdict moved, and the medians that moved most."""
    merged = base.evidence.merge(variant.evidence, on=["claim", "where"], suffixes=("", "_v"))
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


@dataclass
class Reproduction:
    """What :func:`judge` wrote and decided."""

    report: Path
    claims: pd.DataFrame
    results: list[ProtocolResult]


def training_seconds(folder: Path) -> float:
    """Training time: each runs part is one ensemble chunk, and its longest run is the chunk's time."""
    total = 0.0
    for part in sorted((folder / "runs").glob("part-*.parquet")):
        walls = pq.read_table(part, columns=["wall_seconds"])["wall_seconds"].to_numpy()
        total += float(np.nanmax(walls)) if len(walls) else 0.0
    return total


def best_epoch_runs(runs: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with the loss metrics of each run's best epoch (lowest validation loss) in place of the
    reported ones: what ``--select-epoch best`` would have reported (ARI cannot be re-derived)."""
    finite = epochs[np.isfinite(epochs["val_loss"].to_numpy(np.float64))]
    best = finite.loc[finite.groupby("run_id")["val_loss"].idxmin()].set_index("run_id")
    out = runs.copy()
    for column in ("val_loss", "val_recon_mse", "val_kl", "val_nelbo"):
        mapped = out["run_id"].map(best[column])
        out[column] = np.where(out["status"] == OK, mapped, out[column])
    return out


def _changes(base: pd.DataFrame, other: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    a, b = base.set_index("claim")["verdict"], other.set_index("claim")["verdict"]
    return [f"{k} {a[k]} → {b[k]}" for k in keys if k in b.index and a[k] != b[k]]


def diagnostics(name: str, runs: pd.DataFrame, epochs: pd.DataFrame | None, table: pd.DataFrame, settings: dict,
                rejudge: Callable[[pd.DataFrame, str], pd.DataFrame]) -> list[str]:
    """Data-driven lines on what makes this protocol's verdicts what they are."""
    lines = []
    ok = runs[runs["status"] == OK]
    if len(ok) and {"val_kl", "ari"} <= set(ok.columns):
        lines.append(f"{name}: finished runs have a median validation KL of {ok['val_kl'].median():.3g} nats "
                     "per sample "
                     f"(a KL near 0 means the posterior is the prior: the latent code carries almost nothing) and a "
                     f"median ARI of {ok['ari'].median():.3g}.")
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
    trained = runs.loc[runs["status"] == OK, "epochs_trained"]
    if len(trained):
        stopped = runs["stopped"].value_counts().to_dict() if "stopped" in runs.columns else {}
        early = runs.loc[runs["status"] == OK, "stopped"] == EARLY if "stopped" in runs.columns else False
        at_min = int(((trained == int(settings.get("min_epochs", 1))) & early).sum())
        lines.append(f"{name}: finished runs trained a median of {int(np.median(trained))} epochs (range "
                     f"{int(trained.min())}–{int(trained.max())}); {at_min} stopped at the minimum of "
                     f"{settings.get('min_epochs', 1)}; stopped: {', '.join(f'{k} {v}' for k, v in stopped.items())}.")
    if epochs is not None and settings.get("select_epoch") == "last":
        changed = _changes(table, rejudge(best_epoch_runs(runs, epochs), METRIC), LOSS_CLAIMS)
        lines.append(f"{name}: re-judged with each run's best epoch instead of its last (`select_epoch`, from the "
                     "epochs log): " + ("; ".join(changed) + ", so the reported epoch drives these verdicts."
                                        if changed else "no verdict of P1–P4 changes."))
    own = _changes(table, rejudge(runs, "val_loss"), (*LOSS_CLAIMS, "E2"))
    lines.append(f"{name}: re-judged on the protocol's own loss (`val_loss`) instead of `val_nelbo`: "
                 + ("; ".join(own) + ", so the loss definition drives these verdicts." if own
                    else "no verdict changes."))
    return lines


def judge(folders: dict[str, Path], report: str | Path, command: str, alpha: float = 0.05, n_boot: int = 2000,
          n_boot_icc: int = 500, seed: int = 0, on_step: Callable[[str], None] | None = None,
          ablations: dict[Ablation, Path] | None = None) -> Reproduction:
    """Analyze each protocol's results folder, judge every claim, and write the reproduction report.
    ``ablations`` (an ablated protocol -> its folder) are judged too and compared with their base protocol."""
    step = on_step or (lambda _: None)
    report = Path(report)
    root = report.parent / report.stem
    results = []
    wall, data = {}, {}
    everything = {**folders, **{a.name: f for a, f in (ablations or {}).items()}}
    for name, folder in everything.items():
        step(f"{name}: analysis of {METRIC}")
        loaded = load_results(folder, METRIC)
        runs = loaded.runs

        def rejudge(frame: pd.DataFrame, metric: str, epochs: pd.DataFrame | None = loaded.epochs) -> pd.DataFrame:
            again = analyze(frame, metric, epochs, n_boot, n_boot_icc, alpha, seed)
            return verdicts(evaluate(again, alpha, n_boot, seed))

        analysis = analyze(runs, METRIC, loaded.epochs, n_boot, n_boot_icc, alpha, seed)
        sub_report = root / name / "summary.md"
        step(f"{name}: full report")
        write_report(analysis, loaded, sub_report, f"initsens analyze {folder} --metric {METRIC}")
        step(f"{name}: claims")
        evidence = evaluate(analysis, alpha, n_boot, seed)
        table = verdicts(evidence)
        settings = _settings(runs)
        notes = []
        if name in folders:  # an ablation is described by its comparison with its base protocol instead
            step(f"{name}: diagnostics (re-judging)")
            notes = diagnostics(name, runs, loaded.epochs, table, settings, rejudge)
        results.append(ProtocolResult(name, runs, evidence, table, str(sub_report.relative_to(report.parent)),
                                      settings, notes))
        wall[name] = training_seconds(folder)
        if "dataset_sha256" in runs.columns:
            data = {"name": str(runs["dataset"].iloc[0]), "sha256": str(runs["dataset_sha256"].iloc[0])}
    by_name = {r.name: r for r in results}
    ablated = [by_name[a.name] for a in (ablations or {})]
    for ablation in ablations or {}:
        if ablation.base in by_name:
            by_name[ablation.base].diagnostics += ablation_lines(by_name[ablation.base], by_name[ablation.name])
    results = [r for r in results if r.name in folders]
    step("figures and report")
    figures = {key: forest_plot(key, results, root / "figures" / f"claim_{key}.png") for key in CLAIMS}
    links = {key: str(path.relative_to(report.parent)) for key, path in figures.items()}
    claims = claims_table(results + ablated)
    write_table(claims, root / "tables" / "claims.parquet")
    evidence = pd.concat([r.evidence.assign(protocol=r.name) for r in results + ablated], ignore_index=True)
    write_table(evidence.astype({c: str for c in evidence.columns if evidence[c].dtype == object}),
                root / "tables" / "evidence.parquet")
    text = render(results, links, str((root / "tables").relative_to(report.parent)), command, versions(),
                  data, wall, alpha, ablated)
    with atomic_path(report) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Reproduction(report, claims, results + ablated)


def _settings(runs: pd.DataFrame) -> dict[str, str]:
    """The protocol's settings as its runs recorded them (values shared by all runs; per-model ones listed)."""
    if "settings" not in runs.columns:
        return {}
    parsed = pd.DataFrame([json.loads(s) for s in runs["settings"]])
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


def check_folders(folders: dict[str, Path]) -> None:
    """A one-line error when a protocol's results folder holds no runs yet."""
    for name, folder in folders.items():
        if not list((folder / "runs").glob("part-*.parquet")):
            raise InitsensError(f"{folder}: no runs of protocol {name} yet; train them first "
                                f"(initsens reproduce without --no-train)")
