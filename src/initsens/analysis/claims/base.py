"""What every claim rule shares: the verdict words, a claim's scope, the sub-result record, the aggregation and
the signal check that says whether clustering results can test anything at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from initsens.analysis.failures import failed_mask
from initsens.schema import OK

SUPPORTED, CONTRADICTED, UNRESOLVED, NOT_TESTABLE = "supported", "contradicted", "unresolved", "not testable"
VERDICTS = (SUPPORTED, CONTRADICTED, UNRESOLVED, NOT_TESTABLE)
#: Where a sub-result lies: in the claim's source's scope, or beyond it (an extrapolation, reported apart).
SOURCE, EXTRAPOLATION = "source", "extrapolation"
FACTOR = "initializer"
#: Clustering carries signal in a cell when some initializer's mean ARI has a one-sided 95% lower confidence
#: bound (t over seeds, failed runs scoring 0) above this: a tenth of the way from chance (0) to perfect (1).
ARI_SIGNAL = 0.1


@dataclass(frozen=True)
class Scope:
    """The cells a claim's source measured: models, depths (``None``: every depth) and normalizations."""

    models: tuple[str, ...]
    depths: tuple[int, ...] | None
    normalizations: tuple[str, ...]

    def contains(self, keys: dict) -> bool:
        """Whether a cell (its keys) lies in this scope."""
        return (keys.get("model", self.models[0]) in self.models
                and (self.depths is None or int(keys.get("depth", 1)) in self.depths)
                and keys.get("normalization", self.normalizations[0]) in self.normalizations)

    def describe(self) -> str:
        """The scope in words, as the report's tables print it."""
        depths = "every depth" if self.depths is None else "depth " + ", ".join(map(str, self.depths))
        return f"{', '.join(self.models)}; {depths}; {', '.join(self.normalizations)}"


def aggregate(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its sub-results' verdicts: not testable sub-results are left out (and the claim is
    not testable when all are); then contradicted if any contradicts, supported if all support, else unresolved.
    """
    testable = [v for v in verdicts if v != NOT_TESTABLE]
    if not testable:
        return NOT_TESTABLE
    if CONTRADICTED in testable:
        return CONTRADICTED
    if all(v == SUPPORTED for v in testable):
        return SUPPORTED
    return UNRESOLVED


def sub_result(claim: str, where: str, scope: str, *, estimate: float, low: float, high: float, verdict: str,
               margin: float, detail: str, **extra) -> dict:
    """One sub-result's row of the evidence table (see :func:`initsens.analysis.claims.evaluate`)."""
    return {"claim": claim, "where": where, "scope": scope, "estimate": estimate, "ci_low": low, "ci_high": high,
            "verdict": verdict, "margin": margin, "detail": detail, **extra}


def with_failures(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``runs`` with a ``failed`` column: status other than ok, or a non-finite ``metric``."""
    return runs.assign(failed=failed_mask(runs, metric).to_numpy())


def scored_ari(runs: pd.DataFrame) -> np.ndarray:
    """ARI with failed runs (status not ok, or no ARI) at 0, chance level: a run that diverged clusters nothing."""
    ari = pd.to_numeric(runs["ari"], errors="coerce").to_numpy(np.float64)
    ok = np.isfinite(ari)
    if "status" in runs.columns:
        ok &= runs["status"].astype(str).to_numpy() == OK
    return np.where(ok, ari, 0.0)


def ari_signal(cell: pd.DataFrame) -> tuple[bool, str]:
    """Whether clustering carries signal in ``cell`` (see :data:`ARI_SIGNAL`), and the best lower bound found."""
    scores = cell.assign(_ari=scored_ari(cell))
    best, where = -np.inf, ""
    for init, group in scores.groupby(FACTOR, sort=True):
        values = group["_ari"].to_numpy(np.float64)
        if values.size < 2:
            continue
        sd = values.std(ddof=1)
        low = values.mean() - (stats.t.ppf(0.95, values.size - 1) * sd / np.sqrt(values.size) if sd > 0 else 0.0)
        if low > best:
            best, where = low, str(init)
    if not np.isfinite(best):
        return False, "no initializer has two runs with an ARI"
    text = f"highest one-sided 95% lower bound of a mean ARI {best:.3f} ({where})"
    return bool(best > ARI_SIGNAL), text
