"""The reproduction report's sections, each a list of Markdown lines: the claims table, what the
exact tests can reach, the rules under shuffled initializers, the original-scale grid, the ladder,
the evidence per claim, where the protocols disagree, the rules' history and Methods.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from initsens.analysis.exact import seeds_for_level
from initsens.report.format import fmt, table
from initsens.reproduction.claims import (
    CLAIMS,
    EXTRAPOLATION,
    NELBO,
    NOT_TESTABLE,
    OTHER_DEFAULT,
    PRIMARY,
    RULES_HISTORY,
    RULES_PREAMBLE,
    RULES_VERSION,
    SOURCE,
    VERDICTS,
)
from initsens.reproduction.nulls import null_counts, with_defaults
from initsens.reproduction.result import named_alike
from initsens.reproduction.studies import (
    DEFAULT_READINGS,
    ORIGINAL_SCALE,
    PANCAN_EPOCH_STEPS,
    PANCAN_TRAIN,
    SCALE_FIXED_AT,
)
from initsens.results.schema import CAP, OK, STATUSES

if TYPE_CHECKING:
    from initsens.reproduction.report.context import Context
    from initsens.reproduction.result import StudyResult


def _word(verdict: str) -> str:
    return f"**{verdict}**" if verdict else "–"


def rules(alpha: float) -> list[str]:
    """The decision rules, printed from each claim's declaration."""
    now = RULES_HISTORY[-1]
    lines = [
        f"## Decision rules ({now.version}, in force)\n",
        RULES_PREAMBLE + f" Here α = {alpha}.\n",
        f"These rules ({now.version}) were fixed on {now.date} (commit `{now.commit}`, "
        f"{now.fixed_at[11:16]} UTC), after earlier versions had judged most of the runs below "
        "(see the rules' history). Whether a sub-result's rules were stated before its runs is "
        "its own column of the evidence (**stated before its runs**: yes when every run it is "
        "judged on was recorded after they were fixed); a sub-result whose runs were recorded "
        "before is marked *judged after seeing its runs*.\n",
        "Columns of the claims table: **verdict** on the claim's own metric over its source's "
        "scope; **val_nelbo** the same sub-results on the common loss (the loss claims and E2); "
        "**beyond scope** the cells the source did not measure, as their own family; **other "
        'default** P2 and P3 with the other reading of "the default" standing for it (where '
        "both were trained).\n",
    ]
    for key, claim in CLAIMS.items():
        lines.append(
            f"- **{key}** ({claim.source}; scope: {claim.scope.describe()}; metric "
            f"`{claim.metric}`). Statistic: {claim.statistic}. Rule: {claim.rule}"
        )
    return [*lines, ""]


#: How the evidence's ``stated_before`` column reads in the report.
STATED_BEFORE = {"yes": "yes", "no": "no: judged after seeing its runs", "": "–"}


def deciding_estimate(row: pd.Series) -> str:
    """A verdict row's deciding sub-result in words: its estimate as the claim's statistic defines
    it, CI and cell, whether its rules were stated before its runs, and the pair that contradicts
    the claim there (P2/P3).
    """
    if not row["where"]:
        return "–"
    interval = (
        f" [{fmt(row['ci_low'], 3)}, {fmt(row['ci_high'], 3)}]" if pd.notna(row["estimate"]) else ""
    )
    text = f"{fmt(row['estimate'], 3)}{interval} ({row['where']})"
    if row.get("stated_before") == "no":
        text += ", *judged after seeing its runs*"
    pair = row.get("contradiction")
    return text + (f"; contradicting pair: {pair}" if isinstance(pair, str) and pair else "")


