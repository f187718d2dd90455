"""How much an interest cluster favours each item: the one place lift is computed.

The recommender scores with it (:mod:`interestlens.recommend.interest.cluster_affinity`) and the
reasons name the cluster that likes an item with it (the engine, over the explained clusters).

Affinity of cluster ``c`` for item ``i`` compares the item's share of the cluster's interaction
weight with its share of all interaction weight, after shrinking the cluster share towards the
global one by ``shrinkage`` interactions (a cluster of three users says little)::

    share_ci = (C_ci + shrinkage * g_i) / (N_c + shrinkage)      C_ci: weight of c's users on i
    lift_ci  = log(share_ci) - log(g_i)                          N_c = sum_i C_ci, g_i global
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def cluster_item_weight(labels: np.ndarray, weights: sp.spmatrix, n_clusters: int) -> np.ndarray:
    """``(n_clusters, n_items)`` interaction weight of each cluster's users on each item.

    ``labels``: one cluster per row of ``weights`` (-1: in none, left out); ``weights``:
    ``(n_users, n_items)`` interaction weights (1 per interaction, or rating-weighted)."""
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.flatnonzero(labels >= 0)
    members = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (labels[rows], rows)),
        shape=(n_clusters, len(labels)),
    )
    return np.asarray((members @ sp.csr_matrix(weights)).todense(), dtype=np.float64)


def item_log_shares(counts: np.ndarray, shrinkage: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Shrunk log share of each item in each cluster, the global log share, and the log floor
    (see the module docstring). ``counts``: ``(k, n_items)`` interaction weight per cluster.
    The lift is ``log_share - log_global`` (:func:`cluster_lift`)."""
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


def cluster_lift(counts: np.ndarray, shrinkage: float) -> np.ndarray:
    """``(k, n_items)`` log share of each item in each cluster over its global share."""
    log_share, log_global, _ = item_log_shares(counts, shrinkage)
    return log_share - log_global[None, :]
