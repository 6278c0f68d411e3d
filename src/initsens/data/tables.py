"""Reading tabular files (CSV/TSV, optionally gzipped, and Parquet) into DataFrames with clear
errors.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from initsens.errors import InitsensError

PARQUET_SUFFIXES = (".parquet", ".pq")


def _separator(path: Path) -> str:
    """',' for .csv(.gz); tab for everything else (.tsv, .txt, .xena and Xena's suffix-less
    tables).
    """
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".xz", ".zip"):
        suffixes = suffixes[:-1]
    return "," if suffixes and suffixes[-1] == ".csv" else "\t"


def _check_header(path: Path, header: pd.Series) -> None:
    """pandas silently renames repeated column names (X, X.1); repeated ids must be an error
    instead.
    """
    repeated = header[header.duplicated()].unique()
    if len(repeated):
        shown = ", ".join(map(repr, repeated[:3].tolist()))
        raise InitsensError(
            f"{path}: {len(repeated)} column name(s) appear more than once in the header, e.g. "
            f"{shown}; gene and sample ids must be unique"
        )


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a whole table; the first column is kept as a column (ids), never as an index."""
    path = Path(path)
    if not path.is_file():
        raise InitsensError(f"{path}: no such file")
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
        else:
            sep = _separator(path)
            _check_header(
                path, pd.read_csv(path, sep=sep, nrows=1, header=None).iloc[0].astype(str)
            )
            frame = pd.read_csv(path, sep=sep, low_memory=False)
    except (
        pa.ArrowException,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        OSError,
        EOFError,
        UnicodeDecodeError,
    ) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InitsensError(f"{path}: cannot read this file ({reason})") from None
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    if frame.shape[1] < 2 or frame.shape[0] == 0:
        raise InitsensError(
            f"{path}: found {frame.shape[0]} row(s) x {frame.shape[1]} column(s); expected an id "
            "column and at least one value column (is the separator right? .csv is comma-, others "
            "tab-separated)"
        )
    frame.columns = [str(c) for c in frame.columns]
    return frame
