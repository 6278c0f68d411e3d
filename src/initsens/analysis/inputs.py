"""Read results for analysis: a folder of Parquet files (as ``initsens train`` writes) or one
Parquet/CSV file.

Files with an ``epoch`` column are per-epoch logs, all others runs tables; any table with the
columns its :class:`~initsens.analysis.design.Design` names works, whoever wrote it. Every problem
is one line naming the file, column or value, and input files are only ever read.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from initsens.analysis.design import Design, coerce_replicate, map_status
from initsens.errors import InitsensError
from initsens.results.aside import SET_ASIDE
from initsens.results.read import TABLES, live_parts


@dataclass
class Results:
    """What :func:`load_results` found: the runs, the epochs (or None), the files read and
    warnings.
    """

    runs: pd.DataFrame
    epochs: pd.DataFrame | None
    files: list[Path]
    warnings: list[str] = field(default_factory=list)


def sha256(path: Path) -> str:
    """The file's sha256, read in 1 MiB blocks (the report lists its inputs by it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".csv" or path.name.endswith(".csv.gz"):
            return pd.read_csv(path)
        return pq.read_table(path).to_pandas()
    except (
        pa.ArrowException,
        OSError,
        ValueError,
        pd.errors.ParserError,
        UnicodeDecodeError,
    ) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InitsensError(f"cannot read {path}: {reason}; re-create or remove the file") from exc


def _find(path: Path) -> list[Path]:
    if not path.exists():
        raise InitsensError(
            f"{path} does not exist; give the folder that `initsens train --out` wrote "
            "(default results/) or a Parquet/CSV runs table"
        )
    if path.is_file():
        if not (path.suffix in (".parquet", ".csv") or path.name.endswith(".csv.gz")):
            raise InitsensError(f"{path} is neither a .parquet nor a .csv file")
        return [path]
    if (path / "runs").is_dir():  # a results folder: its tables' live parts, nothing set aside
        files = [part for table in TABLES for part in live_parts(path / table)]
    else:  # any folder of tables: skip hidden files and what a results folder below it set aside
        files = sorted(
            p
            for p in path.rglob("*.parquet")
            if p.is_file()
            and not p.name.startswith(".")
            and SET_ASIDE not in p.relative_to(path).parts
        )
    if not files:
        raise InitsensError(
            f"no Parquet files under {path}; run `initsens train --out {path}` first, "
            "or point to a runs table (.parquet or .csv)"
        )
    return files


def _coerce(runs: pd.DataFrame, source: str, metric: str, design: Design) -> pd.DataFrame:
    missing = [c for c in (*design.required, metric) if c not in runs.columns]
    if missing:
        hint = (
            "; name the columns with --factor, --by, --replicate and --metric"
            if design.is_default
            else ""
        )
        raise InitsensError(
            f"{source} has no column(s) {', '.join(repr(c) for c in missing)} "
            f"(columns found: {', '.join(map(str, runs.columns))}){hint}"
        )
    runs = runs.copy()
    if design.by is None:  # initsens' own depth: a number of hidden layers
        values = pd.to_numeric(runs["depth"], errors="coerce")
        bad = values.isna() | (values != np.round(values))
        if bad.any():
            raise InitsensError(
                f"column 'depth' in {source} must hold integers; found "
                f"{runs.loc[bad, 'depth'].iloc[0]!r}"
            )
        runs["depth"] = values.astype(np.int64)
    if runs[design.replicate].isna().any():
        raise InitsensError(
            f"replicate column {design.replicate!r} in {source} has empty values; every run needs "
            "a replicate id (e.g. its seed)"
        )
    runs[design.replicate] = coerce_replicate(runs[design.replicate])
    if not (
        pd.api.types.is_numeric_dtype(runs[metric]) or pd.api.types.is_bool_dtype(runs[metric])
    ):
        values = pd.to_numeric(runs[metric], errors="coerce")
        bad = values.isna() & runs[metric].notna()
        if bad.any():
            raise InitsensError(
                f"metric column {metric!r} in {source} is not numeric (e.g. value "
                f"{runs.loc[bad, metric].iloc[0]!r}); choose a numeric column with --metric"
            )
        runs[metric] = values
    runs[metric] = runs[metric].astype(np.float64)
    text = [
        "model",
        design.factor,
        "normalization",
        "status",
        *(c for c in design.by or () if not pd.api.types.is_numeric_dtype(runs[c])),
    ]
    for column in dict.fromkeys(text):
        if column in runs.columns:
            if runs[column].isna().any() and column != "status":
                raise InitsensError(
                    f"column {column!r} in {source} has empty values; fill or drop those runs"
                )
            runs[column] = runs[column].astype(str)
    return runs