def _row_for(result: StudyResult, key: str) -> str:
    v = result.verdicts
    hit = v[(v["claim"] == key) & (v["check"] == PRIMARY) & (v["scope"] == SOURCE)] if len(v) else v
    estimate, counts, before = "–", "–", "–"
    if len(hit):
        row = hit.iloc[0]
        estimate = deciding_estimate(row)
        n = [int(row[f"n_{w.replace(' ', '_')}"]) for w in VERDICTS]
        counts = " / ".join(map(str, n))
        before = (
            f"{int(row['n_stated_before'])} of {sum(n)}" if "n_stated_before" in row.index else "–"
        )
    cells = [
        result.shown(key),
        *(
            (
                result.shown(key, NELBO),
                result.shown(key, PRIMARY, EXTRAPOLATION),
                result.shown(key, OTHER_DEFAULT),
            )
            if result.judged
            else ("", "", "")
        ),
    ]
    words = [
        _word(c) if c.split(" ")[0] in VERDICTS or c == NOT_TESTABLE else (c or "–") for c in cells
    ]
    return (
        f"| {result.name} | {words[0]} | {estimate} | {counts} | {before} | "
        f"{' | '.join(words[1:])} |"
    )


def claims_overview(results: Sequence[StudyResult]) -> str:
    """The claims table: one block of rows per claim, one row per study (a study not judged yet
    shows how far it is trained; a claim waiting for a phase says which).
    """
    lines = [
        "| claim | study | verdict | estimate [95% CI] (deciding sub-result) | sub-results: "
        "supported / contradicted / unresolved / not testable | stated before its runs | "
        "val_nelbo | beyond scope | other default |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, claim in CLAIMS.items():
        lines.append(f"| [**{key}**](#{key.lower()}) {claim.text} |  |  |  |  |  |  |  |  |")
        lines += [_row_for(r, key).replace("| ", "|  | ", 1) for r in results]
    return "\n".join(lines) + "\n"


def not_testable(results: Sequence[StudyResult]) -> list[str]:
    """One line per study and claim with sub-results that could not be tested, naming them."""
    out = []
    for r in results:
        if not len(r.verdicts):
            continue
        v = r.verdicts[(r.verdicts["check"] == PRIMARY) & (r.verdicts["scope"] == SOURCE)]
        for row in v.itertuples():
            if row.not_testable:
                total = sum(getattr(row, "n_" + w.replace(" ", "_")) for w in VERDICTS)
                out.append(
                    f"- {r.name}, {row.claim} ({row.n_not_testable} of {total} sub-results): "
                    f"{row.not_testable}."
                )
    return out


def reach(results: Sequence[StudyResult]) -> pd.DataFrame:
    """What the exact tests can reach: per study and claim judged by one (E1, P4) in the source's
    scope, the level a contradiction needs, the nonzero paired differences (seeds) the sub-results
    actually have (ties carry no sign), the smallest p the test can give with them, in how many
    sub-results a contradiction is reachable, and the nonzero differences it would need.
    """
    rows = []
    for r in results:
        ev = r.primary()
        if not len(ev) or "level" not in ev.columns:
            continue
        n = int(r.runs["seed"].nunique())
        for key, claim in CLAIMS.items():
            if claim.reach is None:
                continue
            column, smallest = claim.reach.column, claim.reach.smallest_p
            sub = ev[(ev["claim"] == key) & (ev["scope"] == SOURCE) & ev["level"].notna()]
            if column in sub.columns:
                sub = sub[sub[column].notna()]
            if not len(sub) or column not in sub.columns:
                continue
            level = float(sub["level"].min())
            nonzero = sub[column].astype(int)
            reachable = int(sum(smallest(int(k)) <= level for k in nonzero))
            rows.append(
                {
                    "study": r.name,
                    "claim": key,
                    "check": PRIMARY,
                    "seeds": n,
                    "nonzero": f"{nonzero.min()}–{nonzero.max()}"
                    if nonzero.min() != nonzero.max()
                    else str(nonzero.min()),
                    "level": level,
                    "smallest_p": smallest(int(nonzero.max())),
                    "reachable": f"{reachable} of {len(sub)}",
                    "seeds_needed": seeds_for_level(level) + claim.reach.extra,
                }
            )
    return pd.DataFrame(rows)


def ladder_section(ladder: pd.DataFrame, figure: str | None) -> list[str]:
    """The scale ladder: why it exists, its table and its figure (nothing when no rung was
    planned).
    """
    if not len(ladder):
        return []
    lines = [
        "## The original protocol at the original data's scale\n",
        "Two formulas of the original protocol depend on the data's size: the KL weight M_N = "
        "batch / N of the split, and the schedules (validation, early stopping, minimum length, "
        "learning-rate decay) counted in epochs. On tcga5 (247 training samples) they give M_N = "
        "64/247 ≈ 0.26 and 3 optimizer steps per epoch; on the Pan-Cancer matrix the study "
        "trained on, about 0.0072 and 138. The ladder (fixed in "
        "`initsens.reproduction.studies.LADDER` before any rung was trained) moves them: the KL "
        "weight alone for N_train = 247, 1,000, 3,000 and 8,850 (the dose-response), (b) the step "
        "schedule alone and (c) both. KL rungs train the z-score cells; step-schedule rungs the "
        "paper's own cells (VanillaVAE and IWAE, depth 1), so P1 (which compares four models) and "
        "P4 (two normalizations) are not testable there. Each rung is judged on the claim's "
        "metric and, after the slash, on val_nelbo; a rung not completely trained shows how far "
        "it got and no verdict.\n",
    ]
    header = [
        "rung",
        "N for M_N",
        "M_N (train)",
        "steps/epoch",
        "runs trained",
        "failed",
        "median epochs",
        "median steps",
        "median val KL",
        "median ARI",
        "median val recon MSE",
        *CLAIMS,
    ]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in ladder.iterrows():
        trained = f"{row['trained']} of {row['expected']}"
        verdicts = [
            f"{row[k + '_shown'] or '–'} / {row[k + '_nelbo'] or '–'}" if row[k] else "–"
            for k in CLAIMS
        ]
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{row['rung']}: {row['label']}",
                    f"{row['n_train_mn']:,}",
                    fmt(row["mn_train"], 3),
                    str(row["epoch_steps"]),
                    trained,
                    str(row["failed"]),
                    fmt(row["median_epochs"], 3),
                    fmt(row["median_steps"], 3),
                    fmt(row["median_val_kl"], 3),
                    fmt(row["median_ari"], 3),
                    fmt(row["median_val_recon_mse"], 3),
                    *verdicts,
                ]
            )
            + " |"
        )
    pending = ladder[ladder["trained"] < ladder["expected"]]
    if len(pending):
        lines.append(
            "\nNot completely trained yet: "
            + ", ".join(
                f"{r.rung} ({r.trained} of {r.expected} runs)" for r in pending.itertuples()
            )
            + ". The same command resumes them where they stopped; the report then judges them."
        )
    if figure:
        lines.append(f"\n![the ladder's dose-response]({figure})\n")
    return lines


