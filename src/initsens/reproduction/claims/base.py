"""What every claim shares: the verdict words, a claim's scope and declaration (:class:`Claim`), the
sub-result record, the aggregation and the signal check that says whether clustering results can
test anything at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from initsens.analysis.failures import failed_mask
from initsens.results.schema import OK

SUPPORTED, CONTRADICTED, UNRESOLVED, NOT_TESTABLE = (
    "supported",
    "contradicted",
    "unresolved",
    "not testable",
)
VERDICTS = (SUPPORTED, CONTRADICTED, UNRESOLVED, NOT_TESTABLE)
#: Where a sub-result lies: in the claim's source's scope, or beyond it (an extrapolation, reported
#: apart).
SOURCE, EXTRAPOLATION = "source", "extrapolation"
FACTOR = "initializer"
#: Clustering carries signal in a cell when some initializer's mean ARI has a one-sided 95% lower
#: confidence bound (t over seeds, failed runs scoring 0) above this: a tenth of the way from chance
#: (0) to perfect (1).
ARI_SIGNAL = 0.1
#: The loss the poster measured: "the loss function of the validation set", each model's own
#: objective.
OWN_LOSS = "val_loss"
#: One definition for every model and protocol: the robustness check of the loss claims.
COMMON_LOSS = "val_nelbo"


@dataclass(frozen=True)
class Scope:
    """The cells a claim's source measured: models, depths (``None``: every depth) and
    normalizations.
    """

    models: tuple[str, ...]
    depths: tuple[int, ...] | None
    normalizations: tuple[str, ...]

    def contains(self, keys: dict) -> bool:
        """Whether a cell (its keys) lies in this scope."""
        return (
            keys.get("model", self.models[0]) in self.models
            and (self.depths is None or int(keys.get("depth", 1)) in self.depths)
            and keys.get("normalization", self.normalizations[0]) in self.normalizations
        )

    def describe(self) -> str:
        """The scope in words, as the report's tables print it."""
        depths = (
            "every depth" if self.depths is None else "depth " + ", ".join(map(str, self.depths))
        )
        return f"{', '.join(self.models)}; {depths}; {', '.join(self.normalizations)}"


MODELS = ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE")
#: The poster measured its four models at one and more hidden layers on z-scored and min-max data.
POSTER = Scope(MODELS, None, ("zscore", "minmax"))
#: The paper trained one hidden layer on z-scored data; of initsens's models it has VanillaVAE and
#: IWAE.
PAPER = Scope(("VanillaVAE", "IWAE"), (1,), ("zscore",))


@dataclass
class Judging:
    """What a claim's rule is given besides the runs: the loss ``metric`` of the check, the ``keys``
    that make a cell, the level ``alpha``, the initializer standing for "the default", the depths
    trained, and a ``cache`` the rules comparing the same cells share.
    """

    metric: str
    keys: list[str]
    alpha: float
    default: str
    depths: list[int]
    cache: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """How a claim's forest plot shows it: the axis label, the decision thresholds drawn (two: a
    band), and whether the statistic is unbounded (a difference of losses: the axis may switch to
    symlog).
    """

    axis: str
    thresholds: tuple[float, ...] = (0.0,)
    unbounded: bool = False


@dataclass(frozen=True)
class Reach:
    """What an exact test can reach: the evidence column holding each sub-result's nonzero paired
    differences, the smallest one-sided p the test gives with n of them, and how many more it needs
    than the level's seeds.
    """

    column: str
    smallest_p: Callable[[int], float]
    extra: int = 0


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One claim, declared once: its words, source and scope, the metric it is judged on, the
    statistic and the rule (in words, for the report, and as code: ``judge`` returns its
    sub-results), and how the report shows it.

    Parameters
    ----------
    on_loss : judged on the check's loss (so also on the common loss); otherwise always on
        ``metric``.
    names_default : its words name "the default", so it is judged again with the other reading
        standing for it.
    compares_models : its sub-results compare models, so an ablation training some of them leaves it
        out.
    columns : evidence columns its report section shows besides the common ones (column -> heading).
    reach : set where an exact test decides it (the report says what that test can reach at the
        seeds run).
    """

    key: str
    text: str
    source: str
    scope: Scope
    metric: str
    statistic: str
    rule: str
    judge: Callable[[pd.DataFrame, Judging], list[dict]]
    figure: Figure
    on_loss: bool = True
    names_default: bool = False
    compares_models: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    reach: Reach | None = None


def aggregate(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its sub-results' verdicts: not testable sub-results are left out (and
    the claim is not testable when all are); then contradicted if any contradicts, supported if all
    support, else unresolved.
    """
    testable = [v for v in verdicts if v != NOT_TESTABLE]
    if not testable:
        return NOT_TESTABLE
    if CONTRADICTED in testable:
        return CONTRADICTED
    if all(v == SUPPORTED for v in testable):
        return SUPPORTED
    return UNRESOLVED


