"""T1, a toy claim: "the default initializer is never the worst". A new claim is a module like this
one (its words, scope, metric, rule and figure in one
:class:`~initsens.reproduction.claims.base.Claim`) and one line in
:data:`initsens.reproduction.claims.CLAIMS`.
"""

from __future__ import annotations

import pandas as pd

from initsens.analysis.cells import cell_label
from initsens.reproduction.claims.base import (
    CONTRADICTED,
    EXTRAPOLATION,
    OWN_LOSS,
    POSTER,
    SOURCE,
    SUPPORTED,
    Claim,
    Figure,
    Judging,
    sub_result,
)


def default_not_worst(runs: pd.DataFrame, judging: Judging) -> list[dict]:
    """One sub-result per cell: the worst initializer's mean minus the default's (> 0: the default
    is not worst).
    """
    rows = []
    for key, cell in runs.groupby(judging.keys, sort=True):
        keys = dict(zip(judging.keys, key))
        means = cell.groupby("initializer")[judging.metric].mean()
        gap = float(means.max() - means[judging.default])
        rows.append(
            sub_result(
                "T1",
                cell_label(keys),
                SOURCE if POSTER.contains(keys) else EXTRAPOLATION,
                cell,
                estimate=gap,
                low=gap,
                high=gap,
                verdict=SUPPORTED if gap > 0 else CONTRADICTED,
                margin=gap,
                detail=f"worst: {means.idxmax()}",
            )
        )
    return rows


CLAIM = Claim(
    key="T1",
    text="The default initializer is never the worst.",
    source="poster",
    scope=POSTER,
    metric=OWN_LOSS,
    statistic="the worst initializer's mean minus the default's, per cell",
    rule="supported when positive in every cell",
    judge=default_not_worst,
    figure=Figure("worst mean − default's mean (> 0 supports)"),
)
