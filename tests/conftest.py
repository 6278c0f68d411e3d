"""Shared test fixtures: the real TCGA subset (skipped where ../shared/data is absent) and small tables."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("INITSENS_SHARED_DATA", REPO.parent / "shared" / "data"))
TCGA_SUBSET = SHARED_DATA / "tcga_rtcga5.parquet"


@pytest.fixture(scope="session")
def tcga_subset_path() -> Path:
    if not TCGA_SUBSET.is_file():
        pytest.skip(f"real TCGA subset not found at {TCGA_SUBSET} (set INITSENS_SHARED_DATA to its folder)")
    return TCGA_SUBSET


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """12 samples x 30 genes, samples x genes, with a cancer_type column (3 types x 4 samples)."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.gamma(2.0, 2.0, (12, 30)).astype(np.float32),
                         columns=[f"GENE{g}" for g in range(30)])
    frame.insert(0, "cancer_type", np.repeat(["BRCA", "LUAD", "KIRC"], 4))
    frame.insert(0, "sample_id", [f"S{i:02d}" for i in range(12)])
    return frame