def claim_section(key: str, results: Sequence[StudyResult], figure: str | None) -> list[str]:
    """One claim's evidence: its declaration, each study's verdict and sub-results, and its forest
    plot.
    """
    claim = CLAIMS[key]
    out = [
        f"### {key}\n",
        f"**{claim.text}** Source: the {claim.source} (scope: {claim.scope.describe()}). "
        f"Metric: `{claim.metric}`. Statistic: {claim.statistic}. Rule: {claim.rule}\n",
    ]
    columns = {
        "where": "where",
        "scope": "scope",
        "estimate": "estimate",
        "ci_low": "CI low",
        "ci_high": "CI high",
        "verdict": "verdict",
        "detail": "evidence",
        "stated_before": "stated before its runs",
    }
    columns = {**columns, **claim.columns}
    for result in results:
        beyond = result.shown(key, scope=EXTRAPOLATION)
        sub = result.primary()
        sub = sub[sub["claim"] == key] if len(sub) else sub
        shown = len(sub) and result.verdict(key)
        out.append(
            f"**{result.name}: {result.shown(key) or '–'}**"
            + (f" (beyond the source's scope: {beyond})" if beyond and result.judged else "")
            + (f" ({result.judged_on()})" if result.judged and result.judged_on() else "")
            + "."
            + (" " + provenance(sub) if shown else "")
            + "\n"
        )
        if shown:
            if "stated_before" in sub.columns:
                sub = sub.assign(stated_before=sub["stated_before"].fillna("").map(STATED_BEFORE))
            out.append(table(sub, {k: v for k, v in columns.items() if k in sub.columns}))
    if figure:
        out.append(f"![{key}]({figure})\n")
    return out


