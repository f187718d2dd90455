"""The cluster stage's contract, shared input checks, and the nearest-centroid test double.

Every clusterer takes float32 ``(n, d)`` rows (user interest vectors, usually L2-normalised) and
follows the scikit-learn estimator contract: settings are stored unchanged in ``__init__``,
``fit`` returns ``self``, learned state ends in ``_``.

Saved state: ``get_state()`` returns a :class:`ClustererState` (JSON-able ``params`` plus plain
numeric ``arrays``) and :func:`interestlens.cluster.state.clusterer_from_state` rebuilds a
clusterer that predicts like the fitted one, without pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy import sparse

from interestlens.errors import DataError, NotFittedError, ParameterError

NOISE = -1
"""Label of points that density methods leave out of every cluster."""


@dataclass
class ClustererState:
    """What it takes to rebuild a fitted clusterer: ``kind`` names the class."""

    kind: str
    params: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    children: dict[str, ClustererState] = field(default_factory=dict)


@runtime_checkable
class Clusterer(Protocol):
    """Groups rows into clusters and assigns new rows to the nearest of them.

    After ``fit``: ``labels_`` (int64, ``(n,)``; ``-1`` marks noise for density methods only),
    ``n_clusters_`` and ``centroids_`` (float32 ``(n_clusters_, d)``, the mean of each cluster's
    members in the *input* space, also when clustering ran on reduced dimensions).
    ``predict`` never returns ``-1``: a new user always goes to its nearest cluster.
    Soft methods also have ``predict_proba`` (``(n, n_clusters_)``, rows summing to 1).
    """

    labels_: np.ndarray
    n_clusters_: int
    centroids_: np.ndarray

    def fit(self, X: np.ndarray) -> Clusterer: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...

    def get_state(self) -> ClustererState: ...


@runtime_checkable
class SoftClusterer(Clusterer, Protocol):
    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


def check_matrix(X: Any, *, name: str = "X", min_rows: int = 1) -> np.ndarray:
    """``X`` as a C-contiguous float32 ``(n, d)`` array, or a :class:`DataError` saying why not."""
    array = np.asarray(X)
    if array.ndim != 2:
        raise DataError(
            f"{name} has shape {array.shape}",
            expected="a 2-D array (n_samples, n_features) of interest vectors",
            fix="stack the vectors into one matrix, e.g. np.vstack(vectors)",
        )
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise DataError(
            f"{name} has dtype {array.dtype}",
            expected="numbers (float32)",
            fix="convert the vectors with np.asarray(X, dtype=np.float32)",
        )
    array = np.ascontiguousarray(array, dtype=np.float32)
    if array.shape[0] < min_rows:
        raise ParameterError(
            f"n_samples={array.shape[0]} should be >= {min_rows}",
            expected=f"at least {min_rows} rows in {name}",
            fix="pass more users or ask for fewer clusters",
        )
    if array.shape[1] == 0:
        raise DataError(
            f"{name} has 0 features", expected="at least one column", fix="check the encoder output"
        )
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).any(axis=1).sum())
        raise DataError(
            f"{name} has {bad} rows with NaN or infinite values",
            expected="finite numbers only",
            fix="drop or re-encode those rows before clustering",
        )
    return array


def check_n_clusters(n_samples: int, n_clusters: int) -> None:
    if n_clusters < 1:
        raise ParameterError(
            f"n_clusters={n_clusters}",
            expected="n_clusters >= 1",
            fix="pass a positive number of clusters",
        )
    if n_samples < n_clusters:
        raise ParameterError(
            f"n_samples={n_samples} should be >= n_clusters={n_clusters}",
            expected="at least as many rows as clusters",
            fix="pass more users or ask for fewer clusters (lower k / k_max)",
        )


def check_features(X: np.ndarray, n_features: int, *, owner: str) -> None:
    if X.shape[1] != n_features:
        raise DataError(
            f"X has {X.shape[1]} features but {owner} was fitted on {n_features}",
            expected=f"rows of dimension {n_features}",
            fix="encode the new users with the same encoder used for fitting",
        )


def check_fitted(estimator: object, attribute: str = "labels_") -> None:
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"{type(estimator).__name__} is not fitted yet",
            expected="a call to fit(X) before predict or get_state",
            fix=f"call {type(estimator).__name__}(...).fit(X) first",
        )


def squared_distances(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(n, k)``, via the dot-product identity, clipped at 0."""
    X = np.asarray(X, dtype=np.float32)
    centres = np.asarray(centres, dtype=np.float32)
    squared = (
        np.einsum("ij,ij->i", X, X)[:, None]
        - 2.0 * (X @ centres.T)
        + np.einsum("ij,ij->i", centres, centres)[None, :]
    )
    return np.maximum(squared, 0.0)


