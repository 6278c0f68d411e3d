"""The README's Python snippets (```python fences; ```py marks the few that need a cluster) run as written,
in a temporary folder holding a small real sweep's results (the snippets that read results/ assume the user
ran `initsens train` first)."""

from __future__ import annotations

import re

from conftest import REPO

from initsens.training import SweepConfig, plan_sweep, run_sweep


def test_readme_python_snippets_run(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    assert blocks, "README has no Python snippet"
    monkeypatch.chdir(tmp_path)
    config = SweepConfig.from_mapping({"models": "VanillaVAE,IWAE", "inits": "default,xavier_normal,normal",
                                       "depths": "1", "repeats": 3, "epochs": 2, "top_genes": 40,
                                       "hidden_dims": "16", "latent_dim": 3})
    run_sweep(plan_sweep(config, tmp_path / "results" / "tour"))
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    for name in ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE"):
        assert f"{name}: loss" in printed
    assert "100 samples x 800 genes" in printed
