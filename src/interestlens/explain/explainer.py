"""The explain stage's object: :class:`ClusterExplainer` turns cluster labels into
:class:`ClusterExplanation` s with its collaborators, a :class:`ClusterKeywords` (keyword
scoring), a :class:`ClusterRepresentatives` (items and users that stand for a cluster) and a
:class:`ClusterNamer`. :class:`StaticExplainer` is the stage's test double.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator

from interestlens.errors import ParameterError
from interestlens.explain.explanation import ClusterExplanation
from interestlens.explain.keywords import ClusterKeywords
from interestlens.explain.namer import ClusterNamer, KeywordNamer
from interestlens.explain.representatives import ClusterRepresentatives, cluster_item_stats

#: longest title made from the first line of an item's text
MAX_TITLE_CHARS = 80


@dataclass(frozen=True)
class ClusterEvidence:
    """What the explainer reads besides the labels, aligned by index.

    Users are indexed like the labels (``user_ids``, optional ``user_texts``), items like
    ``item_ids`` (optional ``item_texts``, ``item_titles`` and ``item_vectors`` in the space of
    the user vectors). Interactions are parallel arrays ``user_idx``, ``item_idx`` and
    optional ``rating`` (NaN = not rated).
    """

    user_ids: Sequence[str]
    item_ids: Sequence[str]
    user_idx: ArrayLike
    item_idx: ArrayLike
    rating: ArrayLike | None = None
    user_texts: Sequence[str] | None = None
    item_texts: Sequence[str] | None = None
    item_titles: Sequence[str | None] | None = None
    item_vectors: ArrayLike | None = None
    #: words the text templates add to every text (column names such as "genres"): never
    #: keywords
    template_words: Sequence[str] = ()


@runtime_checkable
class Explainer(Protocol):
    """The explain stage: one :class:`ClusterExplanation` per cluster (label >= 0), ordered
    by cluster id."""

    def explain(
        self,
        labels: ArrayLike,
        user_vectors: ArrayLike,
        evidence: ClusterEvidence,
        *,
        centroids: ArrayLike | None = None,
    ) -> list[ClusterExplanation]: ...


class ClusterExplainer(BaseEstimator):
    """Explain each cluster in words, items and users.

    ``keywords`` (default ``ClusterKeywords()``) scores the terms of one document per cluster:
    the texts of the items the members interacted with, each repeated once per member who did
    (``item_weighting="members"``) or once (``"binary"``), plus the members' own texts when
    ``include_user_texts``. ``representatives`` (default ``ClusterRepresentatives()``) picks
    central items (need ``evidence.item_vectors``; without them none), over-represented items
    and medoid users. ``namer`` (default :class:`KeywordNamer`) gives the label; its errors are
    raised, not hidden. Nothing is learned: :meth:`explain` reads its inputs and returns.
    """

    def __init__(
        self,
        keywords: ClusterKeywords | None = None,
        representatives: ClusterRepresentatives | None = None,
        namer: ClusterNamer | None = None,
        *,
        item_weighting: Literal["members", "binary"] = "members",
        include_user_texts: bool = True,
    ):
        self.keywords = keywords
        self.representatives = representatives
        self.namer = namer
        self.item_weighting = item_weighting
        self.include_user_texts = include_user_texts

    def explain(
        self,
        labels: ArrayLike,
        user_vectors: ArrayLike,
        evidence: ClusterEvidence,
        *,
        centroids: ArrayLike | None = None,
    ) -> list[ClusterExplanation]:
        """``labels[u]`` is user ``u``'s cluster (-1 = noise: no explanation, but counted in
        each cluster's ``share``). ``centroids[c]`` is cluster ``c``'s centre in the space of
        ``user_vectors``; when None it is the mean of the members' vectors."""
        labels_arr, vectors, item_vecs, (users_of, items_of, ratings) = _checked_inputs(
            labels, user_vectors, evidence
        )
        keywords, representatives, namer = self._collaborators()
        clusters = _ClusterPositions.of(labels_arr)
        centres = _unit_centroids(centroids, clusters.ids, clusters.members, vectors)
        stats = cluster_item_stats(
            clusters.of_user, len(clusters.ids), users_of, items_of, len(evidence.item_ids)
        )
        cluster_keywords = keywords.extract(
            stats.item_weights(by_members=self.item_weighting == "members"),
            evidence.item_texts,
            clusters.members,
            evidence.user_texts if self.include_user_texts else None,
            extra_stop_words=evidence.template_words,
        )
        activity = _ClusterActivity.of(clusters, users_of, ratings, evidence.user_texts)
        title_of = _titles(evidence.item_ids, evidence.item_titles, evidence.item_texts)

        explanations = []
        for position, cluster_id in enumerate(clusters.ids):
            members = np.flatnonzero(clusters.of_user == position)
            support = representatives.support(len(members))
            centre = centres[position]
            central = (
                []
                if item_vecs is None
                else representatives.central_items(
                    stats, position, centre, item_vecs, evidence.item_ids, title_of, support
                )
            )
            explanation = ClusterExplanation(
                cluster_id=int(cluster_id),
                size=len(members),
                share=len(members) / len(labels_arr),
                label="",
                keywords=cluster_keywords[position],
                central_items=central,
                over_represented_items=representatives.over_represented_items(
                    stats, position, evidence.item_ids, title_of, support
                ),
                medoid_users=representatives.medoid_users(
                    members, vectors, centre, evidence.user_ids
                ),
                **activity.of_cluster(position, members),
            )
            explanations.append(replace(explanation, label=namer.name(explanation)))
        return explanations

    def _collaborators(self) -> tuple[ClusterKeywords, ClusterRepresentatives, ClusterNamer]:
        """The keyword scorer, representatives and namer (defaults where None), checked."""
        keywords = ClusterKeywords() if self.keywords is None else self.keywords
        representatives = (
            ClusterRepresentatives() if self.representatives is None else self.representatives
        )
        keywords.check()
        representatives.check()
        if self.item_weighting not in ("members", "binary"):
            raise ParameterError(
                f"item_weighting={self.item_weighting!r}", expected="'members' or 'binary'"
            )
        namer = KeywordNamer() if self.namer is None else self.namer
        if not isinstance(namer, ClusterNamer):
            raise ParameterError(
                f"namer is a {type(namer).__name__} without a name(explanation) method",
                expected="a ClusterNamer such as KeywordNamer or OpenAICompatibleNamer",
            )
        return keywords, representatives, namer


