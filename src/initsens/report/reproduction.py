"""The reproduction report: the original study's claims, a verdict per claim and protocol, and the evidence.

Layout: the claims table first (one row per claim and protocol), the decision rules stated once before
it, then one section per claim with its sub-results and a forest plot, "Where the protocols disagree",
and Methods/Reproducibility. Beside the report: ``<name>/figures/claim_*.png``,
``<name>/tables/{claims,evidence}.parquet`` and each protocol's full ``initsens analyze`` report.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from initsens.analysis.claims import (  # noqa: E402
    CLAIMS,
    CONTRADICTED,
    NEGLIGIBLE_SHARE,
    SUPPORTED,
    UNRESOLVED,
    WEAK_RHO,
)
from initsens.atomic import atomic_path  # noqa: E402
from initsens.report.markdown import fmt, table  # noqa: E402

MARKERS = {SUPPORTED: "o", CONTRADICTED: "X", UNRESOLVED: "s"}
#: Claims whose statistic is unbounded (a difference of losses): their axis may switch to symlog.
UNBOUNDED = ("P2", "P3")
#: The decision threshold drawn on each claim's forest plot.
THRESHOLDS = {"P1": 0.0, "P2": 0.0, "P3": 0.0, "P4": NEGLIGIBLE_SHARE, "E1": 0.0, "E2": -WEAK_RHO}
AXIS = {"P1": "Δ sensitivity index: VanillaVAE − largest other model (> 0 supports)",
        "P2": "Δ val_nelbo: best other − worst claimed initializer (> 0 supports)",
        "P3": "Δ val_nelbo: best other − worst claimed initializer (> 0 supports)",
        "P4": f"η² of initializer × normalization (< {NEGLIGIBLE_SHARE} supports)",
        "E1": "mean paired ARI difference, uniform − closest other (< 0 supports)",
        "E2": f"Spearman ρ(val_nelbo, ARI) (> −{WEAK_RHO} supports)"}


@dataclass
class ProtocolResult:
    """One protocol's share of the reproduction: its runs, claim evidence and verdicts, and provenance."""

    name: str
    runs: pd.DataFrame
    evidence: pd.DataFrame
    verdicts: pd.DataFrame
    report: str  # relative link to the protocol's full analysis report
    settings: dict[str, str] = field(default_factory=dict)
    diagnostics: list[str] = field(default_factory=list)


def claims_table(results: Sequence[ProtocolResult]) -> pd.DataFrame:
    """One row per claim and protocol (the report's first table, also written as Parquet)."""
    rows = []
    for key in CLAIMS:
        for result in results:
            row = result.verdicts[result.verdicts["claim"] == key].iloc[0].to_dict()
            rows.append({"claim": key, "protocol": result.name, **{k: v for k, v in row.items() if k != "claim"}})
    return pd.DataFrame(rows)


def forest_plot(key: str, results: Sequence[ProtocolResult], dest: Path) -> Path:
    """Each sub-result's estimate and 95% CI, one colour per protocol, marker by verdict, threshold line."""
    frames = [r.evidence[r.evidence["claim"] == key].assign(protocol=r.name) for r in results]
    data = pd.concat(frames, ignore_index=True)
    labels = list(dict.fromkeys(data["where"]))
    height = max(2.5, 0.32 * len(labels) * len(results) + 1.2)
    fig, ax = plt.subplots(figsize=(8.5, height))
    offsets = np.linspace(-0.22, 0.22, len(results)) if len(results) > 1 else [0.0]
    colors = plt.get_cmap("tab10").colors  # type: ignore[attr-defined]
    for (result, offset), color in zip(zip(results, offsets), colors):
        sub = data[data["protocol"] == result.name]
        for _, row in sub.iterrows():
            y = labels.index(row["where"]) + offset
            if np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]):
                ax.plot([row["ci_low"], row["ci_high"]], [y, y], color=color, lw=1.5)
            if np.isfinite(row["estimate"]):
                ax.plot(row["estimate"], y, MARKERS[row["verdict"]], color=color, ms=7)
            else:  # e.g. every run of the cell failed: say so where the point would be
                ax.plot(THRESHOLDS[key], y, MARKERS[row["verdict"]], color=color, ms=7, mfc="none")
                ax.annotate(" no estimate", (THRESHOLDS[key], y), fontsize=7, color=color, va="center")
        ax.plot([], [], "-", color=color, label=result.name)
    for verdict, marker in MARKERS.items():
        ax.plot([], [], marker, color="grey", label=verdict)
    ax.axvline(THRESHOLDS[key], color="black", lw=0.8, ls="--")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(AXIS[key], fontsize=9)
    values = data[["estimate", "ci_low", "ci_high"]].to_numpy(np.float64)
    values = values[np.isfinite(values)]
    if key in UNBOUNDED and values.size and np.abs(values).max() > 100 * max(np.median(np.abs(values)), 1e-12):
        ax.set_xscale("symlog", linthresh=max(np.median(np.abs(values)), 1e-12))
    ax.set_title(f"{key}: {CLAIMS[key].text}", fontsize=9, wrap=True)
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="x", alpha=0.3)
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return dest


