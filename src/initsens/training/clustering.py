"""Downstream clustering of a run's latent space, scored by the adjusted Rand index against cancer
type.

``kmeans`` (default): k-means (k = number of cancer types) on the posterior means of the validation
samples. ``leiden``: the original study's procedure, Leiden modularity clustering (seed 42) of the
15-nearest-neighbour graph of one *sampled* z per sample over all samples, training ones included
(optional extra: ``pip install "initsens[leiden]"``).
"""

from __future__ import annotations

import math

import numpy as np

from initsens.errors import InitsensError

CLUSTERINGS = ("kmeans", "leiden")
LEIDEN_NEIGHBOURS = 15
LEIDEN_SEED = 42


def require_clustering(name: str) -> None:
    """A one-line error before training when ``name`` is unknown or its optional packages are
    missing.
    """
    if name not in CLUSTERINGS:
        raise InitsensError(
            f"unknown --clustering {name!r}; choose one of: {', '.join(CLUSTERINGS)}"
        )
    if name == "leiden":
        try:
            import igraph  # noqa: F401
            import leidenalg  # noqa: F401
        except ImportError:
            raise InitsensError(
                '--clustering leiden needs leidenalg and igraph: pip install "initsens[leiden]"'
            ) from None


def adjusted_rand(
    embedding: np.ndarray, labels: np.ndarray | None, seed: int, method: str = "kmeans"
) -> float:
    """ARI between the clusters of ``embedding`` (samples x latent) and ``labels`` (NaN without
    labels).
    """
    from sklearn.metrics import adjusted_rand_score

    if labels is None or not np.isfinite(embedding).all():
        return math.nan
    k = len(set(labels.tolist()))
    if k < 2 or len(labels) <= k:
        return math.nan
    clusters = _leiden(embedding) if method == "leiden" else _kmeans(embedding, k, seed)
    return float(adjusted_rand_score(labels, clusters))


def _kmeans(embedding: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(
        embedding.astype(np.float64)
    )


def _leiden(embedding: np.ndarray) -> np.ndarray:
    """Leiden modularity partition of the symmetrized kNN graph (each sample's 15 nearest, itself
    included, as ``NearestNeighbors.kneighbors`` on the fitted points returns them; one self-loop
    per sample).
    """
    import igraph
    import leidenalg
    from sklearn.neighbors import NearestNeighbors

    n = len(embedding)
    k = min(LEIDEN_NEIGHBOURS, n)
    neighbours = (
        NearestNeighbors(n_neighbors=k).fit(embedding).kneighbors(embedding, return_distance=False)
    )
    pairs = {(min(i, j), max(i, j)) for i in range(n) for j in neighbours[i].tolist()}
    graph = igraph.Graph(n=n, edges=sorted(pairs), directed=False)
    partition = leidenalg.find_partition(
        graph, leidenalg.ModularityVertexPartition, n_iterations=-1, seed=LEIDEN_SEED
    )
    return np.asarray(partition.membership)