@dataclass(frozen=True)
class _ClusterPositions:
    """Cluster ids in order, each user's position in them (-1: noise) and the members as a
    ``(n_clusters, n_users)`` 0/1 matrix."""

    ids: np.ndarray
    of_user: np.ndarray
    members: sp.csr_matrix

    @classmethod
    def of(cls, labels: np.ndarray) -> _ClusterPositions:
        ids = np.unique(labels[labels >= 0])
        of_user = np.full(len(labels), -1, dtype=np.int64)
        clustered = labels >= 0
        of_user[clustered] = np.searchsorted(ids, labels[clustered])
        members = sp.csr_matrix(
            (np.ones(int(clustered.sum())), (of_user[clustered], np.flatnonzero(clustered))),
            shape=(len(ids), len(labels)),
        )
        return cls(ids, of_user, members)


@dataclass(frozen=True)
class _ClusterActivity:
    """Per user whether they interacted and wrote; per cluster position its interactions and
    rating sums."""

    interacted: np.ndarray
    has_text: np.ndarray
    n_interactions: np.ndarray
    rating_sum: np.ndarray
    rating_count: np.ndarray

    @classmethod
    def of(
        cls,
        clusters: _ClusterPositions,
        users_of: np.ndarray,
        ratings: np.ndarray | None,
        user_texts: Sequence[str] | None,
    ) -> _ClusterActivity:
        n_users, n_clusters = len(clusters.of_user), len(clusters.ids)
        interaction_cluster = clusters.of_user[users_of]
        rating_sum, rating_count = _rating_sums(ratings, interaction_cluster, n_clusters)
        return cls(
            interacted=np.bincount(users_of, minlength=n_users) > 0,
            has_text=(
                np.array([bool(text and text.strip()) for text in user_texts])
                if user_texts is not None
                else np.zeros(n_users, dtype=bool)
            ),
            n_interactions=np.bincount(
                interaction_cluster[interaction_cluster >= 0], minlength=n_clusters
            ),
            rating_sum=rating_sum,
            rating_count=rating_count,
        )

    def of_cluster(self, position: int, members: np.ndarray) -> dict[str, Any]:
        """The :class:`ClusterExplanation` counts of the cluster at ``position``."""
        count = self.rating_count[position]
        return {
            "mean_rating": float(self.rating_sum[position] / count) if count else None,
            "n_with_text": int(self.has_text[members].sum()),
            "n_with_history": int(self.interacted[members].sum()),
            "n_interactions": int(self.n_interactions[position]),
        }


