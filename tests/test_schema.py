"""The runs, epochs and metrics tables are defined once (initsens.results.schema): the store writes
them and the documentation's schema page (docs/guide/schema.md) lists them.
"""

from __future__ import annotations

import re

import pyarrow.parquet as pq
from conftest import REPO

from initsens.results.schema import EPOCH_COLUMNS, METRIC_COLUMNS, RUN_COLUMNS, SCHEMA_VERSION
from initsens.training import SweepConfig, plan_sweep, run_sweep

SCHEMA_PAGE = REPO / "docs" / "guide" / "schema.md"


def readme_table(after: str) -> list[tuple[str, str, str]]:
    text = SCHEMA_PAGE.read_text()
    block = text[text.index(after) :]
    rows = []
    for line in block.splitlines()[1:]:
        if rows and not line.startswith("| `"):
            break
        match = re.match(r"\| `([^`]+)` \| ([^|]+) \| (.+) \|$", line)
        if match:
            rows.append((match[1], match[2].strip(), match[3].strip().replace("\\|", "|")))
    return rows


def test_the_documented_schema_tables_match_the_definition():
    assert f"# The Parquet schema (`schema_version` {SCHEMA_VERSION})" in SCHEMA_PAGE.read_text()
    for heading, columns in (
        ("`results/runs/part-*.parquet`, one row per run", RUN_COLUMNS),
        ("`results/epochs/part-*.parquet`, one row per run and epoch", EPOCH_COLUMNS),
        ("`results/metrics/part-*.parquet`, one row per run, epoch and metric", METRIC_COLUMNS),
    ):
        assert readme_table(heading) == [(n, str(t), d) for n, t, d in columns], heading


def test_written_files_carry_the_schema_and_its_descriptions(tmp_path):
    cfg = SweepConfig.from_mapping(
        {
            "models": "InfoVAE",
            "inits": "default",
            "depths": "1",
            "repeats": 2,
            "epochs": 2,
            "top_genes": 40,
            "hidden_dims": "8",
            "latent_dim": 2,
        }
    )
    run_sweep(plan_sweep(cfg, tmp_path))
    for folder, columns in (
        ("runs", RUN_COLUMNS),
        ("epochs", EPOCH_COLUMNS),
        ("metrics", METRIC_COLUMNS),
    ):
        schema = pq.read_schema(next((tmp_path / folder).glob("*.parquet")))
        assert [(f.name, str(f.type), f.metadata[b"description"].decode()) for f in schema] == [
            (n, str(t), d) for n, t, d in columns
        ]
        assert schema.metadata[b"schema_version"] == str(SCHEMA_VERSION).encode()
        # a key the writer misspells is filled with nulls by from_pylist(schema=...): no column may
        # be all null
        table = pq.read_table(tmp_path / folder)
        assert [c for c in table.column_names if table[c].null_count == table.num_rows] == [], (
            folder
        )
