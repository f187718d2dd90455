"""Stable cluster identities across refits.

A refit clusters again from scratch, so its clusters come out in an arbitrary order. This module
matches the new clusters to the previous model's (Hungarian assignment on a score that blends
centroid cosine similarity with member overlap among the users both models know) and hands the
matched clusters their old ids and labels. What is left over is recorded as such:

* **born** — a new cluster that resembles no old one;
* **split** — a new cluster whose members (or, without shared users, whose centroid) come from
  an old cluster that was matched to another new one;
* **dissolved** — an old cluster with no counterpart;
* **merged** — an old cluster whose members went into a new cluster matched to another old one.

New clusters get ids never used before (``next_id`` only grows), so an id always means one
interest over a model's whole lineage.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from interestlens.embed.base import l2_normalise
from interestlens.errors import ParameterError

BORN = "born"
SPLIT = "split"
DISSOLVED = "dissolved"
MERGED = "merged"
KEPT = "kept"

#: fewer shared users than this and member overlap is not trusted (centroids alone decide)
MIN_SHARED_USERS = 10


@dataclass(frozen=True)
class ClusterSnapshot:
    """What identity matching needs from a fitted model: users, their clusters, centroids."""

    user_ids: Sequence[str]
    #: cluster id per user (-1: not clustered)
    labels: np.ndarray
    #: cluster id -> L2-normalised centroid
    centroids: Mapping[int, np.ndarray]
    #: cluster id -> label (name) shown to people
    names: Mapping[int, str] = field(default_factory=dict)
    #: the next id never handed out in this lineage
    next_id: int = 0
    fit_id: str = ""

    @property
    def ids(self) -> list[int]:
        return sorted(self.centroids)


@dataclass
class IdentityMatch:
    """The outcome of :func:`match_clusters`."""

    #: new (fitted) cluster index -> stable id
    mapping: dict[int, int]
    #: one record per old or new cluster: kind, ids, scores
    events: list[dict[str, Any]]
    next_id: int
    #: share of the shared (clustered in both) users whose id did not change
    users_kept_id: float | None = None
    shared_users: int = 0

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for event in self.events:
            counts[event["kind"]] = counts.get(event["kind"], 0) + 1
        return counts


def centroids_by_cluster(vectors: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """Mean of each cluster's (normalised) member vectors, normalised; noise (-1) left out."""
    vectors = l2_normalise(np.asarray(vectors, dtype=np.float64))
    found: dict[int, np.ndarray] = {}
    for cluster in np.unique(labels):
        if cluster < 0:
            continue
        found[int(cluster)] = l2_normalise(vectors[labels == cluster].mean(axis=0)[None, :])[0]
    return found


