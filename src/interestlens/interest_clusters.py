"""Cluster the users' interest vectors and explain the clusters: the pipeline's middle stages.

Users with neither history nor text have no interest vector: they are not clustered, get
cluster -1 and are counted (never dropped) in :class:`InterestClusters` ``unclustered``.
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
    #: stable id of each fitted cluster (fit index -> id), set when ids follow a previous model
    #: (interestlens.timeline.identity); None: the ids are the fit indices
    cluster_ids: np.ndarray | None = None
    #: where these ids came from: parent fit, born/split/merged/dissolved clusters, next free id
    lineage: dict[str, Any] | None = None

    def label_of(self, cluster: int) -> str:
        for explanation in self.explanations:
            if explanation.cluster_id == cluster:
                return explanation.label
        return "no signal" if cluster < 0 else f"cluster {cluster}"

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Cluster id (stable where :attr:`cluster_ids` is set) of each new interest vector."""
        fitted = self.result.predict(X)
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
            user_map=read_npy(directory / "user_map.npy"),
            explanations=load_explanations(directory / "explanations.json"),
            membership=read_npy(membership_path) if membership_path.exists() else None,
            unclustered=int(summary.get("unclustered", 0)),
            truth_metrics=summary.get("truth_metrics"),
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
) -> InterestClusters:
    """Cluster users with a signal, place everyone on a 2-D map, and explain each cluster."""
    rows = np.flatnonzero(has_signal)
    result = fit_clustering(
        user_vectors[rows], settings.cluster, settings.seed, show_progress=show_progress
    )
    user_labels = np.full(len(user_ids), -1, dtype=np.int64)
    user_labels[rows] = result.labels

    user_map = np.full((len(user_ids), 2), np.nan, dtype=np.float32)
    if len(rows) >= 2:
        user_map[rows] = PCA(n_components=2, random_state=settings.seed).fit_transform(
            user_vectors[rows]
        )

    membership = _membership(settings, result, user_labels, item_vectors, interactions)

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
    )


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
        membership[user_labels >= 0] = result.probabilities
        return membership
    return None
