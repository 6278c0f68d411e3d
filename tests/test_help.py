"""`initsens ... --help` at an 80-column terminal: what a new user reads first reads well
(in-process, fast).
"""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from initsens.cli import app
from initsens.errors import InitsensError

COMMANDS = [
    (),
    ("train",),
    ("analyze",),
    ("check",),
    ("reproduce",),
    ("models",),
    ("presets",),
    ("data",),
    ("data", "info"),
    ("data", "fetch"),
]


def help_text(*command: str) -> str:
    result = CliRunner().invoke(
        app, [*command, "--help"], env={"COLUMNS": "80", "NO_COLOR": "1", "TERMINAL_WIDTH": ""}
    )
    assert result.exit_code == 0, result.output
    return result.output


def panels(text: str) -> list[list[str]]:
    """Each panel's lines, inside its borders."""
    out: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("╭"):
            out.append([])
        elif line.startswith("│") and line.endswith("│") and out:
            out[-1].append(line[1:-1])
    return out


def rows(text: str) -> list[str]:
    """The inside of every panel line (between its borders)."""
    return [row for panel in panels(text) for row in panel]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "initsens")
def test_help_fits_80_columns_and_shows_no_type_after_a_flag_and_crops_nothing(command):
    """`--quiet <bool>`: a flag takes no value, so no type; a word too long for its column was cut
    with '…'.
    """
    text = help_text(*command)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "<bool>" not in text
    assert "…" not in text, [line for line in text.splitlines() if "…" in line]
    assert "(, or" not in text and "(True, or" not in text and "(False, or" not in text


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "initsens")
def test_help_lines_break_only_where_the_column_is_full(command):
    """'exit 1 on a' then 'problem.' alone on the next line: a docstring's own line break kept in
    the command list. A description's line ends early only where the next word would not have
    fitted.
    """
    pairs = [pair for panel in panels(help_text(*command)) for pair in zip(panel, panel[1:])]
    for first, second in pairs:
        text = second.lstrip()
        start = len(second) - len(text)
        if not text or second[:start].strip() or text.startswith(("[default", "--", "-")):
            continue  # a new row, a blank line, or the default's own line
        head = first[start:].rstrip()
        if not head or len(first) - len(first.lstrip()) > start:
            continue
        width = len(first) - start - 1  # the column, less its right padding
        assert len(head) + 1 + len(text.split()[0]) > width, (first, second)


def test_help_prints_brackets_it_means():
    """'(repeatable; as a [model.MODEL] table in TOML)' lost its brackets to rich's markup: 'as a
    table'.
    """
    flat = " ".join(" ".join(rows(help_text("train"))).split())
    assert "as a [model.MODEL] table in TOML" in flat and "initsens[leiden]" in flat


@pytest.mark.parametrize(("given", "shown"), [("0", "0"), ("0,1", "0,1"), ("2,0", "2,0")])
def test_a_rejected_value_is_shown_as_typed(given, shown):
    """`--depths 0` said '(got [0])'."""
    result = CliRunner().invoke(app, ["train", "--depths", given, "--dry-run"])
    assert isinstance(result.exception, InitsensError)
    assert str(result.exception) == f"--depths must be >= 1 (got {shown})"
    repeated = CliRunner().invoke(app, ["train", "--seeds", "1,1", "--dry-run"])
    assert re.fullmatch(r"--seeds has repeated values \(1,1\)", str(repeated.exception))
