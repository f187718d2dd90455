"""Cluster the users' interest vectors and explain the clusters: the pipeline's middle stages.

Users with neither history nor text have no interest vector: they are not clustered, get
cluster -1 and are counted (never dropped) in :class:`InterestClusters` ``unclustered``.

The clusterer is fitted on the users with behaviour (``fit_mask``); users known only by their
text are then *assigned* with the fitted clusterer's ``predict`` (their vectors come through
the text bridge of :mod:`interestlens.represent`), with a confidence: left in the fit, vectors
of another origin formed clusters of their own. ``placement`` says how each user was placed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from interestlens.cluster import (
    ClusteringResult,
    clustering_metrics,
    fit_clustering,
    interest_membership,
    split_interests_by_user,
)
from interestlens.config import ExplainConfig, Settings
from interestlens.embed.base import l2_normalise
from interestlens.errors import InterestLensError, ModelFormatError
from interestlens.explain import (
    ClusterExplanation,
    KeywordNamer,
    OpenAICompatibleNamer,
    explain_clusters,
    load_explanations,
    save_explanations,
)
from interestlens.explain.namer import ClusterNamer
from interestlens.persist import read_json, read_npy, write_json, write_npy

PLACED_NONE, PLACED_BY_FIT, PLACED_BY_PREDICT = 0, 1, 2
PLACEMENT_NAMES = ("none", "fit", "predict")
#: a clustering fitted on fewer users with behaviour than this fits on every user instead
MIN_FIT_USERS = 20
#: softmax temperature over centroid cosines for :attr:`InterestClusters.confidence`
CONFIDENCE_TEMPERATURE = 0.05


@dataclass
class InterestClusters:
    """Per user: cluster (-1 = not clustered), optional soft membership, 2-D map position."""

    result: ClusteringResult
    user_labels: np.ndarray  # int64 (n_users,)
    user_map: np.ndarray  # float32 (n_users, 2); NaN for users not clustered
    explanations: list[ClusterExplanation]
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

    # --- persistence (a subdirectory of the model directory) -----------------------------------

    def save(self, directory: Path) -> None:
        self.result.save(directory / "clustering")
        write_npy(directory / "user_clusters.npy", self.user_labels)
        write_npy(directory / "user_map.npy", self.user_map)
        if self.membership is not None:
            write_npy(directory / "membership.npy", self.membership)
        if self.placement is not None:
            write_npy(directory / "user_placement.npy", self.placement.astype(np.int8))
        if self.confidence is not None:
            write_npy(directory / "user_confidence.npy", self.confidence.astype(np.float32))
        save_explanations(directory / "explanations.json", self.explanations)
        if self.cluster_ids is not None:
            write_npy(directory / "cluster_ids.npy", self.cluster_ids)
        if self.lineage is not None:
            write_json(directory / "cluster_lineage.json", self.lineage)
        write_json(
            directory / "clusters_summary.json",
            {"unclustered": self.unclustered, "truth_metrics": self.truth_metrics},
        )

    @classmethod
    def load(cls, directory: Path) -> InterestClusters | None:
        if not (directory / "clustering" / "result.json").exists():
            return None
        summary = read_json(directory / "clusters_summary.json")
        membership_path = directory / "membership.npy"
        placement_path = directory / "user_placement.npy"
        confidence_path = directory / "user_confidence.npy"
        try:
            result = ClusteringResult.load(directory / "clustering")
        except (TypeError, KeyError, ValueError, IndexError) as exc:
            if isinstance(exc, InterestLensError):
                raise
            # the saved state does not match this version's clusterers
            raise ModelFormatError(
                f"{directory / 'clustering'} cannot be restored ({type(exc).__name__}: {exc})",
                expected="a clustering saved by this version of interestlens",
                fix="fit the model again with this version",
            ) from exc
        return cls(
            result=result,
            user_labels=read_npy(directory / "user_clusters.npy"),
            # NaN: users without any signal have no place on the map
            user_map=read_npy(directory / "user_map.npy", allow_nan=True),
            explanations=load_explanations(directory / "explanations.json"),
            membership=read_npy(membership_path, allow_nan=True)
            if membership_path.exists()
            else None,
            unclustered=int(summary.get("unclustered", 0)),
            truth_metrics=summary.get("truth_metrics"),
            placement=read_npy(placement_path, allow_nan=True) if placement_path.exists() else None,
            confidence=read_npy(confidence_path, allow_nan=True)
            if confidence_path.exists()
            else None,
            cluster_ids=_optional_npy(directory / "cluster_ids.npy"),
            lineage=read_json(directory / "cluster_lineage.json")
            if (directory / "cluster_lineage.json").exists()
            else None,
        )


def _optional_npy(path: Path) -> np.ndarray | None:
    return read_npy(path) if path.exists() else None


def make_namer(config: ExplainConfig) -> ClusterNamer:
    if config.namer == "openai":
        return OpenAICompatibleNamer(
            config.namer_base_url,
            config.namer_model,
            api_key=config.namer_api_key,
            timeout=config.namer_timeout,
        )
    return KeywordNamer()


def fit_interest_clusters(
    *,
    settings: Settings,
    user_ids: Sequence[str],
    user_vectors: np.ndarray,
    has_signal: np.ndarray,
    user_texts: Sequence[str],
    item_ids: Sequence[str],
    item_texts: Sequence[str],
    item_titles: Sequence[str | None] | None,
    item_vectors: np.ndarray,
    interactions: pd.DataFrame,
    text_columns: Sequence[str] = (),
    labels_true: Mapping[str, object] | None = None,
    show_progress: bool = False,
    fit_mask: np.ndarray | None = None,
) -> InterestClusters:
    """Cluster users with a signal, place everyone on a 2-D map, and explain each cluster.

    ``fit_mask``: the users the clusterer is fitted on (those with behaviour); the other users
    with a signal are assigned by the fitted clusterer. None, or too few users in it to
    cluster, fits on every user with a signal.
    """
    rows = np.flatnonzero(has_signal)
    fit_rows = rows
    if fit_mask is not None:
        chosen = np.flatnonzero(np.asarray(fit_mask, dtype=bool) & has_signal)
        if len(chosen) >= max(MIN_FIT_USERS, len(rows) // 10):
            fit_rows = chosen
    result = fit_clustering(
        user_vectors[fit_rows], settings.cluster, settings.seed, show_progress=show_progress
    )
    user_labels = np.full(len(user_ids), -1, dtype=np.int64)
    user_labels[fit_rows] = result.labels
    placement = np.full(len(user_ids), PLACED_NONE, dtype=np.int8)
    placement[fit_rows] = PLACED_BY_FIT
    assigned = np.setdiff1d(rows, fit_rows)
    if len(assigned):
        user_labels[assigned] = result.predict(user_vectors[assigned])
        placement[assigned] = PLACED_BY_PREDICT
    confidence = cluster_confidence(user_vectors, user_labels, result.centroids)

    user_map = np.full((len(user_ids), 2), np.nan, dtype=np.float32)
    if len(rows) >= 2:
        user_map[rows] = PCA(n_components=2, random_state=settings.seed).fit_transform(
            user_vectors[rows]
        )

    membership = _membership(
        settings, result, user_labels, item_vectors, interactions, fit_rows, user_vectors
    )

    user_idx = interactions["user_index"].to_numpy()
    item_idx = interactions["item_index"].to_numpy()
    ratings = interactions["rating"].to_numpy(dtype=np.float64)
    explain = settings.explain
    explanations = explain_clusters(
        user_labels,
        user_vectors,
        user_ids=list(user_ids),
        item_ids=list(item_ids),
        user_idx=user_idx,
        item_idx=item_idx,
        rating=None if np.isnan(ratings).all() else ratings,
        centroids=_full_centroids(result, user_labels, user_vectors),
        user_texts=list(user_texts),
        item_texts=list(item_texts),
        item_titles=None if item_titles is None else list(item_titles),
        item_vectors=item_vectors,
        top_keywords=explain.top_keywords,
        top_items=explain.top_items,
        top_users=explain.top_users,
        min_support=explain.min_support,
        min_support_share=explain.min_support_share,
        keyword_scoring=explain.keyword_scoring,
        keyword_prior_size=explain.keyword_prior_size,
        keyword_min_texts=explain.keyword_min_texts,
        central_pool=explain.central_pool,
        lift_prior=explain.lift_prior,
        item_weighting=explain.item_weighting,
        include_user_texts=explain.include_user_texts,
        extra_stop_words=[*explain.extra_stop_words, *text_columns],
        namer=make_namer(explain),
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
        explanations=explanations,
        membership=membership,
        unclustered=int(len(user_ids) - len(rows)),
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


def _full_centroids(
    result: ClusteringResult, user_labels: np.ndarray, user_vectors: np.ndarray
) -> np.ndarray | None:
    clusters = sorted(int(c) for c in np.unique(user_labels) if c >= 0)
    if result.centroids.shape[0] == len(clusters) and clusters == list(range(len(clusters))):
        return result.centroids
    return None  # ids are not 0..k-1: let explain compute members' means


def _membership(
    settings: Settings,
    result: ClusteringResult,
    user_labels: np.ndarray,
    item_vectors: np.ndarray,
    interactions: pd.DataFrame,
    fit_rows: np.ndarray,
    user_vectors: np.ndarray,
) -> np.ndarray | None:
    """Soft membership: from the method's probabilities, or from multi-interest splits."""
    n_users, k = len(user_labels), result.n_clusters
    if settings.cluster.multi_interest and result.clusterer is not None and k > 0:
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
                half_life_days=settings.interests.half_life_days,
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
