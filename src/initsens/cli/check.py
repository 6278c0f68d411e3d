"""``initsens check``: verify a results folder and, with --repair, fix what can be fixed without
losing anything.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def check(
    path: Path = typer.Argument(
        Path("results"), help="Results folder (as `initsens train --out` wrote it)."
    ),
    repair: bool = typer.Option(
        False,
        "--repair",
        help="Set aside what readers must not read (unreadable, "
        "stray and orphaned parts; runs without epochs) in <folder>/set-aside/, and drop "
        "duplicated rows keeping the first; deletes nothing.",
    ),
) -> None:
    """Read each table of a results folder as pandas, pyarrow, polars and duckdb do; list
    unreadable, stray and orphaned parts, duplicates and locks. Exit 1 on a problem.
    """
    from initsens.results.check import inspect_folder
    from initsens.results.check import repair as fix

    if repair:
        for line in fix(path) or ["nothing to repair"]:
            console.print(f"repair: {line}", highlight=False)
    found = inspect_folder(path)
    table = Table(title=f"{path}")
    for column in ("table", "files read", "rows", "run ids", "schema versions"):
        table.add_column(
            column, justify="left" if column in ("table", "schema versions") else "right"
        )
    for row in found.summary.itertuples():
        table.add_row(
            row.folder, str(row.parts), str(row.rows), str(row.run_ids), row.schema_versions
        )
    console.print(table)
    if not len(found.problems):
        console.print("no problems found")
        return
    for row in found.problems.itertuples():
        console.print(f"[red]{row.kind}[/]: {row.path}: {row.detail}", highlight=False)
    if set(found.problems["kind"]) == {
        "runs not trained"
    }:  # nothing for --repair: training completes the grid
        console.print(
            f"{len(found.problems)} problem(s); the same `initsens train` command (with --out "
            f"{path}) trains the missing runs"
        )
    else:
        console.print(
            f"{len(found.problems)} problem(s); `initsens check {path} --repair` fixes what it "
            "safely can (a lock is released when its writer ends)"
        )
    raise typer.Exit(1)
