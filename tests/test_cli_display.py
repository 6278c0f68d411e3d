"""What `initsens train` prints when it ends: the next command follows the folder the runs went
to.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from initsens.cli import display
from initsens.training.sweep import SweepSummary


@pytest.mark.parametrize(
    ("out", "report"),
    [
        ("results", "reports/summary.md"),  # the default: as README's study
        ("results/tour", "reports/tour/summary.md"),  # README's tour
        ("/data/x/results/mine", "/data/x/reports/mine/summary.md"),
        (
            "myout",
            "myout-report/summary.md",
        ),  # beside it, never inside (analyze reads --out's Parquet files)
        ("/tmp/run 1/tour", "'/tmp/run 1/tour-report/summary.md'"),
    ],
)
def test_the_next_command_derives_the_report_from_out(out, report):
    quoted = f"'{out}'" if " " in out else out
    assert display.next_command(Path(out)) == f"initsens analyze {quoted} --report {report}"


def test_the_summary_suggests_the_report_beside_its_own_folder(monkeypatch, tmp_path):
    """`train --out myout` said `--report reports/summary.md` whatever --out was."""
    console = Console(file=(tmp_path / "out.txt").open("w"), width=300, color_system=None)
    monkeypatch.setattr(display, "console", console)
    summary = SweepSummary(
        Path("myout"), total=2, skipped=0, trained=2, counts=Counter({("M", "a", "ok"): 2})
    )
    display.report_summary(summary, quiet=False)
    console.file.close()
    text = (tmp_path / "out.txt").read_text()
    assert "Next: initsens analyze myout --report myout-report/summary.md" in text
    assert "reports/summary.md" not in text