def fingerprint(*arrays: np.ndarray) -> str:
    """A short content hash: the same fitted clustering always gets the same id."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def _check_thresholds(min_score: float, overlap_weight: float, split_min_share: float) -> None:
    for name, value in (
        ("min_score", min_score),
        ("overlap_weight", overlap_weight),
        ("split_min_share", split_min_share),
    ):
        if not np.isfinite(value) or not 0.0 <= value <= 1.0:
            raise ParameterError(
                f"{name}={value} should be within [0, 1]",
                expected="a share or a cosine-similarity threshold between 0 and 1",
                fix=f"set drift.identity_{name} between 0 and 1",
            )


def match_clusters(
    previous: ClusterSnapshot,
    current: ClusterSnapshot,
    *,
    min_score: float = 0.5,
    overlap_weight: float = 0.5,
    split_min_share: float = 0.25,
) -> IdentityMatch:
    """Match ``current``'s clusters (their ids are fit indices) to ``previous``'s stable ids.

    The score of a pair is ``(1 - w) * cosine(centroids) + w * jaccard(shared members)`` with
    ``w = overlap_weight`` when at least :data:`MIN_SHARED_USERS` users are clustered in both
    models, else 0. Pairs chosen by the assignment with a score below ``min_score`` are not
    matches. ``split_min_share``: the share of a new cluster's shared users that must come from
    one old cluster (or, without shared users, the centroid similarity needed) to call it a
    split of that cluster, and the same for merges the other way round.
    """
    _check_thresholds(min_score, overlap_weight, split_min_share)
    old_ids, new_ids = previous.ids, current.ids
    next_id = max([previous.next_id, *(i + 1 for i in old_ids)], default=0)
    if not old_ids:
        mapping = {}
        for new in new_ids:
            mapping[new] = next_id
            next_id += 1
        events = [{"kind": BORN, "id": mapping[n]} for n in new_ids]
        return IdentityMatch(mapping=mapping, events=events, next_id=next_id)

    similarity = np.array(
        [[float(previous.centroids[o] @ current.centroids[n]) for n in new_ids] for o in old_ids]
    ).reshape(len(old_ids), len(new_ids))
    overlap, from_old, to_new, shared = _overlaps(previous, current, old_ids, new_ids)
    weight = overlap_weight if shared >= MIN_SHARED_USERS else 0.0
    score = (1.0 - weight) * similarity + weight * overlap

    mapping: dict[int, int] = {}
    events: list[dict[str, Any]] = []
    matched_old: dict[int, int] = {}  # old row -> new column
    if len(new_ids):
        rows, cols = linear_sum_assignment(-score)
        for row, col in zip(rows, cols, strict=True):
            if score[row, col] >= min_score:
                matched_old[int(row)] = int(col)
    matched_new = {col: row for row, col in matched_old.items()}
    for row, col in sorted(matched_old.items()):
        mapping[new_ids[col]] = old_ids[row]
        events.append(
            {
                "kind": KEPT,
                "id": old_ids[row],
                "score": round(float(score[row, col]), 4),
                "similarity": round(float(similarity[row, col]), 4),
                "overlap": round(float(overlap[row, col]), 4),
            }
        )

    for col, new in enumerate(new_ids):
        if col in matched_new:
            continue
        mapping[new] = next_id
        next_id += 1
        # where did this cluster's members come from? (centroids when no users are shared)
        source = from_old[:, col] if weight > 0 else similarity[:, col]
        row = int(np.argmax(source))
        if row in matched_old and source[row] >= _split_bar(weight, split_min_share):
            events.append(
                {
                    "kind": SPLIT,
                    "id": mapping[new],
                    "from": old_ids[row],
                    "sibling": mapping[new_ids[matched_old[row]]],
                    "share": round(float(source[row]), 4),
                }
            )
        else:
            events.append(
                {
                    "kind": BORN,
                    "id": mapping[new],
                    "nearest": old_ids[row],
                    "similarity": round(float(similarity[row, col]), 4),
                }
            )

    for row, old in enumerate(old_ids):
        if row in matched_old:
            continue
        target = to_new[row, :] if weight > 0 else similarity[row, :]
        col = int(np.argmax(target)) if len(new_ids) else -1
        if col >= 0 and col in matched_new and target[col] >= _split_bar(weight, split_min_share):
            events.append(
                {
                    "kind": MERGED,
                    "id": old,
                    "into": mapping[new_ids[col]],
                    "share": round(float(target[col]), 4),
                }
            )
        else:
            events.append({"kind": DISSOLVED, "id": old, "label": previous.names.get(old, "")})

    kept = _users_kept(previous, current, mapping)
    return IdentityMatch(
        mapping=mapping,
        events=events,
        next_id=next_id,
        users_kept_id=kept,
        shared_users=shared,
    )


def _split_bar(weight: float, split_min_share: float) -> float:
    # member shares are compared with split_min_share; centroid cosines need to be high
    return split_min_share if weight > 0 else max(split_min_share, 0.7)


def _overlaps(
    previous: ClusterSnapshot, current: ClusterSnapshot, old_ids: list[int], new_ids: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Jaccard of members, share of each new cluster from each old one, and the reverse."""
    new_row = {user: row for row, user in enumerate(current.user_ids)}
    pairs = [
        (int(previous.labels[i]), int(current.labels[new_row[user]]))
        for i, user in enumerate(previous.user_ids)
        if user in new_row
    ]
    pairs = [(o, n) for o, n in pairs if o >= 0 and n >= 0 and o in old_ids and n in new_ids]
    counts = np.zeros((len(old_ids), len(new_ids)))
    old_pos = {o: r for r, o in enumerate(old_ids)}
    new_pos = {n: c for c, n in enumerate(new_ids)}
    for o, n in pairs:
        counts[old_pos[o], new_pos[n]] += 1
    old_total = counts.sum(axis=1, keepdims=True)
    new_total = counts.sum(axis=0, keepdims=True)
    union = old_total + new_total - counts
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, counts / union, 0.0)
        from_old = np.where(new_total > 0, counts / new_total, 0.0)
        to_new = np.where(old_total > 0, counts / old_total, 0.0)
    return jaccard, from_old, to_new, len(pairs)


def _users_kept(
    previous: ClusterSnapshot, current: ClusterSnapshot, mapping: Mapping[int, int]
) -> float | None:
    new_row = {user: row for row, user in enumerate(current.user_ids)}
    kept = total = 0
    for i, user in enumerate(previous.user_ids):
        row = new_row.get(user)
        if row is None or previous.labels[i] < 0 or current.labels[row] < 0:
            continue
        total += 1
        kept += int(mapping.get(int(current.labels[row]), -2) == int(previous.labels[i]))
    return None if total == 0 else kept / total