def provenance(sub: pd.DataFrame) -> str:
    """One sentence on whether the rules in force were stated before the runs of ``sub`` (one
    claim's sub-results in one study), following the evidence's ``stated_before`` column ('' where
    the runs do not say).
    """
    if "stated_before" not in sub.columns or not (sub["stated_before"].isin(["yes", "no"])).any():
        return ""
    now = RULES_HISTORY[-1]
    yes = sub["stated_before"] == "yes"
    if yes.all():
        return (
            f"Every sub-result's runs were recorded after {now.version} was fixed ({now.date}): "
            "its rules were stated before them."
        )
    if not yes.any():
        return (
            "Every sub-result here was judged after seeing its runs: all were recorded before "
            f"{now.version} was fixed ({now.date})."
        )
    counts = [
        f"{int((yes & (sub['scope'] == scope)).sum())} of {int((sub['scope'] == scope).sum())} "
        + ("in the source's scope" if scope == SOURCE else "beyond it")
        for scope in (SOURCE, EXTRAPOLATION)
        if (sub["scope"] == scope).any()
    ]
    return (
        f"Judged by rules stated before their runs ({now.version}, fixed {now.date}): "
        f"{', '.join(counts)} ({'; '.join(sub.loc[yes, 'where'])}); the others were judged after "
        "seeing their runs."
    )


def disagreements(results: Sequence[StudyResult]) -> list[str]:
    """Claims the protocols judge differently, the sub-results that differ, the diagnostics and
    settings.
    """
    out = ["## Where the protocols disagree\n"]
    keys = [k for k in CLAIMS if len({r.verdict(k) for r in results if r.verdict(k)}) > 1]
    if not keys:
        out.append("The protocols reach the same verdict on every claim they judge.\n")
    for key in keys:
        judged = [r for r in results if r.verdict(key)]  # a claim waiting for a phase is left out
        out.append(
            f"- **{key}** (" + ", ".join(f"{r.name}: {r.verdict(key)}" for r in judged) + ")."
        )
        subs = named_alike(
            [
                (
                    r,
                    r.primary()[(r.primary()["claim"] == key) & (r.primary()["scope"] == SOURCE)][
                        ["where", "verdict"]
                    ],
                )
                for r in judged
            ]
        )
        merged: pd.DataFrame | None = None
        for r, sub in zip(judged, subs):
            sub = sub.rename(columns={"verdict": r.name})
            merged = sub if merged is None else merged.merge(sub, on="where", how="outer")
        assert merged is not None
        differing = merged[
            merged[[r.name for r in judged]].nunique(axis=1, dropna=False) > 1
        ].fillna("–")
        if len(differing):
            out.append(
                "  Sub-results in the source's scope that differ (– where a study has no such "
                "sub-result): "
                + "; ".join(
                    f"{w} ({', '.join(f'{r.name} {row[r.name]}' for r in judged)})"
                    for w, row in differing.set_index("where").iterrows()
                )
                + "."
            )
    notes = [line for r in results for line in r.diagnostics]
    if notes:
        out += [
            "",
            "What the data show about the settings behind the verdicts:",
            "",
            *[f"- {n}" for n in notes],
        ]
    keys_differing = [
        k for k in results[0].settings if len({r.settings.get(k) for r in results}) > 1
    ]
    if keys_differing:
        out += [
            "",
            "Settings that differ between the protocols (each can be set alone with its `initsens "
            "train` option; `initsens presets` explains every value):",
            "",
            "| setting | " + " | ".join(r.name for r in results) + " |",
            "|---|" + "---|" * len(results),
            *[
                f"| `{k}` | " + " | ".join(str(r.settings.get(k, "")) for r in results) + " |"
                for k in keys_differing
            ],
            "",
        ]
    return out


#: Where the null checks' verdicts (``scripts/permuted_null.py``) are kept, beside the report's
#: other tables.
NULL_TABLE = "nulls.csv"


def null_cell(row: pd.Series, fixed: bool = False) -> str:
    """One claim's false contradictions in one null: count, rate and exact 95% interval, ▲ above 5%,
    ‡ a count of the failures the null keeps (``failures_effect`` of
    :func:`~initsens.reproduction.nulls.null_counts`), † fixed.
    """
    text = (
        f"{int(row['false'])} ({100 * row['rate']:.1f}% [{100 * row['low']:.1f}, "
        f"{100 * row['high']:.1f}])"
    )
    above = row["above"] and not fixed  # a count that repeats the real verdict is no error rate
    marks = (" ▲" if above else "") + (" ‡" if row.get("failures_effect", False) else "")
    return text + marks + (" †" if fixed else "")