class StaticExplainer:
    """Test double of the explain stage: per cluster its size and share, no keywords or items,
    and the label ``names[cluster_id]`` (else ``default``); records each call's labels."""

    def __init__(
        self, names: Mapping[int, str] | None = None, default: str = "cluster {cluster_id}"
    ):
        self.names = names
        self.default = default
        self.calls: list[np.ndarray] = []

    def explain(
        self,
        labels: ArrayLike,
        user_vectors: ArrayLike,
        evidence: ClusterEvidence,
        *,
        centroids: ArrayLike | None = None,
    ) -> list[ClusterExplanation]:
        labels_arr = _int_vector("labels", labels)
        self.calls.append(labels_arr.copy())
        names = self.names or {}
        return [
            ClusterExplanation(
                cluster_id=int(cluster),
                size=int(np.sum(labels_arr == cluster)),
                share=float(np.mean(labels_arr == cluster)),
                label=names.get(int(cluster), self.default.format(cluster_id=int(cluster))),
            )
            for cluster in np.unique(labels_arr[labels_arr >= 0])
        ]


def _checked_inputs(
    labels: ArrayLike, user_vectors: ArrayLike, evidence: ClusterEvidence
) -> tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray | None,
    tuple[np.ndarray, np.ndarray, np.ndarray | None],
]:
    labels_arr = _int_vector("labels", labels)
    n_users = len(labels_arr)
    if n_users and labels_arr.min() < -1:
        raise ParameterError(
            f"labels hold {int(labels_arr.min())}",
            expected="cluster ids >= 0, or -1 for noise",
            fix="pass the labels the clustering step returned",
        )
    vectors = _matrix("user_vectors", user_vectors, n_rows=n_users, rows_of="labels")
    _check_length("user_ids", evidence.user_ids, n_users, "labels")
    if evidence.user_texts is not None:
        _check_length("user_texts", evidence.user_texts, n_users, "labels")
    n_items = len(evidence.item_ids)
    for name, values in (
        ("item_texts", evidence.item_texts),
        ("item_titles", evidence.item_titles),
    ):
        if values is not None:
            _check_length(name, values, n_items, "item_ids")
    item_vecs = None
    if evidence.item_vectors is not None:
        item_vecs = _matrix(
            "item_vectors", evidence.item_vectors, n_rows=n_items, rows_of="item_ids"
        )
        if item_vecs.shape[1] != vectors.shape[1]:
            raise ParameterError(
                f"item_vectors have dimension {item_vecs.shape[1]} but user_vectors "
                f"{vectors.shape[1]}",
                expected="item and user vectors from the same encoder",
                fix="encode items and users with the same encoder",
            )
    interactions = _interactions(
        evidence.user_idx, evidence.item_idx, evidence.rating, n_users, n_items
    )
    return labels_arr, vectors, item_vecs, interactions


def _int_vector(name: str, values: ArrayLike) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ParameterError(
            f"{name} has shape {array.shape} and dtype {array.dtype}",
            expected="a 1-D array of integers",
            fix=f"pass {name} as np.asarray(..., dtype=np.int64)",
        )
    return array.astype(np.int64, copy=False)


def _matrix(name: str, values: ArrayLike, *, n_rows: int, rows_of: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] != n_rows:
        raise ParameterError(
            f"{name} has shape {array.shape}",
            expected=f"({n_rows}, d): one row per entry of {rows_of}",
            fix=f"pass {name} aligned with {rows_of}",
        )
    if not np.isfinite(array).all():
        raise ParameterError(
            f"{name} holds NaN or infinite values",
            expected="finite vectors",
            fix="re-encode the texts; check the encoder's output",
        )
    return array


