"""The original study's claims as decision rules, applied mechanically to one protocol's runs.

Each claim is declared once, in the module of its rule (:class:`Claim`), and listed in
:data:`CLAIMS`; its sub-results are judged (:data:`VERDICTS`) and :func:`aggregate` combines those
inside the source's scope into the claim's verdict, as :data:`RULES_PREAMBLE` states. The claims and
how they are judged: the docs' :doc:`The reproduction </reproduction>` page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from initsens.analysis.design import Design
from initsens.reproduction.claims import best, clustering, normalization, sensitivity
from initsens.reproduction.claims.base import (
    ARI_SIGNAL,
    COMMON_LOSS,
    CONTRADICTED,
    EXTRAPOLATION,
    FACTOR,
    NOT_TESTABLE,
    OWN_LOSS,
    PAPER,
    POSTER,
    SOURCE,
    SUPPORTED,
    UNRESOLVED,
    VERDICTS,
    Claim,
    Judging,
    Scope,
    aggregate,
)
from initsens.reproduction.claims.best import PAIR_COLUMNS, claimed_sets
from initsens.reproduction.claims.clustering import WEAK_RHO
from initsens.reproduction.claims.normalization import NEGLIGIBLE_SHIFT
from initsens.reproduction.claims.rules import (
    RULES_HISTORY,
    RULES_PREAMBLE,
    RULES_VERSION,
    RulesVersion,
)

__all__ = [
    "ARI_SIGNAL",
    "CHECKS",
    "CLAIMS",
    "COMMON_LOSS",
    "NELBO",
    "OTHER_DEFAULT",
    "OWN_LOSS",
    "PAPER",
    "POSTER",
    "PRIMARY",
    "CONTRADICTED",
    "EXTRAPOLATION",
    "NEGLIGIBLE_SHIFT",
    "NOT_TESTABLE",
    "RULES_HISTORY",
    "RULES_PREAMBLE",
    "RULES_VERSION",
    "SOURCE",
    "SUPPORTED",
    "UNRESOLVED",
    "VERDICTS",
    "WEAK_RHO",
    "Check",
    "Claim",
    "RulesVersion",
    "Scope",
    "aggregate",
    "claimed_sets",
    "default_name",
    "evaluate",
    "shown_verdict",
    "verdicts",
]

#: The claims, in the report's order: a new claim is its module and one entry here.
CLAIMS: dict[str, Claim] = {
    c.key: c
    for c in (
        sensitivity.CLAIM,
        best.P2,
        best.P3,
        normalization.CLAIM,
        clustering.E1,
        clustering.E2,
    )
}


@dataclass(frozen=True)
class Check:
    """One way a study is judged: on which loss, whether the other reading of "the default" stands
    for it, and which claims it judges.
    """

    name: str
    metric: str
    other_default: bool
    takes: Callable[[Claim], bool]

    def claims(self) -> tuple[str, ...]:
        """The keys of the claims this check judges, in :data:`CLAIMS`' order."""
        return tuple(key for key, claim in CLAIMS.items() if self.takes(claim))


#: The checks a study is judged under: the claim's own metric (the verdict), the common loss
#: (robustness) and the other reading of "the default" standing for it.
PRIMARY, NELBO, OTHER_DEFAULT = "verdict", COMMON_LOSS, "other default"
CHECKS: dict[str, Check] = {
    c.name: c
    for c in (
        Check(PRIMARY, OWN_LOSS, False, lambda claim: True),
        Check(NELBO, COMMON_LOSS, False, lambda claim: claim.on_loss),
        Check(OTHER_DEFAULT, OWN_LOSS, True, lambda claim: claim.names_default),
    )
}


def shown_verdict(verdict: str, testable: int, total: int) -> str:
    """A verdict with its coverage where not every sub-result could be tested:
    ``supported (1 of 2 sub-results testable)``; the bare word otherwise ('' stays ''). (It read
    ``supported in 1 of 2 sub-results``, which reads as a count of supporting sub-results; the
    counts by verdict are columns of their own.)
    """
    if not verdict or verdict == NOT_TESTABLE or testable >= total:
        return verdict
    return f"{verdict} ({testable} of {total} sub-results testable)"