def null_section(
    null: pd.DataFrame,
    results: Sequence[StudyResult],
    history: dict[str, pd.DataFrame] | None = None,
) -> list[str]:
    """How often each claim comes out contradicted in worlds where the initializer does not matter
    (the permuted and centred nulls of ``scripts/permuted_null.py``: the rules' false-contradiction
    rate on data shaped like these), per rules version, null and protocol, with exact intervals and
    the binomial test against 5%; a protocol whose judged runs changed since says so. ``history``:
    the verdicts earlier versions gave (for †).
    """
    if not len(null):
        return []
    judged = {r.name: r for r in results if r.judged}
    counts = null_counts(null)
    all_worlds = with_defaults(null)
    lines = [
        "### The rules where the initializer does not matter\n",
        "`scripts/permuted_null.py` judges each protocol's judged runs (its own reading of the "
        "default) again in worlds where no initializer is better. **permuted** shuffles the "
        "initializer labels among the runs of each seed within each cell (spreads pooled). "
        "**normal** draws each initializer's finished runs from a normal with the cell's common "
        "centre and the initializer's own SD (spreads kept, 60-200-fold apart in these runs). "
        "**centred** moves each initializer's finished runs to the cell's common centre and "
        "resamples them whole (spreads and shapes kept); a bootstrap world of ten values is "
        "harsher than the data, since exact tests reject 2-80 times their level there "
        "(`scripts/trimmed_tail.py`), so its counts are upper bounds, not error rates. A "
        "contradiction is an error of the rules on data shaped like these, except one decided by "
        "failure counts where failures are kept (normal, centred; P2 and P3 say which decided, "
        f"and only those by centres count). `{NULL_TABLE}` beside the claims table keeps every "
        "verdict. Each cell: false contradictions (rate, exact 95% interval); ▲ where the rate is "
        "significantly above 5% (exact one-sided binomial test at 5%); † where every world gave "
        "the verdict the real runs get, so the count repeats the real verdict and is no error "
        "rate (E2 correlates loss and ARI within each seed's runs, which the permuted null keeps "
        "together; a claim not testable for want of a model's runs stays so); ‡ where the null "
        "keeps failures and the claim's rule counts them against their initializer (P1 and P4 "
        "rank failed runs last, E1 scores them 0): the count measures that real effect, not an "
        "error rate.\n",
    ]
    versions = [v.version for v in RULES_HISTORY if v.version in set(counts["rules"])]
    for version in reversed(versions):
        in_force = version == RULES_HISTORY[-1].version
        lines += [
            f"Rules {version}{' (in force)' if in_force else ''}:\n",
            "| protocol | null | runs | worlds | " + " | ".join(CLAIMS) + " |",
            "|---|---|---|---|" + "---|" * len(CLAIMS),
        ]
        frame = all_worlds[all_worlds["rules"] == version]
        for (kind, protocol), counted in counts[counts["rules"] == version].groupby(
            ["null", "protocol"], sort=False
        ):
            worlds = frame[(frame["null"] == kind) & (frame["protocol"] == protocol)]
            runs = int(worlds["runs"].iloc[0])
            result = judged.get(str(protocol))
            own = (
                len(result.runs[result.runs["initializer"] != _other_reading(result)])
                if result is not None
                else None
            )
            stale = f" (judged now: {own})" if own is not None and own != runs else ""
            verdicts = worlds.groupby("claim")["verdict"].agg(set)
            rows = counted.set_index("claim")
            cells = []
            for key in CLAIMS:
                if key not in rows.index or (result is not None and result.waits_for(key)):
                    cells.append("–")
                    continue
                real = (
                    result.verdict(key)
                    if in_force and result is not None
                    else verdict_in(history or {}, version, str(protocol), key)
                )
                cells.append(null_cell(rows.loc[key], verdicts.get(key, set()) == {real}))
            lines.append(
                f"| {protocol} | {kind} | {runs}{stale} | {int(counted['worlds'].max())} | "
                + " | ".join(cells)
                + " |"
            )
        lines.append("")
    return lines


