"""The README's Python tour runs as written (in a temporary folder, since it writes small files)."""

from __future__ import annotations

import re

from conftest import REPO


def test_readme_python_snippets_run(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    assert blocks, "README has no Python snippet"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    for name in ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE"):
        assert f"{name}: loss" in printed
    assert "100 samples x 800 genes" in printed
