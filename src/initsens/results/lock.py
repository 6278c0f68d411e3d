"""One writer per results folder: ``.initsens.lock`` holds the writer's pid, host and start time.

The lock is an exclusive create (atomic on local and NFS v3+ file systems). A second writer stops
with one line naming the holder; a lock left by a process that died on this host is taken over with
a notice.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path

from initsens.errors import InitsensError

LOCK_NAME = ".initsens.lock"


def utc_now() -> datetime:
    """Now, in UTC (the runs table's ``finished_at``)."""
    return datetime.now(UTC)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another account
        return True
    return True


class FolderLock:
    """The writer's lock of the folder ``root``; :attr:`notices` collects what a takeover said."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / LOCK_NAME
        self.notices: list[str] = []
        self._held = False

    def holder(self) -> dict | None:
        """Who holds the lock (pid, host, since), or None; {} for a lock file that cannot be
        read.
        """
        try:
            return dict(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        """Take the lock. Held already by this process: nothing to do. Held by a process that no
        longer runs on this host: taken over with a notice. Otherwise a one-line error naming the
        holder.
        """
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": utc_now().isoformat(timespec="seconds"),
        }
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self.holder()
                if holder is None:
                    continue  # released meanwhile
                if holder.get("pid") == me["pid"] and holder.get("host") == me["host"]:
                    self._held = True
                    return
                if holder and (
                    holder.get("host") != me["host"] or _alive(int(holder.get("pid", -1)))
                ):
                    raise InitsensError(
                        f"{self.root} is being written by pid {holder.get('pid')} on "
                        f"{holder.get('host')} since {holder.get('since')}; wait for it to end or "
                        f"use another --out (if that process is gone, delete {self.path})"
                    ) from None
                try:  # stale: move it aside under a unique name, so two takers cannot both succeed
                    os.rename(self.path, self.root / f"{LOCK_NAME}.stale-{uuid.uuid4().hex[:8]}")
                except FileNotFoundError:
                    continue
                for stale in self.root.glob(f"{LOCK_NAME}.stale-*"):
                    stale.unlink(missing_ok=True)
                self.notices.append(
                    f"{self.root}: took over the lock of pid {holder.get('pid', '?')} "
                    f"(since {holder.get('since', '?')}), which no longer runs"
                )
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump(me, handle)
            self._held = True
            atexit.register(self.release)
            return
        raise InitsensError(f"{self.root}: could not take the folder's lock {self.path}; run again")

    def release(self) -> None:
        """Give the lock back (only this process's own)."""
        if not self._held:
            return
        holder = self.holder()
        if (
            holder
            and holder.get("pid") == os.getpid()
            and holder.get("host") == socket.gethostname()
        ):
            self.path.unlink(missing_ok=True)
        self._held = False