def _verdict(word: str) -> str:
    return f"**{word}**"


def _claims_overview(results: Sequence[ProtocolResult]) -> str:
    frame = claims_table(results)
    lines = ["| claim | protocol | metric | estimate [95% CI] (deciding sub-result) | sub-results: supported / "
             "contradicted / unresolved | verdict |", "|---|---|---|---|---|---|"]
    shown = set()
    for _, row in frame.iterrows():
        claim = CLAIMS[row["claim"]]
        estimate = (f"{fmt(row['estimate'], 3)} [{fmt(row['ci_low'], 3)}, {fmt(row['ci_high'], 3)}]"
                    + (f" ({row['where']})" if row["where"] else ""))
        first = row["claim"] not in shown
        shown.add(row["claim"])
        name = f"[**{row['claim']}**](#{row['claim'].lower()}) {claim.text}" if first else ""
        lines.append(f"| {name} | {row['protocol']} | `{claim.metric}` | {estimate} | {row['n_supported']} / "
                     f"{row['n_contradicted']} / {row['n_unresolved']} | {_verdict(row['verdict'])} |")
    return "\n".join(lines) + "\n"


def _claim_section(key: str, results: Sequence[ProtocolResult], figure: str) -> list[str]:
    claim = CLAIMS[key]
    out = [f"### {key}\n", f"**{claim.text}** Source: the {claim.source}. Metric: `{claim.metric}`. Statistic: "
           f"{claim.statistic}. Rule: {claim.rule}\n"]
    for result in results:
        row = result.verdicts[result.verdicts["claim"] == key].iloc[0]
        out.append(f"**{result.name}: {row['verdict']}** ({row['n_supported']} supported, {row['n_contradicted']} "
                   f"contradicted, {row['n_unresolved']} unresolved).\n")
        sub = result.evidence[result.evidence["claim"] == key]
        out.append(table(sub, {"where": "where", "estimate": "estimate", "ci_low": "CI low", "ci_high": "CI high",
                               "verdict": "verdict", "detail": "evidence"}))
    out.append(f"![{key}]({figure})\n")
    return out


def _disagreements(results: Sequence[ProtocolResult]) -> list[str]:
    frame = claims_table(results)
    split = frame.groupby("claim")["verdict"].nunique()
    keys = [k for k in CLAIMS if split.get(k, 1) > 1]
    out = ["## Where the protocols disagree\n"]
    if not keys:
        out.append("The two protocols reach the same verdict on every claim.\n")
    for key in keys:
        verdicts = ", ".join(f"{r.name}: {frame[(frame.claim == key) & (frame.protocol == r.name)].verdict.iloc[0]}"
                             for r in results)
        out.append(f"- **{key}** ({verdicts}).")
        merged: pd.DataFrame | None = None
        for r in results:
            sub = r.evidence[r.evidence["claim"] == key][["where", "verdict"]].rename(columns={"verdict": r.name})
            merged = sub if merged is None else merged.merge(sub, on="where", how="outer")
        assert merged is not None
        differing = merged[merged[[r.name for r in results]].nunique(axis=1) > 1]
        if len(differing):
            out.append("  Sub-results that differ: " + "; ".join(
                f"{w} ({', '.join(f'{r.name} {row[r.name]}' for r in results)})"
                for w, row in differing.set_index("where").iterrows()) + ".")
    notes = [line for r in results for line in r.diagnostics]
    if notes:
        out += ["", "What the data show about the settings behind the differences:", "", *[f"- {n}" for n in notes]]
    differing_settings = _setting_differences(results)
    if differing_settings:
        out += ["", "Settings that differ between the protocols (each can be set alone with its `initsens train` "
                "option; `initsens presets` explains every value):", "", differing_settings]
    return out


def _setting_differences(results: Sequence[ProtocolResult]) -> str:
    keys = [k for k in results[0].settings if len({r.settings.get(k) for r in results}) > 1]
    if not keys:
        return ""
    lines = ["| setting | " + " | ".join(r.name for r in results) + " |", "|---|" + "---|" * len(results)]
    lines += [f"| `{k}` | " + " | ".join(str(r.settings.get(k, "")) for r in results) + " |" for k in keys]
    return "\n".join(lines) + "\n"