def _selected_epoch_values(runs: pd.DataFrame, metrics: pd.DataFrame, metric: str) -> pd.Series:
    """``metric`` from the long metrics table at each run's selected epoch (its best epoch in tables
    without ``selected_epoch``); NaN where the run has none (another model, or a failed run).
    """
    epoch = "selected_epoch" if "selected_epoch" in runs.columns else "best_epoch"
    if "run_id" not in runs.columns or epoch not in runs.columns:
        raise InitsensError(
            f"metric {metric!r} is in the metrics table, but the runs table has no run_id and "
            f"{epoch} columns to join it on"
        )
    values = metrics.loc[metrics["metric"] == metric, ["run_id", "epoch", "value"]]
    joined = runs[["run_id", epoch]].merge(
        values,
        how="left",
        left_on=["run_id", epoch],
        right_on=["run_id", "epoch"],
        validate="many_to_one",
    )
    return pd.Series(joined["value"].to_numpy(np.float64), index=runs.index)


def check_runs(
    runs: pd.DataFrame, source: str, metric: str = "val_loss", design: Design = Design()
) -> tuple[pd.DataFrame, list[str]]:
    """A runs table checked against the input contract (the design's columns and the metric present,
    replicate ids and status words made usable, duplicated run ids dropped), and the warnings to
    show.
    """
    messages = []
    runs, status_note = map_status(runs, source)
    if status_note:
        messages.append(status_note)
    runs = _coerce(runs, source, metric, design)
    if "run_id" in runs.columns:
        duplicated = runs["run_id"].duplicated(keep="first")
        if duplicated.any():
            messages.append(
                f"{int(duplicated.sum())} duplicated run_id row(s) (e.g. "
                f"{runs.loc[duplicated, 'run_id'].iloc[0]}): kept the first of each"
            )
            runs = runs[~duplicated].reset_index(drop=True)
    return runs, messages


def load_results(path: str | Path, metric: str = "val_loss", design: Design = Design()) -> Results:
    """Runs (and epochs, when present) under ``path``, checked against the input contract
    (``design`` names the factor, cell and replicate columns; a ``status`` column in another tool's
    words is mapped or ignored).
    """
    path = Path(path)
    files = _find(path)
    parts: dict[str, list[pd.DataFrame]] = {"runs": [], "epochs": [], "metrics": []}
    messages: list[str] = []
    for file in files:
        frame = _read(file)
        kind = (
            "runs"
            if design.factor in frame.columns or "epoch" not in frame.columns
            else "metrics"
            if {"metric", "value"} <= set(frame.columns)
            else "epochs"
        )
        parts[kind].append(frame)
    if not parts["runs"]:
        raise InitsensError(
            f"{path} holds only per-epoch logs (no runs table with a {design.factor!r} column)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # concat of parts with all-NaN columns
        runs = pd.concat(parts["runs"], ignore_index=True)
    if runs.empty:
        raise InitsensError(f"the runs table(s) under {path} hold no rows")
    if metric not in runs.columns and parts["metrics"] and "model" in runs.columns:
        metrics = pd.concat(parts["metrics"], ignore_index=True)
        if metric in set(metrics["metric"]):
            runs[metric] = _selected_epoch_values(runs, metrics, metric)
            reported = (
                runs.groupby("model")[metric].transform(lambda v: v.notna().any()).astype(bool)
            )
            if not reported.all():
                others = sorted(runs.loc[~reported, "model"].astype(str).unique())
                messages.append(
                    f"{metric} is a metric of "
                    f"{', '.join(sorted(runs.loc[reported, 'model'].unique()))} only: the runs of "
                    f"{', '.join(others)} are left out"
                )
                runs = runs[reported].reset_index(drop=True)
    runs, checked = check_runs(runs, str(path), metric, design)
    messages += checked
    epochs = pd.concat(parts["epochs"], ignore_index=True) if parts["epochs"] else None
    if epochs is not None and "run_id" in runs.columns and "run_id" in epochs.columns:
        missing = sorted(set(runs["run_id"].astype(str)) - set(epochs["run_id"].astype(str)))
        if missing:
            shown = ", ".join(missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            messages.append(
                f"{len(missing)} run(s) have no per-epoch log ({shown}): their learning curves are "
                "left out; `initsens check --repair` moves them aside and the same `initsens "
                "train` command retrains them"
            )
    return Results(runs, epochs, files, messages)
