"""Atomic file writes: write to a temporary name in the same folder, then rename over the target.

A killed process therefore leaves either the old file or the new one, never half a file. The file
gets the usual mode of a new file (0666 masked by the umask), not the 0600 of the temporary file, so
colleagues and R sessions under other accounts can read results in a shared folder.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _umask() -> int:
    """The process umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(dest: str | Path, sync: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest``, on error it is
    removed. With ``sync`` the file's data is flushed to disk (fsync) before the rename and the
    folder's entry after it, so a power cut cannot leave a renamed but empty file.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if sync:
            fsync_path(tmp_path)
        os.replace(tmp_path, dest)
        if sync:
            fsync_path(dest.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def fsync_path(path: Path) -> None:
    """fsync a file or a folder (a folder's fsync commits the names in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(dest: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block ends, then raise it: a set of files written and counted
    inside is then either all done or not started. Only the main thread receives signals; elsewhere
    a no-op. A process that ignores SIGINT (started with ``nohup`` or in the background) keeps
    ignoring it here too.
    """
    if threading.current_thread() is not threading.main_thread() or not callable(
        signal.getsignal(signal.SIGINT)
    ):
        yield
        return
    received: list[object] = []
    previous = signal.signal(signal.SIGINT, lambda *args: received.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt
