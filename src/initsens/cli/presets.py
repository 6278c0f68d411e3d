"""``initsens presets``: the protocols shipped with initsens, and how each differs from the
default.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.padding import Padding
from rich.table import Table

from initsens.settings import shown

#: Below this many columns the settings are listed one block each instead of as a table.
WIDE = 120


def list_presets(
    name: str | None = typer.Argument(
        None,
        help="Show every setting of this preset (default: all presets, "
        "with the settings where they differ from initsens).",
    ),
) -> None:
    """List the presets usable as `initsens train --config NAME` and what each one sets."""
    from initsens.training.config import SweepConfig
    from initsens.training.presets import PRESETS

    console = Console()
    names = [PRESETS.get(name).name] if name else PRESETS.names()
    base = dict((key, value) for key, value, _ in SweepConfig().settings())
    for preset_name in names:
        preset = PRESETS.get(preset_name)
        cfg = SweepConfig.load(preset_name)
        rows = [
            (key, value, per_model)
            for key, value, per_model in cfg.settings()
            if name is not None or value != base[key] or per_model
        ]
        if (
            console.width < WIDE
        ):  # a table's "why" column would be a word wide: one block per setting instead
            console.rule(f"[bold]{preset.name}[/]")
            console.print(f"{preset.description}\nSource: {preset.source}\n", highlight=False)
            for key, value, per_model in rows:
                per_model_values = "; ".join(f"{m}: {v}" for m, v in per_model.items())
                console.print(
                    f"[bold]{key}[/] = {shown(value)}"
                    + (f"  (per model: {per_model_values})" if per_model_values else "")
                    + f"  [dim](initsens: {shown(base[key])})[/]",
                    highlight=False,
                )
                if preset.notes.get(key):
                    console.print(Padding(preset.notes[key], (0, 0, 0, 4)), highlight=False)
            console.print()
            continue
        table = Table(
            title=f"{preset.name}: {preset.source}",
            caption=preset.description,
            caption_justify="left",
        )
        table.add_column("setting", no_wrap=True)
        table.add_column("value", overflow="fold", max_width=22)
        table.add_column("per model", overflow="fold", max_width=20)
        table.add_column("initsens", overflow="fold", max_width=14)
        table.add_column("why", overflow="fold", ratio=1)
        for key, value, per_model in rows:
            table.add_row(
                key,
                shown(value),
                "; ".join(f"{m}: {v}" for m, v in per_model.items()),
                shown(base[key]),
                preset.notes.get(key, ""),
            )
        console.print(table)
    if name is None:
        console.print(
            "Use one with `initsens train --config NAME`; `initsens presets NAME` shows all its "
            "settings."
        )
