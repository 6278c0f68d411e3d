"""The Parquet results store: ``runs/part-*.parquet`` (one row per run), ``epochs/part-*.parquet`` and,
when a model reports metrics of its own, ``metrics/part-*.parquet``.

Writes are atomic and paired: a batch of runs is written as ``epochs/part-T.parquet`` (and
``metrics/part-T.parquet``) first, then ``runs/part-T.parquet`` (the commit point), each through a
temporary file and a rename. A killed sweep therefore leaves at worst detail parts without their runs
part; :meth:`ResultsStore.open` removes such orphans, so re-running never duplicates rows. The columns are those of
:mod:`initsens.schema`: plain Arrow types (strings, int32, float64, UTC timestamps) that pandas,
polars, duckdb and R's arrow read as they are, each described in its field's metadata.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from initsens.atomic import atomic_path
from initsens.errors import InitsensError
from initsens.schema import EPOCHS_SCHEMA, METRICS_SCHEMA, RUNS_SCHEMA
from initsens.training.record import FINISHED


def utc_now() -> datetime:
    return datetime.now(UTC)


class ResultsStore:
    """A results folder with ``runs/``, ``epochs/`` and (when needed) ``metrics/`` part files."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.runs_dir, self.epochs_dir = self.root / "runs", self.root / "epochs"
        self.metrics_dir = self.root / "metrics"

    @property
    def detail_dirs(self) -> tuple[Path, Path]:
        """The folders whose parts belong to the runs part of the same name."""
        return self.epochs_dir, self.metrics_dir

    @classmethod
    def check(cls, root: str | Path) -> ResultsStore:
        """The store at ``root`` without creating or changing anything (for --dry-run): a one-line error
        when it exists but is not a writable folder, or when it could not be created."""
        store = cls(root)
        existing = store.root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if existing.exists() and not existing.is_dir():
            raise InitsensError(f"{store.root}: cannot create the results folder ({existing} is a file); use --out")
        try:  # a real trial: permission bits do not tell (root, read-only mounts, /proc)
            os.rmdir(tempfile.mkdtemp(prefix=".initsens-check-", dir=existing))
        except OSError as exc:
            what = "the results folder is not writable" if existing == store.root else \
                f"cannot create the results folder in {existing} ({exc.strerror})"
            raise InitsensError(f"{store.root}: {what}; use --out to choose another") from None
        return store

    @classmethod
    def open(cls, root: str | Path) -> ResultsStore:
        """Create the folders if needed, check they are writable, and drop orphaned epochs parts."""
        store = cls(root)
        try:
            store.runs_dir.mkdir(parents=True, exist_ok=True)
            store.epochs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InitsensError(f"{store.root}: cannot create the results folder ({exc.strerror}); use --out") from None
        if not os.access(store.runs_dir, os.W_OK) or not os.access(store.epochs_dir, os.W_OK):
            raise InitsensError(f"{store.root}: the results folder is not writable; use --out to choose another")
        runs = {p.name for p in store.runs_dir.glob("part-*.parquet")}
        for folder in store.detail_dirs:
            for part in folder.glob("part-*.parquet"):
                if part.name not in runs:
                    part.unlink()
        for folder in (store.runs_dir, *store.detail_dirs):
            for leftover in folder.glob(".*.tmp"):
                leftover.unlink()
        return store

    def run_parts(self) -> list[Path]:
        return sorted(self.runs_dir.glob("part-*.parquet")) if self.runs_dir.is_dir() else []

    def read_runs(self, columns: list[str] | None = None) -> pa.Table:
        parts = self.run_parts()
        if not parts:
            return RUNS_SCHEMA.empty_table() if columns is None else RUNS_SCHEMA.empty_table().select(columns)
        return pa.concat_tables(pq.read_table(p, columns=columns) for p in parts)

    def finished_run_ids(self) -> set[str]:
        """run_ids already recorded with status ok or diverged (failed runs are retried)."""
        table = self.read_runs(["run_id", "status"])
        return {rid for rid, status in zip(table["run_id"].to_pylist(), table["status"].to_pylist())
                if status in FINISHED}

    def remove_runs(self, run_ids: Iterable[str]) -> int:
        """Rewrite parts without ``run_ids`` (for --force); returns how many run rows were removed."""
        drop = pa.array(sorted(set(run_ids)), pa.string())
        removed = 0
        for runs_part in self.run_parts():
            runs = pq.read_table(runs_part)
            keep = pc.invert(pc.is_in(runs["run_id"], value_set=drop))
            n_drop = runs.num_rows - pc.sum(keep).as_py()
            if n_drop == 0:
                continue
            removed += n_drop
            details = [folder / runs_part.name for folder in self.detail_dirs if (folder / runs_part.name).exists()]
            if n_drop == runs.num_rows:
                runs_part.unlink()  # the detail parts are now orphans, removed here or by the next open()
                for part in details:
                    part.unlink()
                continue
            for part in details:
                table = pq.read_table(part)
                self._write(table.filter(pc.invert(pc.is_in(table["run_id"], value_set=drop))), part)
            self._write(runs.filter(keep), runs_part)
        return removed

    def append(self, runs: list[dict], epochs: list[dict], metrics: list[dict] | None = None) -> None:
        """Write one batch of finished runs, their epochs and their models' own metrics (when there are any)
        as a new set of parts, atomically."""
        if not runs:
            return
        name = f"part-{utc_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.parquet"
        self._write(pa.Table.from_pylist(epochs, schema=EPOCHS_SCHEMA), self.epochs_dir / name)
        if metrics:
            self.metrics_dir.mkdir(exist_ok=True)
            self._write(pa.Table.from_pylist(metrics, schema=METRICS_SCHEMA), self.metrics_dir / name)
        self._write(pa.Table.from_pylist(runs, schema=RUNS_SCHEMA), self.runs_dir / name)

    @staticmethod
    def _write(table: pa.Table, dest: Path) -> None:
        with atomic_path(dest) as tmp:
            pq.write_table(table, tmp, compression="zstd")
