"""The original study's claims as decision rules, applied mechanically to one protocol's runs.

Claims (poster: elTager, "The Effect of Different Initialization Methods on VAEs for Modeling Cancer using RNA
Genome Expressions"; paper: Eltager et al., PLoS One 2023), each with its source's scope, metric and rule in
:data:`CLAIMS`, the one place the rules are written (the report prints them from there):

- P1 VanillaVAE is the model most sensitive to the initialization method.
- P2 With one hidden layer, U(0,1) performs best for VanillaVAE and InfoVAE; Xavier normal, Xavier uniform and
  the default perform best for IWAE and LogCoshVAE.
- P3 With more hidden layers, Xavier normal, Xavier uniform and the default perform best.
- P4 The normalization technique does not change these results.
- E1 Uniform initialization underperforms all other methods on downstream clustering (ARI).
- E2 Validation loss does not reflect downstream performance.

Each claim is split into *sub-results* (one per cell, or per depth group for P1), each judged supported,
contradicted, unresolved or not testable (:data:`VERDICTS`). Sub-results inside the source's scope decide the
claim's verdict; the others (other models, depths or normalizations than the source measured) form their own
family, reported as an extrapolation. :func:`aggregate` combines them and :data:`RULES_PREAMBLE` states how. The
rules were written and tested on made-up tables with known verdicts and by simulated error rates
(``tests/test_claims.py``, ``tests/test_claims_error_rates.py``) before any real result was judged by them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from initsens.analysis.claims.base import (
    ARI_SIGNAL,
    CONTRADICTED,
    EXTRAPOLATION,
    FACTOR,
    NOT_TESTABLE,
    SOURCE,
    SUPPORTED,
    UNRESOLVED,
    VERDICTS,
    Scope,
    aggregate,
)
from initsens.analysis.claims.best import best_initializer_claim, claimed_sets
from initsens.analysis.claims.clustering import WEAK_RHO, e1_uniform_clusters_worse, e2_loss_vs_clustering
from initsens.analysis.claims.normalization import NEGLIGIBLE_SHIFT, p4_normalization
from initsens.analysis.claims.sensitivity import p1_most_sensitive

__all__ = ["ARI_SIGNAL", "CHECKS", "CLAIMS", "COMMON_LOSS", "LOSS_CLAIMS", "NELBO", "OTHER_DEFAULT", "OWN_LOSS",
           "PRIMARY", "CONTRADICTED", "EXTRAPOLATION", "NEGLIGIBLE_SHIFT", "NOT_TESTABLE", "RULES_HISTORY",
           "RULES_PREAMBLE", "RULES_VERSION", "SOURCE", "SUPPORTED", "UNRESOLVED", "VERDICTS", "WEAK_RHO", "Claim",
           "RulesVersion", "Scope", "aggregate", "claimed_sets", "default_name", "evaluate", "shown_verdict",
           "verdicts"]

MODELS = ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE")
#: The poster measured its four models at one and more hidden layers on z-scored and min-max data.
POSTER = Scope(MODELS, None, ("zscore", "minmax"))
#: The paper trained one hidden layer on z-scored data; of initsens's models it has VanillaVAE and IWAE.
PAPER = Scope(("VanillaVAE", "IWAE"), (1,), ("zscore",))
#: The loss the poster measured: "the loss function of the validation set", each model's own objective.
OWN_LOSS = "val_loss"
#: One definition for every model and protocol: the robustness check of the loss claims.
COMMON_LOSS = "val_nelbo"
LOSS_CLAIMS = ("P1", "P2", "P3", "P4")


@dataclass(frozen=True)
class Claim:
    """One claim: its words, source and scope, the metric it is judged on, the statistic and the rule."""

    key: str
    text: str
    source: str
    scope: Scope
    metric: str
    statistic: str
    rule: str


CLAIMS: dict[str, Claim] = {c.key: c for c in (
    Claim("P1", "VanillaVAE is the model most sensitive to the initialization method.", "poster", POSTER, OWN_LOSS,
          "Δ_X = ω²(VanillaVAE) − ω²(X) for every other model X per depth and normalization, ω² of the ranks of each "
          "model's runs (the share of their rank variance the initializer explains; failed runs tied last, so an "
          "initializer's failures count as its worst outcomes), jackknife-t intervals over seeds",
          "supported when every Δ_X has a one-sided 95% lower bound above 0; contradicted when some Δ_X has a "
          "one-sided upper bound below 0 at level 1 − α/(m·k), k = 3 (the source's other models, however many the "
          "data left); not testable where one of the source's models was not trained or cannot be measured (its "
          "runs all tie, e.g. every run failed); else unresolved."),
    Claim("P2", "With one hidden layer, U(0,1) performs best for VanillaVAE and InfoVAE; Xavier normal, Xavier "
          "uniform and the default perform best for IWAE and LogCoshVAE.", "poster", POSTER, OWN_LOSS,
          "Δ = mean of the best other initializer minus mean of the worst claimed one at depth 1 (> 0: the "
          "claimed ones are better), Games-Howell CI",
          "per cell: supported when no claimed initializer is significantly worse than another (Games-Howell, or "
          "a one-sided Fisher test of failure rates, at α) and every other initializer is significantly worse "
          "than a claimed one; contradicted when a claimed initializer is significantly worse than another at "
          "α/m; not testable when no two initializers can be compared; else unresolved."),
    Claim("P3", "With more hidden layers, Xavier normal, Xavier uniform and the default perform best.", "poster",
          POSTER, OWN_LOSS, "Δ as in P2, at depths 2 and more",
          "as P2, with the claimed set {xavier_normal, xavier_uniform, default} for every model."),
    Claim("P4", "The normalization technique does not change these results.", "poster", POSTER, OWN_LOSS,
          "the largest mean shift of an initializer's rank (1 to 5 within a seed, failed runs last) between two "
          "normalizations, paired by seed, with a paired t CI; an exact sign-flip test over seeds of whether any "
          "initializer's rank moves",
          f"per model and depth: supported when the best initializers (as in P2) are the same under every "
          f"normalization and every initializer's mean rank shift has a 90% CI inside ±{NEGLIGIBLE_SHIFT} (two "
          "one-sided tests at 5%); contradicted when the best sets differ and the ranks move (sign-flip p below "
          "α/m, over the pairs of normalizations too); not testable with one normalization or fewer than two "
          "seeds with every run under both, or where no two initializers can be compared under some normalization (as "
          "P2/P3: e.g. every run failed); else unresolved."),
    Claim("E1", "Uniform initialization underperforms all other methods on downstream clustering (ARI against "
          "cancer type).", "paper", PAPER, "ari",
          "d = the largest mean paired (same seed) ARI difference uniform − other initializer, failed runs "
          "scoring 0; exact sign-flip tests (paired t CI shown)",
          "per cell: supported when uniform's ARI is below every other initializer's (one-sided sign-flip p ≤ α "
          "each); contradicted when it is above some other's at α/(m·k) (k other initializers); not testable when "
          f"the clustering is at chance (no initializer's mean ARI has a one-sided 95% lower bound above "
          f"{ARI_SIGNAL}); else unresolved."),
    Claim("E2", "Validation loss does not reflect downstream performance.", "paper", PAPER, f"{OWN_LOSS} vs ari",
          "between initializers (the paper's reading: it compared initializers): per seed, Spearman's ρ between the "
          "validation loss and the ARI across the initializers' finished runs, averaged over seeds on Fisher's z "
          "scale (|ρ| capped at 0.95) with a t interval; within initializers (reported beside it): Spearman's ρ "
          "of loss and ARI ranked within each initializer, Fisher-z interval with the Bonett-Wright variance "
          "(1 + ρ²/2)/(n_eff − 3)",
          f"per cell, on the between-initializers reading: supported when the 95% CI of the mean ρ lies above "
          f"−{WEAK_RHO} (initializers with a lower loss cluster at most weakly better); contradicted when its interval "
          f"at 1 − α/m lies below −{WEAK_RHO}; not testable when the clustering is at chance (as E1); else "
          "unresolved. The within reading is judged by the same thresholds and shown beside it."),
)}

#: The checks a study is judged under: the claim's own metric (the verdict), the common loss (robustness) and the
#: other reading of "the default" standing for it.
PRIMARY, NELBO, OTHER_DEFAULT = "verdict", COMMON_LOSS, "other default"
#: check -> (claims it judges, the loss metric, whether the other reading of "the default" stands for it).
CHECKS: dict[str, tuple[tuple[str, ...], str, bool]] = {
    PRIMARY: (tuple(CLAIMS), OWN_LOSS, False),
    NELBO: ((*LOSS_CLAIMS, "E2"), COMMON_LOSS, False),
    OTHER_DEFAULT: (("P2", "P3"), OWN_LOSS, True),
}

#: How sub-results make a verdict, stated once for the report.
RULES_PREAMBLE = (
    "Each claim is split into sub-results (one per cell, or per depth and normalization for P1), each judged by "
    "its rule. Sub-results inside the claim's source's scope (the models, depths and normalizations the poster "
    "or the paper measured) decide its verdict; those beyond it are judged as a family of their own and shown "
    "as an extrapolation. Within a family, not testable sub-results are listed and left out; the claim is "
    "**not testable** when all are, **contradicted** if any testable sub-result contradicts it, **supported** if "
    "all support it, and **unresolved** otherwise. Support needs every sub-result at the 95% level (an "
    "intersection-union test); contradiction needs one sub-result at the Bonferroni level α/m (m = the family's "
    "number of sub-results, times the rivals compared where a rule compares several), so a true claim is called "
    "contradicted with probability at most α; simulations in the test suite check that rate at the boundary of "
    "every rule. Tests are exact (sign-flip) or t-based (jackknife-t, Games-Howell, Welch), never a percentile "
    "bootstrap of ten values at such levels; where an exact test cannot reach the level at ten seeds, the "
    "sub-result says so. Diverged or failed runs count against their initializer: an initializer that fails "
    "significantly more often than another is worse than it (Fisher's exact test); in P1 and P4 failed runs rank "
    "last; in E1 a failed run's ARI is 0. A cell whose runs all failed is not testable for every claim (nothing "
    "in it separates initializers), and a comparison the source's design calls for (P1's four models) that the "
    "data cannot make is not testable, never silently dropped: Bonferroni counts follow the design. A verdict "
    "shows its coverage: \"supported in 1 of 2 sub-results (1 not testable)\" is support on part of the scope, "
    "not of the claim. The loss claims are judged on each model's own validation loss (`val_loss`, what the poster "
    "measured) and, as a robustness check, on `val_nelbo` (one definition for every model and protocol). "
    "\"The default\" is read both ways where the runs hold both: as the poster defines it (nn.Linear's own law, "
    "U(±1/√fan_in), `default`) and as the original code ran it (`kaiming_uniform`, U(±√(6/fan_in)))."
)


@dataclass(frozen=True)
class RulesVersion:
    """One version of the decision rules: when it was fixed (date, commit), what changed, and what it judged."""

    version: str
    date: str
    commit: str
    changes: str
    judged: str


#: Every version of the rules, oldest first; the last is in force. A rule changed after real results were judged
#: is a new version, and the report shows what the earlier ones gave (``<report>/history/claims-<version>.parquet``).
RULES_HISTORY = (
    RulesVersion("v1", "2026-11-27", "0ddaf3b", "every claim on val_nelbo over every cell; percentile bootstraps of "
                 "ten values; failed runs left out", "the eltager2023 and initsens protocols (report 619e1ad)"),
    RulesVersion("v2", "2026-12-02", "05209ef", "each claim on its source's metric and scope, cells beyond it as a "
                 "family of their own; exact sign-flip, jackknife-t and Games-Howell tests; not testable where "
                 "nothing compares or clustering is at chance. Written after v1 had judged the two protocols (not "
                 "stated before those runs); fixed before any ladder rung was trained",
                 "both protocols again, both ablations and the six ladder rungs (report 16ed12a)"),
    RulesVersion("v3", "2026-12-06", "7ad837b", "P1 on ranks with failed runs last and k = 3 fixed by the design (a "
                 "rival that cannot be measured makes it not testable); E2 between initializers (the verdict) and "
                 "within them (beside it), Bonett-Wright variance; P4 not testable where P2/P3 are; a verdict shows "
                 "its coverage; reach counts ties; P2/P3 name the strongest rival. Written after v2 had judged every "
                 "study above; fixed before the first new run of the eltager2023-pancan grid",
                 "(in force)"),
)
RULES_VERSION = RULES_HISTORY[-1].version


def shown_verdict(verdict: str, testable: int, total: int) -> str:
    """A verdict with its coverage where not every sub-result could be tested: ``supported in 1 of 2 sub-results
    (1 not testable)``; the bare word otherwise ('' stays '').
    """
    if not verdict or verdict == NOT_TESTABLE or testable >= total:
        return verdict
    return f"{verdict} in {testable} of {total} sub-results ({total - testable} not testable)"


def default_name(runs: pd.DataFrame) -> str:
    """The initializer standing for "the default" in ``runs``: kaiming_uniform where the runs used it in place of
    nn.Linear's default (the original code), else ``default``.
    """
    inits = set(runs[FACTOR])
    return "kaiming_uniform" if "kaiming_uniform" in inits and "default" not in inits else "default"


def cell_keys_of(runs: pd.DataFrame) -> list[str]:
    """model, depth and every other key with several levels (normalization, init scope)."""
    return ["model", "depth", *(k for k in ("normalization", "init_scope") if k in runs and runs[k].nunique() > 1)]


def evaluate(runs: pd.DataFrame, metric: str = OWN_LOSS, alpha: float = 0.05,
             claims: Sequence[str] = tuple(CLAIMS)) -> pd.DataFrame:
    """Every sub-result of ``claims`` for one protocol's ``runs`` (five initializers, one of them "the default"),
    the loss claims judged on ``metric``.

    Columns: ``claim``, ``where``, ``scope`` (source or extrapolation), ``metric``, ``estimate``, ``ci_low``,
    ``ci_high`` (95%), ``verdict``, ``margin`` (how far the evidence lies on the claim's side of its threshold),
    ``detail`` and rule-specific extras (``level``: the Bonferroni level a contradiction needed, ``rival``,
    ``p_value`` ...).
    """
    keys = cell_keys_of(runs)
    p2, p3 = claimed_sets(default_name(runs))
    depths = sorted(int(d) for d in runs["depth"].unique())
    cache: dict = {}  # P2, P3 and P4 compare the same cells' initializers
    rules = {
        "P1": lambda: p1_most_sensitive(runs, metric, keys, POSTER, alpha),
        "P2": lambda: best_initializer_claim(runs, "P2", p2, [1], keys, POSTER, metric, alpha, cache),
        "P3": lambda: best_initializer_claim(runs, "P3", p3, [d for d in depths if d >= 2], keys, POSTER, metric,
                                             alpha, cache),
        "P4": lambda: p4_normalization(runs, metric, keys, POSTER, alpha, cache),
        "E1": lambda: e1_uniform_clusters_worse(runs, keys, PAPER, alpha),
        "E2": lambda: e2_loss_vs_clustering(runs, keys, PAPER, metric, alpha),
    }
    rows = [{**row, "metric": "ari" if key == "E1" else metric} for key in claims for row in rules[key]()]
    columns = ["claim", "where", "scope", "metric", "estimate", "ci_low", "ci_high", "verdict", "margin", "detail"]
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=[*columns, *(c for c in frame.columns if c not in columns)])


def verdicts(evidence: pd.DataFrame, scope: str = SOURCE) -> pd.DataFrame:
    """One row per claim: its verdict from the sub-results in ``scope``, the counts of sub-results by verdict, the
    not testable ones, and the deciding sub-result (the one with the smallest margin among those sharing the
    claim's verdict).
    """
    rows = []
    for key, claim in CLAIMS.items():
        subs = evidence[(evidence["claim"] == key) & (evidence["scope"] == scope)] if len(evidence) else evidence
        # no sub-result at all: the source's scope was not trained (not testable); no extrapolation: nothing to say
        verdict = aggregate(list(subs["verdict"])) if len(subs) else (NOT_TESTABLE if scope == SOURCE else "")
        testable = int((subs["verdict"] != NOT_TESTABLE).sum()) if len(subs) else 0
        row = {"claim": key, "text": claim.text, "scope": scope,
               "metric": subs["metric"].iloc[0] if len(subs) else claim.metric, "verdict": verdict,
               "coverage": shown_verdict(verdict, testable, len(subs)), "rules": RULES_VERSION,
               **{f"n_{v.replace(' ', '_')}": int((subs["verdict"] == v).sum()) if len(subs) else 0
                  for v in VERDICTS},
               "not_testable": "; ".join(subs.loc[subs["verdict"] == NOT_TESTABLE, "where"]) if len(subs) else ""}
        chosen = subs[subs["verdict"] == verdict] if len(subs) else subs
        if len(chosen):
            pick = chosen.iloc[int(np.argmin(chosen["margin"].fillna(np.inf).to_numpy()))]
            row.update({"where": pick["where"], "estimate": pick["estimate"], "ci_low": pick["ci_low"],
                        "ci_high": pick["ci_high"]})
        else:
            row.update({"where": "", "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan})
        rows.append(row)
    return pd.DataFrame(rows)
