"""P2 and P3: which initializers perform best in a cell.

Initializers are compared by Games-Howell on their means (Welch standard errors and degrees of
freedom in the studentized range), whatever the spreads: they differ 60-200-fold in these runs.
Rules v4 compared 20% trimmed means instead; v5 compares means again, since on these runs' shuffled
labels trimmed means called false contradictions twice as often as allowed (mixtures of converged
and stuck seeds, read as outliers). A failed run counts against its initializer: one that fails
significantly more often than another (one-sided Fisher exact test, Bonferroni over the cell's
pairs) is worse than it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from initsens.analysis.cells import cell_label
from initsens.analysis.posthoc import games_howell, games_howell_interval
from initsens.report.format import fmt_p_against
from initsens.reproduction.claims.base import (
    CONTRADICTED,
    FACTOR,
    NOT_TESTABLE,
    OWN_LOSS,
    POSTER,
    SUPPORTED,
    UNRESOLVED,
    Claim,
    Figure,
    Judging,
    Scope,
    sub_result,
    with_failures,
)

XAVIERS_AND_DEFAULT = ("xavier_normal", "xavier_uniform", "default")
#: The share cut from each end of an initializer's finished runs before P2, P3 and P4 compare
#: centres: 0 (means) in rules v5 as in v3; v4 cut 20%.
TRIM = 0.0
#: What a contradicting pair is decided by when it is not failures (the evidence's ``pair_by``).
BY_CENTRE = "mean"


@dataclass
class CellComparison:
    """What one cell says about its initializers: the means of the finished runs (``centres``,
    trimmed by :data:`TRIM`), Games-Howell pairs on them (difference, adjusted p, se and df) and
    failures (failed, runs).
    """

    centres: dict[str, float]
    pairs: dict[
        tuple[str, str], tuple[float, float, float, float]
    ]  # (difference of centres, p_adj, se, df)
    failures: dict[str, tuple[int, int]]
    compared: int = 0  # initializers in the Games-Howell family

    @classmethod
    def from_runs(cls, cell: pd.DataFrame, metric: str) -> CellComparison:
        """``cell``: one cell's runs with a ``failed`` column (see :func:`with_failures`)."""
        finished = cell[~cell["failed"]]
        groups = [
            (str(name), g[metric].to_numpy(np.float64))
            for name, g in finished.groupby(FACTOR, sort=True)
        ]
        centres = {name: float(stats.trim_mean(values, TRIM)) for name, values in groups}
        comparable = [(name, values) for name, values in groups if values.size >= 2]
        pairs: dict[tuple[str, str], tuple[float, float, float, float]] = {}
        if len(comparable) >= 2:
            for r in games_howell(
                [n for n, _ in comparable],
                [v for _, v in comparable],
                0.05,
                intervals=False,
                trim=TRIM,
            ):
                pairs[(r["group1"], r["group2"])] = (r["mean_diff"], r["p_adj"], r["se"], r["df"])
                pairs[(r["group2"], r["group1"])] = (-r["mean_diff"], r["p_adj"], r["se"], r["df"])
        counts = cell.groupby(FACTOR, sort=True)["failed"].agg(["sum", "size"])
        failures = {str(i): (int(f), int(n)) for i, (f, n) in counts.iterrows()}
        for init in failures:
            centres.setdefault(init, np.nan)
        return cls(centres, pairs, failures, len(comparable))

    def interval(self, i: str, j: str, level: float = 0.95) -> tuple[float, float, float]:
        """centre(i) − centre(j) and its Games-Howell simultaneous interval at ``level`` (NaN when
        not compared).
        """
        pair = self.pairs.get((i, j))
        if pair is None:
            return np.nan, np.nan, np.nan
        return (
            pair[0],
            *games_howell_interval(pair[0], pair[2], pair[3], self.compared, 1 - level),
        )

    @property
    def initializers(self) -> list[str]:
        """The initializers the claim names."""
        return sorted(self.centres)

    @property
    def testable(self) -> bool:
        """Some pair can be compared: by centres (two initializers with two finished runs) or by
        failure rates.
        """
        return bool(self.pairs) or len({f / n for f, n in self.failures.values() if n}) > 1

    def failure_p(self, i: str, j: str) -> float:
        """One-sided Fisher exact p that ``i`` fails more often than ``j``."""
        fi, ni = self.failures.get(i, (0, 0))
        fj, nj = self.failures.get(j, (0, 0))
        if ni == 0 or nj == 0 or fi / ni <= fj / nj:
            return 1.0
        return float(
            stats.fisher_exact([[fi, ni - fi], [fj, nj - fj]], alternative="greater").pvalue
        )

    def worse_p(self, i: str, j: str) -> tuple[float, str]:
        """How strongly ``i`` is worse than ``j``: the smaller of the Games-Howell p_adj (where
        ``i``'s centre is higher) and the Bonferroni-adjusted Fisher p of more failures, with which
        one it is (:data:`BY_CENTRE` or 'failures').
        """
        pair = self.pairs.get((i, j))
        by_mean = pair[1] if pair is not None and pair[0] > 0 else 1.0
        n_pairs = max(len(self.initializers) * (len(self.initializers) - 1) // 2, 1)
        by_failures = min(self.failure_p(i, j) * n_pairs, 1.0)
        return (by_mean, BY_CENTRE) if by_mean <= by_failures else (by_failures, "failures")

    def worse(self, i: str, j: str, level: float) -> bool:
        """``i`` is significantly worse than ``j``: a higher mean (Games-Howell p_adj <
        level) or more failures (Fisher p, Bonferroni over the cell's pairs, < level).
        """
        return self.worse_p(i, j)[0] < level

    def best(self, level: float) -> set[str]:
        """Initializers not significantly worse than any other."""
        inits = self.initializers
        return {i for i in inits if not any(self.worse(i, j, level) for j in inits if j != i)}


def best_set_rule(
    cell: CellComparison, claimed: set[str], alpha: float, m: int
) -> tuple[str, str, tuple[str, str] | None]:
    """(verdict, detail, the (claimed, better) pair that contradicts it or None) of "the claimed
    initializers perform best" in one cell: contradicted when a claimed one is significantly worse
    than another at α/m; supported when no claimed one is worse than another at α and every other is
    worse than a claimed one.
    """
    if not cell.testable:
        return (
            NOT_TESTABLE,
            "no two initializers can be compared (every run failed, or one initializer left)",
            None,
        )
    inits = cell.initializers
    claimed = claimed & set(inits)
    others = [i for i in inits if i not in claimed]
    beaten = [
        (c, j) for c in sorted(claimed) for j in inits if j != c and cell.worse(c, j, alpha / m)
    ]
    detail = f"best set {{{', '.join(sorted(cell.best(alpha)))}}}"
    if beaten:  # the strongest contradiction: the pair with the smallest p
        c, j = min(beaten, key=lambda pair: cell.worse_p(*pair)[0])
        p_value, by = cell.worse_p(c, j)
        if by == BY_CENTRE:
            p_text, level_text = fmt_p_against(p_value, alpha / m)
            why = f"higher {BY_CENTRE}, Games-Howell p_adj = {p_text} < {level_text}"
        else:
            (fc, nc), (fj, nj) = cell.failures.get(c, (0, 0)), cell.failures.get(j, (0, 0))
            why = f"more failures, {fc}/{nc} vs {fj}/{nj}"
        return (
            CONTRADICTED,
            detail + f"; claimed {c} is significantly worse than {j} ({why})",
            (c, j),
        )
    ok_claimed = all(not cell.worse(c, j, alpha) for c in claimed for j in inits if j != c)
    separated = all(any(cell.worse(o, c, alpha) for c in claimed) for o in others)
    if claimed and ok_claimed and separated:
        return (
            SUPPORTED,
            detail + "; every other initializer is significantly worse than a claimed one",
            None,
        )
    missing = [o for o in others if not any(cell.worse(o, c, alpha) for c in claimed)]
    return (
        UNRESOLVED,
        detail + (f"; not separated from the claimed set: {', '.join(missing)}" if missing else ""),
        None,
    )


#: The evidence columns of a contradicted P2/P3 sub-result's contradicting pair (empty or NaN
#: elsewhere): the claimed initializer, the one significantly better than it, centre(better) −
#: centre(claimed) (means) with its Games-Howell simultaneous 95% CI, the adjusted p that decided
#: it, whether by means or by failures, and all of it in words.
PAIR_COLUMNS = (
    "pair_claimed",
    "pair_better",
    "pair_estimate",
    "pair_low",
    "pair_high",
    "pair_p",
    "pair_by",
    "contradiction",
)


def best_set_estimate(
    cell: CellComparison, claimed: set[str]
) -> tuple[str, str, float, float, float]:
    """The statistic as P2 and P3 define it: (best other, worst claimed, Δ = centre(best other) −
    centre(worst claimed), centres the means of finished runs, and the Games-Howell
    simultaneous 95% CI of that pair); > 0: the claimed initializers are better; names '' and NaN
    where either side has no finished run, CI NaN where the pair was not compared (fewer than two
    finished runs).
    """
    finite = {i: v for i, v in cell.centres.items() if np.isfinite(v)}
    claimed_here = [c for c in sorted(claimed) if c in finite]
    rest = [o for o in sorted(finite) if o not in claimed]
    if not claimed_here or not rest:
        return "", "", np.nan, np.nan, np.nan
    worst = max(claimed_here, key=lambda c: finite[c])
    rival = min(rest, key=lambda o: finite[o])
    if (rival, worst) not in cell.pairs:
        return rival, worst, finite[rival] - finite[worst], np.nan, np.nan
    return rival, worst, *cell.interval(rival, worst)


def contradicting_pair(cell: CellComparison, pair: tuple[str, str] | None) -> dict:
    """The :data:`PAIR_COLUMNS` of the (claimed, better) pair that contradicts the claim in ``cell``
    (empty and NaN for None): apart from Δ, which compares the best other with the worst claimed and
    may even have the other sign (a claimed initializer can lose to another claimed one).
    """
    if pair is None:
        return {
            "pair_claimed": "",
            "pair_better": "",
            "pair_estimate": np.nan,
            "pair_low": np.nan,
            "pair_high": np.nan,
            "pair_p": np.nan,
            "pair_by": "",
            "contradiction": "",
        }
    claimed, better = pair
    estimate, low, high = cell.interval(better, claimed)
    p_value, by = cell.worse_p(claimed, better)
    difference = (
        f"{better} − {claimed} = {estimate:+.3g} [{low:.3g}, {high:.3g}]"
        if np.isfinite(high)
        else f"{better} − {claimed} = {estimate:+.3g} (not compared)"
        if np.isfinite(estimate)
        else ""
    )
    if by == BY_CENTRE:
        words = (
            f"{better} beats claimed {claimed}: {difference}, Games-Howell p_adj = {p_value:.3g}"
        )
    else:
        (fc, nc), (fb, nb) = cell.failures.get(claimed, (0, 0)), cell.failures.get(better, (0, 0))
        words = (
            f"{better} beats claimed {claimed} by failures ({fb}/{nb} against {fc}/{nc}, Fisher "
            f"p_adj = {p_value:.3g})" + (f"; {difference}" if difference else "")
        )
    return {
        "pair_claimed": claimed,
        "pair_better": better,
        "pair_estimate": estimate,
        "pair_low": low,
        "pair_high": high,
        "pair_p": p_value,
        "pair_by": by,
        "contradiction": words,
    }


def claimed_sets(default: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """P2's and P3's claimed best sets per model, with ``default`` standing for the poster's
    "default".
    """
    xaviers = {default if name == "default" else name for name in XAVIERS_AND_DEFAULT}
    p2 = {"VanillaVAE": {"uniform"}, "InfoVAE": {"uniform"}, "IWAE": xaviers, "LogCoshVAE": xaviers}
    return p2, {model: xaviers for model in p2}


def compare_cell(
    cell: pd.DataFrame, keys: dict, metric: str, cache: dict | None = None
) -> CellComparison:
    """:meth:`CellComparison.from_runs`, kept in ``cache`` under the cell's keys (P2, P3 and P4 see
    the same cells).
    """
    key = (tuple(sorted((k, str(v)) for k, v in keys.items())), metric)
    if cache is None or key not in cache:
        found = CellComparison.from_runs(cell, metric)
        if cache is None:
            return found
        cache[key] = found
    return cache[key]


def best_initializer_claim(
    runs: pd.DataFrame,
    claim: str,
    *,
    claimed_for: dict[str, set[str]],
    depths: Sequence[int],
    cell_keys: Sequence[str],
    scope: Scope,
    metric: str,
    alpha: float = 0.05,
    cache: dict | None = None,
) -> list[dict]:
    """P2/P3 sub-results: one per cell at ``depths`` whose model has a claimed set, cells whose runs
    all failed included (there only failure counts can separate initializers).
    """
    data = with_failures(runs, metric)
    cells = [
        (dict(zip(cell_keys, k if isinstance(k, tuple) else (k,))), cell)
        for k, cell in data.groupby(list(cell_keys), sort=True)
    ]
    cells = [
        (keys, cell)
        for keys, cell in cells
        if int(keys["depth"]) in depths and keys["model"] in claimed_for
    ]
    m = {
        s: max(sum(scope.contains(k) == (s == "source") for k, _ in cells), 1)
        for s in ("source", "extrapolation")
    }
    rows = []
    for keys, cell in cells:
        kind = "source" if scope.contains(keys) else "extrapolation"
        comparison = compare_cell(cell, keys, metric, cache)
        claimed = claimed_for[keys["model"]]
        verdict, detail, against = best_set_rule(comparison, claimed, alpha, m[kind])
        rival, worst, estimate, low, high = best_set_estimate(comparison, claimed)
        pair = contradicting_pair(comparison, against)
        # the margin orders sub-results for the verdict table's deciding one: a contradiction by how
        # far its pair lies
        margin = pair["pair_low"] if against is not None else low
        rows.append(
            sub_result(
                claim,
                cell_label(keys),
                kind,
                cell,
                estimate=estimate,
                low=low,
                high=high,
                verdict=verdict,
                margin=margin,
                detail=detail,
                claimed=", ".join(sorted(claimed)),
                best=", ".join(sorted(comparison.best(alpha))),
                level=alpha / m[kind],
                best_other=rival,
                worst_claimed=worst,
                **pair,
            )
        )
    return rows


def _best(
    runs: pd.DataFrame,
    judging: Judging,
    claim: str,
    claimed_for: dict[str, set[str]],
    depths: Sequence[int],
) -> list[dict]:
    """P2's or P3's sub-results over the poster's scope."""
    return best_initializer_claim(
        runs,
        claim,
        claimed_for=claimed_for,
        depths=depths,
        cell_keys=judging.keys,
        scope=POSTER,
        metric=judging.metric,
        alpha=judging.alpha,
        cache=judging.cache,
    )


#: P2 and P3 show the same statistic on the same axis, and the same columns beside it: which
#: initializers Δ compares and, where a cell contradicts the claim, the pair that does.
_FIGURE = Figure(
    "Δ val_loss: best other − worst claimed initializer (> 0: the claimed ones beat the rest)",
    unbounded=True,
)
_COLUMNS = {
    "best_other": "best other",
    "worst_claimed": "worst claimed",
    "contradiction": "contradicting pair",
}
_PAIR = (
    "; a contradicted cell shows apart the pair that contradicts it (a claimed initializer "
    "significantly worse than another, which may itself be claimed: Δ can then be > 0)"
)
P2 = Claim(
    key="P2",
    text="With one hidden layer, U(0,1) performs best for VanillaVAE and InfoVAE; Xavier normal, "
    "Xavier uniform and the default perform best for IWAE and LogCoshVAE.",
    source="poster",
    scope=POSTER,
    metric=OWN_LOSS,
    statistic="Δ = mean of the best other initializer minus mean of the worst claimed one at "
    "depth 1 (> 0: the claimed ones are better), Games-Howell CI" + _PAIR,
    rule="per cell: supported when no claimed initializer is significantly worse than another "
    "(Games-Howell, or a one-sided Fisher test of failure "
    "rates, at α) and every other initializer is significantly worse than a claimed one; "
    "contradicted when a claimed initializer is significantly worse than another at α/m; not "
    "testable when no two initializers can be compared; else unresolved.",
    judge=lambda runs, judging: _best(runs, judging, "P2", claimed_sets(judging.default)[0], [1]),
    figure=_FIGURE,
    names_default=True,
    columns=_COLUMNS,
)
P3 = Claim(
    key="P3",
    text="With more hidden layers, Xavier normal, Xavier uniform and the default perform best.",
    source="poster",
    scope=POSTER,
    metric=OWN_LOSS,
    statistic="Δ as in P2, at depths 2 and more",
    rule="as P2, with the claimed set {xavier_normal, xavier_uniform, default} for every model.",
    judge=lambda runs, judging: _best(
        runs, judging, "P3", claimed_sets(judging.default)[1], [d for d in judging.depths if d >= 2]
    ),
    figure=_FIGURE,
    names_default=True,
    columns=_COLUMNS,
)
