"""``initsens reproduce``: train the original study's grid under each protocol and judge its claims."""

from __future__ import annotations

import shlex
import sys
from contextlib import nullcontext
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
TRAINING = "Training (passed to every protocol; command-line values win over the presets)"


def reproduce(
    data: str = typer.Option("tcga5", "--data", help="Dataset name or matrix file (as for initsens train)."),
    repeats: int = typer.Option(10, "--repeats", help="Seeds 0..repeats-1 per combination."),
    protocols: str = typer.Option("eltager2023,initsens", "--protocols", help="Presets to compare, comma-separated "
                                  "(see `initsens presets`)."),
    depths: str = typer.Option("1,2", "--depths", help="Hidden-layer counts."),
    normalizations: str = typer.Option("zscore,minmax", "--normalizations", help="Normalizations (P4 compares them)."),
    out: Path = typer.Option(Path("results/reproduction"), "--out", help="Results root: one folder per protocol."),
    report: Path = typer.Option(Path("reports/reproduction.md"), "--report", help="The reproduction report; its "
                                "figures, tables and each protocol's full analysis go in a folder of the same name."),
    epochs: int | None = typer.Option(None, "--epochs", help="Epoch cap.",
                                         show_default="each preset's", rich_help_panel=TRAINING),
    top_genes: int | None = typer.Option(None, "--top-genes", help="Genes kept.",
                                            show_default="5000", rich_help_panel=TRAINING),
    hidden_dims: str | None = typer.Option(None, "--hidden-dims", help="Hidden widths.",
                                              show_default="512", rich_help_panel=TRAINING),
    latent_dim: int | None = typer.Option(None, "--latent-dim", help="Latent dimensions for every model.",
                                             show_default="each preset's, per model",
                                             rich_help_panel=TRAINING),
    device: str | None = typer.Option(None, "--device", help="auto, cpu or cuda.",
                                         show_default="auto", rich_help_panel=TRAINING),
    ensemble_size: int | None = typer.Option(None, "--ensemble-size", help="Members per ensemble (0: memory "
                                                "budget).", show_default="0",
                                                rich_help_panel=TRAINING),
    ablation: list[str] | None = typer.Option(None, "--ablation", help="Also train and judge a protocol with "
                                                 "settings changed, e.g. eltager2023:clustering=kmeans (repeatable; "
                                                 "KEY=VALUE pairs separated by ';'; models=... restricts the models)."),
    train: bool = typer.Option(True, "--train/--no-train", help="Train what is missing first (--no-train judges "
                               "the results already in --out)."),
    judge_claims: bool = typer.Option(True, "--judge/--no-judge", help="Analyze and write the report after "
                                      "training (--no-judge only trains)."),
    n_boot: int = typer.Option(2000, "--n-boot", help="Bootstrap resamples (ω², P(better), claims' CIs)."),
    n_boot_icc: int = typer.Option(500, "--n-boot-icc", help="Parametric-bootstrap refits for the ICC's CI."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the decision rules."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress display."),
) -> None:
    """Re-test the original study's claims under its own protocol and initsens's, and write one report."""
    from initsens.cli.train import run_training
    from initsens.errors import InitsensError
    from initsens.training.config import SweepConfig
    from initsens.training.presets import PRESETS

    names = [p.strip() for p in protocols.split(",") if p.strip()]
    if not names:
        raise InitsensError("--protocols is empty; choose from: " + ", ".join(PRESETS.names()))
    for name in names:
        PRESETS.get(name)
    if not 0.0 < alpha < 1.0:
        raise InitsensError(f"--alpha must lie strictly between 0 and 1, got {alpha}")
    overrides = {"data": data, "repeats": repeats, "depths": depths, "normalizations": normalizations,
                 "epochs": epochs, "top_genes": top_genes, "hidden_dims": hidden_dims, "latent_dim": latent_dim,
                 "device": device, "ensemble_size": ensemble_size}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    from initsens.reproduction import Ablation

    ablations = {Ablation.parse(spec): None for spec in ablation or []}
    for item in ablations:
        PRESETS.get(item.base)
    configs = {name: SweepConfig.load(name, overrides) for name in names}  # every protocol checked first
    configs.update({a.name: SweepConfig.load(a.base, {**overrides, **a.overrides()}) for a in ablations})
    folders = {name: out / name for name in names}
    ablation_folders = {a: out / "ablations" / a.name for a in ablations}
    paths = {**folders, **{a.name: f for a, f in ablation_folders.items()}}
    if train:
        for name, cfg in configs.items():
            console.print(f"[bold]{name}[/]: {len(cfg.runs())} runs into {paths[name]}/")
            run_training(cfg, paths[name], quiet=quiet, next_step="")
    if not judge_claims:
        return
    from initsens.reproduction import check_folders, judge

    check_folders(paths)
    command = "initsens " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with nullcontext() if quiet else console.status("judging the claims") as status:
        progress = None if status is None else (lambda s: status.update(f"judging the claims: {s}"))
        result = judge(folders, report, command, alpha, n_boot, n_boot_icc, seed, on_step=progress,
                       ablations=ablation_folders)
    if quiet:
        print(result.report)
        return
    table = Table(title="Claims of the original study")
    table.add_column("claim")
    for name in paths:
        table.add_column(name)
    for key in dict.fromkeys(result.claims["claim"]):
        rows = result.claims[result.claims["claim"] == key].set_index("protocol")
        table.add_row(key, *(rows.loc[name, "verdict"] for name in paths))
    console.print(table)
    console.print(f"Report: [bold]{result.report}[/]")
