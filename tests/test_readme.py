"""README's Python snippets (```python fences) run as written, in a temporary folder holding a small
real sweep's results (the snippets that read results/ assume the user ran `initsens train` first).
The documentation's pages are checked the same way in test_docs.py.
"""

from __future__ import annotations

from conftest import REPO
from test_docs import fences, run_python_blocks, small_sweep


def test_readme_python_snippets_run(tmp_path, monkeypatch, capsys):
    assert fences(REPO / "README.md", "python"), "README has no Python snippet"
    small_sweep(tmp_path)
    run_python_blocks(REPO / "README.md", tmp_path, monkeypatch)
    printed = capsys.readouterr().out
    assert (
        "VanillaVAE" in printed and "val_loss" in printed
    )  # the notebook's runs and its one-way ANOVA table
