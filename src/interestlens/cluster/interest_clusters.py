"""Users' interest clusters: who is in which cluster, how they were placed, how sure it is.

Users with neither history nor text have no interest vector: they are not clustered, get
cluster -1 and are counted (never dropped) in :class:`InterestClusters` ``unclustered``.

:func:`cluster_interests` fits the clusterer on the users with behaviour (``fit_mask``); users
known only by their text are then *assigned* with the fitted clusterer's ``predict`` (their
vectors come through the text bridge of :mod:`interestlens.represent`), with a confidence: left
in the fit, vectors of another origin formed clusters of their own. ``placement`` says how
each user was placed. Naming and describing the clusters is the explain stage's work; the
pipeline hands its explanations to :class:`InterestClusters`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from interestlens.cluster.factory import fit_clustering
from interestlens.cluster.metrics import clustering_metrics
from interestlens.cluster.multi_interest import interest_membership, split_interests_by_user
from interestlens.cluster.result import ClusteringResult
from interestlens.config import ClusterConfig
from interestlens.embed.base import l2_normalise

PLACED_NONE, PLACED_BY_FIT, PLACED_BY_PREDICT = 0, 1, 2
PLACEMENT_NAMES = ("none", "fit", "predict")
#: a clustering fitted on fewer users with behaviour than this fits on every user instead
MIN_FIT_USERS = 20
#: softmax temperature over centroid cosines for :attr:`InterestClusters.confidence`
CONFIDENCE_TEMPERATURE = 0.05
#: arrays of :meth:`InterestClusters.state` that every fit has; the others are optional
REQUIRED_ARRAYS = ("user_clusters", "user_map")
OPTIONAL_ARRAYS = ("membership", "user_placement", "user_confidence", "cluster_ids")


class NamedCluster(Protocol):
    """What this module reads of an explanation (:class:`interestlens.explain.
    ClusterExplanation`): the cluster's id and its label."""

    cluster_id: int
    label: str