def first_recorded(runs: pd.DataFrame) -> pd.Timestamp:
    """When the earliest of ``runs`` was recorded (their ``finished_at``; NaT where the runs do not
    say): whether every run was recorded after a version of the rules was fixed is whether this one
    was.
    """
    if "finished_at" not in runs.columns or not len(runs):
        return pd.NaT
    return pd.to_datetime(runs["finished_at"], utc=True).min()


def sub_result(
    claim: str,
    where: str,
    scope: str,
    runs: pd.DataFrame,
    *,
    estimate: float,
    low: float,
    high: float,
    verdict: str,
    margin: float,
    detail: str,
    **extra,
) -> dict:
    """One sub-result's row of the evidence table (see
    :func:`initsens.reproduction.claims.evaluate`); ``runs``: every run it is judged on (its cell,
    or its group of cells), for when the first of them was recorded.
    """
    return {
        "claim": claim,
        "where": where,
        "scope": scope,
        "estimate": estimate,
        "ci_low": low,
        "ci_high": high,
        "verdict": verdict,
        "margin": margin,
        "detail": detail,
        "first_recorded": first_recorded(runs),
        **extra,
    }


def untestable(
    claim: str, where: str, scope: str, runs: pd.DataFrame, detail: str, **extra
) -> dict:
    """A sub-result that cannot be judged: no estimate, no interval, the reason in ``detail``."""
    return sub_result(
        claim,
        where,
        scope,
        runs,
        estimate=np.nan,
        low=np.nan,
        high=np.nan,
        verdict=NOT_TESTABLE,
        margin=np.nan,
        detail=detail,
        **extra,
    )


def with_failures(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``runs`` with a ``failed`` column: status other than ok, or a non-finite ``metric``."""
    return runs.assign(failed=failed_mask(runs, metric).to_numpy())


def scored_ari(runs: pd.DataFrame) -> np.ndarray:
    """ARI with failed runs (status not ok, or no ARI) at 0, chance level: a run that diverged
    clusters nothing.
    """
    ari = pd.to_numeric(runs["ari"], errors="coerce").to_numpy(np.float64)
    ok = np.isfinite(ari)
    if "status" in runs.columns:
        ok &= runs["status"].astype(str).to_numpy() == OK
    return np.where(ok, ari, 0.0)


def ari_signal(cell: pd.DataFrame) -> tuple[bool, str]:
    """Whether clustering carries signal in ``cell`` (see :data:`ARI_SIGNAL`), and the best lower
    bound found.
    """
    scores = cell.assign(_ari=scored_ari(cell))
    best, where = -np.inf, ""
    for init, group in scores.groupby(FACTOR, sort=True):
        values = group["_ari"].to_numpy(np.float64)
        if values.size < 2:
            continue
        sd = values.std(ddof=1)
        low = values.mean() - (
            stats.t.ppf(0.95, values.size - 1) * sd / np.sqrt(values.size) if sd > 0 else 0.0
        )
        if low > best:
            best, where = low, str(init)
    if not np.isfinite(best):
        return False, "no initializer has two runs with an ARI"
    text = f"highest one-sided 95% lower bound of a mean ARI {best:.3f} ({where})"
    return bool(best > ARI_SIGNAL), text
