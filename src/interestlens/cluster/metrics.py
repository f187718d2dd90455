"""Clustering quality against known labels: ARI, NMI, purity, pairwise precision/recall/F1.

Noise (``-1`` in the predicted labels) is handled by ``noise``: ``"singleton"`` (default) makes
each noise row a cluster of its own, so it is grouped with nothing, which is what a density
method claims about it; ``"cluster"`` puts all noise in one cluster.

Pairwise scores count unordered pairs of rows: precision is the share of pairs put in the same
cluster that share a true label, recall the share of same-label pairs put in the same cluster.
With no predicted pairs precision is 1 (no false pair was made); with no true pairs recall is 1.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from interestlens.cluster.base import NOISE
from interestlens.errors import DataError, ParameterError

NoiseHandling = Literal["singleton", "cluster"]


def _prepare(
    labels_true: np.ndarray, labels_pred: np.ndarray, noise: NoiseHandling
) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(labels_true).ravel()
    predicted = np.asarray(labels_pred).ravel()
    if truth.shape != predicted.shape:
        raise DataError(
            f"labels_true has {truth.size} labels but labels_pred has {predicted.size}",
            expected="one true and one predicted label per row",
            fix="pass labels for the same rows in the same order",
        )
    if truth.size == 0:
        raise DataError("no labels given", expected="at least one row", fix="pass labels")
    if noise not in ("singleton", "cluster"):
        raise ParameterError(
            f"noise={noise!r}", expected="'singleton' or 'cluster'", fix="pass one of those"
        )
    _, truth = np.unique(truth, return_inverse=True)
    predicted = predicted.astype(np.int64)
    is_noise = predicted == NOISE
    if noise == "singleton" and is_noise.any():
        predicted = predicted.copy()
        predicted[is_noise] = predicted.max() + 1 + np.arange(int(is_noise.sum()))
    _, predicted = np.unique(predicted, return_inverse=True)
    return truth.astype(np.int64), predicted.astype(np.int64)


def _pair_table(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Counts of rows for each (true label, predicted cluster) that occurs: the non-zero cells."""
    _, counts = np.unique(np.stack([truth, predicted]), axis=1, return_counts=True)
    return counts.astype(np.int64)


def _pairs(counts: np.ndarray) -> int:
    return int((counts * (counts - 1) // 2).sum())


def purity(labels_true: np.ndarray, labels_pred: np.ndarray, *, noise: NoiseHandling = "singleton"):
    """Share of rows whose cluster's most common true label is their own."""
    truth, predicted = _prepare(labels_true, labels_pred, noise)
    keys, counts = np.unique(np.stack([predicted, truth]), axis=1, return_counts=True)
    best_per_cluster = np.zeros(predicted.max() + 1, dtype=np.int64)
    np.maximum.at(best_per_cluster, keys[0], counts)
    return float(best_per_cluster.sum() / truth.size)


def pairwise_scores(
    labels_true: np.ndarray, labels_pred: np.ndarray, *, noise: NoiseHandling = "singleton"
) -> dict[str, float]:
    """Pairwise precision, recall and F1 (see the module docstring)."""
    truth, predicted = _prepare(labels_true, labels_pred, noise)
    same_both = _pairs(_pair_table(truth, predicted))
    same_predicted = _pairs(np.bincount(predicted))
    same_true = _pairs(np.bincount(truth))
    precision = same_both / same_predicted if same_predicted else 1.0
    recall = same_both / same_true if same_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairwise_precision": precision, "pairwise_recall": recall, "pairwise_f1": f1}


def clustering_metrics(
    labels_true: np.ndarray, labels_pred: np.ndarray, *, noise: NoiseHandling = "singleton"
) -> dict[str, float | int]:
    """ARI, NMI (arithmetic mean normalisation), purity and pairwise scores in one dict."""
    truth, predicted = _prepare(labels_true, labels_pred, noise)
    raw = np.asarray(labels_pred).ravel()
    return {
        "adjusted_rand": float(adjusted_rand_score(truth, predicted)),
        "normalized_mutual_info": float(normalized_mutual_info_score(truth, predicted)),
        "purity": purity(truth, predicted),
        **pairwise_scores(truth, predicted),
        "n_true_labels": int(truth.max() + 1),
        "n_clusters": len(np.unique(raw[raw != NOISE])),
        "noise_share": float(np.mean(raw == NOISE)),
        "noise_handling": noise,  # type: ignore[dict-item]
    }