@dataclass
class InterestClusters:
    """Per user: cluster (-1 = not clustered), optional soft membership, 2-D map position."""

    result: ClusteringResult
    user_labels: np.ndarray  # int64 (n_users,)
    user_map: np.ndarray  # float32 (n_users, 2); NaN for users not clustered
    #: one :class:`~interestlens.explain.ClusterExplanation` per cluster (the explain stage's)
    explanations: list[Any] = field(default_factory=list)
    membership: np.ndarray | None = None  # float32 (n_users, k) where the method gives one
    unclustered: int = 0
    truth_metrics: dict[str, Any] | None = None
    #: int8 (n_users,): :data:`PLACED_NONE`, :data:`PLACED_BY_FIT` or :data:`PLACED_BY_PREDICT`
    placement: np.ndarray | None = None
    #: float32 (n_users,): softmax share of the user's own cluster among all (cosine to the
    #: centroids, temperature :data:`CONFIDENCE_TEMPERATURE`); NaN where not clustered
    confidence: np.ndarray | None = None
    #: stable id of each fitted cluster (fit index -> id), set when ids follow a previous model
    #: (interestlens.cluster.identity); None: the ids are the fit indices
    cluster_ids: np.ndarray | None = None
    #: where these ids came from: parent fit, born/split/merged/dissolved clusters, next free id
    lineage: dict[str, Any] | None = None

    def placed_by(self) -> np.ndarray:
        """``"fit"``, ``"predict"`` or ``"none"`` per user."""
        if self.placement is None:
            return np.where(self.user_labels >= 0, "fit", "none")
        return np.array(PLACEMENT_NAMES, dtype=object)[self.placement].astype(str)

    def label_of(self, cluster: int) -> str:
        for explanation in self.explanations:
            if explanation.cluster_id == cluster:
                return explanation.label
        return "no signal" if cluster < 0 else f"cluster {cluster}"

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Cluster id (stable where :attr:`cluster_ids` is set) of each new interest vector."""
        return self.to_ids(self.result.predict(X))

    def assign(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cluster id of each vector (-1 for a zero vector) and the confidence of
        :func:`cluster_confidence`."""
        vectors = np.asarray(vectors, dtype=np.float32)
        labels = np.full(len(vectors), -1, dtype=np.int64)
        placed = np.linalg.norm(vectors, axis=1) > 0
        if placed.any():
            labels[placed] = self.result.predict(vectors[placed])
        # the centroids are in fit order; the ids people see may differ (stable across refits)
        confidence = cluster_confidence(vectors, labels, self.result.centroids)
        return self.to_ids(labels), confidence

    def to_ids(self, fitted: np.ndarray) -> np.ndarray:
        """Fit indices (-1: none) as cluster ids (the same unless :attr:`cluster_ids` is set)."""
        fitted = np.asarray(fitted, dtype=np.int64)
        if self.cluster_ids is None:
            return fitted
        return np.where(fitted >= 0, self.cluster_ids[np.clip(fitted, 0, None)], fitted)

    def user_probability(self) -> np.ndarray | None:
        """Membership of each user in their own cluster, where the method has one."""
        if self.membership is None:
            return None
        labels = np.clip(self.user_labels, 0, None)
        probability = self.membership[np.arange(len(labels)), labels]
        return np.where(self.user_labels >= 0, probability, np.nan).astype(np.float32)

    def centroids_by_label(self) -> np.ndarray | None:
        """The centroids indexed by the labels in :attr:`user_labels`, or None where the labels
        are not ``0..k-1`` (the explain stage then uses the members' mean)."""
        clusters = sorted(int(c) for c in np.unique(self.user_labels) if c >= 0)
        centroids = self.result.centroids
        if centroids.shape[0] == len(clusters) and clusters == list(range(len(clusters))):
            return centroids
        return None

    # --- state (written and read by interestlens.model_dir) -----------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able scalars and the per-user arrays; the clustering result and the
        explanations are saved on their own."""
        meta = {
            "unclustered": self.unclustered,
            "truth_metrics": self.truth_metrics,
            "lineage": self.lineage,
        }
        arrays = {"user_clusters": self.user_labels, "user_map": self.user_map}
        optional = {
            "membership": self.membership,
            "user_placement": None if self.placement is None else self.placement.astype(np.int8),
            "user_confidence": None
            if self.confidence is None
            else self.confidence.astype(np.float32),
            "cluster_ids": self.cluster_ids,
        }
        arrays.update({name: array for name, array in optional.items() if array is not None})
        return meta, arrays

    @classmethod
    def from_state(
        cls,
        meta: Mapping[str, Any],
        arrays: Mapping[str, np.ndarray],
        *,
        result: ClusteringResult,
        explanations: Sequence[Any],
    ) -> InterestClusters:
        """Inverse of :meth:`state` (``result`` and ``explanations`` restored separately)."""
        placement = arrays.get("user_placement")
        return cls(
            result=result,
            user_labels=np.asarray(arrays["user_clusters"], dtype=np.int64),
            user_map=np.asarray(arrays["user_map"], dtype=np.float32),
            explanations=list(explanations),
            membership=arrays.get("membership"),
            unclustered=int(meta.get("unclustered", 0)),
            truth_metrics=meta.get("truth_metrics"),
            placement=None if placement is None else np.asarray(placement, dtype=np.int8),
            confidence=arrays.get("user_confidence"),
            cluster_ids=arrays.get("cluster_ids"),
            lineage=meta.get("lineage"),
        )


def cluster_interests(
    user_vectors: np.ndarray,
    has_signal: np.ndarray,
    *,
    config: ClusterConfig,
    seed: int,
    clusterer: Any = None,
    user_ids: Sequence[str],
    item_vectors: np.ndarray,
    interactions: pd.DataFrame,
    half_life_days: float | None = None,
    labels_true: Mapping[str, object] | None = None,
    show_progress: bool = False,
    fit_mask: np.ndarray | None = None,
) -> InterestClusters:
    """Cluster users with a signal and place everyone on a 2-D map (no explanations yet).

    ``clusterer``: the :class:`~interestlens.cluster.base.Clusterer` to fit (None: the one
    ``config`` describes); ``config`` also sets stability runs and multi-interest membership.
    ``fit_mask``: the users the clusterer is fitted on (those with behaviour); the other users
    with a signal are assigned by the fitted clusterer. None, or too few users in it to
    cluster, fits on every user with a signal. ``interactions`` (columns ``user_index,
    item_index, rating, timestamp``) and ``item_vectors`` feed the multi-interest membership.
    """
    rows = np.flatnonzero(has_signal)
    fit_rows = rows
    if fit_mask is not None:
        chosen = np.flatnonzero(np.asarray(fit_mask, dtype=bool) & has_signal)
        if len(chosen) >= max(MIN_FIT_USERS, len(rows) // 10):
            fit_rows = chosen
    result = fit_clustering(
        user_vectors[fit_rows], config, seed, show_progress=show_progress, clusterer=clusterer
    )
    n_users = len(user_ids)
    user_labels = np.full(n_users, -1, dtype=np.int64)
    user_labels[fit_rows] = result.labels
    placement = np.full(n_users, PLACED_NONE, dtype=np.int8)
    placement[fit_rows] = PLACED_BY_FIT
    assigned = np.setdiff1d(rows, fit_rows)
    if len(assigned):
        user_labels[assigned] = result.predict(user_vectors[assigned])
        placement[assigned] = PLACED_BY_PREDICT
    confidence = cluster_confidence(user_vectors, user_labels, result.centroids)

    user_map = np.full((n_users, 2), np.nan, dtype=np.float32)
    if len(rows) >= 2:
        user_map[rows] = PCA(n_components=2, random_state=seed).fit_transform(user_vectors[rows])

    membership = membership_of(
        result,
        user_labels,
        user_vectors,
        fit_rows,
        multi_interest=config.multi_interest,
        item_vectors=item_vectors,
        interactions=interactions,
        half_life_days=half_life_days,
    )

    truth_metrics = None
    if labels_true is not None:
        known = [i for i in rows if user_ids[i] in labels_true]
        if known:
            truth = [str(labels_true[user_ids[i]]) for i in known]
            truth_metrics = clustering_metrics(truth, user_labels[known])
            truth_metrics["n_users"] = len(known)
    return InterestClusters(
        result=result,
        user_labels=user_labels,
        user_map=user_map,
        membership=membership,
        unclustered=int(n_users - len(rows)),
        truth_metrics=truth_metrics,
        placement=placement,
        confidence=confidence,
    )


def cluster_confidence(
    vectors: np.ndarray, labels: np.ndarray, centroids: np.ndarray
) -> np.ndarray:
    """Softmax (cosine / temperature) share of each user's own cluster; NaN if unclustered."""
    out = np.full(len(labels), np.nan, dtype=np.float32)
    rows = np.flatnonzero(labels >= 0)
    k = len(centroids)
    if len(rows) == 0 or k == 0 or centroids.shape[1] != vectors.shape[1]:
        return out
    cosine = l2_normalise(vectors[rows]) @ l2_normalise(centroids).T
    logits = (cosine - cosine.max(axis=1, keepdims=True)) / CONFIDENCE_TEMPERATURE
    shares = np.exp(logits)
    shares /= shares.sum(axis=1, keepdims=True)
    own = np.clip(labels[rows], 0, k - 1)
    out[rows] = shares[np.arange(len(rows)), own]
    return out