def verdict_in(
    history: dict[str, pd.DataFrame], version: str, study: str, claim: str
) -> str | None:
    """The verdict rules ``version`` gave ``claim`` for ``study`` (verdict check, source's scope),
    from the history kept beside the report; None when it is not there.
    """
    frame = history.get(version, pd.DataFrame())
    if not len(frame) or "check" not in frame.columns:
        return None
    row = frame[
        (frame["study"] == study)
        & (frame["claim"] == claim)
        & (frame["check"] == "verdict")
        & (frame["scope"] == "source")
    ]
    return str(row["verdict"].iloc[0]) if len(row) else None


def _other_reading(result: StudyResult) -> str:
    """The reading of "the default" that is not the study's own."""
    return next(r for r in DEFAULT_READINGS if r != result.study.default)


def history_section(history: dict[str, pd.DataFrame], results: Sequence[StudyResult]) -> list[str]:
    """The rules' versions (date, commit, what changed, what each judged before the next existed)
    and, per study and claim, the verdict each version gave (the earlier ones as they judged, from
    ``history/``).
    """
    lines = [
        "## The rules' history\n",
        "A rule changed after real results were judged is a new version; the verdicts each "
        "version gave stay shown. Versions (the last is in force):\n",
        "| version | fixed | commit | what it changed | judged before the next version existed |",
        "|---|---|---|---|---|",
        *[
            f"| {v.version} | {v.date} | `{v.commit}` | {v.changes} | {v.judged} |"
            for v in RULES_HISTORY
        ],
        "",
    ]
    now = {(r.name, key): r.verdict(key) for r in results if r.judged for key in CLAIMS}
    columns: dict[str, dict[tuple[str, str], str]] = {}
    for version, frame in history.items():
        study = "study" if "study" in frame.columns else "protocol"
        if "check" in frame.columns:
            frame = frame[(frame["check"] == PRIMARY) & (frame["scope"] == SOURCE)]
        columns[version] = {
            (str(r[study]), str(r["claim"])): str(r["verdict"]) for _, r in frame.iterrows()
        }
    columns[RULES_VERSION] = now
    keys = sorted(
        {k for c in columns.values() for k in c if k[0] in {r.name for r in results}},
        key=lambda k: ([r.name for r in results].index(k[0]), list(CLAIMS).index(k[1])),
    )
    if keys and len(columns) > 1:
        versions = list(columns)
        lines += [
            "Verdicts by version (claim's metric and source's scope where the version had them; "
            "v1 judged every claim on val_nelbo over every cell; – where a version did not judge "
            "that study):\n",
            "| study | claim | " + " | ".join(versions) + " |",
            "|---|---|" + "---|" * len(versions),
        ]
        for study, key in keys:
            cells = [columns[v].get((study, key), "") or "–" for v in versions]
            moved = " (changed)" if len({c for c in cells if c != "–"}) > 1 else ""
            lines.append(f"| {study} | {key}{moved} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def scale_section(results: Sequence[StudyResult]) -> list[str]:
    """The original code at the original data's scale: its phases, what its runs learned, and what a
    247-sample stand-in for the 8,850-sample matrix can and cannot show.
    """
    found = [r for r in results if r.name == ORIGINAL_SCALE]
    if not found:
        return []
    r = found[0]
    lines = [
        "## The original code at the original data's scale, on the poster's whole grid\n",
        f"`{ORIGINAL_SCALE}` is the original protocol with the two formulas that depend on the "
        f"data's size set for the Pan-Cancer matrix (KL weight M_N = 64/{PANCAN_TRAIN:,}, epochs "
        f"of {PANCAN_EPOCH_STEPS} optimizer steps): the ladder's rung (c), where the latent code "
        "opens, on the four models x five initializers x depths 1 and 2 x z-score and min-max x "
        "10 seeds. Its grid and training order were fixed in "
        f"`initsens.reproduction.studies.PHASES` at commit `{SCALE_FIXED_AT}`, before its first "
        "new run was trained (rung (c)'s 100 runs are its own: same run ids, same folder); each "
        "phase is judged once it and every phase before it are complete, and a claim waiting for "
        "a later phase says so.\n",
        "| phase | runs trained | judged |",
        "|---|---|---|",
        *[
            f"| {p.phase.label} | {p.trained} of {p.expected} | {'yes' if p.judged else 'not yet'} "
            "|"
            for p in r.phases
        ],
        "",
    ]
    ok = r.runs[r.runs["status"] == OK] if len(r.runs) else r.runs
    if len(ok) and {"val_kl", "ari"} <= set(ok.columns):
        med = ok.groupby("model")[["val_kl", "ari"]].median()
        lines.append(
            "Judged runs, median validation KL (nats) / median ARI per model: "
            + "; ".join(f"{m} {row.val_kl:.3g} / {row.ari:.2f}" for m, row in med.iterrows())
            + ".\n"
        )
    steps = PANCAN_EPOCH_STEPS * 64
    lines.append(
        "What a 247-sample stand-in can and cannot show. tcga5's training split has 247 samples "
        f"of five cancer types; the Pan-Cancer matrix's had about {PANCAN_TRAIN:,} of 33. With "
        f'epochs of {PANCAN_EPOCH_STEPS} steps of 64, every "epoch" here passes over the same '
        f"247 samples about {steps / 247:.0f} times ({steps:,} / 247), so early stopping's "
        f"patience of 3 epochs spans about {3 * PANCAN_EPOCH_STEPS} steps on data the model has "
        "seen many times over: the objective and the optimizer's schedule are the original ones, "
        "the data are not. These runs can show how the initializers and models behave under the "
        "original objective once its posterior opens; they cannot show behaviour on 8,850 "
        "distinct samples (less memorisation) or on 33 cancer types. Five very distinct cohorts "
        "cluster far more easily than 33: the ARIs here (0.85 median in rung (c)) are not "
        "comparable in level with the paper's (its Figure 4C: median ARI near 0.6); comparisons "
        "between initializers and models within this grid are what it offers.\n"
    )
    return lines


def methods(results: Sequence[StudyResult], context: Context) -> list[str]:
    """How each study was trained and judged, where the tables are, and the versions."""

    def line(r: StudyResult) -> str:
        runs = r.runs
        status = runs["status"].value_counts() if len(runs) else pd.Series(dtype=int)
        devices = (
            ", ".join(sorted(runs["device"].astype(str).unique()))
            if "device" in runs and len(runs)
            else "–"
        )
        capped = int((runs["stopped"] == CAP).sum()) if "stopped" in runs else 0
        link = f"; full analysis: [{r.report}]({r.report})" if r.report else ""
        counts = ", ".join(f"{int(status.get(s, 0))} {s}" for s in STATUSES)
        judged = (
            f"{counts} judged; {capped} reached the epoch cap), on {devices}"
            if len(runs)
            else "none judged yet: a phase is judged once it and every phase before it are "
            "complete)"
        )
        return (
            f"- **{r.name}** ({r.study.kind}): {r.progress()} ({judged}, "
            f"{context.wall.get(r.name, float('nan')) / 60:.1f} min of ensemble time; "
            '"the default" read as '
            f"`{r.study.default}`{link}"
        )

    return [
        "",
        "## Methods and reproducibility\n",
        f"Command: `{context.command}`\n",
        "Training: `initsens train` per study, into `<out>/<protocol>/`, "
        "`<out>/ablations/<name>/` and `<out>/ladder/<rung>/` (resumable). Claims: "
        "`initsens.reproduction.claims` (rules tested on made-up tables with known verdicts in "
        "`tests/test_claims.py`, error rates simulated in `tests/test_claims_error_rates.py`). "
        "Each protocol's and ablation's full `initsens analyze` report of its own loss is linked "
        'below (both readings of "the default" where both were trained).\n',
        *[line(r) for r in results],
        "",
        f"Data: {context.data.get('name', '')}, content sha256 "
        f"`{context.data.get('sha256', '')}`.\n",
        f"Tables: `{context.tables_dir}/claims.parquet` (every verdict: claim, study, check, "
        f"scope), `{context.tables_dir}/evidence.parquet` (every sub-result) and "
        f"`{context.tables_dir}/ladder.parquet` (the ladder's table).\n",
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in context.versions.items())
        + f", Python {platform.python_version()}.\n",
    ]
