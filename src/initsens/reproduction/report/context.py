"""What the reproduction report says about how it was made."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Context:
    """What the report says about how it was made."""

    command: str
    versions: dict[str, str]
    data: dict[str, str]
    wall: dict[str, float]
    alpha: float
    tables_dir: str
    figures: dict[str, str]
    history: dict[str, pd.DataFrame] = field(
        default_factory=dict
    )  # version -> its claims table, as it judged
    null: pd.DataFrame = field(
        default_factory=pd.DataFrame
    )  # scripts/permuted_null.py's verdicts, if it was run
