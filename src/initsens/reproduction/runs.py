"""What a study's runs recorded beyond the metrics: their settings, optimizer steps and training
time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from initsens.results.schema import OK, VALIDATION_COLUMNS
from initsens.results.store import ResultsStore
from initsens.settings import FACTOR_COLUMNS
from initsens.training.loop import batch_count


def training_seconds(folder: Path) -> float:
    """Training time of the study in ``folder``: the sum of its ensemble chunks' times."""
    return sum(ResultsStore(folder).chunk_seconds())


def best_epoch_runs(runs: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with the loss metrics of each run's best epoch (``best_epoch``: the early-stopping
    tracker's, which counts an epoch better only by more than ``min_delta``) in place of the
    reported ones: what ``--select-epoch best`` would have reported (ARI cannot be re-derived).
    """
    best = runs.set_index("run_id")["best_epoch"]
    chosen = epochs[epochs["epoch"].to_numpy() == epochs["run_id"].map(best).to_numpy()].set_index(
        "run_id"
    )
    out = runs.copy()
    for column in VALIDATION_COLUMNS:
        if column in chosen.columns:
            out[column] = np.where(
                out["status"] == OK, out["run_id"].map(chosen[column]), out[column]
            )
    return out


def run_settings(runs: pd.DataFrame) -> pd.DataFrame:
    """Each run's recorded settings, one column per setting (JSON-decoded)."""
    if "settings" not in runs.columns:
        return pd.DataFrame(index=runs.index)
    return pd.DataFrame([json.loads(s) for s in runs["settings"]], index=runs.index)


def steps_per_epoch(runs: pd.DataFrame) -> pd.Series:
    """Optimizer steps per epoch of each run: ``epoch_steps``, else one pass over the training split
    in minibatches.
    """
    settings = run_settings(runs)
    fixed = pd.to_numeric(
        settings.get("epoch_steps", pd.Series(0, index=runs.index)), errors="coerce"
    ).fillna(0)
    drop = settings.get("drop_last", pd.Series(False, index=runs.index)).fillna(False).astype(bool)
    one_pass = [
        batch_count(int(n), int(b), bool(d))
        for n, b, d in zip(runs["n_train"], runs["batch_size"], drop)
    ]
    return pd.Series(np.where(fixed.to_numpy() > 0, fixed.to_numpy(), one_pass), index=runs.index)


def optimizer_steps(runs: pd.DataFrame) -> pd.Series:
    """Optimizer steps each run took: epochs trained times its steps per epoch."""
    return runs["epochs_trained"] * steps_per_epoch(runs)


def shared_settings(runs: pd.DataFrame) -> dict[str, str]:
    """The study's settings as its runs recorded them (values shared by all runs; per-model ones
    listed).
    """
    parsed = run_settings(runs)
    if parsed.empty:
        return {}
    parsed["model"] = runs["model"].to_numpy()
    skip = {*FACTOR_COLUMNS, "split_seed", "dataset_sha256"}
    out = {}
    for column in parsed.columns:
        if column in skip:
            continue
        values = parsed[column].map(lambda v: json.dumps(v) if isinstance(v, list) else v)
        present = (
            values.notna()
        )  # a model's own hyperparameters are absent from the other models' settings
        per_model = values[present].groupby(parsed.loc[present, "model"]).first()
        if values[present].nunique() == 1:
            shared = str(values[present].iloc[0])
            out[column] = shared if present.all() else f"{shared} ({', '.join(per_model.index)})"
        else:
            out[column] = "; ".join(f"{m} {v}" for m, v in per_model.items())
    return out
