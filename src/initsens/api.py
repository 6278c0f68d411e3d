"""The library entry points behind the ``initsens`` command, for notebooks and scripts:
:func:`train`, :func:`analyze` and :func:`reproduce` (also importable as ``initsens.train`` and so
on). Each returns plain objects (DataFrames, the analysis, the verdicts) and reports progress
through an optional callback; the command line calls the same planning, training and judging and
adds its display.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from initsens.analysis.inputs import Results
    from initsens.analysis.study import Analysis
    from initsens.report import Written
    from initsens.reproduction.judge import Reproduction
    from initsens.training import SweepConfig, SweepPlan
    from initsens.training.distributed import Cluster
    from initsens.training.sweep import SweepObserver, SweepSummary


def train(
    config: str | Path | SweepConfig | None = None,
    out: str | Path = "results",
    *,
    force: bool = False,
    quarantine: bool = False,
    dry_run: bool = False,
    cluster: Cluster | None = None,
    observer: SweepObserver | None = None,
    on_plan: Callable[[SweepPlan], None] | None = None,
    on_connect: Callable[[str], None] | None = None,
    on_trained: Callable[[SweepSummary], None] | None = None,
    **settings: Any,
) -> pd.DataFrame:
    """Train a sweep into ``out`` (resumable, like ``initsens train``) and return its grid's runs
    table.

    Parameters
    ----------
    config : a preset name (``"eltager2023"``), a TOML file, a
        :class:`~initsens.training.SweepConfig`, or None for initsens's defaults.
    out : the results folder.
    force : retrain runs already recorded in ``out``.
    quarantine : set unreadable part files aside (in ``out/set-aside/``) and retrain their runs,
        instead of stopping.
    dry_run : check the data and ``out``, train nothing, and return the grid instead: one row per
        run (``run_id``, its factors, ``recorded``: already in ``out``).
    cluster : train on Dask (:class:`~initsens.training.distributed.Cluster`: a local cluster of
        ``workers`` processes, or a running ``scheduler`` / ``scheduler_file``); in this process
        when None.
    observer : progress callbacks (:class:`~initsens.training.sweep.SweepObserver`).
    on_plan : called with the checked :class:`~initsens.training.SweepPlan` before anything trains
        (its ``notes`` are worth showing).
    on_connect : told how many Dask workers answered, and where.
    on_trained : called with the sweep's :class:`~initsens.training.sweep.SweepSummary` once it
        ends; after an interruption (Ctrl-C) too, before :class:`KeyboardInterrupt` is raised (the
        finished runs are saved).
    **settings : any setting of ``initsens train`` by its name (``models="IWAE"``, ``repeats=3``,
        ``epochs=5``); they win over ``config``.

    Returns
    -------
    pandas.DataFrame
        One row per run of the grid, the columns of ``runs/`` (README: Parquet schema); with
        ``dry_run``, the grid.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> runs = train(models="VanillaVAE", inits="default,normal", depths=1, repeats=2, epochs=2,
    ...              top_genes=20, hidden_dims=8, latent_dim=2, out=folder.name)
    >>> runs[["initializer", "seed", "status"]]
      initializer  seed status
    0     default     0     ok
    1     default     1     ok
    2      normal     0     ok
    3      normal     1     ok
    >>> folder.cleanup()
    """
    from initsens.training import SweepConfig, plan_sweep
    from initsens.training.distributed import Cluster, train_plan

    cluster = cluster or Cluster()
    plan = plan_sweep(
        SweepConfig.resolve(config, settings),
        out,
        force,
        dry_run=dry_run,
        local_device=not cluster.remote,
        quarantine=quarantine,
    )
    if on_plan is not None:
        on_plan(plan)
    if dry_run:
        return plan.grid()
    summary = train_plan(plan, observer, cluster, on_connect)
    if on_trained is not None:
        on_trained(summary)
    if summary.interrupted:
        raise KeyboardInterrupt
    runs = plan.store.read_runs().to_pandas()
    return runs[runs["run_id"].isin(set(plan.run_ids.values()))].reset_index(drop=True)


def analyze(
    results: str | Path | pd.DataFrame,
    metric: str = "val_loss",
    *,
    report: str | Path | None = None,
    factor: str = "initializer",
    by: str | Sequence[str] | None = None,
    replicate: str = "seed",
    n_boot: int = 2000,
    n_boot_icc: int = 500,
    alpha: float = 0.05,
    seed: int = 0,
    higher_is_better: bool | None = None,
    log: bool = False,
    on_step: Callable[[str], None] | None = None,
    on_loaded: Callable[[Results], None] | None = None,
    on_written: Callable[[Written], None] | None = None,
    command: str | None = None,
) -> Analysis:
    """Analyze a results folder, a runs file or a runs DataFrame as ``initsens analyze`` does; with
    ``report`` also write the Markdown report, its figures and tables.

    Any seed sweep works:
    ``analyze("sweep.csv", "accuracy", factor="optimizer", by="model,dataset")``.

    Parameters
    ----------
    factor, by, replicate : the compared factor, the columns that define a cell (default model x
        depth) and the replicate column.
    log : analyze log10 of the metric (for losses spanning decades).
    on_loaded : called with what was read (its ``warnings`` are worth showing) before the analysis.
    on_written : called with the report's files.
    command : how the report says it was made.

    Returns
    -------
    Analysis
        ``.tables``: every table of the report by name (each a tidy DataFrame; README: Analysis).

    Examples
    --------
    >>> from initsens.analysis.examples import toy_runs
    >>> sweep = toy_runs().rename(columns={"initializer": "optimizer"})
    >>> result = analyze(sweep, factor="optimizer", by="model", n_boot=100, n_boot_icc=20)
    >>> result.tables["oneway_anova"][["model", "p_value"]].round(4)
            model  p_value
    0        IWAE   0.0000
    1  VanillaVAE   0.3463
    """
    from initsens.analysis import load_results
    from initsens.analysis.design import Design
    from initsens.analysis.inputs import Results, check_runs
    from initsens.analysis.study import analyze as run_analysis
    from initsens.analysis.study import check_options, log_metric
    from initsens.report import write_report

    check_options(alpha, n_boot, n_boot_icc)  # before reading: a typo costs no wait
    command = command or (
        f"initsens.analyze({str(results)!r}, {metric!r})"
        if not isinstance(results, pd.DataFrame)
        else f"initsens.analyze(runs, {metric!r})"
    )
    design = Design.parse(factor, by, replicate)
    if isinstance(results, pd.DataFrame):
        runs, warnings = check_runs(results, "DataFrame", metric, design)
        loaded = Results(runs, None, [], warnings)
    else:
        loaded = load_results(results, metric, design)
    if log:
        loaded.runs, metric = log_metric(loaded.runs, metric)
    if on_loaded is not None:
        on_loaded(loaded)
    analysis = run_analysis(
        loaded.runs,
        metric,
        loaded.epochs,
        n_boot=n_boot,
        n_boot_icc=n_boot_icc,
        alpha=alpha,
        random_state=seed,
        higher_is_better=higher_is_better,
        on_step=on_step,
        design=design,
    )
    if report is not None:
        if on_step is not None:
            on_step("writing tables, figures and the report")
        written = write_report(analysis, loaded, report, command)
        if on_written is not None:
            on_written(written)
    return analysis


def reproduce(
    protocols: Sequence[str] = ("eltager2023", "eltager2023-pancan", "initsens"),
    out: str | Path = "results/reproduction",
    report: str | Path = "reports/reproduction.md",
    *,
    ablations: Sequence[str] = (),
    ladder: bool = True,
    both_defaults: bool = True,
    train: bool = True,
    judge_claims: bool = True,
    quarantine: bool = False,
    alpha: float = 0.05,
    n_boot: int = 2000,
    n_boot_icc: int = 500,
    seed: int = 0,
    on_study: Callable[[Any, Any], None] | None = None,
    on_trained: Callable[[Any, Any], None] | None = None,
    on_step: Callable[[str], None] | None = None,
    observer: SweepObserver | None = None,
    command: str | None = None,
    **settings: Any,
) -> Reproduction | None:
    """Train what is missing of every study (the protocols, ``ablations`` such as
    ``"eltager2023:clustering=kmeans"``, the scale ladder) and judge the original study's claims, as
    ``initsens reproduce`` does.

    Every study trains the poster's grid (:data:`initsens.reproduction.studies.GRID`: 10 seeds,
    depths 1 and 2, z-score and min-max). The data are checked before anything is created; an
    interrupted study (Ctrl-C) raises :class:`KeyboardInterrupt` once its finished runs are saved.

    Parameters
    ----------
    on_study : ``on_study(study, plan)``, called before a study (or each phase of a phased study,
        :data:`initsens.reproduction.studies.PHASES`) trains; the
        :class:`~initsens.training.SweepPlan` carries notes worth showing.
    on_trained : ``on_trained(study, summary)``, called after.
    **settings : settings of ``initsens train`` (e.g. ``repeats=3``, ``data="my.tsv"``), for every
        study.

    Returns
    -------
    Reproduction or None
        None with ``judge_claims=False``; else ``.claims``: one row per claim, study, check and
        scope (verdict, estimate, CI, sub-result counts); ``.results``: each study's runs, evidence
        and verdicts; ``.report``: the report's path.
    """
    from initsens.analysis.study import check_options
    from initsens.reproduction.judge import judge
    from initsens.reproduction.studies import Ablation, plan_studies
    from initsens.training import plan_sweep, run_sweep
    from initsens.training.sweep import data_key, load_data

    check_options(alpha, n_boot, n_boot_icc)  # before any training
    if not protocols:
        from initsens.errors import InitsensError
        from initsens.training.presets import PRESETS

        raise InitsensError("--protocols is empty; choose from: " + ", ".join(PRESETS.names()))

    parsed = list(dict.fromkeys(Ablation.parse(spec) for spec in ablations))
    studies = plan_studies(list(protocols), settings, Path(out), parsed, ladder, both_defaults)
    if train and studies:
        # every study's data loaded and checked once, before anything is created (most studies share
        # them)
        loaded = {
            key: load_data(study.config)
            for key, study in {data_key(s.config): s for s in studies}.items()
        }
        for study in studies:
            for (
                _,
                runs,
            ) in study.phase_runs():  # in the study's order: each phase complete before the next
                plan = plan_sweep(
                    study.phase_config(runs),
                    study.folder,
                    quarantine=quarantine,
                    loaded=loaded[data_key(study.config)],
                )
                if on_study is not None:
                    on_study(study, plan)
                summary = run_sweep(plan, observer)
                if on_trained is not None:
                    on_trained(study, summary)
                if summary.interrupted:
                    raise KeyboardInterrupt
    if not judge_claims:
        return None
    return judge(
        studies,
        report,
        command or f"initsens.reproduce({list(protocols)!r})",
        alpha=alpha,
        n_boot=n_boot,
        n_boot_icc=n_boot_icc,
        seed=seed,
        on_step=on_step,
    )
