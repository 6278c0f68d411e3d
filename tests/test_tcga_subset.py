"""The real TCGA subset in ../shared/data loads through the ordinary file path and trains a step."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from initsens.data import load_dataset, prepare
from initsens.models import build_model


def test_real_tcga_subset_loads_and_prepares(tcga_subset_path):
    ds = load_dataset(tcga_subset_path)
    # numbers from the data README (provenance of tcga_rtcga5.parquet)
    assert (ds.n_samples, ds.n_genes) == (309, 20531)
    assert Counter(ds.labels.tolist()) == {"UVM": 80, "ACC": 79, "UCS": 57, "DLBC": 48, "CHOL": 45}
    assert ds.gene_ids[0] == "?|100130426" and "TP53|7157" in set(ds.gene_ids)
    assert int((ds.X.max(0) == ds.X.min(0)).sum()) == 308  # genes that are zero in every sample
    assert 0.0 == ds.X.min() and 23.0 < ds.X.max() < 23.2
    prepared = prepare(ds, top_genes=5000, normalization="zscore", split_seed=0)
    assert (prepared.n_train, prepared.n_val, prepared.n_genes) == (247, 62, 5000)
    assert np.isfinite(prepared.X_train).all() and np.isfinite(prepared.X_val).all()
    assert Counter(prepared.labels_val.tolist()) == {
        "UVM": 16,
        "ACC": 16,
        "UCS": 11,
        "DLBC": 10,
        "CHOL": 9,
    }
    model = build_model("IWAE", prepared.n_genes, depth=2, initializer="xavier_uniform", seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(prepared.X_train[:64])
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        out = model(x, torch.Generator().manual_seed(0))
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    assert losses[-1] < losses[0]


def test_the_skip_says_where_the_data_was_looked_for_and_how_to_run_the_tests(tmp_path):
    """Without the subset the tests skip; the reason said where it looked, not what the file is or
    how to run them.
    """
    import os
    import subprocess
    import sys

    env = {**os.environ, "INITSENS_SHARED_DATA": str(tmp_path), "COLUMNS": "1000"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            __file__,
            "-rs",
            "-vv",
            "-p",
            "no:cacheprovider",
            "-k",
            "loads_and_prepares",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    out = " ".join(result.stdout.split())
    assert "1 skipped" in out, result.stdout
    assert f"not found at {tmp_path / 'tcga_rtcga5.parquet'} (from INITSENS_SHARED_DATA)" in out
    assert "../shared/data beside the repository" in out and "build_tcga5.py" in out
    assert (
        "INITSENS_SHARED_DATA=/folder/holding/it pytest tests/test_tcga5.py "
        "tests/test_tcga_subset.py" in out
    )
