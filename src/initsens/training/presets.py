"""Protocols shipped as presets: TOML files in ``initsens/presets/``, used with ``--config NAME``.

A preset file holds the same keys as any ``--config`` TOML file (top-level settings, ``[model.NAME]``
tables for per-model values) plus an ``[about]`` table: ``description``, ``source`` and ``notes``
(setting -> why it has this value), shown by ``initsens presets`` and ``initsens train --dry-run``.
Adding a protocol is one TOML file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from initsens.errors import InitsensError
from initsens.registry import Registry


@dataclass(frozen=True)
class Preset:
    """A named protocol: its settings and what it is."""

    name: str
    description: str
    source: str
    values: dict[str, Any]
    notes: dict[str, str] = field(default_factory=dict)


def read_toml(path: Path | Any) -> dict[str, Any]:
    """The settings of a TOML file (its ``[about]`` table removed), or a one-line error."""
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InitsensError(f"{path}: not valid TOML ({exc})") from None
    values.pop("about", None)
    return values


def _load_presets() -> Registry[Preset]:
    registry: Registry[Preset] = Registry("preset")
    folder = resources.files("initsens") / "presets"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            name = entry.name[: -len(".toml")]
            about = tomllib.loads(entry.read_text()).get("about", {})
            registry.register(name)(Preset(name, about.get("description", ""), about.get("source", ""),
                                           read_toml(entry), dict(about.get("notes", {}))))
    return registry


PRESETS = _load_presets()
