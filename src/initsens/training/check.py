"""``initsens check``: what is in a results folder and what is wrong with it, and the repairs that lose nothing.

Problems looked for: part files that cannot be read (cut short, not Parquet), detail parts (epochs, metrics)
without their runs part and runs parts without their epochs part, a ``run_id`` recorded twice in ``runs/`` or
a (run_id, epoch) twice in ``epochs/``, leftover temporary files, a writer's lock, and runs of a grid started in
the folder (``sweeps.json``; folders from before it have none) that are not recorded yet. ``repair`` moves
unreadable part sets aside (renamed ``*.corrupt``, which neither ``train`` nor ``analyze`` reads, so ``train``
retrains their runs), moves runs parts whose epochs part is lost aside the same way (so ``train`` retrains them
instead of skipping runs whose learning curves are gone), drops duplicated rows keeping the first, and moves
orphaned detail parts aside too: nothing is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from initsens.errors import InitsensError
from initsens.training.store import QUARANTINE_SUFFIX, ResultsStore


@dataclass
class Inspection:
    """What :func:`inspect_folder` found: ``summary`` (one row per part folder: parts, rows, distinct run ids,
    schema versions) and ``problems`` (one row per problem: ``kind``, ``path``, ``detail``).
    """

    summary: pd.DataFrame
    problems: pd.DataFrame


def _duplicates(table: pa.Table, keys: list[str]) -> int:
    if not table.num_rows:
        return 0
    groups = table.group_by(keys).aggregate([([], "count_all")])
    return int(pc.sum(pc.subtract(groups["count_all"], 1)).as_py() or 0)


def inspect_folder(root: str | Path) -> Inspection:
    """Read every part of the results folder ``root`` and list what is wrong."""
    store = ResultsStore(root)
    if not store.root.is_dir():
        raise InitsensError(f"{store.root}: no such folder; give the folder `initsens train --out` wrote")
    if not store.runs_dir.is_dir():
        raise InitsensError(f"{store.root}: no runs/ folder; is this a results folder written by `initsens train`?")
    problems: list[dict] = []
    unreadable = set(store.unreadable_parts())
    for path in sorted(unreadable):
        problems.append({"kind": "unreadable part", "path": str(path), "detail": "not a readable Parquet file"})
    for part in store.orphaned_parts():
        problems.append({"kind": "orphaned part", "path": str(part),
                         "detail": "no runs part of that name (a write was cut short)"})
    epochs_names = {p.name for p in store.epochs_dir.glob("part-*.parquet")}
    for part in store.run_parts():
        if part.name not in epochs_names:
            problems.append({"kind": "runs without epochs", "path": str(part), "detail": "no epochs part of that name"})
    for folder in store.part_dirs:
        for leftover in sorted(folder.glob(".*.tmp")):
            problems.append({"kind": "temporary file", "path": str(leftover), "detail": "left by an interrupted write"})
    finished = set() if unreadable else store.finished_run_ids()
    for sweep in store.sweeps() if not unreadable else []:  # unreadable parts hide which runs are recorded
        missing = len(set(sweep.get("run_ids", [])) - finished)
        if missing:
            problems.append({"kind": "runs not trained", "path": str(store.root / "sweeps.json"),
                             "detail": f"{missing} of {sweep.get('runs')} runs of the grid started "
                                       f"{sweep.get('since')} ({sweep.get('preset') or 'initsens defaults'}) are "
                                       "not recorded; the same `initsens train` command trains them"})
    holder = store.holder()
    if holder is not None:
        problems.append({"kind": "lock", "path": str(store.lock_path),
                         "detail": f"held by pid {holder.get('pid')} on {holder.get('host')} since "
                                   f"{holder.get('since')}"})
    rows = []
    for name, folder, keys in store.row_keys():
        parts = [p for p in sorted(folder.glob("part-*.parquet")) if p not in unreadable]
        wanted = [*keys, "schema_version"] if name == "runs" else keys
        files = [pq.ParquetFile(p) for p in parts]  # one open per part: its schema, then the columns read
        tables = [f.read(columns=[c for c in wanted if c in f.schema_arrow.names]) for f in files]
        table = pa.concat_tables(tables, promote_options="default") if tables else None
        versions = ""
        if name == "runs" and table is not None:
            found = table["schema_version"].to_pylist() if "schema_version" in table.column_names else [None]
            versions = ", ".join(sorted({"?" if v is None else str(v) for v in found}))
        duplicated = _duplicates(table, keys) if table is not None and set(keys) <= set(table.column_names) else 0
        if duplicated:
            problems.append({"kind": "duplicated rows", "path": str(folder),
                             "detail": f"{duplicated} row(s) repeat a {' + '.join(keys)} already recorded"})
        rows.append({"folder": name, "parts": len(parts), "rows": table.num_rows if table is not None else 0,
                     "run_ids": len(set(table["run_id"].to_pylist())) if table is not None else 0,
                     "schema_versions": versions})
    return Inspection(pd.DataFrame(rows), pd.DataFrame(problems, columns=["kind", "path", "detail"]))


def repair(root: str | Path) -> list[str]:
    """Do what is safe for the problems :func:`inspect_folder` finds; returns one line per action."""
    store = ResultsStore(root)
    store.acquire()  # no writer may be at work while parts are rewritten
    try:
        moved = store.quarantine(store.unreadable_parts())
        done = [f"moved aside {p} (renamed {p.name}{QUARANTINE_SUFFIX})" for p in moved]
        done += [f"moved aside orphaned {p}" for p in store.quarantine(store.orphaned_parts(), sets=False)]
        epochs_names = {p.name for p in store.epochs_dir.glob("part-*.parquet")}
        lonely = [p for p in store.run_parts() if p.name not in epochs_names]  # their epochs part was lost
        done += [f"moved aside {p} (its epochs part is missing; the same `initsens train` command retrains its runs)"
                 for p in store.quarantine(lonely) if p.parent == store.runs_dir]
        for _, folder, keys in store.row_keys():
            removed = store.drop_duplicates(folder, keys)
            if removed:
                done.append(f"dropped {removed} duplicated row(s) in {folder} (kept the first of each)")
    finally:
        store.release()
    return done
