"""The Parquet results store: ``runs/part-*.parquet`` (one row per run), ``epochs/part-*.parquet``
and, when a model reports metrics of its own, ``metrics/part-*.parquet``.

Writes are atomic and paired (detail parts first, the runs part as the commit point), so a killed
sweep never duplicates rows on resume; one process writes a folder at a time
(:mod:`initsens.results.lock`). See the docs' :doc:`Read and resume results </guide/results>` page.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from initsens.atomic import atomic_path, write_json
from initsens.errors import InitsensError
from initsens.results.aside import FORMER_SUFFIX, SetAside
from initsens.results.lock import FolderLock, utc_now
from initsens.results.read import live_parts, read_parts
from initsens.results.schema import (
    EPOCHS_SCHEMA,
    FINISHED,
    METRICS_SCHEMA,
    RUNS_SCHEMA,
    SCHEMA_VERSION,
)


def _former_denormals(table: pa.Table) -> pa.Array:
    """Schema <= 3: a run flushed subnormals where its settings said so and it trained on the CPU,
    else kept them.
    """
    flushed = [
        json.loads(settings).get("denormals") == "flush" and device == "cpu"
        for settings, device in zip(table["settings"].to_pylist(), table["device"].to_pylist())
    ]
    return pa.array(["flush" if f else "keep" for f in flushed], pa.string())


#: How each runs column added since schema 3 is recovered from an older part's own columns.
UPGRADES = {"denormals": _former_denormals}

#: The grids written into the folder (their run ids), so `initsens check` can say which runs are
#: still missing.
SWEEPS_NAME = "sweeps.json"
UNREADABLE = "unreadable: not a Parquet file, or cut short"


class ResultsStore:
    """A results folder with ``runs/``, ``epochs/`` and (when needed) ``metrics/`` part files."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.runs_dir, self.epochs_dir = self.root / "runs", self.root / "epochs"
        self.metrics_dir = self.root / "metrics"
        self.lock = FolderLock(self.root)
        self.notices = self.lock.notices
        self.aside = SetAside(self.root)

    @property
    def detail_dirs(self) -> tuple[Path, Path]:
        """The folders whose parts belong to the runs part of the same name."""
        return self.epochs_dir, self.metrics_dir

    @property
    def part_dirs(self) -> tuple[Path, Path, Path]:
        """Every folder of part files: runs, then the detail folders."""
        return self.runs_dir, *self.detail_dirs

    def row_keys(self) -> list[tuple[str, Path, list[str]]]:
        """(name, folder, the columns that identify a row) of each part folder: a row whose keys an
        earlier row holds is a duplicate.
        """
        return [
            ("runs", self.runs_dir, ["run_id"]),
            ("epochs", self.epochs_dir, ["run_id", "epoch"]),
            ("metrics", self.metrics_dir, ["run_id", "epoch", "metric"]),
        ]

    def orphaned_parts(self) -> list[Path]:
        """Detail parts without the runs part of their name: a chunk's write cut short before its
        commit point.
        """
        runs = {p.name for p in self.run_parts()}
        return [
            part
            for folder in self.detail_dirs
            for part in live_parts(folder)
            if part.name not in runs
        ]

    @classmethod
    def check(cls, root: str | Path) -> ResultsStore:
        """The store at ``root`` without creating or changing anything (for --dry-run): a one-line
        error when it exists but is not a writable folder, or when it could not be created.
        """
        store = cls(root)
        existing = store.root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if existing.exists() and not existing.is_dir():
            raise InitsensError(
                f"{store.root}: cannot create the results folder ({existing} is a file); use --out"
            )
        try:  # a real trial: permission bits do not tell (root, read-only mounts, /proc)
            os.rmdir(tempfile.mkdtemp(prefix=".initsens-check-", dir=existing))
        except OSError as exc:
            what = (
                "the results folder is not writable"
                if existing == store.root
                else f"cannot create the results folder in {existing} ({exc.strerror})"
            )
            raise InitsensError(f"{store.root}: {what}; use --out to choose another") from None
        return store

    @classmethod
    def open(cls, root: str | Path, quarantine: bool = False) -> ResultsStore:
        """Create the folders if needed, check they are writable, take the folder's lock, drop
        orphaned detail parts (a write cut short before its runs part) and temporary files, move
        ``*.corrupt`` files an earlier version left in the table folders to the set-aside folder,
        and stop on unreadable parts (or set them aside with ``quarantine``).
        """
        store = cls(root)
        try:
            store.runs_dir.mkdir(parents=True, exist_ok=True)
            store.epochs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InitsensError(
                f"{store.root}: cannot create the results folder ({exc.strerror}); use --out"
            ) from None
        if not os.access(store.runs_dir, os.W_OK) or not os.access(store.epochs_dir, os.W_OK):
            raise InitsensError(
                f"{store.root}: the results folder is not writable; use --out to choose another"
            )
        store.acquire()
        for part in store.orphaned_parts():
            part.unlink()
        for folder in store.part_dirs:
            for leftover in folder.glob(".*.tmp"):
                leftover.unlink()
        bad = store.unreadable_parts()
        if bad and not quarantine:
            store.release()
            names = ", ".join(str(p.relative_to(store.root)) for p in bad[:3]) + (
                " ..." if len(bad) > 3 else ""
            )
            raise InitsensError(
                f"{store.root}: {len(bad)} part file(s) cannot be read ({names}); run again with "
                "--quarantine to set them aside (out of the tables, nothing deleted) and retrain "
                f"their runs, or see `initsens check {store.root}`"
            )
        if bad:
            moved = store.set_aside(bad, UNREADABLE)
            store.notices.append(
                f"{store.root}: set aside {len(moved)} part file(s) in {store.aside.shown()} "
                f"({len(bad)} unreadable, the rest their runs' other parts); their runs are "
                "trained again"
            )
        former = store.former_set_asides()
        if former:
            for path in former:
                store.aside.move(
                    path,
                    f"moved aside by an earlier initsens (renamed *{FORMER_SUFFIX}) inside "
                    f"{path.parent.name}/, where readers read it",
                )
            store.notices.append(
                f"{store.root}: moved {len(former)} *{FORMER_SUFFIX} file(s) an earlier initsens "
                f"left in the table folders to {store.aside.shown()} (readers read them as rows)"
            )
        upgraded = store.upgrade()
        if upgraded:
            store.notices.append(
                f"{store.root}: {upgraded} runs part(s) written by an earlier initsens upgraded to "
                f"schema {SCHEMA_VERSION} (columns added, no value changed)"
            )
        return store

    def upgrade(self) -> int:
        """Rewrite runs parts of an earlier schema with the columns added since (their values
        recovered from what the part holds, :data:`UPGRADES`), each atomically, so that every reader
        sees one layout across the folder. Returns how many parts were rewritten.
        """
        count = 0
        for part in self.run_parts():
            missing = [
                name for name in RUNS_SCHEMA.names if name not in pq.read_schema(part).names
            ]  # the footer only
            if not missing:
                continue
            table = pq.read_table(part)
            columns = {name: UPGRADES[name](table) for name in missing}
            columns["schema_version"] = pa.array([SCHEMA_VERSION] * table.num_rows, pa.int32())
            full = {**{name: table[name] for name in table.column_names}, **columns}
            self._write(
                pa.Table.from_pydict(
                    {name: full[name] for name in RUNS_SCHEMA.names}, schema=RUNS_SCHEMA
                ),
                part,
            )
            count += 1
        return count

    def acquire(self) -> None:
        """Take the folder's lock (:class:`~initsens.results.lock.FolderLock`): one writer at a
        time.
        """
        self.lock.acquire()

    def release(self) -> None:
        """Give the folder's lock back (only this process's own)."""
        self.lock.release()

    def unreadable_parts(self) -> list[Path]:
        """Part files whose Parquet footer cannot be read (cut short, not Parquet)."""
        bad = []
        for folder in self.part_dirs:
            for part in live_parts(folder):
                try:
                    pq.read_schema(part)  # reads the footer: fails for a file cut short
                except (
                    Exception
                ):  # pyarrow raises ArrowInvalid, OSError or others for damaged files
                    bad.append(part)
        return bad

    def set_aside(self, parts: Sequence[Path], reason: str, sets: bool = True) -> list[Path]:
        """Move ``parts`` out of the table folders (:class:`~initsens.results.aside.SetAside`),
        saying ``reason``; with ``sets`` also the parts of the same name in the other tables, so
        their runs are trained again as a whole. Returns the paths moved (where they were).
        """
        names = {p.name for p in parts}
        targets = (
            [folder / name for folder in self.part_dirs for name in sorted(names)]
            if sets
            else list(parts)
        )
        moved = []
        for part in targets:
            if part.exists():
                self.aside.move(part, reason)
                moved.append(part)
        return moved

    def former_set_asides(self) -> list[Path]:
        """Files an earlier initsens renamed ``*.corrupt`` inside the table folders, where every
        reader reads them.
        """
        return [
            p
            for folder in self.part_dirs
            if folder.is_dir()
            for p in sorted(folder.glob(f"*{FORMER_SUFFIX}"))
        ]

    def drop_duplicates(self, folder: Path, keys: list[str]) -> int:
        """Rewrite ``folder``'s parts without rows whose ``keys`` an earlier part (or row) already
        holds; each part's former content is kept in the set-aside folder first. Returns how many
        rows were dropped.
        """
        seen: set[tuple] = set()
        removed = 0
        for part in live_parts(folder):
            table = pq.read_table(part)
            if not set(keys) <= set(table.column_names):
                continue
            rows = list(zip(*(table[k].to_pylist() for k in keys)))
            keep = [row not in seen and not seen.add(row) for row in rows]  # type: ignore[func-returns-value]
            if not all(keep):
                removed += keep.count(False)
                self.aside.copy(
                    part,
                    f"as it was before {keep.count(False)} duplicated row(s) were dropped from it "
                    f"(same {' + '.join(keys)} as an earlier row)",
                )
                self._write(table.filter(pa.array(keep)), part)
        return removed

    def sweeps(self) -> list[dict]:
        """The grids recorded by :meth:`record_sweep` (empty for folders written before it
        existed).
        """
        try:
            return list(json.loads((self.root / SWEEPS_NAME).read_text())["sweeps"])
        except (OSError, ValueError, KeyError):
            return []

    def record_sweep(self, run_ids: Iterable[str], preset: str | None) -> None:
        """Add a grid's run ids to ``sweeps.json`` (once per distinct grid), under the folder's
        lock.
        """
        ids = sorted(set(run_ids))
        key = hashlib.sha256("".join(ids).encode()).hexdigest()[:16]
        sweeps = self.sweeps()
        if any(s.get("id") == key for s in sweeps):
            return
        sweeps.append(
            {
                "id": key,
                "preset": preset,
                "runs": len(ids),
                "since": utc_now().isoformat(timespec="seconds"),
                "run_ids": ids,
            }
        )
        write_json(self.root / SWEEPS_NAME, {"sweeps": sweeps})

    def run_parts(self) -> list[Path]:
        """The live runs parts (:func:`~initsens.results.read.live_parts`)."""
        return live_parts(self.runs_dir)

    def chunk_seconds(self) -> list[float]:
        """Each runs part's training time: a part is one ensemble chunk, and its longest run is the
        chunk's time.
        """
        walls = [
            pq.read_table(part, columns=["wall_seconds"])["wall_seconds"].to_numpy()
            for part in self.run_parts()
        ]
        return [float(np.nanmax(w)) if len(w) else 0.0 for w in walls]

    def read_runs(self, columns: list[str] | None = None) -> pa.Table:
        """Every runs part as one Arrow table (``columns`` only, when given); a column added after a
        part was written (e.g. ``denormals`` in schema 4) is null in that part's rows.
        """
        return read_parts(self.run_parts(), columns or RUNS_SCHEMA.names, RUNS_SCHEMA)

    def finished_run_ids(self) -> set[str]:
        """run_ids already recorded with status ok or diverged (failed runs are retried)."""
        table = self.read_runs(["run_id", "status"])
        return {
            rid
            for rid, status in zip(table["run_id"].to_pylist(), table["status"].to_pylist())
            if status in FINISHED
        }

    def remove_runs(self, run_ids: Iterable[str]) -> int:
        """Rewrite parts without ``run_ids`` (for --force); returns how many run rows were
        removed.
        """
        drop = pa.array(sorted(set(run_ids)), pa.string())
        removed = 0
        for runs_part in self.run_parts():
            runs = pq.read_table(runs_part)
            keep = pc.invert(pc.is_in(runs["run_id"], value_set=drop))
            n_drop = runs.num_rows - pc.sum(keep).as_py()
            if n_drop == 0:
                continue
            removed += n_drop
            details = [
                folder / runs_part.name
                for folder in self.detail_dirs
                if (folder / runs_part.name).exists()
            ]
            if n_drop == runs.num_rows:
                # the detail parts are now orphans, removed here or by the next open()
                runs_part.unlink()
                for part in details:
                    part.unlink()
                continue
            for part in details:
                table = pq.read_table(part)
                self._write(
                    table.filter(pc.invert(pc.is_in(table["run_id"], value_set=drop))), part
                )
            self._write(runs.filter(keep), runs_part)
        return removed

    def append(
        self, runs: list[dict], epochs: list[dict], metrics: list[dict] | None = None
    ) -> None:
        """Write one batch of finished runs, their epochs and their models' own metrics (when there
        are any) as a new set of parts, atomically.
        """
        if not runs:
            return
        name = f"part-{utc_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.parquet"
        try:
            self._write(pa.Table.from_pylist(epochs, schema=EPOCHS_SCHEMA), self.epochs_dir / name)
            if metrics:
                self.metrics_dir.mkdir(exist_ok=True)
                self._write(
                    pa.Table.from_pylist(metrics, schema=METRICS_SCHEMA), self.metrics_dir / name
                )
            self._write(pa.Table.from_pylist(runs, schema=RUNS_SCHEMA), self.runs_dir / name)
        except OSError as exc:  # no space, permissions, a read-only file system
            if not (
                self.runs_dir / name
            ).exists():  # not committed: no detail part may stay without it
                for folder in self.detail_dirs:
                    (folder / name).unlink(missing_ok=True)
            try:
                saved = f"{len(self.finished_run_ids())} runs saved before it are intact"
            except Exception:
                saved = "the runs saved before it are intact"
            raise InitsensError(
                f"{self.root}: could not write the results of {len(runs)} runs "
                f"({exc.strerror or exc}); {saved}; fix that and run the same command again to "
                "resume"
            ) from None

    @staticmethod
    def _write(table: pa.Table, dest: Path) -> None:
        with atomic_path(dest, sync=True) as tmp:
            pq.write_table(table, tmp, compression="zstd")
