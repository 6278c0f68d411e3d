"""Matrix files in every supported format and orientation, labels, and one-line errors for bad
input.
"""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from initsens.data import load_dataset, load_matrix
from initsens.errors import InitsensError


def _genes_x_samples(frame: pd.DataFrame) -> pd.DataFrame:
    """Xena layout: first column 'sample' holds gene ids, one column per sample."""
    values = frame.drop(columns=["sample_id", "cancer_type"]).T
    values.columns = frame["sample_id"].tolist()
    return values.reset_index().rename(columns={"index": "sample"})


def _check(ds, frame):
    np.testing.assert_allclose(ds.X, frame.iloc[:, 2:].to_numpy(np.float32), rtol=1e-6)
    assert ds.sample_ids.tolist() == frame["sample_id"].tolist()
    assert ds.gene_ids.tolist() == list(frame.columns[2:])


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".csv.gz", ".tsv.gz", ".parquet"])
def test_samples_x_genes_with_label_column(tmp_path, small_frame, suffix):
    path = tmp_path / f"expr{suffix}"
    if suffix == ".parquet":
        small_frame.to_parquet(path, index=False)
    else:
        small_frame.to_csv(path, sep="," if ".csv" in suffix else "\t", index=False)
    ds = load_matrix(path)
    _check(ds, small_frame)
    assert ds.labels.tolist() == small_frame["cancer_type"].tolist()


@pytest.mark.parametrize("suffix", [".tsv", ".xena.gz", ".parquet"])
def test_genes_x_samples_with_phenotype_table(tmp_path, small_frame, suffix):
    frame = small_frame.assign(sample_id=[f"TCGA-AB-{i:04d}-01" for i in range(12)])
    matrix = _genes_x_samples(frame)
    path = tmp_path / f"expr{suffix}"
    if suffix == ".parquet":
        matrix.to_parquet(path, index=False)
    elif suffix.endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            matrix.to_csv(handle, sep="\t", index=False)
    else:
        matrix.to_csv(path, sep="\t", index=False)
    pheno = tmp_path / "pheno_sp"  # Xena phenotype tables often have no suffix: tab-separated
    pd.DataFrame(
        {
            "sample": frame["sample_id"][::-1],
            "_PATIENT": "x",
            "cancer type abbreviation": frame["cancer_type"][::-1],
        }
    ).to_csv(pheno, sep="\t", index=False)
    ds = load_matrix(path, labels=pheno)
    _check(ds, frame)
    assert ds.labels.tolist() == frame["cancer_type"].tolist()


def test_orientation_by_shape_and_explicit(tmp_path, small_frame):
    frame = small_frame.drop(columns="cancer_type")
    wide = tmp_path / "wide.tsv"  # 12 samples x 30 genes: more columns than rows -> samples x genes
    frame.to_csv(wide, sep="\t", index=False)
    assert load_matrix(wide).n_samples == 12
    tall = tmp_path / "tall.tsv"
    _genes_x_samples(small_frame).to_csv(tall, sep="\t", index=False)
    assert load_matrix(tall).n_samples == 12
    assert load_matrix(tall, orientation="samples-x-genes").n_samples == 30


def test_named_label_column_and_load_dataset_dispatch(tmp_path, small_frame):
    path = tmp_path / "expr.csv"
    small_frame.rename(columns={"cancer_type": "tumour"}).to_csv(path, index=False)
    message = "column 'tumour' is not numeric|non-numeric value 'BRCA' in column 'tumour'"
    with pytest.raises(InitsensError, match=message):
        load_matrix(path)
    ds = load_dataset(str(path), label_column="tumour")
    assert ds.classes == ["BRCA", "KIRC", "LUAD"]


