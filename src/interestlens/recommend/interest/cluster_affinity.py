"""Interest clusters of users and how much each cluster favours each item.

Users are clustered with k-means (:class:`interestlens.cluster.KMeansClusterer`) on their
*interest vectors*: the unit semantic profile (what their items are about) next to the unit
collaborative profile (which items they share with others), each with half the weight.

Affinity of cluster ``c`` for item ``i`` compares the item's share of the cluster's interaction
weight with its share of all interaction weight, after shrinking the cluster share towards the
global one by ``shrinkage`` interactions (a cluster of three users says little)::

    share_ci = (C_ci + shrinkage * g_i) / (N_c + shrinkage)      C_ci: weight of c's users on i
    lift_ci  = log(share_ci) - log(g_i)                          N_c = sum_i C_ci, g_i global

Weights are rating-aware (the caller passes rating-weighted rows). A user's affinity for an
item averages ``lift_ci`` over the user's soft membership: a softmax (``temperature``) of the
cosine to each centroid, kept on the ``top`` nearest clusters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from interestlens.cluster import KMeansClusterer
from interestlens.embed.base import l2_normalise
from interestlens.errors import ParameterError

#: above this many users with a signal, the affinity clusters' centres come from a sample
KMEANS_SAMPLE = 200_000


@dataclass
class ClusterAffinity:
    """Fitted clusters: unit ``centroids`` (k, d), ``lift`` and ``share`` (k, n_items) logs.

    ``log_floor``: the log share of an item nobody interacted with (in every cluster and
    overall), given to items added after fitting.
    """

    centroids: np.ndarray
    labels: np.ndarray  # (n_users,), -1 for users without any signal
    log_share: np.ndarray
    log_global: np.ndarray
    sizes: np.ndarray
    log_floor: float

    def add_empty_items(self, n_new: int) -> None:
        """Append ``n_new`` items without interactions (share = the floor, lift 0)."""
        floor = np.float32(self.log_floor)
        self.log_share = np.hstack(
            [self.log_share, np.full((len(self.log_share), n_new), floor, dtype=np.float32)]
        )
        self.log_global = np.concatenate([self.log_global, np.full(n_new, floor, dtype=np.float32)])

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {
            "centroids": self.centroids,
            "labels": self.labels,
            "log_share": self.log_share,
            "log_global": self.log_global,
            "sizes": self.sizes,
        }
        return {"log_floor": float(self.log_floor)}, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> ClusterAffinity:
        return cls(
            centroids=arrays["centroids"],
            labels=arrays["labels"],
            log_share=arrays["log_share"],
            log_global=arrays["log_global"],
            sizes=arrays["sizes"],
            log_floor=float(meta["log_floor"]),
        )

    @property
    def n_clusters(self) -> int:
        return len(self.centroids)

    @property
    def lift(self) -> np.ndarray:
        return self.log_share - self.log_global[None, :]


def interest_vectors(semantic: np.ndarray, collaborative: np.ndarray) -> np.ndarray:
    """Unit semantic and unit collaborative profiles side by side, each with half the weight."""
    return (np.hstack([l2_normalise(semantic), l2_normalise(collaborative)]) / np.sqrt(2.0)).astype(
        np.float32
    )


def fit_cluster_affinity(
    vectors: np.ndarray,
    weights: sp.csr_matrix,
    n_clusters: int,
    *,
    shrinkage: float,
    random_state: int,
    labels: np.ndarray | None = None,
) -> ClusterAffinity:
    """k-means on the users with a non-zero vector, then per-cluster item shares.

    ``labels``: clusters found elsewhere (the pipeline's explained interest clusters, -1 for
    users in none); they are used as they are, ``n_clusters`` is then ignored and each centroid
    is the unit mean of its members' vectors.
    """
    if labels is not None:
        return _affinity_from_labels(vectors, weights, np.asarray(labels), shrinkage)
    has_signal = np.linalg.norm(vectors, axis=1) > 0
    rows = np.flatnonzero(has_signal)
    # more clusters than distinct users cannot be filled (k-means would warn and leave some empty);
    # the first rows usually settle it without sorting a million vectors
    head = rows[: max(20 * n_clusters, 1000)]
    distinct = len(np.unique(vectors[head].round(6), axis=0)) if len(head) else 0
    if distinct < n_clusters and len(head) < len(rows):
        distinct = len(np.unique(vectors[rows].round(6), axis=0))
    k = max(1, min(n_clusters, distinct))
    fitted_labels = np.full(len(vectors), -1, dtype=np.int64)
    if len(rows) == 0:
        centroids = np.zeros((1, vectors.shape[1]), dtype=np.float32)
    elif k == 1:
        fitted_labels[rows] = 0
        centroids = l2_normalise(vectors[rows].mean(axis=0, keepdims=True))
    else:
        model = KMeansClusterer(k, backend="sklearn", random_state=random_state)
        if len(rows) > KMEANS_SAMPLE:
            # centres from a seeded sample, then every user assigned: k-means iterations over
            # a million users would cost minutes and change the centres little
            sample = np.random.default_rng(random_state).choice(rows, KMEANS_SAMPLE, replace=False)
            model.fit(vectors[np.sort(sample)])
            fitted_labels[rows] = model.predict(vectors[rows])
        else:
            model.fit(vectors[rows])
            fitted_labels[rows] = model.labels_
        centroids = l2_normalise(model.centroids_)
    return _affinity(centroids, fitted_labels, weights, shrinkage)


def _affinity_from_labels(
    vectors: np.ndarray, weights: sp.csr_matrix, labels: np.ndarray, shrinkage: float
) -> ClusterAffinity:
    if labels.shape != (len(vectors),):
        raise ParameterError(
            f"user_clusters has shape {labels.shape}",
            expected=f"one cluster per user: ({len(vectors)},), -1 for users in none",
            fix="pass the pipeline's clusters_.user_labels for the users of the matrix",
        )
    labels = labels.astype(np.int64)
    k = max(int(labels.max()) + 1, 1) if len(labels) else 1
    members = np.flatnonzero(labels >= 0)
    sums = sp.csr_matrix(
        (np.ones(len(members), dtype=np.float32), (labels[members], members)),
        shape=(k, len(vectors)),
    )
    centroids = l2_normalise(np.asarray(sums @ vectors))
    return _affinity(centroids, labels, weights, shrinkage)


def _affinity(
    centroids: np.ndarray, labels: np.ndarray, weights: sp.csr_matrix, shrinkage: float
) -> ClusterAffinity:
    k = len(centroids)
    rows = np.flatnonzero(labels >= 0)
    members = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (labels[rows], rows)), shape=(k, len(labels))
    )
    counts = np.asarray((members @ weights).todense(), dtype=np.float64)
    return affinity_from_counts(centroids, labels, counts, shrinkage)


def affinity_from_counts(
    centroids: np.ndarray, labels: np.ndarray, counts: np.ndarray, shrinkage: float
) -> ClusterAffinity:
    """Clusters with unit ``centroids`` ``(k, d)``, the users' ``labels`` (-1: none) and
    ``counts`` ``(k, n_items)``, the interaction weight of each cluster's users on each item
    (e.g. aggregated on Spark)."""
    labels = np.asarray(labels, dtype=np.int64)
    log_share, log_global, floor = item_log_shares(np.asarray(counts, np.float64), shrinkage)
    return ClusterAffinity(
        centroids=np.asarray(centroids).astype(np.float32),
        labels=labels,
        log_share=log_share,
        log_global=log_global,
        sizes=np.bincount(labels[labels >= 0], minlength=len(centroids)),
        log_floor=floor,
    )


def item_log_shares(counts: np.ndarray, shrinkage: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Shrunk log share of each item in each cluster, the global log share, and the log floor
    (see the module docstring). ``counts``: ``(k, n_items)`` interaction weight per cluster.
    The lift is ``log_share - log_global``; scoring and the engine's reasons both use this."""
    total = counts.sum()
    # a tenth of one interaction: the floor that keeps logs of unseen items finite
    floor = 0.1 / max(total, 1.0)
    global_share = counts.sum(axis=0) / max(total, 1e-12)
    cluster_total = counts.sum(axis=1, keepdims=True)
    share = (counts + shrinkage * global_share[None, :]) / (cluster_total + shrinkage + 1e-12)
    return (
        np.log(share + floor).astype(np.float32),
        np.log(global_share + floor).astype(np.float32),
        float(np.float32(np.log(floor))),
    )


def soft_membership(
    vectors: np.ndarray, centroids: np.ndarray, *, top: int, temperature: float
) -> np.ndarray:
    """``(n, k)`` membership: softmax of cosine / temperature over the ``top`` nearest clusters.

    Users without a vector (all-zero row) get an all-zero membership.
    """
    n, k = len(vectors), len(centroids)
    membership = np.zeros((n, k), dtype=np.float32)
    if n == 0:
        return membership
    cosine = l2_normalise(vectors) @ centroids.T
    top = max(1, min(top, k))
    nearest = np.argsort(-cosine, axis=1, kind="stable")[:, :top]
    chosen = np.take_along_axis(cosine, nearest, axis=1)
    weights = np.exp((chosen - chosen[:, :1]) / temperature)
    weights /= weights.sum(axis=1, keepdims=True)
    np.put_along_axis(membership, nearest, weights.astype(np.float32), axis=1)
    membership[np.linalg.norm(vectors, axis=1) == 0] = 0.0
    return membership
