"""``initsens check``: what the readers of a results folder see, what is wrong with it, and the
repairs that lose nothing.

Each table is looked at as its readers read it (:mod:`initsens.results.read`). :func:`repair` moves
what must leave the tables to ``set-aside/<when>/`` with a note of why
(:mod:`initsens.results.aside`): nothing is deleted. What is looked for: the docs'
:doc:`Read and resume results </guide/results>` page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from initsens.errors import InitsensError
from initsens.results.aside import FORMER_SUFFIX
from initsens.results.read import (
    IGNORED_PREFIXES,
    live_parts,
    read_parts,
    reader_files,
    stray_files,
)
from initsens.results.store import UNREADABLE, ResultsStore

#: Why a runs part whose epochs part is gone leaves the tables (train would skip its runs as
#: recorded).
NO_EPOCHS = "its epochs part is missing; the same `initsens train` command retrains its runs"
#: Why a detail part without its runs part leaves the tables.
NO_RUNS = "its runs part is missing (a write cut short before its commit point)"


@dataclass
class Inspection:
    """What :func:`inspect_folder` found: ``summary`` (one row per table as its readers read it:
    files, rows, distinct run ids, schema versions) and ``problems`` (one row per problem: ``kind``,
    ``path``, ``detail``).
    """

    summary: pd.DataFrame
    problems: pd.DataFrame


def _duplicates(table: pa.Table, keys: list[str]) -> int:
    if not table.num_rows or not set(keys) <= set(table.column_names):
        return 0
    groups = table.group_by(keys).aggregate([([], "count_all")])
    return int(pc.sum(pc.subtract(groups["count_all"], 1)).as_py() or 0)


def _readable(path: Path) -> bool:
    try:
        pq.read_schema(path)  # the footer: fails for a file cut short or not Parquet
    except Exception:  # pyarrow raises ArrowInvalid, OSError or others for damaged files
        return False
    return True


def _stray_detail(path: Path, folder: Path) -> str:
    relative = path.relative_to(folder)
    readers = (
        []
        if any(p.startswith(IGNORED_PREFIXES) for p in relative.parts)
        else ["pandas, pyarrow and R's arrow"]
    ) + (
        ["polars' and duckdb's *.parquet glob"]
        if path.parent == folder and path.suffix == ".parquet"
        else []
    )
    what = (
        f"set aside by an earlier initsens (*{FORMER_SUFFIX}) but still inside {folder.name}/"
        if path.name.endswith(FORMER_SUFFIX)
        else f"not a part initsens wrote in {folder.name}/"
    )
    effect = "read it as rows of the table" if _readable(path) else "fail on it"
    return f"{what}: {' and '.join(readers)} {effect}"


def inspect_folder(root: str | Path) -> Inspection:
    """Read each table of the results folder ``root`` as its readers do and list what is wrong."""
    store = ResultsStore(root)
    if not store.root.is_dir():
        raise InitsensError(
            f"{store.root}: no such folder; give the folder `initsens train --out` wrote"
        )
    if not store.runs_dir.is_dir():
        raise InitsensError(
            f"{store.root}: no runs/ folder; is this a results folder written by `initsens train`?"
        )
    problems: list[dict] = []

    def problem(kind: str, path: Path, detail: str) -> None:
        problems.append({"kind": kind, "path": str(path), "detail": detail})

    unreadable = set(store.unreadable_parts())
    for path in sorted(unreadable):
        problem(
            "unreadable part",
            path,
            "not a readable Parquet file: every reader of its table fails on it",
        )
    for folder in store.part_dirs:
        for path in stray_files(folder):
            problem("stray file", path, _stray_detail(path, folder))
    for part in store.orphaned_parts():
        problem("orphaned part", part, NO_RUNS)
    epochs_names = {p.name for p in live_parts(store.epochs_dir)}
    for part in store.run_parts():
        if part.name not in epochs_names:
            problem("runs without epochs", part, NO_EPOCHS)
    for folder in store.part_dirs:
        for leftover in sorted(folder.glob(".*.tmp")):
            problem("temporary file", leftover, "left by an interrupted write (no reader reads it)")
    finished = set() if unreadable else store.finished_run_ids()
    for sweep in (
        store.sweeps() if not unreadable else []
    ):  # unreadable parts hide which runs are recorded
        missing = len(set(sweep.get("run_ids", [])) - finished)
        if missing:
            problem(
                "runs not trained",
                store.root / "sweeps.json",
                f"{missing} of {sweep.get('runs')} runs of the grid started {sweep.get('since')} "
                f"({sweep.get('preset') or 'initsens defaults'}) are not recorded; the same "
                "`initsens train` command trains them",
            )
    holder = store.lock.holder()
    if holder is not None:
        problem(
            "lock",
            store.lock.path,
            f"held by pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')}",
        )
    rows = []
    for name, folder, keys in store.row_keys():
        files = [p for p in reader_files(folder) if p not in unreadable and _readable(p)]
        wanted = [*keys, "schema_version"] if name == "runs" else keys
        table = read_parts(files, wanted)
        versions = ""
        if name == "runs" and files:
            found = (
                table["schema_version"].to_pylist()
                if "schema_version" in table.column_names
                else [None]
            )
            versions = ", ".join(sorted({"?" if v is None else str(v) for v in found}))
        duplicated = _duplicates(table, keys)
        if duplicated:
            problem(
                "duplicated rows",
                folder,
                f"readers of {name}/ read {duplicated} row(s) that repeat a "
                f"{' + '.join(keys)} already read",
            )
        ids = len(set(table["run_id"].to_pylist())) if "run_id" in table.column_names else 0
        rows.append(
            {
                "folder": name,
                "parts": len(files),
                "rows": table.num_rows,
                "run_ids": ids,
                "schema_versions": versions,
            }
        )
    return Inspection(
        pd.DataFrame(rows), pd.DataFrame(problems, columns=["kind", "path", "detail"])
    )


def repair(root: str | Path) -> list[str]:
    """Do what is safe for the problems :func:`inspect_folder` finds; returns one line per
    action.
    """
    store = ResultsStore(root)
    store.acquire()  # no writer may be at work while parts are moved or rewritten
    done: list[str] = []

    def moved(paths: list[Path], why: str) -> None:
        if paths:
            names = ", ".join(str(p.relative_to(store.root)) for p in paths)
            done.append(f"set aside {names} ({why}) in {store.aside.shown()}")

    try:
        moved(
            store.set_aside(store.unreadable_parts(), UNREADABLE),
            f"{UNREADABLE}; with its runs' other parts, so the same `initsens train` retrains them",
        )
        for folder in store.part_dirs:
            for path in stray_files(folder):
                reason = _stray_detail(path, folder)
                store.aside.move(path, reason)
                moved([path], reason)
        for part in store.orphaned_parts():
            moved(store.set_aside([part], NO_RUNS, sets=False), NO_RUNS)
        epochs_names = {p.name for p in live_parts(store.epochs_dir)}
        for part in [p for p in store.run_parts() if p.name not in epochs_names]:
            moved(store.set_aside([part], NO_EPOCHS), NO_EPOCHS)
        for folder in store.part_dirs:
            for leftover in sorted(folder.glob(".*.tmp")):
                store.aside.move(leftover, "left by an interrupted write")
                moved([leftover], "left by an interrupted write")
            for sub in sorted((p for p in folder.glob("**/*") if p.is_dir()), reverse=True):
                if not any(sub.iterdir()):  # emptied by moving its strays
                    sub.rmdir()
        for name, folder, keys in store.row_keys():
            removed = store.drop_duplicates(folder, keys)
            if removed:
                done.append(
                    f"dropped {removed} duplicated row(s) in {name}/ (kept the first of each; the "
                    f"parts as they were are in {store.aside.shown()})"
                )
    finally:
        store.release()
    return done
