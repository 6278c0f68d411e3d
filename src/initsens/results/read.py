"""What the readers of a results folder see, and the table folders they should be pointed at.

Readers do not choose files as initsens does (pyarrow's discovery reads every file below a table
folder, a ``*.parquet`` glob hidden ones too), so :func:`reader_files` lists the union of the two
and :func:`stray_files` whatever some reader would read that is not a live ``part-*.parquet`` (the
docs' :doc:`Read and resume results </guide/results>` page).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

#: The tables of a results folder, each a folder of part files.
TABLES = ("runs", "epochs", "metrics")
#: The name of a live part inside its table folder.
PART_GLOB = "part-*.parquet"
#: Path prefixes pyarrow's dataset discovery skips (its ``selector_ignore_prefixes`` default).
IGNORED_PREFIXES = (".", "_")
#: How each reader reads the runs table of ``out`` (README's "Reading results" shows the same).
READERS = {
    "pandas": 'pd.read_parquet("out/runs")',
    "pyarrow": 'pyarrow.dataset.dataset("out/runs")',
    "polars": 'pl.read_parquet("out/runs/*.parquet")',
    "duckdb": "SELECT * FROM read_parquet('out/runs/*.parquet')",
    "R (arrow)": 'arrow::open_dataset("out/runs")',
}


def live_parts(folder: Path) -> list[Path]:
    """The live parts of a table folder, in write order (their names start with the time
    written).
    """
    return sorted(folder.glob(PART_GLOB)) if folder.is_dir() else []


def _discovered(folder: Path) -> list[Path]:
    """The files pyarrow's dataset discovery picks up below ``folder`` (recursively, skipping
    ignored prefixes).
    """
    found = []
    for path in folder.rglob("*"):
        parts = path.relative_to(folder).parts
        if path.is_file() and not any(p.startswith(IGNORED_PREFIXES) for p in parts):
            found.append(path)
    return found


def reader_files(folder: Path) -> list[Path]:
    """Every file some reader of the table folder reads: pyarrow's discovery and the ``*.parquet``
    glob.
    """
    if not folder.is_dir():
        return []
    globbed = [p for p in folder.glob("*.parquet") if p.is_file()] + [
        p for p in folder.glob(".*.parquet") if p.is_file()
    ]
    return sorted(set(_discovered(folder)) | set(globbed))


def stray_files(folder: Path) -> list[Path]:
    """Files a reader of the table folder would read that are not live parts (set aside by an older
    initsens as ``*.corrupt``, copied in by hand, in a subfolder): each makes readers see rows that
    are not the table's.
    """
    live = set(live_parts(folder))
    return [p for p in reader_files(folder) if p not in live]


def read_parts(
    parts: list[Path], columns: list[str] | None = None, schema: pa.Schema | None = None
) -> pa.Table:
    """The parts as one Arrow table (``columns`` only, when given); a column missing from an older
    part is null in its rows; ``schema`` gives the layout of an empty result.
    """
    tables = []
    for part in parts:
        with pq.ParquetFile(part) as file:  # one open per part: its schema, then the columns it has
            names = file.schema_arrow.names
            tables.append(
                file.read(columns=None if columns is None else [c for c in columns if c in names])
            )
    if schema is not None:
        tables.insert(
            0,
            (
                schema if columns is None else pa.schema([schema.field(c) for c in columns])
            ).empty_table(),
        )
    if not tables:
        return pa.table({})
    table = pa.concat_tables(tables, promote_options="default")
    return (
        table if columns is None else table.select([c for c in columns if c in table.column_names])
    )
