"""Agglomerative clustering (Ward, or average linkage on cosine distance) with scipy's linkage.

scipy builds the whole merge tree once (scikit-learn's AgglomerativeClustering calls the same
scipy routines when there is no connectivity matrix); :meth:`AgglomerativeClusterer.cut` then
reads any number of clusters off that tree without refitting, which makes scanning k cheap.
The tree needs all pairwise distances: n*(n-1)/2 float64 values, 1.6 GB at n=20,000, so
``max_samples`` refuses larger inputs with a clear error instead of exhausting memory.

``predict`` has no tree to extend, so a new row goes to the nearest cluster centroid: by
Euclidean distance for Ward (whose clusters are compact around their means), by cosine
similarity for average-cosine.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from interestlens.cluster.base import (
    ClustererState,
    check_features,
    check_fitted,
    check_matrix,
    check_n_clusters,
    member_means,
    nearest,
)
from interestlens.cluster.params import ParamsMixin
from interestlens.errors import ParameterError

Linkage = Literal["ward", "average"]


class AgglomerativeClusterer(ParamsMixin):
    """Bottom-up merging; ``linkage="ward"`` (Euclidean) or ``"average"`` (cosine distance)."""

    kind = "agglomerative"

    def __init__(self, n_clusters: int = 8, *, linkage: Linkage = "ward", max_samples: int = 20000):
        self.n_clusters = n_clusters
        self.linkage = linkage
        self.max_samples = max_samples

    @property
    def metric(self) -> str:
        return "euclidean" if self.linkage == "ward" else "cosine"

    def fit(self, X: np.ndarray) -> AgglomerativeClusterer:
        X = check_matrix(X)
        check_n_clusters(len(X), self.n_clusters)
        if self.linkage not in ("ward", "average"):
            raise ParameterError(
                f"linkage={self.linkage!r}",
                expected="'ward' or 'average'",
                fix="pass linkage='ward' or linkage='average' (cosine distance)",
            )
        if len(X) > self.max_samples:
            gigabytes = len(X) * (len(X) - 1) / 2 * 8 / 1e9
            raise ParameterError(
                f"n_samples={len(X)} should be <= max_samples={self.max_samples} for "
                f"agglomerative clustering (its distance matrix would take {gigabytes:.1f} GB)",
                expected="a sample small enough for an all-pairs distance matrix",
                fix="use method 'kmeans' or 'minibatch-kmeans', or cluster a sample of users",
            )
        if len(X) == 1:
            self.linkage_matrix_ = np.zeros((0, 4))
        else:
            # float64 so that merge heights are exact enough for ties to break the same way.
            self.linkage_matrix_ = linkage(
                X.astype(np.float64), method=self.linkage, metric=self.metric
            )
        self._set_labels(X, self.n_clusters)
        return self

    def cut(self, X: np.ndarray, n_clusters: int) -> AgglomerativeClusterer:
        """A fitted copy with ``n_clusters`` read off this tree; ``X`` must be the fitted rows."""
        check_fitted(self, "linkage_matrix_")
        X = check_matrix(X)
        if len(X) != len(self.labels_):
            raise ParameterError(
                f"X has {len(X)} rows but the tree was built on {len(self.labels_)}",
                expected="the same rows that were passed to fit",
                fix="pass the X that this clusterer was fitted on",
            )
        check_n_clusters(len(X), n_clusters)
        other = type(self)(**(self.get_params() | {"n_clusters": n_clusters}))
        other.linkage_matrix_ = self.linkage_matrix_
        other._set_labels(X, n_clusters)
        return other

    def _set_labels(self, X: np.ndarray, n_clusters: int) -> None:
        if len(X) == 1:
            raw = np.zeros(1, dtype=np.int64)
        else:
            raw = fcluster(self.linkage_matrix_, t=n_clusters, criterion="maxclust")
        # fcluster numbers clusters from 1 and may give fewer than asked when merge heights tie.
        _, labels = np.unique(raw, return_inverse=True)
        self.labels_ = labels.astype(np.int64)
        self.n_clusters_ = int(labels.max()) + 1
        self.n_features_in_ = X.shape[1]
        self.cluster_centers_ = member_means(X, self.labels_, self.n_clusters_)
        self.centroids_ = self.cluster_centers_

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_fitted(self, "cluster_centers_")
        X = check_matrix(X)
        check_features(X, self.n_features_in_, owner=type(self).__name__)
        return nearest(X, self.cluster_centers_, metric=self.metric)

    def get_state(self) -> ClustererState:
        check_fitted(self, "cluster_centers_")
        return ClustererState(
            kind=self.kind,
            params=self.get_params(),
            arrays={
                "cluster_centers": self.cluster_centers_,
                "labels": self.labels_,
                "linkage_matrix": self.linkage_matrix_,
            },
        )

    @classmethod
    def from_state(cls, state: ClustererState) -> AgglomerativeClusterer:
        model = cls(**state.params)
        model.cluster_centers_ = np.asarray(state.arrays["cluster_centers"], dtype=np.float32)
        model.centroids_ = model.cluster_centers_
        model.labels_ = np.asarray(state.arrays["labels"], dtype=np.int64)
        model.linkage_matrix_ = np.asarray(state.arrays["linkage_matrix"], dtype=np.float64)
        model.n_clusters_ = len(model.cluster_centers_)
        model.n_features_in_ = model.cluster_centers_.shape[1]
        return model