def membership_of(
    result: ClusteringResult,
    user_labels: np.ndarray,
    user_vectors: np.ndarray,
    fit_rows: np.ndarray,
    *,
    multi_interest: bool,
    item_vectors: np.ndarray,
    interactions: pd.DataFrame,
    half_life_days: float | None,
) -> np.ndarray | None:
    """Soft membership: from multi-interest splits (``multi_interest``), or from the method's
    probabilities; None when neither applies."""
    n_users, k = len(user_labels), result.n_clusters
    if multi_interest and result.clusterer is not None and k > 0:
        membership = np.zeros((n_users, k), dtype=np.float32)
        clustered = user_labels >= 0
        membership[clustered, user_labels[clustered]] = 1.0  # text-only users: their cluster
        users = interactions["user_index"].to_numpy()
        if len(users):
            ratings = interactions["rating"].to_numpy(dtype=np.float64)
            weights = np.where(np.isnan(ratings), 1.0, ratings)
            times = interactions["timestamp"].to_numpy(dtype=np.float64)
            split = split_interests_by_user(
                users,
                item_vectors[interactions["item_index"].to_numpy()],
                timestamps=None if np.isnan(times).all() else times,
                weights=weights,
                half_life_days=half_life_days,
            )
            for user, interests in split.items():
                if interests and user_labels[int(user)] >= 0:
                    membership[int(user)] = interest_membership(
                        interests, result.clusterer, temperature=0.1
                    )
        return membership
    if result.probabilities is not None:
        membership = np.zeros((n_users, result.probabilities.shape[1]), dtype=np.float32)
        membership[fit_rows] = result.probabilities
        assigned = np.setdiff1d(np.flatnonzero(user_labels >= 0), fit_rows)
        if len(assigned):
            if hasattr(result.clusterer, "predict_proba"):
                membership[assigned] = result.clusterer.predict_proba(user_vectors[assigned])
            else:
                membership[assigned, user_labels[assigned]] = 1.0
        return membership
    return None
