"""`initsens data fetch xena-pancan` against a local HTTP server serving small files in Xena's
format.

The server honours Range requests (so downloads resume) and can cut the first response short to
simulate a dropped connection.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest

from initsens.data import load_dataset
from initsens.data.download import download
from initsens.data.xena import MATRIX_FILE, PHENOTYPE_FILE, fetch_xena_pancan
from initsens.errors import InitsensError

SAMPLES = [
    f"TCGA-{c}-{i:04d}-01"
    for c, i in zip(["OR", "V4", "W5", "OR", "V4", "W5", "OR", "ZZ"], range(8))
]
TYPES = ["ACC", "UVM", "CHOL", "ACC", "UVM", "CHOL", "ACC"]  # the last sample has no phenotype row


def _fixture_files(folder: Path) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    genes = [
        "TP53",
        "EGFR",
        "KRAS",
        "MYC",
        "EGFR",
        "GAPDH",
    ]  # EGFR twice, as real matrices can have
    values = np.round(rng.gamma(2.0, 3.0, (len(genes), len(SAMPLES))), 4).astype(object)
    values[2, 1] = "NA"
    matrix = pd.DataFrame(values, columns=SAMPLES)
    matrix.insert(0, "sample", genes)
    pheno = pd.DataFrame(
        {
            "sample": SAMPLES[:7],
            "_PATIENT": [s[:12] for s in SAMPLES[:7]],
            "cancer type abbreviation": TYPES,
            "OS": 1,
        }
    )
    return {
        MATRIX_FILE: gzip.compress(matrix.to_csv(sep="\t", index=False).encode()),
        PHENOTYPE_FILE: pheno.to_csv(sep="\t", index=False).encode(),
    }


class _Server:
    """Serves ``files`` under /download/; ``truncate`` makes the next full response stop
    half-way.
    """

    def __init__(self, files: dict[str, bytes]):
        self.files, self.truncate, self.requests = files, set(), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                from urllib.parse import unquote

                name = unquote(self.path.removeprefix("/download/"))
                outer.requests.append((name, self.headers.get("Range")))
                if name not in outer.files:
                    self.send_error(404, "Not Found")
                    return
                body = outer.files[name]
                start = (
                    int(self.headers["Range"].split("=")[1].rstrip("-"))
                    if self.headers.get("Range")
                    else 0
                )
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if name in outer.truncate:
                    outer.truncate.discard(name)
                    self.wfile.write(body[start : start + (len(body) - start) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/download/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server(tmp_path):
    srv = _Server(_fixture_files(tmp_path))
    yield srv
    srv.httpd.shutdown()


def test_fetch_processes_caches_and_records(server, tmp_path):
    cache = tmp_path / "cache"
    result = fetch_xena_pancan(cache, base_url=server.url, progress=False)
    assert (result.n_samples, result.n_genes) == (7, 6)
    assert (result.n_unlabeled_dropped, result.n_genes_renamed, result.n_missing_values) == (
        1,
        1,
        1,
    )
    manifest = json.loads((cache / "manifest.json").read_text())
    for record in manifest["downloads"]:
        name = Path(record["path"]).name
        assert record["sha256"] == hashlib.sha256(server.files[name]).hexdigest()
        assert record["size"] == len(server.files[name])
        assert record["url"] == server.url + quote(name)  # '+' must be escaped as %2B
    cached = pd.read_parquet(result.path)
    assert cached.columns[:2].tolist() == ["sample_id", "cancer_type"]
    assert cached.columns[2:].tolist() == ["TP53", "EGFR", "KRAS", "MYC", "EGFR.1", "GAPDH"]
    assert cached["cancer_type"].tolist() == TYPES
    # loading goes through the normal file path, including the missing-value rule
    with pytest.raises(
        InitsensError,
        match="1 missing or infinite value\\(s\\) in 1 gene\\(s\\) \\[KRAS \\(1\\)\\]",
    ):
        load_dataset("xena-pancan", cache_dir=cache)
    ds = load_dataset("xena-pancan", cache_dir=cache, drop_missing="genes")
    assert ds.n_genes == 5 and ds.classes == ["ACC", "CHOL", "UVM"]
    raw = pd.read_csv(cache / MATRIX_FILE, sep="\t")
    np.testing.assert_allclose(ds.X[:, 0], raw.iloc[0, 1:8].astype(float), rtol=1e-6)
    # a second fetch downloads nothing
    n_requests = len(server.requests)
    fetch_xena_pancan(cache, base_url=server.url, progress=False)
    assert len(server.requests) == n_requests


def test_interrupted_download_resumes_with_range(server, tmp_path):
    dest = tmp_path / MATRIX_FILE
    server.truncate.add(MATRIX_FILE)
    with pytest.raises(InitsensError, match="run the same command again to resume"):
        download(
            server.url + "EB%2B%2BAdjustPANCAN_IlluminaHiSeq_RNASeqV2.geneExp.xena.gz",
            dest,
            progress=False,
        )
    part = dest.with_name(dest.name + ".part")
    assert not dest.exists() and 0 < part.stat().st_size < len(server.files[MATRIX_FILE])
    record = download(
        server.url + "EB%2B%2BAdjustPANCAN_IlluminaHiSeq_RNASeqV2.geneExp.xena.gz",
        dest,
        progress=False,
    )
    assert server.requests[-1][1] == f"bytes={len(server.files[MATRIX_FILE]) // 2}-"
    assert dest.read_bytes() == server.files[MATRIX_FILE] and not part.exists()
    assert record.sha256 == hashlib.sha256(server.files[MATRIX_FILE]).hexdigest()


def test_http_errors_are_one_line(server, tmp_path):
    with pytest.raises(InitsensError, match="missing.gz: HTTP 404 Not Found"):
        download(server.url + "missing.gz", tmp_path / "x", progress=False)
    with pytest.raises(InitsensError, match="cannot connect"):
        download("http://127.0.0.1:9/none", tmp_path / "y", progress=False, timeout=2)
    message = "xena-pancan is not downloaded yet .* run `initsens data fetch xena-pancan`"
    with pytest.raises(InitsensError, match=message):
        load_dataset("xena-pancan", cache_dir=tmp_path / "empty")


def test_fetch_command_end_to_end(server, tmp_path):
    from typer.testing import CliRunner

    from initsens.cli import app

    cache = tmp_path / "cli-cache"
    result = CliRunner().invoke(
        app,
        [
            "data",
            "fetch",
            "xena-pancan",
            "--base-url",
            server.url.rstrip("/"),
            "--cache-dir",
            str(cache),
            "--quiet",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "7 samples x 6 genes" in result.output
    assert (
        "1 samples without a cancer type" in result.output
        and "1 repeated gene symbols renamed" in result.output
    )
    assert "--drop-missing genes" in result.output
    assert (cache / "xena-pancan.parquet").exists() and (cache / "manifest.json").exists()
