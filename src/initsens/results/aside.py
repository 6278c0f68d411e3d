"""Where files that must leave a results folder's tables go:
``<out>/set-aside/<when>/<table>/<name>``, with a ``why.json`` that says, file by file, where it
came from and why it was moved.

Nothing set aside is deleted, and nothing set aside is read: the folder sits beside the tables, not
in them, so no reader of ``runs/``, ``epochs/`` or ``metrics/`` picks it up
(:mod:`initsens.results.read`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from initsens.atomic import write_json
from initsens.results.lock import utc_now

SET_ASIDE = "set-aside"
WHY_NAME = "why.json"
#: The suffix initsens 0.1 gave files it moved aside inside the table folders (where readers still
#: read them).
FORMER_SUFFIX = ".corrupt"


class SetAside:
    """One setting-aside (a repair, a quarantine): every file it moves goes into the same dated
    folder.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder: Path | None = None

    def _target(self) -> Path:
        if self.folder is None:
            stamp = f"{utc_now():%Y%m%dT%H%M%S}"
            folder, n = self.root / SET_ASIDE / stamp, 1
            while folder.exists():
                n += 1
                folder = self.root / SET_ASIDE / f"{stamp}-{n}"
            folder.mkdir(parents=True)
            self.folder = folder
        return self.folder

    def _note(self, source: Path, dest: Path, reason: str) -> None:
        folder = self._target()
        try:
            notes = json.loads((folder / WHY_NAME).read_text())
        except FileNotFoundError:
            notes = []
        notes.append(
            {
                "file": str(dest.relative_to(folder)),
                "from": str(source.relative_to(self.root)),
                "reason": reason,
                "when": utc_now().isoformat(timespec="seconds"),
            }
        )
        write_json(folder / WHY_NAME, notes)

    def _dest(self, path: Path) -> Path:
        relative = path.relative_to(self.root)
        name = relative.name.removesuffix(
            FORMER_SUFFIX
        )  # a part moved aside by 0.1 reads as Parquet again
        dest = self._target() / relative.parent / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        n = 1
        while (
            dest.exists()
        ):  # two files of one name (a former *.corrupt and its successor): keep both
            n += 1
            dest = dest.with_name(
                f"{name.removesuffix('.parquet')}~{n}"
                + (".parquet" if name.endswith(".parquet") else "")
            )
        return dest

    def move(self, path: Path, reason: str) -> Path:
        """Move ``path`` (a file inside the results folder) out of the tables; returns where it
        went.
        """
        dest = self._dest(path)
        os.replace(path, dest)  # one file system: a rename, atomic
        self._note(path, dest, reason)
        return dest

    def copy(self, path: Path, reason: str) -> Path:
        """Keep a copy of ``path`` as it is now (before it is rewritten); returns where it went."""
        dest = self._dest(path)
        shutil.copy2(path, dest)
        self._note(path, dest, reason)
        return dest

    def shown(self) -> str:
        """Where this setting-aside put its files, relative to the results folder."""
        return str(self._target().relative_to(self.root)) + "/"
