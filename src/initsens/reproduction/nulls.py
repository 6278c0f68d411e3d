"""Worlds where the initializer does not matter, made from a study's own runs: the claim rules
judged on them again and again give each rule's false-contradiction rate on data shaped like ours
(``scripts/permuted_null.py``; the method: the docs' reproduction page).

- :func:`permuted` shuffles the initializer labels among the runs of each seed within each cell: it
  pools the initializers' spreads, so unequal spreads are never put to the test.
- :func:`centred` moves each initializer's finished runs to the cell's common centre (the mean the
  rules compare; v4 trimmed it) and resamples them whole: spreads, shapes and failures kept. A
  bootstrap world of ten values is harsher than the data (``scripts/trimmed_tail.py``: exact tests
  reject 2-80 times their level there), so its counts are upper bounds.
- :func:`normal` draws each initializer's finished runs from a normal with the common centre and the
  initializer's own SD: unequal spreads put to the test without the bootstrap's ties.

In both, failures stay an initializer effect, so a contradiction decided by failures is not a false
one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from initsens.reproduction.claims import COMMON_LOSS, CONTRADICTED, OWN_LOSS
from initsens.reproduction.claims.best import TRIM
from initsens.results.schema import OK

#: A cell of the claims: runs that differ only in initializer and seed.
CELL = ["model", "depth", "normalization"]
#: What the claims read from a run besides its status.
MEASURES = (OWN_LOSS, COMMON_LOSS, "ari")


def permuted(runs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """``runs`` with the initializer labels shuffled among the runs of each seed within each
    cell.
    """
    out = runs.copy()
    labels = out["initializer"].to_numpy().copy()
    for index in out.groupby([*CELL, "seed"], sort=False).indices.values():
        labels[index] = labels[rng.permutation(index)]
    out["initializer"] = labels
    return out


def _trimmed(values: pd.Series) -> float:
    finite = values.dropna().to_numpy()
    return float(stats.trim_mean(finite, TRIM)) if finite.size else np.nan


def centre_on_cell(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with each measure of each initializer's finished runs (status ok, value finite)
    shifted by the difference between the cell's centre over its finished runs and the
    initializer's, centres being the means the rules compare (trimmed by ``claims.best.TRIM``):
    every initializer's centre is then the cell's, its spread and shape unchanged.
    """
    out = runs.copy()
    ok = out["status"].astype(str).to_numpy() == OK
    for measure in (m for m in MEASURES if m in out.columns):
        values = pd.to_numeric(out[measure], errors="coerce").to_numpy(np.float64).copy()
        finished = pd.Series(ok & np.isfinite(values), index=out.index)
        frame = pd.DataFrame({"v": np.where(finished, values, np.nan)}, index=out.index)
        cell_centre = frame.groupby([out[c] for c in CELL])["v"].transform(_trimmed)
        own_centre = frame.groupby([out[c] for c in [*CELL, "initializer"]])["v"].transform(
            _trimmed
        )
        values[finished.to_numpy()] -= (own_centre - cell_centre).to_numpy()[finished.to_numpy()]
        out[measure] = values
    return out


def centred(runs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One world of the centred null: :func:`centre_on_cell`, then each initializer's finished runs
    resampled with replacement within its cell (their measures drawn as whole runs; run ids, seeds
    and statuses stay), failed runs kept where they are.
    """
    out = centre_on_cell(runs).reset_index(drop=True)
    measures = [m for m in MEASURES if m in out.columns]
    ok = out["status"].astype(str).to_numpy() == OK
    values = out[measures].to_numpy(np.float64)
    drawn = values.copy()
    for index in out[ok].groupby([*CELL, "initializer"], sort=False).indices.values():
        rows = np.flatnonzero(ok)[index]
        drawn[rows] = values[rng.choice(rows, size=rows.size, replace=True)]
    out[measures] = drawn
    return out


def normal(runs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One world of the normal null: each measure of each initializer's finished runs drawn afresh
    from a normal with the cell's common centre (:func:`centre_on_cell`) and the initializer's own
    standard deviation; failed runs kept where they are. It keeps spreads (60-200-fold apart in
    these runs) without the bootstrap's ties.
    """
    out = centre_on_cell(runs).reset_index(drop=True)
    ok = out["status"].astype(str).to_numpy() == OK
    for measure in (m for m in MEASURES if m in out.columns):
        values = out[measure].to_numpy(np.float64).copy()
        for index in out[ok].groupby([*CELL, "initializer"], sort=False).indices.values():
            rows = np.flatnonzero(ok)[index]
            rows = rows[np.isfinite(values[rows])]
            if rows.size >= 2:
                centre = float(stats.trim_mean(values[rows], TRIM))
                values[rows] = centre + values[rows].std(ddof=1) * rng.standard_normal(rows.size)
        out[measure] = values
    return out


#: The nulls by name, as ``scripts/permuted_null.py --nulls`` and the report's table name them.
NULLS: dict[str, Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]] = {
    "permuted": permuted,
    "centred": centred,
    "normal": normal,
}
#: The nulls that keep each initializer's failures (a real effect there: a contradiction decided by
#: failure counts is not an error).
KEEP_FAILURES = ("centred", "normal")
#: The claims whose rules count a failed run against its initializer whatever decided (P1 and P4
#: rank it last, E1 scores its ARI 0): in a null that keeps failures their counts measure that real
#: effect, not an error rate.
COUNT_FAILURES = ("P1", "P4", "E1")