def _check_length(name: str, values: Sequence[object], n: int, aligned_with: str) -> None:
    if len(values) != n:
        raise ParameterError(
            f"{name} has {len(values)} entries",
            expected=f"{n}, one per entry of {aligned_with}",
            fix=f"pass {name} aligned with {aligned_with}",
        )


def _interactions(
    user_idx: ArrayLike,
    item_idx: ArrayLike,
    rating: ArrayLike | None,
    n_users: int,
    n_items: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    users = _int_vector("user_idx", user_idx)
    items = _int_vector("item_idx", item_idx)
    if len(users) != len(items):
        raise ParameterError(
            f"user_idx has {len(users)} entries and item_idx {len(items)}",
            expected="one user and one item per interaction",
        )
    for name, index, bound, of in (
        ("user_idx", users, n_users, "labels"),
        ("item_idx", items, n_items, "item_ids"),
    ):
        if len(index) and (index.min() < 0 or index.max() >= bound):
            raise ParameterError(
                f"{name} ranges over [{int(index.min())}, {int(index.max())}]",
                expected=f"indices in [0, {bound - 1}] into {of}",
                fix="map ids to indices with the same IdMap that ordered the users and items",
            )
    ratings = None
    if rating is not None:
        ratings = np.asarray(rating, dtype=np.float64)
        if ratings.shape != users.shape:
            raise ParameterError(
                f"rating has shape {ratings.shape} but there are {len(users)} interactions",
                expected="one rating (or NaN) per interaction",
            )
        if np.isinf(ratings).any():
            raise ParameterError(
                "rating holds infinite values",
                expected="finite ratings, or NaN for unrated interactions",
            )
    return users, items, ratings


def _unit_centroids(
    centroids: ArrayLike | None,
    cluster_ids: np.ndarray,
    members_matrix: sp.csr_matrix,
    vectors: np.ndarray,
) -> np.ndarray:
    """Unit-length centre per cluster position (zero when the centre itself is zero)."""
    dimension = vectors.shape[1]
    if centroids is None:
        # the sum of the members points the same way as their mean
        centres = np.asarray(members_matrix.astype(np.float32) @ vectors, dtype=np.float64)
    else:
        given = np.asarray(centroids, dtype=np.float64)
        needed = int(cluster_ids.max()) + 1 if len(cluster_ids) else 0
        if given.ndim != 2 or given.shape[0] < needed or given.shape[1] != dimension:
            raise ParameterError(
                f"centroids have shape {given.shape}",
                expected=f"(k, {dimension}) with k > the largest cluster id {needed - 1}",
                fix="pass the centroids of the clustering that gave the labels, or None",
            )
        centres = given[cluster_ids]
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (centres / norms).astype(np.float32)


def _rating_sums(
    ratings: np.ndarray | None, interaction_cluster: np.ndarray, n_clusters: int
) -> tuple[np.ndarray, np.ndarray]:
    if ratings is None:
        return np.zeros(n_clusters), np.zeros(n_clusters, dtype=np.int64)
    rated = (interaction_cluster >= 0) & ~np.isnan(ratings)
    sums = np.bincount(interaction_cluster[rated], weights=ratings[rated], minlength=n_clusters)
    counts = np.bincount(interaction_cluster[rated], minlength=n_clusters)
    return sums, counts


def _titles(
    item_ids: Sequence[str],
    item_titles: Sequence[str | None] | None,
    item_texts: Sequence[str] | None,
):
    def title_of(item: int) -> str:
        if item_titles is not None and item_titles[item] and item_titles[item].strip():
            return item_titles[item].strip()
        if item_texts is not None:
            for line in (item_texts[item] or "").splitlines():
                if line.strip():
                    line = line.strip()
                    if len(line) > MAX_TITLE_CHARS:
                        return line[: MAX_TITLE_CHARS - 1].rstrip() + "…"
                    return line
        return str(item_ids[item])

    return title_of
