"""Regenerate the tour's committed output: every command of README's 60-second tour, run as a user
runs it, in a fresh folder; what each prints goes to ``docs/tour/output/<name>.txt`` and the report
with its figures to ``docs/tour/report/``. The documentation shows these files (Getting started, How
to read your report, the user guide); nothing in them is typed by hand.

    python docs/tour/make_tour.py          # about 2-3 minutes on 2 CPU cores

Run it after a change to what the commands print or to the report, and commit what it writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: The tour, as README gives it: (name of its output file, the command's arguments after
#: ``initsens``).
TOUR = [
    ("data-info", ["data", "info"]),
    ("models", ["models"]),
    ("presets", ["presets"]),
    ("train-dry-run", ["train", "--dry-run"]),
    (
        "train",
        [
            "train",
            "--repeats",
            "3",
            "--epochs",
            "5",
            "--top-genes",
            "500",
            "--hidden-dims",
            "128",
            "--out",
            "results/tour",
        ],
    ),
    ("analyze", ["analyze", "results/tour", "--report", "reports/tour/summary.md"]),
]
#: The width the output is rendered at: what fits a code block of the documentation's pages.
COLUMNS = "88"


def run(args: list[str], cwd: Path) -> str:
    """``initsens ARGS`` in ``cwd`` as a user runs it (a terminal COLUMNS wide, no colours); its
    output.
    """
    env = {**os.environ, "COLUMNS": COLUMNS, "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run(
        [sys.executable, "-c", "from initsens.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"initsens {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout + done.stderr


def main() -> None:
    output, report = HERE / "output", HERE / "report"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        texts = {}
        for name, args in TOUR:
            print(f"initsens {' '.join(args)}", flush=True)
            texts[name] = (
                f"$ initsens {' '.join(args)}\n"
                + "\n".join(line.rstrip() for line in run(args, work).splitlines())
                + "\n"
            )
        for old in (output, report):
            shutil.rmtree(old, ignore_errors=True)
        output.mkdir(parents=True)
        for name, text in texts.items():
            (output / f"{name}.txt").write_text(text, encoding="utf-8")
        made = work / "reports" / "tour"
        shutil.copytree(made / "figures", report / "figures")
        shutil.copy2(made / "summary.md", report / "summary.md")
    print(f"wrote {output} and {report}")


if __name__ == "__main__":
    main()
