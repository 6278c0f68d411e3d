"""The original study's claims as decision rules, applied mechanically to one protocol's results.

Claims (poster: elTager, "The Effect of Different Initialization Methods on VAEs for Modeling Cancer
using RNA Genome Expressions"; paper: Eltager et al., PLoS One 2023):

- P1 VanillaVAE is the model most sensitive to the initialization method.
- P2 With one hidden layer, U(0,1) performs best for VanillaVAE and InfoVAE; Xavier normal, Xavier
  uniform and the default perform best for IWAE and LogCoshVAE.
- P3 With more hidden layers, Xavier normal, Xavier uniform and the default perform best.
- P4 The normalization technique does not change these results.
- E1 Uniform initialization underperforms all other methods on downstream clustering (ARI).
- E2 Validation loss does not reflect downstream performance.

Each claim is split into *sub-results* (one per cell, or per depth group and index for P1), each
judged supported / contradicted / unresolved by the rule in :data:`RULES`. The claim's verdict:
**contradicted** if any sub-result contradicts it, **supported** if every sub-result supports it,
**unresolved** otherwise. Support needs each sub-result at the 95% level (an intersection-union test:
the claim as a whole is then supported at level alpha); contradiction needs one sub-result at the
Bonferroni level alpha / m, m being the claim's number of sub-results, so a true claim is called
contradicted with probability at most alpha. The rules were written before any real result was seen
and are tested on made-up tables whose verdict is known (tests/test_claims.py).

Metrics: P1-P4 use ``val_nelbo`` (the negative ELBO per sample under a unit-variance Gaussian decoder,
one definition for every model and both protocols, so a verdict cannot differ between protocols
because the protocols define their losses differently); E1 uses ``ari``; E2 correlates ``val_nelbo``
with ``ari``. Runs that diverged or failed count against their initializer: in P2-P4 an initializer
that fails significantly more often than another is significantly worse than it (Fisher's exact
test), and in E1 a failed run's ARI is 0 (chance level). "The default" is the law the protocol ran
under that name: ``kaiming_uniform`` under eltager2023, nn.Linear's ``default`` under initsens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from initsens.analysis.association import rank_correlation
from initsens.analysis.cells import cell_mask, cell_seed, iter_cells
from initsens.analysis.study import FACTOR, Analysis, cell_label
from initsens.schema import OK

SUPPORTED, CONTRADICTED, UNRESOLVED = "supported", "contradicted", "unresolved"
VERDICTS = (SUPPORTED, CONTRADICTED, UNRESOLVED)
METRIC = "val_nelbo"
#: E2: |rho| below this is a weak association (Cohen's boundary between small and medium).
WEAK_RHO = 0.3
#: P4: the initializer x normalization interaction is negligible when its share of the variance is below this.
NEGLIGIBLE_SHARE = 0.01
XAVIERS_AND_DEFAULT = ("xavier_normal", "xavier_uniform", "default")


@dataclass(frozen=True)
class Claim:
    key: str
    text: str
    source: str
    metric: str
    statistic: str
    rule: str


CLAIMS: dict[str, Claim] = {c.key: c for c in (
    Claim("P1", "VanillaVAE is the model most sensitive to the initialization method.", "poster", METRIC,
          "Δ = VanillaVAE's sensitivity index minus the largest other model's (ω² and ICC, per depth)",
          "supported where VanillaVAE ranks first and the bootstrap CI of its difference to the next model "
          "excludes 0; contradicted where another model ranks first with its difference to the next model "
          "excluding 0 at the Bonferroni level; else unresolved."),
    Claim("P2", "With one hidden layer, U(0,1) performs best for VanillaVAE and InfoVAE; Xavier normal, Xavier "
          "uniform and the default perform best for IWAE and LogCoshVAE.", "poster", METRIC,
          "Δ = mean of the best other initializer minus mean of the worst claimed one (depth 1; > 0: claimed "
          "ones better), Tukey / Games-Howell CI",
          "per cell: supported when no claimed initializer is significantly worse than another and every other "
          "initializer is significantly worse than a claimed one; contradicted when a claimed initializer is "
          "significantly worse than another at the Bonferroni level; else unresolved."),
    Claim("P3", "With more hidden layers, Xavier normal, Xavier uniform and the default perform best.", "poster",
          METRIC, "Δ as in P2, at depths 2 and more", "as P2, with the claimed set {xavier_normal, "
          "xavier_uniform, default} for every model."),
    Claim("P4", "The normalization technique does not change these results.", "poster", METRIC,
          "η²(initializer × normalization): the interaction's share of the variance of the metric standardized "
          "within each normalization (bootstrap CI); partial η² and the F-test beside it",
          f"per model and depth: supported when the best initializers are the same under every normalization and "
          f"the CI of η² lies below {NEGLIGIBLE_SHARE}; contradicted when the best sets differ and the interaction "
          "(or a failure rate) differs between normalizations at the Bonferroni level; else unresolved."),
    Claim("E1", "Uniform initialization underperforms all other methods on downstream clustering (ARI against "
          "cancer type).", "paper", "ari",
          "d = the largest mean paired (same seed) ARI difference uniform − other initializer; failed runs "
          "score 0; bootstrap CI over seeds",
          "per cell: supported when uniform's ARI is below every other initializer's (each CI below 0); "
          "contradicted when it is above some other's at the Bonferroni level; else unresolved."),
    Claim("E2", "Validation loss does not reflect downstream performance.", "paper", f"{METRIC} vs ari",
          "Spearman's ρ between val_nelbo and ARI among finished runs of a cell (Fisher-z CI)",
          f"per cell: supported when the CI of ρ lies above −{WEAK_RHO} (lower loss goes at most weakly with "
          f"better clustering); contradicted when it lies below −{WEAK_RHO} at the Bonferroni level (a "
          "moderate or stronger association); else unresolved."),
)}


def aggregate(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its sub-results' verdicts."""
    if CONTRADICTED in verdicts:
        return CONTRADICTED
    if verdicts and all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    return UNRESOLVED


