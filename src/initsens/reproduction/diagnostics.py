"""What the data show about each study's settings: the lines beside its verdicts, what an ablation
changed, and the scale ladder's table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initsens.reproduction.claims import (
    CHECKS,
    CLAIMS,
    NELBO,
    OWN_LOSS,
    PRIMARY,
    SOURCE,
    evaluate,
    verdicts,
)
from initsens.reproduction.result import StudyResult
from initsens.reproduction.runs import best_epoch_runs, optimizer_steps, steps_per_epoch
from initsens.reproduction.verdicts import readings
from initsens.results.schema import EARLY, OK


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
        lines.append(
            f"{name}: finished runs have a median validation KL of {ok['val_kl'].median():.3g} "
            "nats per sample (a value near 0 would mean the posterior is the prior and the latent "
            "code carries almost nothing), a median validation reconstruction MSE of "
            f"{ok['val_recon_mse'].median():.3g} and a median ARI of {ok['ari'].median():.3g}."
        )
    failed = runs[runs["status"] != OK]
    if len(failed):
        by = failed.groupby(["model", "initializer"]).size().sort_values(ascending=False)
        where = ", ".join(f"{m} {i} {n}" for (m, i), n in by.head(8).items())
        first = ""
        if epochs is not None:
            last = epochs[epochs["run_id"].isin(failed["run_id"])].groupby("run_id")["epoch"].max()
            if len(last):
                first = f"; {int((last == 1).sum())} of them in their first epoch"
        lines.append(
            f"{name}: {len(failed)} of {len(runs)} runs diverged or failed ({where}){first}."
        )
    if len(ok):
        trained, steps = ok["epochs_trained"], optimizer_steps(ok)
        stopped = runs["stopped"].value_counts().to_dict() if "stopped" in runs.columns else {}
        at_min = int(
            ((trained == int(settings.get("min_epochs", 1))) & (ok["stopped"] == EARLY)).sum()
        )
        lines.append(
            f"{name}: finished runs trained a median of {int(np.median(trained))} epochs (range "
            f"{int(trained.min())}–{int(trained.max())}), {int(np.median(steps))} optimizer steps; "
            f"{at_min} stopped at the minimum of {settings.get('min_epochs', 1)} epochs; stopped: "
            f"{', '.join(f'{k} {v}' for k, v in stopped.items())}."
        )
    if (
        epochs is not None
        and settings.get("select_epoch") == "last"
        and "best_epoch" in runs.columns
    ):
        default_runs, _ = readings(runs, result.study.default)
        on_loss = CHECKS[NELBO].claims()
        again = verdicts(evaluate(best_epoch_runs(default_runs, epochs), OWN_LOSS, alpha, on_loss))
        base = result.verdicts[result.verdicts["check"] == PRIMARY]
        changed = _changes(base, again, on_loss)
        lines.append(
            f"{name}: re-judged with each run's best epoch instead of its last (`select_epoch`, "
            "from the epochs log): "
            + (
                "; ".join(changed) + ", so the reported epoch drives these verdicts."
                if changed
                else f"no verdict of {', '.join(on_loss)} changes."
            )
        )
    return lines


def ablation_lines(base: StudyResult, variant: StudyResult) -> list[str]:
    """What changing the settings did: sub-results whose verdict moved, and the medians that moved
    most.
    """
    merged = base.primary().merge(variant.primary(), on=["claim", "where"], suffixes=("", "_v"))
    if set(variant.runs["model"]) != set(
        base.runs["model"]
    ):  # a claim comparing models needs all of them
        merged = merged[~merged["claim"].isin([k for k, c in CLAIMS.items() if c.compares_models])]
    moved = merged[merged["verdict"] != merged["verdict_v"]]
    lines = []
    for key in CLAIMS:
        sub = moved[moved["claim"] == key]
        if len(sub):
            lines.append(
                f"{variant.name} vs {base.name}, {key}: "
                + "; ".join(f"{r.where} {r.verdict} → {r.verdict_v}" for r in sub.itertuples())
                + "."
            )
    runs, other = base.runs, variant.runs
    shared = sorted(set(runs["model"]) & set(other["model"]))
    for column in ("ari", "val_kl"):
        a = runs.loc[runs["model"].isin(shared) & (runs["status"] == OK), column].median()
        b = other.loc[other["model"].isin(shared) & (other["status"] == OK), column].median()
        lines.append(
            f"{variant.name} vs {base.name}: median {column} of finished runs {a:.3g} → {b:.3g}."
        )
    failed = (
        (runs["model"].isin(shared) & (runs["status"] != OK)).sum(),
        (other["status"] != OK).sum(),
    )
    lines.append(
        f"{variant.name} vs {base.name}: diverged or failed runs {failed[0]} → {failed[1]} "
        f"(models {', '.join(shared)})."
    )
    if not len(moved):
        lines.append(f"{variant.name} vs {base.name}: no sub-result changes its verdict.")
    return lines


def ladder_table(results: Sequence[StudyResult]) -> pd.DataFrame:
    """One row per rung: its sizes and schedule, how far it trained, what its runs learned, and its
    verdicts (``<claim>`` on the claim's metric, ``<claim>_nelbo`` on val_nelbo; '' for a rung not
    completely trained).
    """
    rows = []
    for result in results:
        rung, runs = result.study.rung, result.runs
        assert rung is not None
        ok = runs[runs["status"] == OK] if len(runs) else runs
        batch = (
            int(runs["batch_size"].iloc[0]) if len(runs) else int(result.study.config.batch_size)
        )
        steps = optimizer_steps(ok) if len(ok) else pd.Series(dtype=float)
        per_epoch = (
            int(steps_per_epoch(runs.iloc[:1]).iloc[0]) if len(runs) else rung.epoch_steps or np.nan
        )
        row = {
            "rung": rung.name,
            "label": rung.label,
            "n_train_mn": rung.n_train,
            "mn_train": batch / rung.n_train,
            "epoch_steps": per_epoch,
            "trained": result.trained,
            "expected": result.expected,
            "failed": int((runs["status"] != OK).sum()) if len(runs) else 0,
            "median_epochs": float(ok["epochs_trained"].median()) if len(ok) else np.nan,
            "median_steps": float(steps.median()) if len(steps) else np.nan,
            **{
                f"median_{c}": float(ok[c].median()) if len(ok) else np.nan
                for c in ("val_kl", "ari", "val_recon_mse")
            },
        }
        for key in CLAIMS:
            row[key] = result.verdict(key) if result.complete else ""
            row[f"{key}_nelbo"] = result.verdict(key, NELBO) if result.complete else ""
            row[f"{key}_shown"] = result.shown(key) if result.complete else ""
        rows.append(row)
    return pd.DataFrame(rows)
