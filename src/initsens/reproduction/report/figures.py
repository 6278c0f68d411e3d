"""The reproduction report's figures: each claim's forest plot and the scale ladder's
dose-response.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from initsens.atomic import atomic_path
from initsens.reproduction.claims import (
    CLAIMS,
    CONTRADICTED,
    EXTRAPOLATION,
    NOT_TESTABLE,
    SUPPORTED,
    UNRESOLVED,
)
from initsens.reproduction.result import named_alike

if TYPE_CHECKING:
    from initsens.reproduction.result import StudyResult

MARKERS = {SUPPORTED: "o", CONTRADICTED: "X", UNRESOLVED: "s", NOT_TESTABLE: "D"}
COLORS = {
    SUPPORTED: "tab:green",
    CONTRADICTED: "tab:red",
    UNRESOLVED: "tab:gray",
    NOT_TESTABLE: "lightgray",
}


def forest_plot(key: str, results: Sequence[StudyResult], dest: Path) -> Path:
    """Each sub-result's estimate and 95% CI on the claim's metric, one colour per study, marker by
    verdict, threshold line(s); sub-results beyond the source's scope are marked † .
    """
    frames = named_alike(
        [
            (r, r.primary()[r.primary()["claim"] == key].assign(study=r.name))
            for r in results
            if len(r.evidence)
        ]
    )
    data = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["where", "scope"])
    )
    data["label"] = data["where"] + np.where(data["scope"] == EXTRAPOLATION, " †", "")
    labels = list(dict.fromkeys(data["label"])) or ["(no sub-results)"]
    height = max(2.5, 0.32 * len(labels) * max(len(results), 1) + 1.2)
    fig, ax = plt.subplots(figsize=(8.5, height))
    offsets = np.linspace(-0.22, 0.22, len(results)) if len(results) > 1 else [0.0]
    colors = plt.get_cmap("tab10").colors  # type: ignore[attr-defined]
    figure = CLAIMS[key].figure
    anchor = figure.thresholds[0] if len(figure.thresholds) == 1 else 0.0
    for (result, offset), color in zip(zip(results, offsets), colors):
        for _, row in data[data["study"] == result.name].iterrows():
            y = labels.index(row["label"]) + offset
            if np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]):
                ax.plot([row["ci_low"], row["ci_high"]], [y, y], color=color, lw=1.5)
            if np.isfinite(row["estimate"]):
                ax.plot(row["estimate"], y, MARKERS[row["verdict"]], color=color, ms=7)
            else:  # not testable, or every run of the cell failed: say so where the point would be
                ax.plot(anchor, y, MARKERS[row["verdict"]], color=color, ms=7, mfc="none")
                ax.annotate(
                    f" {row['verdict'] if row['verdict'] == NOT_TESTABLE else 'no estimate'}",
                    (anchor, y),
                    fontsize=7,
                    color=color,
                    va="center",
                )
        why = (
            ""
            if (data["study"] == result.name).any()
            else f" ({result.shown(key) or 'no sub-results'})"
        )
        ax.plot(
            [], [], "-", color=color, label=result.name + why
        )  # no points: say why (e.g. not judged yet)
    for verdict, marker in MARKERS.items():
        ax.plot([], [], marker, color="grey", label=verdict)
    for threshold in figure.thresholds:
        ax.axvline(threshold, color="black", lw=0.8, ls="--")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(figure.axis + " († beyond the source's scope)", fontsize=9)
    values = (
        data[["estimate", "ci_low", "ci_high"]].to_numpy(np.float64) if len(data) else np.array([])
    )
    values = values[np.isfinite(values)]
    if (
        figure.unbounded
        and values.size
        and np.abs(values).max() > 100 * max(np.median(np.abs(values)), 1e-12)
    ):
        ax.set_xscale("symlog", linthresh=max(np.median(np.abs(values)), 1e-12))
    ax.set_title(f"{key}: {CLAIMS[key].text}", fontsize=9, wrap=True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, dest)


def ladder_plot(ladder: pd.DataFrame, dest: Path) -> Path:
    """The dose-response: each claim's verdict (filled: the claim's metric; hollow: val_nelbo) and
    the runs' median validation KL and ARI against the training size the KL weight M_N = batch / N
    assumes; the step-schedule rungs (their own cells) join the right panel as triangles at their
    M_N's size.
    """
    own_steps = ladder["epoch_steps"] == ladder["epoch_steps"].min()
    dose, steps = (
        ladder[own_steps].sort_values("n_train_mn"),
        ladder[~own_steps].sort_values("n_train_mn"),
    )
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    keys = list(CLAIMS)
    for _, row in dose.iterrows():
        for i, key in enumerate(keys):
            for column, dy, fill in ((key, -0.12, True), (f"{key}_nelbo", 0.12, False)):
                verdict = row[column]
                if verdict:
                    left.plot(
                        row["n_train_mn"],
                        i + dy,
                        MARKERS[verdict],
                        color=COLORS[verdict],
                        ms=8,
                        mfc=COLORS[verdict] if fill else "none",
                    )
    for verdict, marker in MARKERS.items():
        left.plot([], [], marker, color=COLORS[verdict], label=verdict)
    left.plot([], [], "o", color="black", mfc="none", label="hollow: on val_nelbo")
    left.set_yticks(range(len(keys)), keys)
    left.invert_yaxis()
    left.set_xscale("log")  # rungs' sizes are fixed in code: always positive
    left.set_xlabel("N_train behind the KL weight M_N = batch / N")
    left.set_title("Verdict per claim, KL rungs (untrained rungs left blank)", fontsize=9)
    left.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    right.plot(
        dose["n_train_mn"],
        dose["median_val_kl"],
        "o-",
        color="tab:blue",
        label="median validation KL",
    )
    right.set_xscale("log")
    kl = pd.concat([dose["median_val_kl"], steps["median_val_kl"]]).to_numpy(np.float64)
    if np.any(
        np.isfinite(kl) & (kl > 0)
    ):  # untrained rungs have no medians: a log axis needs one positive value
        right.set_yscale("log")
    right.set_ylabel("median validation KL (nats)", color="tab:blue")
    right.set_xlabel("N_train behind the KL weight M_N = batch / N")
    twin = right.twinx()
    twin.plot(dose["n_train_mn"], dose["median_ari"], "s--", color="tab:orange", label="median ARI")
    for n_steps, rungs in steps.groupby(
        "epoch_steps"
    ):  # untrained rungs have no medians: nothing drawn
        right.plot(
            rungs["n_train_mn"], rungs["median_val_kl"], "^", color="tab:blue", mfc="none", ms=9
        )
        twin.plot(
            rungs["n_train_mn"], rungs["median_ari"], "v", color="tab:orange", mfc="none", ms=9
        )
        right.plot(
            [], [], "^", color="black", mfc="none", label=f"triangles: epochs of {n_steps} steps"
        )
    if len(steps):
        right.legend(fontsize=7, loc="upper left")
    twin.set_ylim(-0.05, 1.0)
    twin.set_ylabel("median ARI", color="tab:orange")
    right.set_title("What the runs learned", fontsize=9)
    sizes = ladder["n_train_mn"].to_numpy(np.float64)
    for ax in (left, right):
        ax.set_xlim(
            sizes.min() / 1.5, sizes.max() * 1.5
        )  # a log axis needs limits even when nothing is drawn yet
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, dest)


def _save(fig, dest: Path) -> Path:
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return dest
