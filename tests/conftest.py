"""Shared test fixtures: the real TCGA subset (its tests skip, saying how to run them, where it is
absent) and small tables.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("INITSENS_SHARED_DATA", REPO.parent / "shared" / "data"))
TCGA_SUBSET = SHARED_DATA / "tcga_rtcga5.parquet"


def missing_subset() -> str:
    """Why the tests of the real TCGA subset skip, where it was looked for and how to run them."""
    where = "INITSENS_SHARED_DATA" if "INITSENS_SHARED_DATA" in os.environ else "../shared/data"
    return (
        "needs tcga_rtcga5.parquet (309 samples x 20,531 genes, the source of the embedded tcga5; "
        f"see scripts/build_tcga5.py), not found at {TCGA_SUBSET} (from {where}). It is looked for "
        "in ../shared/data beside the repository, or in the folder INITSENS_SHARED_DATA names; to "
        "run these tests: INITSENS_SHARED_DATA=/folder/holding/it pytest tests/test_tcga5.py "
        "tests/test_tcga_subset.py"
    )


@pytest.fixture(scope="session")
def tcga_subset_path() -> Path:
    if not TCGA_SUBSET.is_file():
        pytest.skip(missing_subset())
    return TCGA_SUBSET


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """12 samples x 30 genes, samples x genes, with a cancer_type column (3 types x 4 samples)."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        rng.gamma(2.0, 2.0, (12, 30)).astype(np.float32), columns=[f"GENE{g}" for g in range(30)]
    )
    frame.insert(0, "cancer_type", np.repeat(["BRCA", "LUAD", "KIRC"], 4))
    frame.insert(0, "sample_id", [f"S{i:02d}" for i in range(12)])
    return frame


def run_cli(
    *args: str, cwd=None, timeout: float = 300, pythonpath: str | None = None
) -> subprocess.CompletedProcess:
    """Run ``initsens ARGS`` as a user would (a real subprocess), wide and without colour;
    ``pythonpath`` puts a folder of the user's modules on the path.
    """
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (pythonpath, env.get("PYTHONPATH"))))
    return subprocess.run(
        [sys.executable, "-c", "from initsens.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


#: A user's package with its own model and initializer (tests/plugins/toyplugin).
PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture
def toyplugin(monkeypatch):
    """toyplugin importable, and the registries as they were afterwards (a registration is for the
    process).
    """
    from initsens.models import INITIALIZERS, MODELS, plugins

    monkeypatch.syspath_prepend(str(PLUGINS))
    saved = [(r, dict(r._entries), dict(r._sources)) for r in (MODELS, INITIALIZERS)]
    unstackable, paths = dict(plugins._UNSTACKABLE), dict(plugins._PATHS)
    yield
    for registry, entries, sources in saved:
        registry._entries, registry._sources = entries, sources
    plugins._UNSTACKABLE.clear()
    plugins._UNSTACKABLE.update(unstackable)
    plugins._PATHS.clear()
    plugins._PATHS.update(paths)
    for name in [m for m in sys.modules if m.startswith("toyplugin")]:
        del sys.modules[name]
