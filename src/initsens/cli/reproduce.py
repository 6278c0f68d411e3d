"""``initsens reproduce``: train the original study's grid under each protocol and judge its
claims.
"""

from __future__ import annotations

import inspect
import shlex
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from initsens.cli.display import INTERRUPTED, RichObserver, console, report_summary
from initsens.cli.options import setting_option
from initsens.reproduction.studies import GRID
from initsens.settings import default, flag_and_help, shown

TRAINING = "Training (every protocol; the command line wins over presets)"
DATA = "Data (as for initsens train; the command line wins over presets)"
EACH = "each preset's"
#: The settings reproduce passes to every study, None unless given (the presets' values stand): each
#: with its ``--help`` panel and what the help shows as the default.
PASSED = {
    **{
        name: (DATA, EACH)
        for name in (
            "data",
            "labels",
            "label_column",
            "layer",
            "gene_column",
            "orientation",
            "impute",
            "drop_missing",
            "transform",
        )
    },
    "epochs": (TRAINING, EACH),
    "latent_dim": (TRAINING, "each preset's, per model"),
    **{
        name: (TRAINING, shown(default(name)))
        for name in ("top_genes", "hidden_dims", "device", "ensemble_size", "denormals")
    },
}


def _own(name: str, value: str, extra_help: str = "") -> Any:
    """An option of a setting with reproduce's own default (the original grid's); flag and help from
    the settings table.
    """
    flag, help_text = flag_and_help(name)
    return typer.Option(value, flag, help=help_text + extra_help)


def _study(
    repeats: int = typer.Option(
        GRID["repeats"], "--repeats", help="Seeds 0..repeats-1 per combination."
    ),
    protocols: str = typer.Option(
        "eltager2023,eltager2023-pancan,initsens",
        "--protocols",
        help="Presets to "
        "compare, comma-separated (see `initsens presets`; eltager2023-pancan trains in "
        "phases: z-score, min-max, then the other default).",
        show_default="eltager2023, eltager2023-pancan, initsens",
    ),
    depths: str = _own("depths", GRID["depths"]),
    normalizations: str = _own("normalizations", GRID["normalizations"], " P4 compares them."),
    ladder: bool = typer.Option(
        True,
        "--ladder/--no-ladder",
        help="Also train and judge the scale ladder: "
        "eltager2023 with its KL weight and step schedule at the original data's size "
        "(the rungs: README's scale ladder).",
    ),
    both_defaults: bool = typer.Option(
        True,
        "--both-defaults/--own-default",
        help="Also train each protocol with "
        "the other reading of the poster's 'default' (nn.Linear's law and "
        "kaiming_uniform, what the original code ran).",
    ),
    out: Path = typer.Option(
        Path("results/reproduction"),
        "--out",
        help="Results root: one folder per protocol, ablations/ and ladder/.",
    ),
    report: Path = typer.Option(
        Path("reports/reproduction.md"),
        "--report",
        help="The reproduction report; its "
        "figures, tables and each protocol's full analysis go in a folder of the same name.",
    ),
    ablation: list[str] | None = typer.Option(
        None,
        "--ablation",
        help="Also train and judge a protocol with "
        "settings changed: PRESET:KEY=VALUE, e.g. eltager2023:epochs=50 "
        "(repeatable; KEY=VALUE pairs separated by ';'; models=... "
        "restricts the models).",
    ),
) -> None:
    """What is reproduced, and where."""


def _work(
    quarantine: bool = typer.Option(
        False,
        "--quarantine",
        help="Set part files that cannot be read aside (in "
        "<out>/set-aside/) and retrain their runs, instead of stopping.",
    ),
    train: bool = typer.Option(
        True,
        "--train/--no-train",
        help="Train what is missing first (--no-train judges the results already in --out).",
    ),
    judge_claims: bool = typer.Option(
        True,
        "--judge/--no-judge",
        help="Analyze and write the report after training (--no-judge only trains).",
    ),
    n_boot: int = typer.Option(
        2000,
        "--n-boot",
        help="Bootstrap resamples of the full analyses (ω², P(better)); "
        "the claims use exact and t-based tests.",
    ),
    n_boot_icc: int = typer.Option(
        500, "--n-boot-icc", help="Parametric-bootstrap refits for the ICC's CI."
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the decision rules."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress display."),
) -> None:
    """How to train and judge, and what to show."""


def reproduce(**values: Any) -> None:
    """Re-test the original study's claims under its own protocol, initsens's and the scale ladder;
    write one report.
    """
    from initsens.api import reproduce as run_reproduction
    from initsens.reproduction.claims import CLAIMS

    quiet, train, judge_claims = (
        values.pop("quiet"),
        values.pop("train"),
        values.pop("judge_claims"),
    )
    ablations, protocols = values.pop("ablation") or [], values.pop("protocols")
    common = {k: v for k, v in values.items() if not (k in PASSED and v is None)} | {
        "protocols": [p.strip() for p in protocols.split(",") if p.strip()],
        "ablations": ablations,
    }
    judging = {k: common.pop(k) for k in ("alpha", "n_boot", "n_boot_icc", "seed")}

    def on_study(study: Any, plan: Any) -> None:
        part = (
            f"; {shown(plan.config.normalizations)}, {shown(plan.config.inits)}"
            if len(study.phases) > 1
            else ""
        )
        console.print(
            f"[bold]{study.name}[/] ({study.kind}{part}): {plan.total} runs into {study.folder}/"
        )
        for note in plan.notes:
            console.print(note)

    if train:
        with nullcontext() if quiet else RichObserver() as observer:
            try:
                run_reproduction(
                    **common,
                    **judging,
                    judge_claims=False,
                    observer=observer,
                    on_study=None if quiet else on_study,
                    on_trained=lambda study, summary: report_summary(summary, quiet, next_step=""),
                )
            except KeyboardInterrupt:  # the interrupted study said so, and what is saved
                raise typer.Exit(INTERRUPTED) from None
    if not judge_claims:
        return
    command = "initsens " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with nullcontext() if quiet else console.status("judging the claims") as status:
        progress = None if status is None else (lambda s: status.update(f"judging the claims: {s}"))
        result = run_reproduction(
            **common, **judging, train=False, on_step=progress, command=command
        )
    assert result is not None
    if quiet:
        print(result.report)
        return
    table = Table(
        title="Claims of the original study (verdict on the claim's metric and source's scope)"
    )
    table.add_column("study")
    for key in CLAIMS:
        table.add_column(key)
    for r in result.results:
        if r.judged:
            table.add_row(r.name, *(r.shown(key) for key in CLAIMS))
    console.print(table)
    for r in result.results:
        if not r.complete:
            console.print(
                f"{r.name}: {r.progress()} trained; "
                f"{r.judged_on() if r.judged else 'not judged yet'}"
            )
    console.print(f"Report: [bold]{result.report}[/]")


def _signature() -> inspect.Signature:
    """``reproduce``'s options: the data settings, what is reproduced, the training settings, then
    how.
    """
    study = list(inspect.signature(_study, eval_str=True).parameters.values())
    work = list(inspect.signature(_work, eval_str=True).parameters.values())
    data = [
        setting_option(name, shown_default=shown_default, panel=panel)
        for name, (panel, shown_default) in PASSED.items()
        if panel == DATA
    ]
    training = [
        setting_option(name, shown_default=shown_default, panel=panel)
        for name, (panel, shown_default) in PASSED.items()
        if panel == TRAINING
    ]
    return inspect.Signature(
        [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in (*data, *study, *training, *work)]
    )


reproduce.__signature__ = _signature()  # type: ignore[attr-defined]
