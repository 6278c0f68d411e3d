"""How sub-results make a verdict (stated once, for the report) and every version of the decision
rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: How sub-results make a verdict, stated once for the report.
RULES_PREAMBLE = (
    "Each claim is split into sub-results (one per cell, or per depth and normalization for P1), "
    "each judged by its rule. Sub-results inside the claim's source's scope (the models, depths "
    "and normalizations the poster or the paper measured) decide its verdict; those beyond it are "
    "judged as a family of their own and shown as an extrapolation. Within a family, not testable "
    "sub-results are listed and left out; the claim is **not testable** when all are, "
    "**contradicted** if any testable sub-result contradicts it, **supported** if all support it, "
    "and **unresolved** otherwise. Support needs every sub-result at the 95% level (an "
    "intersection-union test); contradiction needs one sub-result at the Bonferroni level α/m (m "
    "= the family's number of sub-results, times the rivals compared where a rule compares "
    "several), so a true claim is called contradicted with probability at most α; simulations in "
    "the test suite check that rate at the boundary of every rule. Tests are exact (sign-flip) or "
    "t-based (jackknife-t, Games-Howell, Welch), never a "
    "percentile bootstrap of ten values at such levels; where an exact test cannot reach the "
    "level at ten seeds, the sub-result says so. Diverged or failed runs count against their "
    "initializer: an initializer that fails significantly more often than another is worse than "
    "it (Fisher's exact test); in P1 and P4 failed runs rank last; in E1 a failed run's ARI is 0. "
    "A cell whose runs all failed is not testable for every claim (nothing in it separates "
    "initializers), and a comparison the source's design calls for (P1's four models) that the "
    "data cannot make is not testable, never silently dropped: Bonferroni counts follow the "
    'design. A verdict shows its coverage: "supported (1 of 2 sub-results testable)" is support '
    "on part of the scope, not of the claim. The loss claims are judged on each model's own "
    "validation loss (`val_loss`, what the poster measured) and, as a robustness check, on "
    '`val_nelbo` (one definition for every model and protocol). "The default" is read both ways '
    "where the runs hold both: as the poster defines it (nn.Linear's own law, U(±1/√fan_in), "
    "`default`) and as the original code ran it (`kaiming_uniform`, U(±√(6/fan_in)))."
)


@dataclass(frozen=True)
class RulesVersion:
    """One version of the decision rules: when it was fixed (``fixed_at``: its commit's UTC time,
    ISO 8601), the commit, what changed, and what it judged.
    """

    version: str
    fixed_at: str
    commit: str
    changes: str
    judged: str

    @property
    def date(self) -> str:
        """The day it was fixed, ``2026-12-06``."""
        return self.fixed_at[:10]

    def stated_before(self, first_recorded: pd.Timestamp) -> str:
        """'yes' when the earliest run a sub-result is judged on was recorded after this version was
        fixed (so the rules were stated before every run they judge), 'no' when it was recorded
        before (the rules' author could have seen it), '' when the runs do not say when they were
        recorded.
        """
        if pd.isna(first_recorded):
            return ""
        recorded = pd.Timestamp(first_recorded)
        recorded = (
            recorded.tz_localize("UTC") if recorded.tzinfo is None else recorded
        )  # naive: UTC, as recorded
        return "yes" if recorded > pd.Timestamp(self.fixed_at) else "no"


#: Every version of the rules, oldest first; the last is in force. A rule changed after real results
#: were judged is a new version, and the report shows what the earlier ones gave
#: (``<report>/history/claims-<version>.parquet``). ``fixed_at`` is the committer time of ``commit``
#: (``git show -s --format=%cI``; a test checks it).
RULES_HISTORY = (
    RulesVersion(
        "v1",
        "2026-11-27T15:39:42+00:00",
        "0ddaf3b",
        "every claim on val_nelbo over every cell; percentile bootstraps of ten values; failed "
        "runs left out",
        "the eltager2023 and initsens protocols (report 619e1ad)",
    ),
    RulesVersion(
        "v2",
        "2026-12-02T22:04:56+00:00",
        "05209ef",
        "each claim on its source's metric and scope, cells beyond it as a family of their own; "
        "exact sign-flip, jackknife-t and Games-Howell tests; not testable where nothing compares "
        "or clustering is at chance. Written after v1 had judged the two protocols (not stated "
        "before those runs); fixed before any ladder rung was trained",
        "both protocols again, both ablations and the six ladder rungs (report 16ed12a)",
    ),
    RulesVersion(
        "v3",
        "2026-12-06T22:11:56+00:00",
        "7ad837b",
        "P1 on ranks with failed runs last and k = 3 fixed by the design (a rival that cannot be "
        "measured makes it not testable); E2 between initializers (the verdict) and within them "
        "(beside it), Bonett-Wright variance; P4 not testable where P2/P3 are; a verdict shows "
        "its coverage; reach counts ties; P2/P3 name the strongest rival. Written after v2 had "
        "judged every study above; fixed before the first new run of the eltager2023-pancan grid",
        "every study above, the eltager2023-pancan z-score phase and its first min-max runs "
        "(report 1b70f65)",
    ),
    RulesVersion(
        "v4",
        "2026-12-08T00:17:30+00:00",
        "62ab52e",
        "P2, P3 and P4 compare initializers by 20% trimmed means with Yuen's errors and df in "
        "Games-Howell's studentized range (Δ and the contradicting pair on trimmed means). Why: "
        "in worlds made from the runs with each initializer's spread, shape and failures kept and "
        "its centre removed (the centred null), v3's Games-Howell on means contradicted P2 in 6 "
        "and P3 in 12 of 16 pilot worlds. Written after v3 had judged every study above; fixed "
        "while the eltager2023-pancan min-max phase was training (96 of 400 runs recorded)",
        "none: withdrawn by v5 before it judged a committed report (its null counts are in the "
        "report)",
    ),
    RulesVersion(
        "v5",
        "2026-12-08T01:15:36+00:00",
        "51fde8d",
        "P2, P3 and P4 compare means again (v3's statistic). Why: under the permuted null v4 "
        "contradicted initsens's P2 in 38 of 400 worlds (9.5%, above 5%; v3: 4 of 400), where a "
        "cell's seeds split between converged and stuck runs; and the centred null that had "
        "carried v4 overstates every rule's rate. Written after v4's null counts, before any "
        "committed report was judged by v4",
        "(in force)",
    ),
)
RULES_VERSION = RULES_HISTORY[-1].version