def _sub(claim: str, where: str, estimate: float, low: float, high: float, verdict: str, margin: float,
         detail: str, **extra) -> dict:
    return {"claim": claim, "where": where, "estimate": estimate, "ci_low": low, "ci_high": high,
            "verdict": verdict, "margin": margin, "detail": detail, **extra}


def _quantiles(draws: np.ndarray, level: float) -> tuple[float, float]:
    draws = draws[np.isfinite(draws)]
    if not draws.size:
        return np.nan, np.nan
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


# -- P1 -------------------------------------------------------------------------------------------------


def p1_most_sensitive(sensitivity: pd.DataFrame, draws: dict[str, dict[tuple, np.ndarray]], cell_keys: Sequence[str],
                      alpha: float = 0.05, target: str = "VanillaVAE", models: Sequence[str] = ()) -> list[dict]:
    """P1's sub-results: one per depth group (depth, normalization, ...) and index (ω², ICC). ``models`` (those
    in the runs) lets the detail name the models without an analyzable cell in a group."""
    group_keys = [k for k in cell_keys if k != "model"]
    groups = list(sensitivity.groupby([*group_keys, "index"], sort=True)) if len(sensitivity) else []
    m = max(len(groups), 1)
    rows = []
    for keys, group in groups:
        keys = keys if isinstance(keys, tuple) else (keys,)
        place = dict(zip([*group_keys, "index"], keys))
        where = ", ".join(f"{k} {v}" for k, v in place.items() if k != "index") + f", {place['index']}"
        index = place["index"]

        def key_of(model: str, place: dict = place) -> tuple:
            row = {**place, "model": model}
            return tuple(row[k] for k in cell_keys)

        group = group.sort_values("rank")
        top = group.iloc[0]
        absent = sorted(set(models) - set(group["model"]))
        missing = f"; not analyzable here (no usable runs): {', '.join(absent)}" if absent else ""
        if target not in set(group["model"]):
            rows.append(_sub("P1", where, np.nan, np.nan, np.nan, UNRESOLVED, np.nan,
                             f"{target} has no analyzable cell here{missing}"))
            continue
        mine = group[group["model"] == target].iloc[0]
        others = group[group["model"] != target]
        if others.empty:
            rows.append(_sub("P1", where, np.nan, np.nan, np.nan, UNRESOLVED, np.nan, "no other model to compare"))
            continue
        rival = others.iloc[0]
        a, b = draws.get(index, {}).get(key_of(target)), draws.get(index, {}).get(key_of(rival["model"]))
        diff = mine["value"] - rival["value"]
        low = high = np.nan
        if a is not None and b is not None:
            n = min(a.size, b.size)
            low, high = _quantiles(a[:n] - b[:n], 0.95)
        if top["model"] == target:
            verdict = SUPPORTED if bool(top["resolved"]) and top["diff_ci_low"] > 0 else UNRESOLVED
            detail = (f"{target} ranks first ({index} {mine['value']:.3g}); next {top['next_model']}, difference "
                      f"{top['diff_next']:.3g} [{top['diff_ci_low']:.3g}, {top['diff_ci_high']:.3g}]")
        else:
            verdict = UNRESOLVED
            second = group.iloc[1] if len(group) > 1 else None
            detail = f"{top['model']} ranks first ({index} {top['value']:.3g}); {target} ranks {int(mine['rank'])}"
            if second is not None:
                t, s = draws.get(index, {}).get(key_of(top["model"])), draws.get(index, {}).get(key_of(second["model"]))
                if t is not None and s is not None:
                    n = min(t.size, s.size)
                    lo, hi = _quantiles(t[:n] - s[:n], 1 - alpha / m)
                    detail += (f"; {top['model']} − {second['model']} = {top['value'] - second['value']:.3g}, "
                               f"{100 * (1 - alpha / m):.2f}% CI [{lo:.3g}, {hi:.3g}]")
                    if lo > 0:
                        verdict = CONTRADICTED
        rows.append(_sub("P1", where, diff, low, high, verdict, low if np.isfinite(low) else np.nan,
                         detail + missing, rival=rival["model"]))
    return rows