def default_name(runs: pd.DataFrame) -> str:
    """The initializer standing for "the default" in ``runs``: kaiming_uniform where the runs used
    it in place of nn.Linear's default (the original code), else ``default``.
    """
    inits = set(runs[FACTOR])
    return "kaiming_uniform" if "kaiming_uniform" in inits and "default" not in inits else "default"


def evaluate(
    runs: pd.DataFrame,
    metric: str = OWN_LOSS,
    alpha: float = 0.05,
    claims: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every sub-result of ``claims`` (default: all) for one protocol's ``runs`` (five initializers,
    one of them "the default"), the loss claims judged on ``metric``.

    Returns
    -------
    pandas.DataFrame
        ``claim``, ``where``, ``scope`` (source or extrapolation), ``metric``, ``estimate``,
        ``ci_low``, ``ci_high`` (95%), ``verdict``, ``margin`` (how far the evidence lies on the
        claim's side of its threshold), ``detail``, ``first_recorded`` (when the earliest run it is
        judged on was recorded), ``stated_before`` ('yes' when every one of them was recorded after
        the rules in force were fixed, 'no' when the rules' author could have seen some) and
        rule-specific extras (``level``: the Bonferroni level a contradiction needed, ``rival``,
        ``p_value``, P2/P3's contradicting pair ...).
    """
    judging = Judging(
        metric,
        Design().cell_keys(runs),
        alpha,
        default_name(runs),
        sorted(int(d) for d in runs["depth"].unique()),
    )  # its cache: P2, P3 and P4 compare the same cells
    chosen = [CLAIMS[key] for key in (CLAIMS if claims is None else claims)]
    rows = [
        {
            **row,
            "metric": metric if claim.on_loss else claim.metric,
            "stated_before": RULES_HISTORY[-1].stated_before(row["first_recorded"]),
        }
        for claim in chosen
        for row in claim.judge(runs, judging)
    ]
    columns = [
        "claim",
        "where",
        "scope",
        "metric",
        "estimate",
        "ci_low",
        "ci_high",
        "verdict",
        "margin",
        "detail",
        "first_recorded",
        "stated_before",
    ]
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=[*columns, *(c for c in frame.columns if c not in columns)])


def verdicts(evidence: pd.DataFrame, scope: str = SOURCE) -> pd.DataFrame:
    """One row per claim: its verdict from the sub-results in ``scope``, the counts of sub-results
    by verdict, the not testable ones, how many were judged by rules stated before all their runs
    (``n_stated_before``), and the deciding sub-result (the one with the smallest margin among those
    sharing the claim's verdict): where, its estimate and CI, whether its rules were stated before
    its runs, and for P2/P3 its contradicting pair.
    """
    rows = []
    for key, claim in CLAIMS.items():
        subs = (
            evidence[(evidence["claim"] == key) & (evidence["scope"] == scope)]
            if len(evidence)
            else evidence
        )
        # no sub-result at all: the source's scope was not trained (not testable); no extrapolation:
        # nothing to say
        verdict = (
            aggregate(list(subs["verdict"]))
            if len(subs)
            else (NOT_TESTABLE if scope == SOURCE else "")
        )
        testable = int((subs["verdict"] != NOT_TESTABLE).sum()) if len(subs) else 0
        row = {
            "claim": key,
            "text": claim.text,
            "scope": scope,
            "metric": subs["metric"].iloc[0] if len(subs) else claim.metric,
            "verdict": verdict,
            "coverage": shown_verdict(verdict, testable, len(subs)),
            "rules": RULES_VERSION,
            **{
                f"n_{v.replace(' ', '_')}": int((subs["verdict"] == v).sum()) if len(subs) else 0
                for v in VERDICTS
            },
            "not_testable": "; ".join(subs.loc[subs["verdict"] == NOT_TESTABLE, "where"])
            if len(subs)
            else "",
            "n_stated_before": int((subs["stated_before"] == "yes").sum())
            if "stated_before" in subs
            else 0,
        }
        chosen = subs[subs["verdict"] == verdict] if len(subs) else subs
        shown = ["where", "estimate", "ci_low", "ci_high", "stated_before", *PAIR_COLUMNS]
        if len(chosen):
            pick = chosen.iloc[int(np.argmin(chosen["margin"].fillna(np.inf).to_numpy()))]
            row.update({c: pick[c] for c in shown if c in pick.index})
        else:
            row.update({"where": "", "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan})
        rows.append(row)
    return pd.DataFrame(rows)