def relabel_clusters(clusters: Any, match: IdentityMatch, previous: ClusterSnapshot) -> Any:
    """A copy of an :class:`~interestlens.cluster.InterestClusters` with stable ids.

    Matched clusters take the old id and label; membership columns move to the new ids; the
    lineage (parent fit, events, ``next_id``) is recorded for the model directory.
    """
    mapping = match.mapping
    labels = np.asarray(clusters.user_labels, dtype=np.int64)
    new_labels = np.array([mapping.get(int(c), -1) if c >= 0 else -1 for c in labels])
    membership = clusters.membership
    if membership is not None:
        width = max([*mapping.values(), membership.shape[1] - 1]) + 1
        moved = np.zeros((membership.shape[0], width), dtype=np.float32)
        for old_column, new_column in mapping.items():
            if old_column < membership.shape[1]:
                moved[:, new_column] = membership[:, old_column]
        membership = moved
    kept_ids = {event["id"] for event in match.events if event["kind"] == KEPT}
    explanations = []
    for explanation in clusters.explanations:
        new_id = mapping.get(int(explanation.cluster_id), int(explanation.cluster_id))
        label = previous.names.get(new_id, explanation.label)
        explanations.append(
            dataclasses.replace(
                explanation,
                cluster_id=new_id,
                label=label if new_id in kept_ids else explanation.label,
            )
        )
    fitted = clusters.cluster_ids
    if fitted is None:
        fitted = np.arange(clusters.result.n_clusters, dtype=np.int64)
    cluster_ids = np.array([mapping.get(int(c), int(c)) for c in fitted], dtype=np.int64)
    lineage = {
        "fit_id": fingerprint(new_labels, cluster_ids),
        "parent_fit_id": previous.fit_id,
        "next_id": match.next_id,
        "events": match.events,
        "kinds": match.kinds(),
        "users_kept_id": match.users_kept_id,
        "shared_users": match.shared_users,
        "history": [*(clusters.lineage or {}).get("history", [])],
    }
    return dataclasses.replace(
        clusters,
        user_labels=new_labels,
        membership=membership,
        explanations=explanations,
        cluster_ids=cluster_ids,
        lineage=lineage,
    )


def fit_id_of(clusters: Any) -> str:
    """The id of a fitted clustering: from its lineage, else a hash of its user labels."""
    lineage = clusters.lineage or {}
    if lineage.get("fit_id"):
        return str(lineage["fit_id"])
    fitted = clusters.cluster_ids
    if fitted is None:
        fitted = np.arange(clusters.result.n_clusters, dtype=np.int64)
    return fingerprint(np.asarray(clusters.user_labels, dtype=np.int64), fitted)


def snapshot_of(
    model: Any,
    *,
    labels: np.ndarray | None = None,
    centroids: Mapping[int, np.ndarray] | None = None,
) -> ClusterSnapshot:
    """A fitted :class:`~interestlens.pipeline.InterestLens` as identity matching sees it.

    ``labels`` and ``centroids`` replace the fitted ones (the service's adaptive centroids, which
    followed the events since the fit, are the better picture of where the clusters are now).
    """
    clusters = model.clusters_
    user_labels = np.asarray(clusters.user_labels if labels is None else labels, dtype=np.int64)
    found = centroids_by_cluster(model.user_vectors_[: len(user_labels)], user_labels)
    if centroids is not None:
        found.update(
            {int(c): l2_normalise(np.asarray(v)[None, :])[0] for c, v in centroids.items()}
        )
    lineage = clusters.lineage or {}
    return ClusterSnapshot(
        user_ids=list(model.user_ids_.ids)[: len(user_labels)],
        labels=user_labels,
        centroids=found,
        names={e.cluster_id: e.label for e in clusters.explanations},
        next_id=int(lineage.get("next_id", max(found, default=-1) + 1)),
        fit_id=fit_id_of(clusters),
    )


def aligned_clusters(
    model: Any,
    previous: ClusterSnapshot,
    *,
    min_score: float = 0.5,
    overlap_weight: float = 0.5,
    split_min_share: float = 0.25,
    history: Sequence[Mapping[str, Any]] = (),
) -> tuple[Any, IdentityMatch]:
    """``model``'s clusters with the ids (and labels) of ``previous`` where they match, and the
    match. Reads the model only: the model replaces its clusters itself
    (:meth:`interestlens.pipeline.InterestLens.align_to`)."""
    current = ClusterSnapshot(
        user_ids=list(model.user_ids_.ids),
        labels=np.asarray(model.clusters_.user_labels, dtype=np.int64),
        centroids=centroids_by_cluster(model.user_vectors_, model.clusters_.user_labels),
    )
    match = match_clusters(
        previous,
        current,
        min_score=min_score,
        overlap_weight=overlap_weight,
        split_min_share=split_min_share,
    )
    relabelled = relabel_clusters(model.clusters_, match, previous)
    relabelled.lineage["history"] = [
        *history,
        {"fit_id": previous.fit_id, "next_id": previous.next_id},
    ]
    return relabelled, match


def aligned_to_previous(model: Any, previous: Any, config: Any) -> tuple[Any, IdentityMatch]:
    """:func:`aligned_clusters` with the thresholds of a :class:`~interestlens.config.DriftConfig`;
    ``previous`` is a fitted model or a :class:`ClusterSnapshot`."""
    overlap_weight = config.identity_overlap_weight
    if isinstance(previous, ClusterSnapshot):
        snapshot, history = previous, []
    else:
        snapshot = snapshot_of(previous)
        history = list((previous.clusters_.lineage or {}).get("history", []))
        if getattr(previous, "encoder_id_", None) != getattr(model, "encoder_id_", None):
            # vectors of two encoders live in different spaces: only shared members can tell
            overlap_weight = 1.0
    return aligned_clusters(
        model,
        snapshot,
        min_score=config.identity_min_score,
        overlap_weight=overlap_weight,
        split_min_share=config.identity_split_min_share,
        history=history,
    )