def render(results: Sequence[ProtocolResult], figures: dict[str, str], tables_dir: str, command: str,
           versions: dict[str, str], data: dict[str, str], wall: dict[str, float], alpha: float,
           ablations: Sequence[ProtocolResult] = ()) -> str:
    """The reproduction report as Markdown."""
    lines = ["# Do the original study's conclusions about initialization hold?\n",
             f"_Generated by `{command}`. Protocols: {', '.join(r.name for r in results)}; data "
             f"{data.get('name', '')}._\n",
             "The study (elTager's poster \"The Effect of Different Initialization Methods on VAEs for Modeling Cancer "
             "using RNA Genome Expressions\" and Eltager et al., PLoS One 2023) made the claims below. Each is "
             "re-tested under the original protocol **as its code executed** (`eltager2023`) and under initsens's "
             "corrected one (`initsens`); `initsens presets` lists every setting of both.\n",
             "## Decision rules (stated before the results)\n",
             "Each claim is split into sub-results (one per cell, or per depth and index for P1); each sub-result "
             "is judged by the rule below, and a claim is **contradicted** if any of its sub-results contradicts "
             "it, **supported** if all of them support it, and **unresolved** otherwise. Support needs every "
             "sub-result at the 95% level (an intersection-union test); contradiction needs one sub-result at the "
             f"Bonferroni level α/m (α = {alpha}, m = the claim's number of sub-results), so that a true claim is "
             "called contradicted with probability at most α. Diverged or failed runs count against their "
             "initializer: in P2–P4 an initializer that fails significantly more often than another is "
             "significantly worse than it (Fisher's exact test); in E1 a failed run's ARI is 0 (chance). \"The "
             "default\" is the law each protocol ran under that name: `kaiming_uniform` (U(±√(6/fan_in))) under "
             "eltager2023, nn.Linear's `default` (U(±1/√fan_in)) under initsens. P1–P4 use `val_nelbo`, one "
             "definition for every model and both protocols, so a verdict cannot change because the protocols "
             "define their own losses differently.\n",
             *[f"- **{k}** ({c.metric}): {c.rule}" for k, c in CLAIMS.items()], "",
             "## Claims and verdicts\n", _claims_overview(results),
             "The estimate shown is that of the deciding sub-result: the one with the smallest margin among "
             "those sharing the claim's verdict (its cell in brackets).\n",
             "## Evidence per claim\n"]
    for key in CLAIMS:
        lines += _claim_section(key, results, figures[key])
    lines += _disagreements(results)
    if ablations:
        lines += ["", "### Ablations\n", "Each ablation retrains one protocol with the settings in its name changed "
                  "(`initsens reproduce --ablation PRESET:KEY=VALUE`) and is judged by the same rules; the lines "
                  "above comparing it with its base protocol show what those settings do. Its verdicts:\n",
                  _claims_overview(ablations)]
    lines += ["", "## Methods and reproducibility\n",
              f"Command: `{command}`\n",
              "Training: `initsens train --config PROTOCOL` per protocol, into `<out>/<protocol>/` (resumable). "
              "Analysis: `initsens analyze` on `val_nelbo` per protocol; the full reports are linked below. "
              "Claims: `initsens.analysis.claims` (rules tested on made-up tables with known verdicts in "
              "`tests/test_claims.py`).\n",
              *[f"- **{r.name}**: {len(r.runs)} runs ({int((r.runs['status'] == 'ok').sum())} ok, "
                f"{int((r.runs['status'] == 'diverged').sum())} diverged, {int((r.runs['status'] == 'failed').sum())} "
                f"failed; {int((r.runs.get('stopped', pd.Series(dtype=str)) == 'cap').sum())} reached the epoch cap), "
                f"trained on {', '.join(sorted(r.runs['device'].astype(str).unique())) if 'device' in r.runs else '?'} "
                f"in {wall.get(r.name, float('nan')) / 60:.1f} min of ensemble time; "
                f"full analysis: [{r.report}]({r.report})"
                for r in [*results, *ablations]], "",
              f"Data: {data.get('name', '')}, content sha256 `{data.get('sha256', '')}`.\n",
              f"Tables: `{tables_dir}/claims.parquet` (this page's first table) and `{tables_dir}/evidence.parquet` "
              "(every sub-result).\n",
              "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())
              + f", Python {platform.python_version()}.\n"]
    return "\n".join(lines)
