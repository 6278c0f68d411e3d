"""``initsens reproduce``: train the original study's grid under each protocol and judge its claims."""

from __future__ import annotations

import shlex
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from initsens.settings import default, flag_and_help, shown

console = Console()
TRAINING = "Training (passed to every protocol; command-line values win over the presets)"
DATA = "Data (as for initsens train; command-line values win over the presets)"


def _preset(name: str, panel: str = DATA, shown: str = "each preset's") -> Any:
    """An option that overrides the presets' value of a setting, None unless given; its flag and help come from
    the settings table, as `initsens train`'s do.
    """
    flag, help_text = flag_and_help(name)
    return typer.Option(None, flag, help=help_text, show_default=shown, rich_help_panel=panel)


def _own(name: str, value: str, extra_help: str = "") -> Any:
    """An option of a setting with reproduce's own default (the original grid's); flag and help from the settings
    table.
    """
    flag, help_text = flag_and_help(name)
    return typer.Option(value, flag, help=help_text + extra_help)


def reproduce(
    data: str | None = _preset("data"),
    labels: str | None = _preset("labels"),
    label_column: str | None = _preset("label_column"),
    layer: str | None = _preset("layer"),
    gene_column: str | None = _preset("gene_column"),
    orientation: str | None = _preset("orientation"),
    impute: str | None = _preset("impute"),
    drop_missing: str | None = _preset("drop_missing"),
    transform: str | None = _preset("transform"),
    repeats: int = typer.Option(10, "--repeats", help="Seeds 0..repeats-1 per combination."),
    protocols: str = typer.Option("eltager2023,eltager2023-pancan,initsens", "--protocols", help="Presets to "
                                  "compare, comma-separated (see `initsens presets`; eltager2023-pancan trains in "
                                  "phases: z-score, min-max, then the other default)."),
    depths: str = _own("depths", "1,2"),
    normalizations: str = _own("normalizations", "zscore,minmax", " P4 compares them."),
    ladder: bool = typer.Option(True, "--ladder/--no-ladder", help="Also train and judge the scale ladder: "
                                "eltager2023 with its KL weight and step schedule at the original data's size "
                                "(initsens.reproduction.studies.LADDER)."),
    both_defaults: bool = typer.Option(True, "--both-defaults/--own-default", help="Also train each protocol with "
                                       "the other reading of the poster's 'default' (nn.Linear's law and "
                                       "kaiming_uniform, what the original code ran)."),
    out: Path = typer.Option(Path("results/reproduction"), "--out", help="Results root: one folder per protocol, "
                             "ablations/ and ladder/."),
    report: Path = typer.Option(Path("reports/reproduction.md"), "--report", help="The reproduction report; its "
                                "figures, tables and each protocol's full analysis go in a folder of the same name."),
    epochs: int | None = _preset("epochs", TRAINING),
    top_genes: int | None = _preset("top_genes", TRAINING, shown(default("top_genes"))),
    hidden_dims: str | None = _preset("hidden_dims", TRAINING, shown(default("hidden_dims"))),
    latent_dim: int | None = _preset("latent_dim", TRAINING, "each preset's, per model"),
    device: str | None = _preset("device", TRAINING, shown(default("device"))),
    ensemble_size: int | None = _preset("ensemble_size", TRAINING, shown(default("ensemble_size"))),
    denormals: str | None = _preset("denormals", TRAINING, shown(default("denormals"))),
    ablation: list[str] | None = typer.Option(None, "--ablation", help="Also train and judge a protocol with "
                                                 "settings changed, e.g. eltager2023:clustering=kmeans (repeatable; "
                                                 "KEY=VALUE pairs separated by ';'; models=... restricts the models)."),
    quarantine: bool = typer.Option(False, "--quarantine", help="Move part files that cannot be read aside "
                                    "(renamed *.corrupt) and retrain their runs, instead of stopping."),
    train: bool = typer.Option(True, "--train/--no-train", help="Train what is missing first (--no-train judges "
                               "the results already in --out)."),
    judge_claims: bool = typer.Option(True, "--judge/--no-judge", help="Analyze and write the report after "
                                      "training (--no-judge only trains)."),
    n_boot: int = typer.Option(2000, "--n-boot", help="Bootstrap resamples of the full analyses (ω², P(better)); "
                               "the claims use exact and t-based tests."),
    n_boot_icc: int = typer.Option(500, "--n-boot-icc", help="Parametric-bootstrap refits for the ICC's CI."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the decision rules."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress display."),
) -> None:
    """Re-test the original study's claims under its own protocol, initsens's and the scale ladder; write one
    report.
    """
    from initsens.analysis.study import check_options
    from initsens.api import reproduce as run_reproduction
    from initsens.cli.train import RichObserver, report_summary
    from initsens.errors import InitsensError

    names = [p.strip() for p in protocols.split(",") if p.strip()]
    if not names:
        from initsens.training.presets import PRESETS

        raise InitsensError("--protocols is empty; choose from: " + ", ".join(PRESETS.names()))
    check_options(alpha, n_boot, n_boot_icc)  # before hours of training
    settings = {"data": data, "labels": labels, "label_column": label_column, "layer": layer,
                "gene_column": gene_column, "orientation": orientation, "impute": impute,
                "drop_missing": drop_missing, "transform": transform, "repeats": repeats, "depths": depths,
                "normalizations": normalizations, "epochs": epochs, "top_genes": top_genes,
                "hidden_dims": hidden_dims, "latent_dim": latent_dim, "device": device,
                "ensemble_size": ensemble_size, "denormals": denormals}
    common: dict[str, Any] = {"protocols": names, "out": out, "report": report, "ablations": ablation or [],
                              "ladder": ladder, "both_defaults": both_defaults,
                              **{k: v for k, v in settings.items() if v is not None}}

    from initsens.reproduction.studies import Ablation, plan_studies

    # every name and setting checked before any display (a bad one is one line, with no progress bar before it)
    plan_studies(names, {k: v for k, v in common.items() if k in settings}, out,
                 [Ablation.parse(spec) for spec in ablation or []], ladder, both_defaults)

    def on_study(study, plan) -> None:
        part = (f"; {shown(plan.config.normalizations)}, {shown(plan.config.inits)}" if len(study.phases) > 1
                else "")
        console.print(f"[bold]{study.name}[/] ({study.kind}{part}): {plan.total} runs into {study.folder}/")
        for note in plan.notes:
            console.print(note)

    if train:
        with nullcontext() if quiet else RichObserver() as observer:
            try:
                run_reproduction(**common, judge_claims=False, quarantine=quarantine, observer=observer,
                                 on_study=None if quiet else on_study,
                                 on_trained=lambda study, summary: report_summary(summary, quiet, next_step=""))
            except KeyboardInterrupt:  # the interrupted study said so, and what is saved
                from initsens.cli.train import INTERRUPTED

                raise typer.Exit(INTERRUPTED) from None
    if not judge_claims:
        return
    from initsens.reproduction.claims import CLAIMS

    command = "initsens " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with nullcontext() if quiet else console.status("judging the claims") as status:
        progress = None if status is None else (lambda s: status.update(f"judging the claims: {s}"))
        result = run_reproduction(**common, train=False, alpha=alpha, n_boot=n_boot, n_boot_icc=n_boot_icc,
                                  seed=seed, on_step=progress, command=command)
    assert result is not None
    if quiet:
        print(result.report)
        return
    judged = [r for r in result.results if r.judged]
    table = Table(title="Claims of the original study (verdict on the claim's metric and source's scope)")
    table.add_column("study")
    for key in CLAIMS:
        table.add_column(key)
    for r in judged:
        table.add_row(r.name, *(r.shown(key) for key in CLAIMS))
    console.print(table)
    for r in result.results:
        if not r.complete:
            state = r.judged_on() if r.judged else "not judged yet"
            console.print(f"{r.name}: {r.progress()} trained; {state}")
    console.print(f"Report: [bold]{result.report}[/]")