def error_rate(count: int, worlds: int, level: float = 0.05) -> dict[str, float]:
    """A rule's false-contradiction ``count`` in ``worlds`` null worlds: the rate, its exact
    (Clopper-Pearson) 95% interval, and the exact one-sided binomial p-value of a rate above
    ``level``.
    """
    low = stats.beta.ppf(0.025, count, worlds - count + 1) if count > 0 else 0.0
    high = stats.beta.ppf(0.975, count + 1, worlds - count) if count < worlds else 1.0
    p_above = float(stats.binom.sf(count - 1, worlds, level))
    return {
        "rate": count / worlds,
        "low": float(low),
        "high": float(high),
        "p_above_level": p_above,
    }


#: The claims whose contradictions the centred null tells apart: decided by centres (an error there)
#: or by failure counts (a real effect of the initializer, which that null keeps).
BY_FAILURES_APART = ("P2", "P3")


def with_defaults(worlds: pd.DataFrame) -> pd.DataFrame:
    """``scripts/permuted_null.py``'s verdicts with the columns files written before them lack:
    ``null`` "permuted" and ``rules`` "v3" (the only null and version there were then).
    """
    return worlds.assign(
        null=worlds["null"] if "null" in worlds.columns else "permuted",
        rules=worlds["rules"] if "rules" in worlds.columns else "v3",
    )


def null_counts(worlds: pd.DataFrame, level: float = 0.05) -> pd.DataFrame:
    """Per rules version, null, protocol and claim, from ``scripts/permuted_null.py``'s verdicts:
    ``worlds``, ``contradicted`` (worlds with the claim contradicted), ``false`` (those counted as
    errors: in the nulls that keep failures, P2's and P3's contradictions decided by centres only),
    its ``rate``, exact 95% interval ``low``/``high``, the one-sided binomial ``p_above_level`` of a
    rate above ``level``, ``above`` (that p below 0.05) and ``failures_effect`` (the null keeps
    failures and the claim's rule counts them: no error rate, never ``above``).
    """
    frame = with_defaults(worlds)
    by = (
        frame["contradicted_by"]
        if "contradicted_by" in frame.columns
        else pd.Series("", index=frame.index)
    )
    contradicted = frame["verdict"] == CONTRADICTED
    by_failures_only = (
        frame["null"].isin(KEEP_FAILURES)
        & frame["claim"].isin(BY_FAILURES_APART)
        & ~by.fillna("").astype(str).str.contains("mean")
    )
    frame = frame.assign(contradicted=contradicted, false=contradicted & ~by_failures_only)
    frame["failures_effect"] = frame["null"].isin(KEEP_FAILURES) & frame["claim"].isin(
        COUNT_FAILURES
    )
    keys = ["rules", "null", "protocol", "claim"]
    out = (
        frame.groupby(keys, sort=False)
        .agg(
            failures_effect=("failures_effect", "any"),
            worlds=("permutation", "nunique"),
            contradicted=("contradicted", "sum"),
            false=("false", "sum"),
        )
        .reset_index()
    )
    rates = [error_rate(int(f), int(w), level) for f, w in zip(out["false"], out["worlds"])]
    out = pd.concat([out, pd.DataFrame(rates)], axis=1)
    out["above"] = (out["p_above_level"] < 0.05) & ~out["failures_effect"]
    return out
