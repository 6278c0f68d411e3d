"""Protocols shipped as presets: TOML files in ``initsens/presets/``, used with ``--config NAME``.

A preset file holds the same keys as any ``--config`` TOML file (top-level settings,
``[model.NAME]`` tables for per-model values) plus an ``[about]`` table: ``description``, ``source``
and ``notes`` (setting -> why it has this value), shown by ``initsens presets`` and
``initsens train --dry-run``. A preset may start from another one (``extends = "eltager2023"``): its
own values, per-model values and notes are laid over the other's. Adding a protocol, or a variant of
one, is one TOML file.
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


def _extended(
    name: str, files: dict[str, dict[str, Any]], seen: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The raw TOML of preset ``name`` with the preset it ``extends`` laid under it (model tables
    and notes merged key by key).
    """
    raw = dict(files[name])
    base = raw.pop("extends", None)
    if base is None:
        return raw
    if base not in files or base in seen:
        raise InitsensError(
            f"preset {name}: extends {base!r}, which is not a preset or extends {name} back"
        )
    under = _extended(base, files, (*seen, name))
    merged = {**under, **raw}
    for table in ("model",):
        merged[table] = {
            m: {**under.get(table, {}).get(m, {}), **raw.get(table, {}).get(m, {})}
            for m in dict.fromkeys([*under.get(table, {}), *raw.get(table, {})])
        }
    about_under, about = under.get("about", {}), raw.get("about", {})
    merged["about"] = {
        **about_under,
        **about,
        "notes": {**about_under.get("notes", {}), **about.get("notes", {})},
    }
    return merged


def _load_presets() -> Registry[Preset]:
    registry: Registry[Preset] = Registry("preset")
    folder = resources.files("initsens") / "presets"
    files = {
        entry.name[: -len(".toml")]: tomllib.loads(entry.read_text())
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    }
    for name in files:
        values = _extended(name, files)
        about = values.pop("about", {})
        if not values.get("model"):
            values.pop("model", None)
        registry.register(name)(
            Preset(
                name,
                about.get("description", ""),
                about.get("source", ""),
                values,
                dict(about.get("notes", {})),
            )
        )
    return registry


PRESETS = _load_presets()
