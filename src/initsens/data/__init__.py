"""Datasets: the embedded real ``tcga5``, the ``synthetic`` generator, matrix files, UCSC Xena
Pan-Cancer, and preprocessing.

Typical use::

    from initsens.data import load_dataset, prepare
    data = prepare(load_dataset("tcga5"), top_genes=5000, normalization="zscore")
"""

from initsens.data.dataset import Dataset
from initsens.data.files import load_matrix
from initsens.data.genes import top_variable_genes
from initsens.data.normalize import NORMALIZERS, Normalizer
from initsens.data.prepare import PreparedData, prepare
from initsens.data.sources import DATASETS, load_dataset
from initsens.data.split import train_val_split
from initsens.data.synthetic import make_synthetic
from initsens.data.tcga5 import load_tcga5, tcga5_path
from initsens.data.xena import fetch_xena_pancan

__all__ = [
    "DATASETS",
    "NORMALIZERS",
    "Dataset",
    "Normalizer",
    "PreparedData",
    "fetch_xena_pancan",
    "load_dataset",
    "load_matrix",
    "load_tcga5",
    "make_synthetic",
    "prepare",
    "tcga5_path",
    "top_variable_genes",
    "train_val_split",
]