def nearest(X: np.ndarray, centres: np.ndarray, *, metric: str = "euclidean") -> np.ndarray:
    """Index of the nearest row of ``centres`` for each row of ``X`` (chunked to bound memory).

    ``metric="cosine"`` compares directions only, so a centroid's length does not matter.
    Ties go to the lower index, as ``np.argmin`` does.
    """
    return nearest_with_distances(X, centres, metric=metric)[0]


def nearest_with_distances(
    X: np.ndarray, centres: np.ndarray, *, metric: str = "euclidean"
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nearest`, plus the squared Euclidean distance (or ``1 - cos``) to that centre."""
    if metric not in ("euclidean", "cosine"):
        raise ParameterError(
            f"metric={metric!r}", expected="'euclidean' or 'cosine'", fix="pass one of the two"
        )
    if metric == "cosine":
        centres = unit_rows(centres)
    labels = np.empty(len(X), dtype=np.int64)
    distances = np.empty(len(X), dtype=np.float32)
    chunk = max(1, 2**22 // max(1, len(centres)))
    for start in range(0, len(X), chunk):
        block = X[start : start + chunk]
        rows = slice(start, start + len(block))
        if metric == "cosine":
            similarity = unit_rows(block) @ centres.T
            labels[rows] = np.argmax(similarity, axis=1)
            distances[rows] = 1.0 - similarity[np.arange(len(block)), labels[rows]]
        else:
            squared = squared_distances(block, centres)
            labels[rows] = np.argmin(squared, axis=1)
            distances[rows] = squared[np.arange(len(block)), labels[rows]]
    return labels, distances


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def member_means(
    X: np.ndarray, labels: np.ndarray, n_clusters: int, *, fallback: np.ndarray | None = None
) -> np.ndarray:
    """Mean row of each cluster ``0..n_clusters-1`` (noise ``-1`` ignored), float32 ``(k, d)``.

    A cluster without members takes its row from ``fallback`` (e.g. a k-means centre) when
    given, else stays zero.
    """
    labels = np.asarray(labels)
    sums = np.zeros((n_clusters, X.shape[1]), dtype=np.float64)
    # A sparse one-hot product sums each cluster's rows (np.add.at is unbuffered and far slower
    # on a million rows); chunks keep the float64 copy small.
    for start in range(0, len(X), 65536):
        chunk_labels = labels[start : start + 65536]
        keep = np.flatnonzero(chunk_labels >= 0)
        one_hot = sparse.csr_matrix(
            (np.ones(len(keep)), (chunk_labels[keep], keep)),
            shape=(n_clusters, len(chunk_labels)),
        )
        sums += one_hot @ np.asarray(X[start : start + 65536], dtype=np.float64)
    counts = np.bincount(labels[labels >= 0], minlength=n_clusters).astype(np.float64)
    means = sums / np.maximum(counts, 1.0)[:, None]
    if fallback is not None:
        empty = counts == 0
        means[empty] = np.asarray(fallback, dtype=np.float64)[empty]
    return means.astype(np.float32)


class NearestCentroidClusterer:
    """Test double and restore target: fixed centroids, every row goes to the nearest one.

    ``fit`` learns nothing; it only labels ``X`` by the given centroids, so tests of later stages
    get a clusterer whose answers they know.
    """

    def __init__(self, centroids: np.ndarray, *, metric: str = "euclidean"):
        self.centroids = centroids
        self.metric = metric

    def fit(self, X: np.ndarray) -> NearestCentroidClusterer:
        centroids = check_matrix(self.centroids, name="centroids")
        X = check_matrix(X)
        check_features(X, centroids.shape[1], owner="the centroids")
        if self.metric not in ("euclidean", "cosine"):
            raise ParameterError(
                f"metric={self.metric!r}",
                expected="'euclidean' or 'cosine'",
                fix="pass one of the two",
            )
        self.centroids_ = centroids
        self.n_clusters_ = len(centroids)
        self.n_features_in_ = centroids.shape[1]
        self.labels_ = nearest(X, centroids, metric=self.metric)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_fitted(self, "centroids_")
        X = check_matrix(X)
        check_features(X, self.n_features_in_, owner=type(self).__name__)
        return nearest(X, self.centroids_, metric=self.metric)

    def get_state(self) -> ClustererState:
        check_fitted(self, "centroids_")
        return ClustererState(
            kind="nearest-centroid",
            params={"metric": self.metric},
            arrays={"centroids": self.centroids_, "labels": self.labels_},
        )

    @classmethod
    def from_state(cls, state: ClustererState) -> NearestCentroidClusterer:
        model = cls(state.arrays["centroids"], metric=state.params["metric"])
        model.centroids_ = np.asarray(state.arrays["centroids"], dtype=np.float32)
        model.n_clusters_ = len(model.centroids_)
        model.n_features_in_ = model.centroids_.shape[1]
        model.labels_ = np.asarray(state.arrays["labels"], dtype=np.int64)
        return model