# -- P2, P3: best initializers ----------------------------------------------------------------------------


@dataclass
class CellComparison:
    """What one cell says about its initializers: means of the finished runs, post-hoc pairs (the selected
    method: mean difference, adjusted p, simultaneous CI) and failures (failed, runs)."""

    means: dict[str, float]
    pairs: dict[tuple[str, str], tuple[float, float, float, float]]
    failures: dict[str, tuple[int, int]]

    @classmethod
    def from_analysis(cls, analysis: Analysis, keys: dict) -> CellComparison:
        desc = analysis.tables["descriptives"]
        desc = desc[cell_mask(desc, keys)]
        means = dict(zip(desc[FACTOR], desc["mean"]))
        posthoc = analysis.tables["posthoc"]
        pairs = {}
        if len(posthoc):
            rows = posthoc[cell_mask(posthoc, keys) & posthoc["selected"]]
            for r in rows.itertuples():
                pairs[(r.group1, r.group2)] = (r.mean_diff, r.p_adj, r.ci_low, r.ci_high)
                pairs[(r.group2, r.group1)] = (-r.mean_diff, r.p_adj, -r.ci_high, -r.ci_low)
        fail = analysis.tables["failures"]
        fail = fail[cell_mask(fail, keys)]
        failures = {r.initializer: (int(r.n_failed), int(r.n_runs)) for r in fail.itertuples()}
        for init in failures:
            means.setdefault(init, np.nan)
        return cls(means, pairs, failures)

    @property
    def initializers(self) -> list[str]:
        return sorted(self.means)

    def failure_p(self, i: str, j: str) -> float:
        """One-sided Fisher exact p that ``i`` fails more often than ``j``."""
        fi, ni = self.failures.get(i, (0, 0))
        fj, nj = self.failures.get(j, (0, 0))
        if ni == 0 or nj == 0 or fi / ni <= fj / nj:
            return 1.0
        return float(stats.fisher_exact([[fi, ni - fi], [fj, nj - fj]], alternative="greater").pvalue)

    def worse(self, i: str, j: str, level: float) -> bool:
        """``i`` is significantly worse than ``j``: a higher mean (post-hoc p_adj < level) or more failures
        (Fisher p, Bonferroni over the cell's pairs, < level)."""
        pair = self.pairs.get((i, j))
        if pair is not None and pair[0] > 0 and pair[1] < level:
            return True
        n_pairs = max(len(self.initializers) * (len(self.initializers) - 1) // 2, 1)
        return self.failure_p(i, j) * n_pairs < level

    def best(self, level: float) -> set[str]:
        """Initializers not significantly worse than any other."""
        inits = self.initializers
        return {i for i in inits if not any(self.worse(i, j, level) for j in inits if j != i)}


def best_set_rule(cell: CellComparison, claimed: set[str], alpha: float, m: int
                  ) -> tuple[str, str, tuple[str, str] | None]:
    """(verdict, detail, the (claimed, better) pair that contradicts it or None) of "the claimed initializers
    perform best" in one cell."""
    inits = cell.initializers
    claimed = claimed & set(inits)
    others = [i for i in inits if i not in claimed]
    beaten = [(c, j) for c in sorted(claimed) for j in inits if j != c and cell.worse(c, j, alpha / m)]
    best = cell.best(alpha)
    detail = f"best set {{{', '.join(sorted(best))}}}"
    if beaten:
        c, j = beaten[0]
        pair = cell.pairs.get((c, j))
        if pair is not None and pair[0] > 0 and pair[1] < alpha / m:
            why = f"higher mean, p_adj = {pair[1]:.3g}"
        else:
            (fc, nc), (fj, nj) = cell.failures.get(c, (0, 0)), cell.failures.get(j, (0, 0))
            why = f"more failures, {fc}/{nc} vs {fj}/{nj}"
        return CONTRADICTED, detail + f"; claimed {c} is significantly worse than {j} ({why})", (c, j)
    ok_claimed = all(not cell.worse(c, j, alpha) for c in claimed for j in inits if j != c)
    separated = all(any(cell.worse(o, c, alpha) for c in claimed) for o in others)
    if claimed and ok_claimed and separated:
        return SUPPORTED, detail + "; every other initializer is significantly worse than a claimed one", None
    missing = [o for o in others if not any(cell.worse(o, c, alpha) for c in claimed)]
    return UNRESOLVED, detail + (f"; not separated from the claimed set: {', '.join(missing)}" if missing else ""), None


def _best_set_estimate(cell: CellComparison, claimed: set[str], against: tuple[str, str] | None = None
                       ) -> tuple[float, float, float]:
    """Δ = mean(best other) − mean(worst claimed) with the post-hoc simultaneous CI of that pair (> 0: the
    claimed initializers are better); for a contradicting pair (claimed c, better j), mean(j) − mean(c)."""
    if against is not None:
        pair = cell.pairs.get((against[1], against[0]))
        return (pair[0], pair[2], pair[3]) if pair is not None else (np.nan, np.nan, np.nan)
    finite = {i: v for i, v in cell.means.items() if np.isfinite(v)}
    mine = [c for c in claimed if c in finite]
    rest = [o for o in finite if o not in claimed]
    if not mine or not rest:
        return np.nan, np.nan, np.nan
    worst = max(mine, key=lambda c: finite[c])
    rival = min(rest, key=lambda o: finite[o])
    pair = cell.pairs.get((rival, worst))
    if pair is None:
        return finite[rival] - finite[worst], np.nan, np.nan
    return pair[0], pair[2], pair[3]


def best_initializer_claim(analysis: Analysis, claim: str, claimed_for: dict[str, set[str]], depths: Sequence[int],
                           alpha: float = 0.05) -> list[dict]:
    """P2/P3 sub-results: one per cell at ``depths`` whose model has a claimed set, cells whose runs all
    failed included (there only failure counts can separate initializers)."""
    fail = analysis.tables["failures"]
    cells = [(dict(zip(analysis.cell_keys, keys)))
             for keys, _ in iter_cells(fail, analysis.cell_keys)] if len(fail) else []
    cells = [c for c in cells if c["depth"] in depths and c["model"] in claimed_for]
    rows = []
    for keys in cells:
        cell = CellComparison.from_analysis(analysis, keys)
        claimed = claimed_for[keys["model"]]
        verdict, detail, against = best_set_rule(cell, claimed, alpha, len(cells))
        estimate, low, high = _best_set_estimate(cell, claimed, against)
        rows.append(_sub(claim, cell_label(keys), estimate, low, high, verdict, low, detail,
                         claimed=", ".join(sorted(claimed)), best=", ".join(sorted(cell.best(alpha)))))
    return rows


# -- P4 -------------------------------------------------------------------------------------------------


def interaction_share(values: np.ndarray, init: np.ndarray, norm: np.ndarray, n_boot: int = 0,
                      rng: np.random.Generator | None = None, level: float = 0.95) -> dict[str, float]:
    """Initializer x normalization interaction of ``values`` standardized within each normalization.

    Type II SS of the interaction = RSS(additive) − RSS(cell means). Returns ``share`` (SS_int / SS_total),
    ``partial`` (SS_int / RSS(additive)), ``f``, ``p_value``, ``df1``, ``df2`` and, with ``n_boot``, the
    percentile bootstrap CI of ``share`` (runs resampled within each initializer x normalization cell,
    restandardized in every replicate).
    """
    init_codes, init_levels = pd.factorize(init, sort=True)
    norm_codes, norm_levels = pd.factorize(norm, sort=True)
    cell_codes = init_codes * len(norm_levels) + norm_codes
    present = np.unique(cell_codes)
    X = np.column_stack([np.ones(len(values)),
                         *(init_codes == i for i in range(1, len(init_levels))),
                         *(norm_codes == j for j in range(1, len(norm_levels)))]).astype(np.float64)
    hat = X @ np.linalg.pinv(X)

    def standardize(Y: np.ndarray) -> np.ndarray:
        out = np.empty_like(Y)
        for j in range(len(norm_levels)):
            rows = norm_codes == j
            block = Y[rows]
            out[rows] = (block - block.mean(0)) / np.where(block.std(0) > 0, block.std(0), 1.0)
        return out

    def parts(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        Y = standardize(Y)
        total = ((Y - Y.mean(0)) ** 2).sum(0)
        within = np.zeros(Y.shape[1])
        for c in present:
            block = Y[cell_codes == c]
            within += ((block - block.mean(0)) ** 2).sum(0)
        additive = ((Y - hat @ Y) ** 2).sum(0)
        return total, within, additive

    total, within, additive = (v[0] for v in parts(values.astype(np.float64)[:, None]))
    ss_int = max(additive - within, 0.0)
    rank = np.linalg.matrix_rank(X)
    df1 = len(present) - rank
    df2 = len(values) - len(present)
    f = (ss_int / df1) / (within / df2) if df1 > 0 and df2 > 0 and within > 0 else np.nan
    out = {"share": ss_int / total if total > 0 else np.nan, "partial": ss_int / additive if additive > 0 else np.nan,
           "f": f, "df1": float(df1), "df2": float(df2),
           "p_value": float(stats.f.sf(f, df1, df2)) if np.isfinite(f) else np.nan, "ci_low": np.nan,
           "ci_high": np.nan}
    if n_boot and df1 > 0:
        rng = rng or np.random.default_rng(0)
        index = np.empty((len(values), n_boot), dtype=np.int64)
        for c in present:
            rows = np.flatnonzero(cell_codes == c)
            index[rows] = rows[rng.integers(0, len(rows), size=(len(rows), n_boot))]
        t, w, a = parts(values.astype(np.float64)[index])
        shares = np.where(t > 0, np.maximum(a - w, 0.0) / np.where(t > 0, t, 1.0), np.nan)
        out["ci_low"], out["ci_high"] = _quantiles(shares, level)
    return out


def p4_normalization(analysis: Analysis, alpha: float = 0.05, n_boot: int = 2000, seed: int = 0) -> list[dict]:
    """P4's sub-results: one per model and depth, when the runs hold several normalizations."""
    if "normalization" not in analysis.cell_keys:
        return [_sub("P4", "all cells", np.nan, np.nan, np.nan, UNRESOLVED, np.nan,
                     "the runs hold a single normalization: nothing to compare")]
    metric, runs = analysis.metric, analysis.runs
    finished = runs[~runs["failed"]]
    groups = [k for k in analysis.cell_keys if k != "normalization"]
    cells = list(iter_cells(runs, groups))
    m = max(len(cells), 1)
    rows = []
    for keys, _ in cells:
        place = dict(zip(groups, keys))
        data = finished[cell_mask(finished, place)]
        where = cell_label(place)
        # too few finished runs to test the interaction (e.g. every run of a normalization failed)
        if data["normalization"].nunique() < 2 or data[FACTOR].nunique() < 2:
            stats_ = dict.fromkeys(("share", "partial", "f", "df1", "df2", "p_value", "ci_low", "ci_high"), np.nan)
        else:
            stats_ = interaction_share(data[metric].to_numpy(np.float64), data[FACTOR].to_numpy(),
                                       data["normalization"].to_numpy(), n_boot,
                                       np.random.default_rng(cell_seed(seed, ("P4", *keys))))
        norms = sorted(runs["normalization"].unique())
        comparisons = {n: CellComparison.from_analysis(analysis, {**place, "normalization": n}) for n in norms}
        bests = {n: c.best(alpha) for n, c in comparisons.items()}
        same = len({frozenset(b) for b in bests.values()}) == 1
        fail_p = _failure_difference_p(runs[cell_mask(runs, place)])
        changed = stats_["p_value"] < alpha / m or fail_p < alpha / m
        if same and stats_["ci_high"] < NEGLIGIBLE_SHARE:
            verdict = SUPPORTED
        elif not same and changed:
            verdict = CONTRADICTED
        else:
            verdict = UNRESOLVED
        interaction = (f"; interaction F({stats_['df1']:.0f}, {stats_['df2']:.0f}) = {stats_['f']:.3g}, "
                       f"p = {stats_['p_value']:.3g}, partial η² = {stats_['partial']:.3g}"
                       if np.isfinite(stats_["f"]) else "; no interaction test (too few finished runs)")
        detail = ("; ".join(f"{n}: best {{{', '.join(sorted(b))}}}" for n, b in bests.items()) + interaction
                  + (f"; failure rates differ between normalizations (p = {fail_p:.3g})" if fail_p < 1 else ""))
        rows.append(_sub("P4", where, stats_["share"], stats_["ci_low"], stats_["ci_high"], verdict,
                         NEGLIGIBLE_SHARE - stats_["ci_high"], detail, partial_eta_sq=stats_["partial"],
                         p_value=stats_["p_value"], same_best=same))
    return rows


def _failure_difference_p(runs: pd.DataFrame) -> float:
    """Smallest Bonferroni-adjusted two-sided Fisher p, over initializers, that its failure rate differs
    between normalizations (1 when nothing failed)."""
    ps = []
    inits = sorted(runs[FACTOR].unique())
    for _init, group in runs.groupby(FACTOR):
        counts = group.groupby("normalization")["failed"].agg(["sum", "size"])
        if len(counts) == 2 and counts["sum"].sum() > 0:
            (f1, n1), (f2, n2) = counts.to_numpy()
            ps.append(stats.fisher_exact([[f1, n1 - f1], [f2, n2 - f2]]).pvalue * len(inits))
    return float(min(ps)) if ps else 1.0


# -- E1 -------------------------------------------------------------------------------------------------


def e1_uniform_clusters_worse(runs: pd.DataFrame, cell_keys: Sequence[str], alpha: float = 0.05,
                              n_boot: int = 2000, seed: int = 0, target: str = "uniform") -> list[dict]:
    """E1's sub-results: one per cell; uniform's ARI against every other initializer, paired by seed."""
    data = runs.assign(ari_scored=np.where(_finished(runs) & np.isfinite(runs["ari"].to_numpy(np.float64)),
                                           runs["ari"], 0.0))
    cells = [(keys, cell) for keys, cell in iter_cells(data, cell_keys) if target in set(cell[FACTOR])]
    m = max(len(cells), 1)
    rows = []
    for keys, cell in cells:
        wide = cell.pivot_table(index="seed", columns=FACTOR, values="ari_scored", aggfunc="first")
        others = [c for c in wide.columns if c != target]
        rng = np.random.default_rng(cell_seed(seed, ("E1", *keys)))
        comparisons = []
        for other in others:
            diff = (wide[target] - wide[other]).dropna().to_numpy()
            if len(diff) < 2:
                continue
            boot = diff[rng.integers(0, len(diff), size=(n_boot, len(diff)))].mean(1)
            comparisons.append((other, float(diff.mean()), *_quantiles(boot, 0.95),
                                *_quantiles(boot, 1 - alpha / (m * len(others)))))
        where = cell_label(dict(zip(cell_keys, keys)))
        if not comparisons:
            rows.append(_sub("E1", where, np.nan, np.nan, np.nan, UNRESOLVED, np.nan, "no paired seeds"))
            continue
        closest = max(comparisons, key=lambda c: c[1])
        if any(c[4] > 0 for c in comparisons):  # uniform above another at the Bonferroni level
            verdict = CONTRADICTED
        elif len(comparisons) == len(others) and all(c[3] < 0 for c in comparisons):
            verdict = SUPPORTED
        else:
            verdict = UNRESOLVED
        detail = "; ".join(f"{target} − {o} = {d:+.3f} [{lo:.3f}, {hi:.3f}]" for o, d, lo, hi, _, _ in comparisons)
        rows.append(_sub("E1", where, closest[1], closest[2], closest[3], verdict, -closest[3], detail,
                         rival=closest[0]))
    return rows


def _finished(runs: pd.DataFrame) -> np.ndarray:
    return (runs["status"].astype(str) == OK).to_numpy() if "status" in runs.columns else np.ones(len(runs), bool)


# -- E2 -------------------------------------------------------------------------------------------------


def e2_loss_vs_clustering(runs: pd.DataFrame, cell_keys: Sequence[str], metric: str = METRIC,
                          alpha: float = 0.05) -> list[dict]:
    """E2's sub-results: Spearman's rho of the metric with ARI among the finished runs of each cell."""
    finished = runs[_finished(runs)]
    cells = list(iter_cells(finished, cell_keys))
    m = max(len(cells), 1)
    rows = []
    for keys, cell in cells:
        at95 = rank_correlation(cell[metric], cell["ari"], 0.95)
        strict = rank_correlation(cell[metric], cell["ari"], 1 - alpha / m)
        where = cell_label(dict(zip(cell_keys, keys)))
        if not np.isfinite(at95["rho"]):
            rows.append(_sub("E2", where, np.nan, np.nan, np.nan, UNRESOLVED, np.nan,
                             f"too few finished runs with ARI (n = {at95['n']})"))
            continue
        if at95["ci_low"] > -WEAK_RHO:
            verdict = SUPPORTED
        elif strict["ci_high"] < -WEAK_RHO:
            verdict = CONTRADICTED
        else:
            verdict = UNRESOLVED
        rows.append(_sub("E2", where, at95["rho"], at95["ci_low"], at95["ci_high"], verdict,
                         at95["ci_low"] + WEAK_RHO, f"n = {at95['n']}, p = {at95['p_value']:.3g}", n=at95["n"]))
    return rows


# -- all claims ---------------------------------------------------------------------------------------------


def claimed_sets(default: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """P2's and P3's claimed best sets per model, with ``default`` standing for the protocol's "default"."""
    xaviers = {default if name == "default" else name for name in XAVIERS_AND_DEFAULT}
    p2 = {"VanillaVAE": {"uniform"}, "InfoVAE": {"uniform"}, "IWAE": xaviers, "LogCoshVAE": xaviers}
    return p2, {model: xaviers for model in p2}


def default_name(runs: pd.DataFrame) -> str:
    """The initializer the protocol ran as "the default": kaiming_uniform where the runs used it in place of
    nn.Linear's default (the original code), else ``default``."""
    inits = set(runs[FACTOR])
    return "kaiming_uniform" if "kaiming_uniform" in inits and "default" not in inits else "default"


def evaluate(analysis: Analysis, alpha: float = 0.05, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Every claim's sub-results for one protocol (``analysis`` of ``val_nelbo`` on its runs; another
    lower-is-better metric re-judges P1-P4 and E2 on it).

    Columns: ``claim``, ``where``, ``estimate``, ``ci_low``, ``ci_high`` (95%), ``verdict``, ``margin`` (how
    far the evidence lies on the claim's side of its threshold), ``detail`` and claim-specific extras.
    """
    runs = analysis.runs
    p2, p3 = claimed_sets(default_name(runs))
    depths = sorted(runs["depth"].unique())
    rows = [
        *p1_most_sensitive(analysis.tables["sensitivity"], analysis.draws, analysis.cell_keys, alpha,
                           models=sorted(runs["model"].unique())),
        *best_initializer_claim(analysis, "P2", p2, [1], alpha),
        *best_initializer_claim(analysis, "P3", p3, [d for d in depths if d >= 2], alpha),
        *p4_normalization(analysis, alpha, n_boot, seed),
        *e1_uniform_clusters_worse(runs, analysis.cell_keys, alpha, n_boot, seed),
        *e2_loss_vs_clustering(runs, analysis.cell_keys, analysis.metric, alpha),
    ]
    return pd.DataFrame(rows)


def verdicts(evidence: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: its verdict, the counts of sub-results by verdict and the deciding sub-result
    (the one with the smallest margin among those sharing the claim's verdict)."""
    rows = []
    for key, claim in CLAIMS.items():
        subs = evidence[evidence["claim"] == key] if len(evidence) else evidence
        verdict = aggregate(list(subs["verdict"])) if len(subs) else UNRESOLVED
        row = {"claim": key, "text": claim.text, "metric": claim.metric, "statistic": claim.statistic,
               "verdict": verdict, **{f"n_{v}": int((subs["verdict"] == v).sum()) if len(subs) else 0
                                      for v in VERDICTS}}
        chosen = subs[subs["verdict"] == verdict] if len(subs) else subs
        if len(chosen):
            pick = chosen.iloc[int(np.argmin(chosen["margin"].fillna(np.inf).to_numpy()))]
            row.update({"where": pick["where"], "estimate": pick["estimate"], "ci_low": pick["ci_low"],
                        "ci_high": pick["ci_high"]})
        else:
            row.update({"where": "", "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan})
        rows.append(row)
    return pd.DataFrame(rows)

