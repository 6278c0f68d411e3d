"""The reproduction report: the original study's claims, a verdict per claim and study, and the evidence.

Layout: the decision rules (printed from :data:`initsens.analysis.claims.CLAIMS`, the one place they are
written), the claims table (verdict on the claim's metric and source's scope; val_nelbo, beyond the scope and
the other reading of "the default" as their own columns), what the exact tests can reach, the scale ladder
(table and dose-response figure), one section per claim with its sub-results and a forest plot, where the
protocols disagree, ablations, Methods. Beside the report: ``<name>/figures/*.png``,
``<name>/tables/{claims,evidence,ladder}.parquet`` and each protocol's full ``initsens analyze`` report.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from initsens.analysis.claims import (  # noqa: E402
    CLAIMS,
    CONTRADICTED,
    EXTRAPOLATION,
    NEGLIGIBLE_SHIFT,
    NELBO,
    NOT_TESTABLE,
    OTHER_DEFAULT,
    PRIMARY,
    RULES_HISTORY,
    RULES_PREAMBLE,
    RULES_VERSION,
    SOURCE,
    SUPPORTED,
    UNRESOLVED,
    WEAK_RHO,
)
from initsens.analysis.exact import min_sign_flip_p, seeds_for_level  # noqa: E402
from initsens.atomic import atomic_path  # noqa: E402
from initsens.report.markdown import fmt, table  # noqa: E402
from initsens.schema import CAP, OK, STATUSES  # noqa: E402
from initsens.studies import ORIGINAL_SCALE, PANCAN_EPOCH_STEPS, PANCAN_TRAIN, SCALE_FIXED_AT  # noqa: E402

if TYPE_CHECKING:
    from initsens.study_result import StudyResult

MARKERS = {SUPPORTED: "o", CONTRADICTED: "X", UNRESOLVED: "s", NOT_TESTABLE: "D"}
COLORS = {SUPPORTED: "tab:green", CONTRADICTED: "tab:red", UNRESOLVED: "tab:gray", NOT_TESTABLE: "lightgray"}
#: Claims whose statistic is unbounded (a difference of losses): their axis may switch to symlog.
UNBOUNDED = ("P2", "P3")
#: The decision thresholds drawn on each claim's forest plot (P4's band is ±NEGLIGIBLE_SHIFT).
THRESHOLDS = {"P1": (0.0,), "P2": (0.0,), "P3": (0.0,), "P4": (-NEGLIGIBLE_SHIFT, NEGLIGIBLE_SHIFT),
              "E1": (0.0,), "E2": (-WEAK_RHO,)}
AXIS = {"P1": "Δω²: VanillaVAE − closest other model (> 0 supports)",
        "P2": "Δ val_loss: best other − worst claimed initializer (> 0 supports)",
        "P3": "Δ val_loss: best other − worst claimed initializer (> 0 supports)",
        "P4": f"largest mean rank shift between normalizations (inside ±{NEGLIGIBLE_SHIFT} supports)",
        "E1": "mean paired ARI difference, uniform − closest other (< 0 supports)",
        "E2": f"Spearman ρ(val_loss, ARI) (> −{WEAK_RHO} supports)"}
#: The exact tests' smallest one-sided p at n seeds: E1's paired sign flips, P4's sign flips of whole seeds
#: (its statistic does not change when every sign flips, so it has half the patterns).
SMALLEST_P = {"E1": lambda n: min_sign_flip_p(n), "P4": lambda n: min_sign_flip_p(n - 1)}
EXTRA_SEEDS = {"E1": 0, "P4": 1}


@dataclass(frozen=True)
class Context:
    """What the report says about how it was made."""

    command: str
    versions: dict[str, str]
    data: dict[str, str]
    wall: dict[str, float]
    alpha: float
    tables_dir: str
    figures: dict[str, str]
    history: dict[str, pd.DataFrame] = field(default_factory=dict)  # version -> its claims table, as it judged


def _word(verdict: str) -> str:
    return f"**{verdict}**" if verdict else "–"


def forest_plot(key: str, results: Sequence[StudyResult], dest: Path) -> Path:
    """Each sub-result's estimate and 95% CI on the claim's metric, one colour per study, marker by verdict,
    threshold line(s); sub-results beyond the source's scope are marked † .
    """
    frames = [r.primary()[r.primary()["claim"] == key].assign(study=r.name) for r in results if len(r.evidence)]
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["where", "scope"])
    data["label"] = data["where"] + np.where(data["scope"] == EXTRAPOLATION, " †", "")
    labels = list(dict.fromkeys(data["label"])) or ["(no sub-results)"]
    height = max(2.5, 0.32 * len(labels) * max(len(results), 1) + 1.2)
    fig, ax = plt.subplots(figsize=(8.5, height))
    offsets = np.linspace(-0.22, 0.22, len(results)) if len(results) > 1 else [0.0]
    colors = plt.get_cmap("tab10").colors  # type: ignore[attr-defined]
    anchor = THRESHOLDS[key][0] if len(THRESHOLDS[key]) == 1 else 0.0
    for (result, offset), color in zip(zip(results, offsets), colors):
        for _, row in data[data["study"] == result.name].iterrows():
            y = labels.index(row["label"]) + offset
            if np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]):
                ax.plot([row["ci_low"], row["ci_high"]], [y, y], color=color, lw=1.5)
            if np.isfinite(row["estimate"]):
                ax.plot(row["estimate"], y, MARKERS[row["verdict"]], color=color, ms=7)
            else:  # not testable, or every run of the cell failed: say so where the point would be
                ax.plot(anchor, y, MARKERS[row["verdict"]], color=color, ms=7, mfc="none")
                ax.annotate(f" {row['verdict'] if row['verdict'] == NOT_TESTABLE else 'no estimate'}", (anchor, y),
                            fontsize=7, color=color, va="center")
        ax.plot([], [], "-", color=color, label=result.name)
    for verdict, marker in MARKERS.items():
        ax.plot([], [], marker, color="grey", label=verdict)
    for threshold in THRESHOLDS[key]:
        ax.axvline(threshold, color="black", lw=0.8, ls="--")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(AXIS[key] + " († beyond the source's scope)", fontsize=9)
    values = data[["estimate", "ci_low", "ci_high"]].to_numpy(np.float64) if len(data) else np.array([])
    values = values[np.isfinite(values)]
    if key in UNBOUNDED and values.size and np.abs(values).max() > 100 * max(np.median(np.abs(values)), 1e-12):
        ax.set_xscale("symlog", linthresh=max(np.median(np.abs(values)), 1e-12))
    ax.set_title(f"{key}: {CLAIMS[key].text}", fontsize=9, wrap=True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, dest)


def ladder_plot(ladder: pd.DataFrame, dest: Path) -> Path:
    """The dose-response: each claim's verdict (filled: the claim's metric; hollow: val_nelbo) and the runs' median
    validation KL and ARI against the training size the KL weight M_N = batch / N assumes; the step-schedule rungs
    (their own cells) join the right panel as triangles at their M_N's size.
    """
    own_steps = ladder["epoch_steps"] == ladder["epoch_steps"].min()
    dose, steps = ladder[own_steps].sort_values("n_train_mn"), ladder[~own_steps].sort_values("n_train_mn")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    keys = list(CLAIMS)
    for _, row in dose.iterrows():
        for i, key in enumerate(keys):
            for column, dy, fill in ((key, -0.12, True), (f"{key}_nelbo", 0.12, False)):
                verdict = row[column]
                if verdict:
                    left.plot(row["n_train_mn"], i + dy, MARKERS[verdict], color=COLORS[verdict], ms=8,
                              mfc=COLORS[verdict] if fill else "none")
    for verdict, marker in MARKERS.items():
        left.plot([], [], marker, color=COLORS[verdict], label=verdict)
    left.plot([], [], "o", color="black", mfc="none", label="hollow: on val_nelbo")
    left.set_yticks(range(len(keys)), keys)
    left.invert_yaxis()
    left.set_xscale("log")  # rungs' sizes are fixed in code: always positive
    left.set_xlabel("N_train behind the KL weight M_N = batch / N")
    left.set_title("Verdict per claim, KL rungs (untrained rungs left blank)", fontsize=9)
    left.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    right.plot(dose["n_train_mn"], dose["median_val_kl"], "o-", color="tab:blue", label="median validation KL")
    right.set_xscale("log")
    kl = pd.concat([dose["median_val_kl"], steps["median_val_kl"]]).to_numpy(np.float64)
    if np.any(np.isfinite(kl) & (kl > 0)):  # untrained rungs have no medians: a log axis needs one positive value
        right.set_yscale("log")
    right.set_ylabel("median validation KL (nats)", color="tab:blue")
    right.set_xlabel("N_train behind the KL weight M_N = batch / N")
    twin = right.twinx()
    twin.plot(dose["n_train_mn"], dose["median_ari"], "s--", color="tab:orange", label="median ARI")
    for n_steps, rungs in steps.groupby("epoch_steps"):  # untrained rungs have no medians: nothing drawn
        right.plot(rungs["n_train_mn"], rungs["median_val_kl"], "^", color="tab:blue", mfc="none", ms=9)
        twin.plot(rungs["n_train_mn"], rungs["median_ari"], "v", color="tab:orange", mfc="none", ms=9)
        right.plot([], [], "^", color="black", mfc="none", label=f"triangles: epochs of {n_steps} steps")
    if len(steps):
        right.legend(fontsize=7, loc="upper left")
    twin.set_ylim(-0.05, 1.0)
    twin.set_ylabel("median ARI", color="tab:orange")
    right.set_title("What the runs learned", fontsize=9)
    sizes = ladder["n_train_mn"].to_numpy(np.float64)
    for ax in (left, right):
        ax.set_xlim(sizes.min() / 1.5, sizes.max() * 1.5)  # a log axis needs limits even when nothing is drawn yet
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, dest)


def _save(fig, dest: Path) -> Path:
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return dest


def _rules(alpha: float) -> list[str]:
    lines = ["## Decision rules (stated before the results)\n", RULES_PREAMBLE + f" Here α = {alpha}.\n",
             "Columns of the claims table: **verdict** on the claim's own metric over its source's scope; "
             "**val_nelbo** the same sub-results on the common loss (the loss claims and E2); **beyond scope** the "
             "cells the source did not measure, as their own family; **other default** P2 and P3 with the other "
             "reading of \"the default\" standing for it (where both were trained).\n"]
    for key, claim in CLAIMS.items():
        lines.append(f"- **{key}** ({claim.source}; scope: {claim.scope.describe()}; metric `{claim.metric}`). "
                     f"Statistic: {claim.statistic}. Rule: {claim.rule}")
    return [*lines, ""]


def _row_for(result: StudyResult, key: str) -> str:
    v = result.verdicts
    hit = v[(v["claim"] == key) & (v["check"] == PRIMARY) & (v["scope"] == SOURCE)] if len(v) else v
    estimate, counts = "–", "–"
    if len(hit):
        row = hit.iloc[0]
        if row["where"]:
            estimate = (f"{fmt(row['estimate'], 3)} [{fmt(row['ci_low'], 3)}, {fmt(row['ci_high'], 3)}] "
                        f"({row['where']})")
        counts = " / ".join(str(row[f"n_{w.replace(' ', '_')}"]) for w in (SUPPORTED, CONTRADICTED, UNRESOLVED,
                                                                            NOT_TESTABLE))
    cells = [result.shown(key), *((result.shown(key, NELBO), result.shown(key, PRIMARY, EXTRAPOLATION),
                                   result.shown(key, OTHER_DEFAULT)) if result.judged else ("", "", ""))]
    words = [_word(c) if c.split(" ")[0] in VERDICT_WORDS or c == NOT_TESTABLE else (c or "–") for c in cells]
    return f"| {result.name} | {words[0]} | {estimate} | {counts} | {' | '.join(words[1:])} |"


VERDICT_WORDS = (SUPPORTED, CONTRADICTED, UNRESOLVED, NOT_TESTABLE)


def claims_overview(results: Sequence[StudyResult]) -> str:
    """The claims table: one block of rows per claim, one row per study (a study not judged yet shows how far it
    is trained; a claim waiting for a phase says which).
    """
    lines = ["| claim | study | verdict | estimate [95% CI] (deciding sub-result) | sub-results: supported / "
             "contradicted / unresolved / not testable | val_nelbo | beyond scope | other default |",
             "|---|---|---|---|---|---|---|---|"]
    for key, claim in CLAIMS.items():
        lines.append(f"| [**{key}**](#{key.lower()}) {claim.text} |  |  |  |  |  |  |  |")
        lines += [_row_for(r, key).replace("| ", "|  | ", 1) for r in results]
    return "\n".join(lines) + "\n"


def _not_testable(results: Sequence[StudyResult]) -> list[str]:
    out = []
    for r in results:
        if not len(r.verdicts):
            continue
        v = r.verdicts[(r.verdicts["check"] == PRIMARY) & (r.verdicts["scope"] == SOURCE)]
        for row in v.itertuples():
            if row.not_testable:
                total = sum(getattr(row, "n_" + w.replace(" ", "_")) for w in MARKERS)
                out.append(f"- {r.name}, {row.claim} ({row.n_not_testable} of {total} sub-results): "
                           f"{row.not_testable}.")
    return out


def reach(results: Sequence[StudyResult]) -> pd.DataFrame:
    """What the exact tests can reach: per study and claim judged by one (E1, P4) in the source's scope, the level
    a contradiction needs, the nonzero paired differences (seeds) the sub-results actually have (ties carry no
    sign), the smallest p the test can give with them, in how many sub-results a contradiction is reachable, and
    the nonzero differences it would need.
    """
    rows = []
    for r in results:
        ev = r.primary()
        if not len(ev) or "level" not in ev.columns:
            continue
        n = int(r.runs["seed"].nunique())
        for key, smallest in SMALLEST_P.items():
            column = "nonzero_max" if key == "E1" else "nonzero"
            sub = ev[(ev["claim"] == key) & (ev["scope"] == SOURCE) & ev["level"].notna()]
            if column in sub.columns:
                sub = sub[sub[column].notna()]
            if not len(sub) or column not in sub.columns:
                continue
            level = float(sub["level"].min())
            nonzero = sub[column].astype(int)
            reachable = int(sum(smallest(int(k)) <= level for k in nonzero))
            rows.append({"study": r.name, "claim": key, "check": PRIMARY, "seeds": n,
                         "nonzero": f"{nonzero.min()}–{nonzero.max()}" if nonzero.min() != nonzero.max()
                         else str(nonzero.min()), "level": level, "smallest_p": smallest(int(nonzero.max())),
                         "reachable": f"{reachable} of {len(sub)}",
                         "seeds_needed": seeds_for_level(level) + EXTRA_SEEDS[key]})
    return pd.DataFrame(rows)


def _ladder_section(ladder: pd.DataFrame, figure: str | None) -> list[str]:
    if not len(ladder):
        return []
    lines = ["## The original protocol at the original data's scale\n",
             "Two formulas of the original protocol depend on the data's size: the KL weight M_N = batch / N of the "
             "split, and the schedules (validation, early stopping, minimum length, learning-rate decay) counted "
             "in epochs. On tcga5 (247 training samples) they give M_N = 64/247 ≈ 0.26 and 3 optimizer steps per "
             "epoch; on the Pan-Cancer matrix the study trained on, about 0.0072 and 138. The ladder (fixed in "
             "`initsens.studies.LADDER` before any rung was trained) moves them: the KL weight alone for N_train = "
             "247, 1,000, 3,000 and 8,850 (the dose-response), (b) the step schedule alone and (c) both. KL rungs "
             "train the z-score cells; step-schedule rungs the paper's own cells (VanillaVAE and IWAE, depth 1), "
             "so P1 (which compares four models) and P4 (two normalizations) are not testable there. Each rung "
             "is judged on the claim's metric and, after the slash, on val_nelbo; a rung not completely trained "
             "shows how far it got and no verdict.\n"]
    header = ["rung", "N for M_N", "M_N (train)", "steps/epoch", "runs trained", "failed", "median epochs",
              "median steps", "median val KL", "median ARI", "median val recon MSE", *CLAIMS]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in ladder.iterrows():
        trained = f"{row['trained']} of {row['expected']}"
        verdicts = [f"{row[k + '_shown'] or '–'} / {row[k + '_nelbo'] or '–'}" if row[k] else "–" for k in CLAIMS]
        lines.append("| " + " | ".join([f"{row['rung']}: {row['label']}", f"{row['n_train_mn']:,}",
                                        fmt(row["mn_train"], 3), str(row["epoch_steps"]), trained, str(row["failed"]),
                                        fmt(row["median_epochs"], 3), fmt(row["median_steps"], 3),
                                        fmt(row["median_val_kl"], 3), fmt(row["median_ari"], 3),
                                        fmt(row["median_val_recon_mse"], 3), *verdicts]) + " |")
    pending = ladder[ladder["trained"] < ladder["expected"]]
    if len(pending):
        lines.append("\nNot completely trained yet: " + ", ".join(
            f"{r.rung} ({r.trained} of {r.expected} runs)" for r in pending.itertuples())
            + ". The same command resumes them where they stopped; the report then judges them.")
    if figure:
        lines.append(f"\n![the ladder's dose-response]({figure})\n")
    return lines


def _claim_section(key: str, results: Sequence[StudyResult], figure: str | None) -> list[str]:
    claim = CLAIMS[key]
    out = [f"### {key}\n", f"**{claim.text}** Source: the {claim.source} (scope: {claim.scope.describe()}). "
           f"Metric: `{claim.metric}`. Statistic: {claim.statistic}. Rule: {claim.rule}\n"]
    columns = {"where": "where", "scope": "scope", "estimate": "estimate", "ci_low": "CI low", "ci_high": "CI high",
               "verdict": "verdict", "detail": "evidence"}
    if key == "E2":  # the within-initializers reading, reported beside the verdict's (between initializers)
        columns = {**columns, "within_rho": "ρ within initializers", "within_verdict": "within: verdict"}
    for result in results:
        beyond = result.shown(key, scope=EXTRAPOLATION)
        out.append(f"**{result.name}: {result.shown(key) or '–'}**"
                   + (f" (beyond the source's scope: {beyond})" if beyond and result.judged else "")
                   + (f" ({result.judged_on()})" if result.judged and result.judged_on() else "") + ".\n")
        sub = result.primary()
        if len(sub) and result.verdict(key):
            out.append(table(sub[sub["claim"] == key], {k: v for k, v in columns.items() if k in sub.columns}))
    if figure:
        out.append(f"![{key}]({figure})\n")
    return out


def _disagreements(results: Sequence[StudyResult]) -> list[str]:
    out = ["## Where the protocols disagree\n"]
    keys = [k for k in CLAIMS if len({r.verdict(k) for r in results if r.verdict(k)}) > 1]
    if not keys:
        out.append("The protocols reach the same verdict on every claim they judge.\n")
    for key in keys:
        judged = [r for r in results if r.verdict(key)]  # a claim waiting for a phase is left out
        out.append(f"- **{key}** (" + ", ".join(f"{r.name}: {r.verdict(key)}" for r in judged) + ").")
        merged: pd.DataFrame | None = None
        for r in judged:
            sub = r.primary()
            sub = sub[(sub["claim"] == key) & (sub["scope"] == SOURCE)][["where", "verdict"]]
            sub = sub.rename(columns={"verdict": r.name})
            merged = sub if merged is None else merged.merge(sub, on="where", how="outer")
        assert merged is not None
        differing = merged[merged[[r.name for r in judged]].nunique(axis=1, dropna=False) > 1]
        if len(differing):
            out.append("  Sub-results in the source's scope that differ: " + "; ".join(
                f"{w} ({', '.join(f'{r.name} {row[r.name]}' for r in judged)})"
                for w, row in differing.set_index("where").iterrows()) + ".")
    notes = [line for r in results for line in r.diagnostics]
    if notes:
        out += ["", "What the data show about the settings behind the verdicts:", "", *[f"- {n}" for n in notes]]
    keys_differing = [k for k in results[0].settings if len({r.settings.get(k) for r in results}) > 1]
    if keys_differing:
        out += ["", "Settings that differ between the protocols (each can be set alone with its `initsens train` "
                "option; `initsens presets` explains every value):", "",
                "| setting | " + " | ".join(r.name for r in results) + " |", "|---|" + "---|" * len(results),
                *[f"| `{k}` | " + " | ".join(str(r.settings.get(k, "")) for r in results) + " |"
                  for k in keys_differing], ""]
    return out


def _history_section(history: dict[str, pd.DataFrame], results: Sequence[StudyResult]) -> list[str]:
    """The rules' versions (date, commit, what changed, what each judged before the next existed) and, per study
    and claim, the verdict each version gave (the earlier ones as they judged, from ``history/``).
    """
    lines = ["## The rules' history\n",
             "A rule changed after real results were judged is a new version; the verdicts each version gave stay "
             "shown. Versions (the last is in force):\n",
             "| version | fixed | commit | what it changed | judged before the next version existed |",
             "|---|---|---|---|---|",
             *[f"| {v.version} | {v.date} | `{v.commit}` | {v.changes} | {v.judged} |" for v in RULES_HISTORY], ""]
    now = {(r.name, key): r.verdict(key) for r in results if r.judged for key in CLAIMS}
    columns: dict[str, dict[tuple[str, str], str]] = {}
    for version, frame in history.items():
        study = "study" if "study" in frame.columns else "protocol"
        if "check" in frame.columns:
            frame = frame[(frame["check"] == PRIMARY) & (frame["scope"] == SOURCE)]
        columns[version] = {(str(r[study]), str(r["claim"])): str(r["verdict"]) for _, r in frame.iterrows()}
    columns[RULES_VERSION] = now
    keys = sorted({k for c in columns.values() for k in c if k[0] in {r.name for r in results}},
                  key=lambda k: ([r.name for r in results].index(k[0]), list(CLAIMS).index(k[1])))
    if keys and len(columns) > 1:
        versions = list(columns)
        lines += ["Verdicts by version (claim's metric and source's scope where the version had them; v1 judged "
                  "every claim on val_nelbo over every cell; – where a version did not judge that study):\n",
                  "| study | claim | " + " | ".join(versions) + " |", "|---|---|" + "---|" * len(versions)]
        for study, key in keys:
            cells = [columns[v].get((study, key), "") or "–" for v in versions]
            moved = " (changed)" if len({c for c in cells if c != "–"}) > 1 else ""
            lines.append(f"| {study} | {key}{moved} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _scale_section(results: Sequence[StudyResult]) -> list[str]:
    """The original code at the original data's scale: its phases, what its runs learned, and what a 247-sample
    stand-in for the 8,850-sample matrix can and cannot show.
    """
    found = [r for r in results if r.name == ORIGINAL_SCALE]
    if not found:
        return []
    r = found[0]
    lines = ["## The original code at the original data's scale, on the poster's whole grid\n",
             f"`{ORIGINAL_SCALE}` is the original protocol with the two formulas that depend on the data's size set "
             f"for the Pan-Cancer matrix (KL weight M_N = 64/{PANCAN_TRAIN:,}, epochs of {PANCAN_EPOCH_STEPS} "
             "optimizer steps): the ladder's rung (c), where the latent code opens, on the four models x five "
             "initializers x depths 1 and 2 x z-score and min-max x 10 seeds. Its grid and training order were "
             f"fixed in `initsens.studies.PHASES` at commit `{SCALE_FIXED_AT}`, before its first new run was trained "
             "(rung (c)'s 100 runs are its own: same run ids, same folder); each phase is judged once it and every "
             "phase before it are complete, and a claim waiting for a later phase says so.\n",
             "| phase | runs trained | judged |", "|---|---|---|",
             *[f"| {p.phase.label} | {p.trained} of {p.expected} | {'yes' if p.judged else 'not yet'} |"
               for p in r.phases], ""]
    ok = r.runs[r.runs["status"] == OK] if len(r.runs) else r.runs
    if len(ok) and {"val_kl", "ari"} <= set(ok.columns):
        med = ok.groupby("model")[["val_kl", "ari"]].median()
        lines.append("Judged runs, median validation KL (nats) / median ARI per model: " + "; ".join(
            f"{m} {row.val_kl:.3g} / {row.ari:.2f}" for m, row in med.iterrows()) + ".\n")
    steps = PANCAN_EPOCH_STEPS * 64
    lines.append(
        "What a 247-sample stand-in can and cannot show. tcga5's training split has 247 samples of five cancer "
        f"types; the Pan-Cancer matrix's had about {PANCAN_TRAIN:,} of 33. With epochs of {PANCAN_EPOCH_STEPS} steps "
        f"of 64, every \"epoch\" here passes over the same 247 samples about {steps / 247:.0f} times "
        f"({steps:,} / 247), so early stopping's patience of 3 epochs spans about {3 * PANCAN_EPOCH_STEPS} steps on "
        "data the model has seen many times over: the objective and the optimizer's schedule are the original "
        "ones, the data are not. These runs can show how the initializers and models behave under the original "
        "objective once its posterior opens; they cannot show behaviour on 8,850 distinct samples (less "
        "memorisation) or on 33 cancer types. Five very distinct cohorts cluster far more easily than 33: the "
        "ARIs here (0.85 median in rung (c)) are not comparable in level with the paper's (its Figure 4C: median "
        "ARI near 0.6); comparisons between initializers and models within this grid are what it offers.\n")
    return lines


def render(results: Sequence[StudyResult], ladder: pd.DataFrame, context: Context) -> str:
    """The reproduction report as Markdown."""
    protocols = [r for r in results if r.study.kind == "protocol"]
    ablations = [r for r in results if r.study.kind == "ablation"]
    judged = [r for r in results if len(r.verdicts)]
    lines = ["# Do the original study's conclusions about initialization hold?\n",
             f"_Generated by `{context.command}`. Protocols: {', '.join(r.name for r in protocols)}; data "
             f"{context.data.get('name', '')}._\n",
             "The study (elTager's poster \"The Effect of Different Initialization Methods on VAEs for Modeling Cancer "
             "using RNA Genome Expressions\" and Eltager et al., PLoS One 2023) made the claims below. Each is "
             "re-tested under the original protocol **as its code executed** (`eltager2023`), under the original "
             f"code at the original data's scale (`{ORIGINAL_SCALE}`), under initsens's corrected one (`initsens`), "
             "and along a ladder that moves the original protocol to the size of the data it was written for; "
             "`initsens presets` lists every setting.\n",
             *_rules(context.alpha),
             "## Claims and verdicts\n", claims_overview(protocols),
             "The estimate is the deciding sub-result's (the one with the smallest margin among those sharing the "
             "claim's verdict; its cell in brackets).\n"]
    missing = _not_testable(protocols)
    if missing:
        lines += ["Sub-results not testable (listed, and left out of the verdict):\n", *missing, ""]
    reached = reach(judged)
    if len(reached):
        lines += ["### What the exact tests can reach\n",
                  "An exact test at ten seeds has a smallest attainable p; where it lies above the Bonferroni level a "
                  "contradiction needs, the claim cannot be contradicted by these runs whatever they show.\n",
                  table(reached, {"study": "study", "claim": "claim", "seeds": "seeds",
                                  "nonzero": "nonzero differences (ties carry no sign)", "level": "level needed",
                                  "smallest_p": "smallest attainable p", "reachable": "sub-results that can reach it",
                                  "seeds_needed": "nonzero differences needed"})]
    lines += _scale_section(results)
    lines += _ladder_section(ladder, context.figures.get("ladder"))
    lines.append("## Evidence per claim\n")
    for key in CLAIMS:
        lines += _claim_section(key, protocols, context.figures.get(key))
    if [r for r in protocols if r.judged]:
        lines += _disagreements([r for r in protocols if r.judged])
    if ablations:
        lines += ["", "### Ablations\n", "Each ablation retrains one protocol with the settings in its name changed "
                  "(`initsens reproduce --ablation PRESET:KEY=VALUE`) and is judged by the same rules; the lines "
                  "above comparing it with its base protocol show what those settings do. Its verdicts:\n",
                  claims_overview(ablations)]
    lines += _history_section(context.history, [*protocols, *ablations, *[r for r in results if r.study.rung]])
    lines += _methods(results, context)
    return "\n".join(lines)


def _methods(results: Sequence[StudyResult], context: Context) -> list[str]:
    def line(r: StudyResult) -> str:
        runs = r.runs
        status = runs["status"].value_counts() if len(runs) else pd.Series(dtype=int)
        devices = ", ".join(sorted(runs["device"].astype(str).unique())) if "device" in runs and len(runs) else "–"
        capped = int((runs["stopped"] == CAP).sum()) if "stopped" in runs else 0
        link = f"; full analysis: [{r.report}]({r.report})" if r.report else ""
        counts = ", ".join(f"{int(status.get(s, 0))} {s}" for s in STATUSES)
        return (f"- **{r.name}** ({r.study.kind}): {r.progress()} ({counts} judged; {capped} reached "
                f"the epoch cap), on {devices}, {context.wall.get(r.name, float('nan')) / 60:.1f} min of ensemble "
                f"time; \"the default\" read as `{r.study.default}`{link}")

    return ["", "## Methods and reproducibility\n", f"Command: `{context.command}`\n",
            "Training: `initsens train` per study, into `<out>/<protocol>/`, `<out>/ablations/<name>/` and "
            "`<out>/ladder/<rung>/` (resumable). Claims: `initsens.analysis.claims` (rules tested on made-up tables "
            "with known verdicts in `tests/test_claims.py`, error rates simulated in "
            "`tests/test_claims_error_rates.py`). Each protocol's and ablation's full `initsens analyze` report of "
            "its own loss is linked below (both readings of \"the default\" where both were trained).\n",
            *[line(r) for r in results], "",
            f"Data: {context.data.get('name', '')}, content sha256 `{context.data.get('sha256', '')}`.\n",
            f"Tables: `{context.tables_dir}/claims.parquet` (every verdict: claim, study, check, scope), "
            f"`{context.tables_dir}/evidence.parquet` (every sub-result) and `{context.tables_dir}/ladder.parquet` "
            "(the ladder's table).\n",
            "Versions: " + ", ".join(f"{k} {v}" for k, v in context.versions.items())
            + f", Python {platform.python_version()}.\n"]
