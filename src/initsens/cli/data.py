"""``initsens data``: fetch the real TCGA data and inspect any dataset."""

from __future__ import annotations

from collections import Counter

import typer
from rich.console import Console
from rich.table import Table

from initsens.cli import options
from initsens.cli.help import Command, Group
from initsens.errors import InitsensError

# Heavy imports (pandas, pyarrow, scikit-learn, torch) happen inside the commands so `--help` stays
# fast.

app = typer.Typer(help="Fetch and inspect datasets.", no_args_is_help=True, cls=Group)
console = Console()


@app.command("fetch", cls=Command)
def fetch(
    name: str = typer.Argument(..., help="Dataset to download: xena-pancan."),
    cache_dir: options.OptionalPath = options.CacheDir,
    base_url: options.OptionalStr = typer.Option(
        None,
        "--base-url",
        help="Where the Xena files are served from (default: the UCSC Xena TCGA Pan-Cancer hub).",
    ),
    force: bool = typer.Option(
        False, "--force", help="Download again even if the files are cached."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Download the UCSC Xena TCGA Pan-Cancer matrix and phenotypes, and cache them as Parquet."""
    from initsens.data.xena import HUB_URL, default_cache_dir, fetch_xena_pancan

    if name != "xena-pancan":
        raise InitsensError(f"unknown dataset to fetch {name!r}; choose one of: xena-pancan")
    folder = cache_dir or default_cache_dir()
    base_url = (base_url or HUB_URL).rstrip("/") + "/"
    result = fetch_xena_pancan(folder, base_url, force=force, progress=not quiet)
    table = Table(title="xena-pancan", show_header=False)
    for record in result.downloads:
        table.add_row(record.path, f"{record.size:,} bytes", f"sha256 {record.sha256[:16]}...")
    table.add_row(
        "processed", str(result.path), f"{result.n_samples:,} samples x {result.n_genes:,} genes"
    )
    table.add_row(
        "dropped",
        f"{result.n_unlabeled_dropped} samples without a cancer type",
        f"{result.n_genes_renamed} repeated gene symbols renamed",
    )
    table.add_row(
        "missing values",
        f"{result.n_missing_values:,}",
        "train with --impute mean or --drop-missing genes" if result.n_missing_values else "none",
    )
    console.print(table)
    console.print(f"Manifest with sizes and sha256: {folder / 'manifest.json'}")


@app.command("info", cls=Command)
def info(
    data: str = options.Data,
    labels: options.OptionalPath = options.Labels,
    label_column: options.OptionalStr = options.LabelColumn,
    layer: options.OptionalStr = options.Layer,
    gene_column: options.OptionalStr = options.GeneColumn,
    orientation: str = options.Orientation,
    impute: options.OptionalStr = options.ImputeOpt,
    drop_missing: options.OptionalStr = options.DropMissingOpt,
    cache_dir: options.OptionalPath = options.CacheDir,
    top_genes: int = typer.Option(
        5000, "--top-genes", help="Show the first of the top-k most variable genes."
    ),
    gene_selection: str = options.GeneSelection,
    transform: str = options.Transform,
) -> None:
    """Load a dataset exactly as training would and summarize it."""
    import numpy as np

    from initsens.data import load_dataset, top_variable_genes
    from initsens.data.genes import gene_spread
    from initsens.data.matrix import column_min_max, is_sparse, value_mean, value_range
    from initsens.data.transform import TRANSFORMS, apply_transform, resolve_transform

    dataset = load_dataset(
        data,
        labels=labels,
        label_column=label_column,
        orientation=orientation,
        impute=impute,
        drop_missing=drop_missing,
        cache_dir=cache_dir,
        layer=layer,
        gene_column=gene_column,
    )
    table = Table(title=dataset.name, show_header=False)
    table.add_row("samples x genes", f"{dataset.n_samples:,} x {dataset.n_genes:,}")
    low, high = value_range(dataset.X)
    table.add_row(
        "values",
        f"min {low:.3g}, mean {value_mean(dataset.X):.3g}, max {high:.3g}"
        + (
            f" ({dataset.X.nnz / (dataset.n_samples * dataset.n_genes):.1%} non-zero, kept sparse)"
            if is_sparse(dataset.X)
            else ""
        ),
    )
    resolved = resolve_transform(dataset.X, transform)
    table.add_row(
        "transform",
        f"{resolved}"
        + (
            f" (chosen by auto: {TRANSFORMS[resolved]})"
            if transform == "auto" and resolved != "none"
            else f" ({TRANSFORMS[resolved]})"
        ),
    )
    X = apply_transform(dataset.X, resolved, dataset.name)
    k = min(top_genes, dataset.n_genes)
    label = f"top {k:,} {'MAD' if gene_selection == 'mad' else gene_selection} genes"
    try:
        kept = top_variable_genes(X, k, gene_selection)
        full = gene_spread(X, gene_selection)
        first = kept[
            np.argsort(-full[kept], kind="stable")[:5]
        ]  # the most variable first, with their spread
        table.add_row(
            label + ", most variable first",
            ", ".join(f"{dataset.gene_ids[g]} ({full[g]:.3g})" for g in first)
            + (", ..." if k > 5 else ""),
        )
    except (
        InitsensError
    ) as error:  # the table still tells the rest; training would stop with this line
        table.add_row(label, f"none: {error}")
    if dataset.labels is None:
        table.add_row("labels", "none (training will not compute the adjusted Rand index)")
    else:
        counts = Counter(dataset.labels.tolist()).most_common()
        table.add_row("labels", ", ".join(f"{name} {count}" for name, count in counts))
    table.add_row("sha256", dataset.sha256)
    console.print(table)
    lowest, highest = column_min_max(dataset.X)
    constant = int((highest == lowest).sum())
    if constant:
        console.print(f"{constant} constant gene(s): any normalization maps them to 0 (never NaN).")
