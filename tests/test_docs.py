"""The documentation's pages (docs/) cannot quietly rot: every ```python block of a page runs as
written (in a folder holding a small real sweep's results, as the pages assume the user ran the
tour's `initsens train` first), every `initsens` command line of a ```bash block parses with the
command's real options, and each figure or file a page shows exists. (The Sphinx build, run with -W
by CI, checks the links and cross-references; README's blocks run in test_readme.py. A ```py block
needs something a test machine lacks, such as a SLURM cluster, and is only shown.)
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
from conftest import REPO

from initsens.training import SweepConfig, plan_sweep, run_sweep

try:  # recent typer bundles its own click, whose exceptions these are
    from typer._click import exceptions as click_exceptions
except ImportError:  # typer on the installed click
    from click import exceptions as click_exceptions

DOCS = REPO / "docs"
PAGES = sorted(
    p
    for p in DOCS.rglob("*.md")
    if "_build" not in p.parts and "tour" not in p.relative_to(DOCS).parts
)
#: What a page's blocks print that shows they did their work (beyond not raising).
PRINTS = {
    "guide/models.md": [
        f"{name}: loss" for name in ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE")
    ],
    "guide/data.md": ["100 samples x 800 genes"],
    "guide/own-sweeps.md": ["omega_sq"],
    "guide/results.md": ["runs"],
    "getting-started.md": ["IWAE", "val_loss"],
}


def fences(path: Path, info: str) -> list[str]:
    """The bodies of the fenced blocks of ``path`` whose info string is exactly ``info``."""
    return re.findall(
        rf"^```{info}\n(.*?)^```", path.read_text(encoding="utf-8"), flags=re.S | re.M
    )


def small_sweep(folder: Path) -> None:
    """A small real sweep at ``folder/results/tour``: what the pages' blocks read after the tour."""
    config = SweepConfig.from_mapping(
        {
            "models": "VanillaVAE,IWAE",
            "inits": "default,xavier_normal,normal",
            "depths": "1",
            "repeats": 3,
            "epochs": 2,
            "top_genes": 40,
            "hidden_dims": "16",
            "latent_dim": 3,
        }
    )
    run_sweep(plan_sweep(config, folder / "results" / "tour"))


def run_python_blocks(path: Path, folder: Path, monkeypatch) -> None:
    """Run the ```python blocks of ``path`` one after the other in one namespace, in ``folder``."""
    monkeypatch.chdir(folder)
    namespace = {"__name__": "__docs__"}
    for block in fences(path, "python"):
        exec(compile(block, str(path.relative_to(REPO)), "exec"), namespace)


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    small_sweep(folder)
    return folder


@pytest.mark.parametrize(
    "page", [p for p in PAGES if fences(p, "python")], ids=lambda p: p.relative_to(DOCS).as_posix()
)
def test_every_python_block_of_a_page_runs(page, sweep_folder, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    (work / "results").symlink_to(sweep_folder / "results")
    run_python_blocks(page, work, monkeypatch)
    printed = capsys.readouterr().out
    for text in PRINTS.get(page.relative_to(DOCS).as_posix(), []):
        assert text in printed, f"{page.name}: its blocks did not print {text!r}"


def command_lines(text: str) -> list[list[str]]:
    """The ``initsens`` command lines of a bash block, as words (continuations joined, comments
    dropped).
    """
    lines = []
    for line in text.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "initsens":
            lines.append(words[1:])
    return lines


def parse(words: list[str]) -> None:
    """Parse ``initsens WORDS`` with the real command's options (no command runs): an unknown
    option, a missing value or a value of the wrong type raises click's usage error.
    """
    from initsens.cli import app

    command = typer.main.get_command(app)
    ctx = command.make_context("initsens", list(words))
    while hasattr(command, "resolve_command"):  # a group: go down to the subcommand
        # the subcommand's name and its words (click keeps the name apart: ``_protected_args`` since
        # click 8.2)
        pending = [
            *(getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", None) or []),
            *ctx.args,
        ]
        if not pending:
            break
        name, command, rest = command.resolve_command(ctx, pending)
        ctx = command.make_context(name, rest, parent=ctx)


def all_command_lines() -> list[tuple[str, list[str]]]:
    found = []
    for path in [REPO / "README.md", *PAGES]:
        for block in fences(path, "bash"):
            found += [(path.relative_to(REPO).as_posix(), words) for words in command_lines(block)]
    return found


@pytest.mark.parametrize(
    ("where", "words"),
    all_command_lines(),
    ids=lambda x: x if isinstance(x, str) else " ".join(x)[:60],
)
def test_every_initsens_command_line_of_the_docs_parses(where, words):
    try:
        parse(words)
    except typer.Exit:  # --version: parsed, and done
        pass
    except click_exceptions.UsageError as error:
        pytest.fail(f"{where}: initsens {' '.join(words)}: {error.format_message()}")


def test_the_pages_show_files_that_exist():
    """Every literalinclude and figure of a page points at a file in the repository (the build would
    only warn for a missing image).
    """
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        shown = re.findall(r"```\{(?:literalinclude|include)\} (\S+)", text)
        shown += re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
        for name in shown:
            assert (page.parent / name).is_file(), (
                f"{page.relative_to(REPO)} shows {name}, which does not exist"
            )


def test_the_tour_output_is_the_tour_s_commands():
    """docs/tour/output/ holds one file per command of README's tour, each starting with that
    command.
    """
    readme_tour = command_lines(
        next(b for b in fences(REPO / "README.md", "bash") if "initsens data info" in b)
    )
    outputs = sorted((DOCS / "tour" / "output").glob("*.txt"))
    firsts = {f.read_text(encoding="utf-8").splitlines()[0] for f in outputs}
    assert firsts == {"$ initsens " + " ".join(words) for words in readme_tour}
    assert (DOCS / "tour" / "report" / "summary.md").is_file()
