"""``initsens presets``: the protocols shipped with initsens, and how each differs from the default."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from initsens.settings import shown


def list_presets(
    name: str | None = typer.Argument(None, help="Show every setting of this preset (default: all presets, "
                                         "with the settings where they differ from initsens)."),
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
        table = Table(title=f"{preset.name}: {preset.source}", caption=preset.description, caption_justify="left")
        table.add_column("setting", no_wrap=True)
        table.add_column("value", overflow="fold", max_width=22)
        table.add_column("per model", overflow="fold", max_width=20)
        table.add_column("initsens", overflow="fold", max_width=14)
        table.add_column("why", overflow="fold", ratio=1)
        for key, value, per_model in cfg.settings():
            if name is None and value == base[key] and not per_model:
                continue
            table.add_row(key, shown(value), "; ".join(f"{m}: {v}" for m, v in per_model.items()),
                          shown(base[key]), preset.notes.get(key, ""))
        console.print(table)
    if name is None:
        console.print("Use one with `initsens train --config NAME`; `initsens presets NAME` shows all its settings.")