def _write(tmp_path, frame, name="bad.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_errors_are_one_line_and_name_the_problem(tmp_path, small_frame):
    cases = []
    cases.append((tmp_path / "missing.tsv", "missing.tsv: no such file"))
    bad = small_frame.astype({"GENE3": object})
    bad.loc[4, "GENE3"] = "n/a?"
    cases.append(
        (
            _write(tmp_path, bad, "nonnum.csv"),
            "non-numeric value 'n/a\\?' in column 'GENE3', sample 'S04'",
        )
    )
    dup = small_frame.copy()
    dup.loc[5, "sample_id"] = "S01"
    cases.append((_write(tmp_path, dup, "dup.csv"), "1 duplicated sample id\\(s\\), e.g. 'S01'"))
    dup_genes = small_frame.rename(columns={"GENE7": "GENE6"})
    cases.append(
        (
            _write(tmp_path, dup_genes, "dupg.csv"),
            "1 column name\\(s\\) appear more than once in the header, e.g. 'GENE6'",
        )
    )
    nolabel = small_frame.copy()
    nolabel.loc[2, "cancer_type"] = None
    cases.append(
        (
            _write(tmp_path, nolabel, "nolabel.csv"),
            "1 of 12 samples in column 'cancer_type' have no label",
        )
    )
    numeric_ids = small_frame.drop(columns=["sample_id", "cancer_type"])
    cases.append(
        (_write(tmp_path, numeric_ids, "noid.csv"), "the first column 'GENE0' holds numbers")
    )
    (tmp_path / "empty.csv").write_text("")
    cases.append((tmp_path / "empty.csv", "empty.csv: cannot read this file"))
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 not really")
    cases.append((tmp_path / "corrupt.parquet", "corrupt.parquet: cannot read this file"))
    for path, message in cases:
        with pytest.raises(InitsensError, match=message) as info:
            load_matrix(path)
        assert "\n" not in str(info.value)


def test_labels_that_do_not_match(tmp_path, small_frame):
    path = _write(tmp_path, small_frame.drop(columns="cancer_type"), "expr.csv")
    pheno = tmp_path / "pheno.tsv"
    phenotypes = pd.DataFrame({"sample": [f"S{i:02d}" for i in range(10)], "cancer_type": "BRCA"})
    phenotypes.to_csv(pheno, sep="\t", index=False)
    with pytest.raises(
        InitsensError, match="2 of 12 samples in .*expr.csv have no label \\(e.g. S10, S11\\)"
    ):
        load_matrix(path, labels=pheno)
    with pytest.raises(InitsensError, match="no column 'subtype' for --label-column"):
        load_matrix(path, labels=pheno, label_column="subtype")
    conflict = tmp_path / "conflict.tsv"
    pd.DataFrame({"sample": ["S00", "S00"], "label": ["A", "B"]}).to_csv(
        conflict, sep="\t", index=False
    )
    with pytest.raises(InitsensError, match="sample 'S00' has more than one label"):
        load_matrix(path, labels=conflict)


def test_missing_values_error_then_impute_or_drop(tmp_path, small_frame):
    frame = small_frame.copy()
    frame.loc[1, "GENE2"] = np.nan
    frame.loc[3, "GENE2"] = np.inf
    frame.loc[3, "GENE9"] = np.nan
    path = _write(tmp_path, frame, "nan.csv")
    with pytest.raises(
        InitsensError,
        match=(
            "3 missing or infinite value\\(s\\) in 2 gene\\(s\\) \\[GENE2 \\(2\\), GENE9 "
            "\\(1\\)\\] and 2 sample\\(s\\) \\[S03 \\(2\\), S01 \\(1\\)\\]; rerun with --impute "
            "mean\\|zero or --drop-missing genes\\|samples"
        ),
    ):
        load_matrix(path)
    genes = load_matrix(path, drop_missing="genes")
    assert genes.n_genes == 28 and "GENE2" not in genes.gene_ids
    samples = load_matrix(path, drop_missing="samples")
    assert samples.sample_ids.tolist() == [f"S{i:02d}" for i in range(12) if i not in (1, 3)]
    assert samples.labels.tolist() == [
        t for i, t in enumerate(frame["cancer_type"]) if i not in (1, 3)
    ]
    mean = load_matrix(path, impute="mean")
    finite = frame["GENE2"].drop([1, 3]).astype(np.float64)
    assert mean.X[1, 2] == pytest.approx(finite.mean(), rel=1e-6) and mean.X[3, 2] == mean.X[1, 2]
    assert load_matrix(path, impute="zero").X[3, 9] == 0.0
    with pytest.raises(InitsensError, match="either --impute or --drop-missing, not both"):
        load_matrix(path, impute="mean", drop_missing="genes")
    with pytest.raises(InitsensError, match="unknown --impute 'median'; choose one of: mean, zero"):
        load_matrix(path, impute="median")


def test_unknown_dataset_name():
    message = "no-such: no such file and no dataset of that name; .* synthetic, xena-pancan"
    with pytest.raises(InitsensError, match=message):
        load_dataset("no-such")
    with pytest.raises(InitsensError, match="apply to files, not to the named dataset 'synthetic'"):
        load_dataset("synthetic", label_column="x")


def test_dataframe_input(small_frame):
    ds = load_matrix(small_frame)
    _check(ds, small_frame)
    assert ds.name == "DataFrame" and ds.classes == ["BRCA", "KIRC", "LUAD"]


def test_content_hash_ignores_file_format(tmp_path, small_frame):
    small_frame.to_csv(tmp_path / "a.csv", index=False)
    small_frame.to_parquet(tmp_path / "a.parquet", index=False)
    assert load_matrix(tmp_path / "a.csv").sha256 == load_matrix(tmp_path / "a.parquet").sha256


def test_duplicated_gene_rows_in_genes_x_samples(tmp_path, small_frame):
    matrix = _genes_x_samples(small_frame)
    matrix.loc[3, "sample"] = matrix.loc[1, "sample"]
    path = tmp_path / "tall.tsv"
    matrix.to_csv(path, sep="\t", index=False)
    with pytest.raises(
        InitsensError, match="1 duplicated gene id\\(s\\), e.g. 'GENE1'; make gene ids unique"
    ):
        load_matrix(path)
