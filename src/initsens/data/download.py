"""Resumable HTTP downloads with a rich progress bar and a size/sha256 record."""

from __future__ import annotations

import hashlib
import http.client
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from initsens.errors import InitsensError

CHUNK = 1 << 20


@dataclass(frozen=True)
class DownloadRecord:
    """What was downloaded: the source, the local file, its size and sha256, and when."""

    url: str
    path: str
    size: int
    sha256: str
    downloaded_at: str

    def to_dict(self) -> dict[str, object]:
        """The record as the manifest's JSON stores it."""
        return asdict(self)


def sha256_file(path: Path) -> str:
    """The file's sha256 (hex), read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": "initsens"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file already holds everything
            return None
        raise InitsensError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InitsensError(
            f"{url}: cannot connect ({reason}); check the network or --base-url"
        ) from None


def download(url: str, dest: Path, progress: bool = True, timeout: float = 60.0) -> DownloadRecord:
    """Download ``url`` to ``dest``, resuming a ``dest.part`` left by an interrupted run.

    The bytes go to ``dest.part`` and are renamed to ``dest`` only once complete, so ``dest``
    exists only as a whole file. Servers that ignore the Range header simply restart the download.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    response = _open(url, offset, timeout)
    if response is not None:
        with response:
            resumed = offset > 0 and response.status == 206
            if not resumed:
                offset = 0
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else None
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
            )
            with (
                Progress(*columns, disable=not progress, transient=True) as bar,
                open(part, "ab" if resumed else "wb") as out,
            ):
                task = bar.add_task(
                    f"{dest.name}{' (resumed)' if resumed else ''}", total=total, completed=offset
                )
                try:
                    for block in iter(lambda: response.read(CHUNK), b""):
                        out.write(block)
                        bar.advance(task, len(block))
                except (OSError, http.client.HTTPException) as exc:
                    raise InitsensError(
                        f"{url}: download interrupted ({exc}); run the same command again to resume"
                    ) from None
        size = part.stat().st_size
        if total is not None and size != total:
            raise InitsensError(
                f"{url}: got {size} of {total} bytes; run the same command again to resume"
            )
    os.replace(part, dest)
    return DownloadRecord(
        url=url,
        path=str(dest),
        size=dest.stat().st_size,
        sha256=sha256_file(dest),
        downloaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
