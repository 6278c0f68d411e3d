"""CITATION.cff is valid Citation File Format 1.2.0 (checked by cffconvert against the official
schema) and names this package's version and the study it re-tests.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_citation_file_is_valid_and_current():
    cffconvert = Path(sys.executable).parent / "cffconvert"
    result = subprocess.run(
        [str(cffconvert), "--validate", "-i", str(REPO / "CITATION.cff")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert str(citation["version"]) == version
    assert [r["doi"] for r in citation["references"]] == ["10.1371/journal.pone.0292126"]
