"""``explain_clusters``: from cluster labels and interactions to :class:`ClusterExplanation` s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.feature_extraction.text import CountVectorizer

from interestlens.errors import ParameterError
from interestlens.explain.explanation import ClusterExplanation
from interestlens.explain.keywords import KEYWORD_SCORINGS, KeywordScoring, cluster_keywords
from interestlens.explain.namer import ClusterNamer, KeywordNamer
from interestlens.explain.representatives import (
    central_items,
    cluster_item_stats,
    medoid_users,
    over_represented_items,
    support_threshold,
)

#: longest title made from the first line of an item's text
MAX_TITLE_CHARS = 80


def explain_clusters(
    labels: ArrayLike,
    user_vectors: ArrayLike,
    *,
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    user_idx: ArrayLike,
    item_idx: ArrayLike,
    rating: ArrayLike | None = None,
    centroids: ArrayLike | None = None,
    user_texts: Sequence[str] | None = None,
    item_texts: Sequence[str] | None = None,
    item_titles: Sequence[str | None] | None = None,
    item_vectors: ArrayLike | None = None,
    top_keywords: int = 10,
    top_items: int = 5,
    top_users: int = 5,
    min_support: int = 2,
    item_weighting: Literal["members", "binary"] = "members",
    include_user_texts: bool = True,
    extra_stop_words: Sequence[str] = (),
    vectorizer: CountVectorizer | None = None,
    namer: ClusterNamer | None = None,
    keyword_scoring: KeywordScoring = "log_odds",
    keyword_prior_size: float | None = None,
    keyword_min_texts: int = 1,
    min_support_share: float = 0.02,
    central_pool: int | None = 50,
    lift_prior: float = 5.0,
) -> list[ClusterExplanation]:
    """Explain each cluster (label >= 0) in words, items and users, ordered by cluster id.

    ``labels[u]`` is user ``u``'s cluster (-1 = noise: no explanation, but counted in each
    cluster's ``share``). Interactions are parallel arrays ``user_idx``, ``item_idx`` and optional
    ``rating`` (NaN = not rated). ``centroids[c]`` is cluster ``c``'s centre in the space of
    ``user_vectors``; when None it is the mean of the members' vectors. Central items need
    ``item_vectors`` (in the same space); without them ``central_items`` stays empty.

    Keywords: one document per cluster, the texts of the items the members interacted with, each
    repeated once per member who did (``item_weighting="members"``) or once (``"binary"``), plus
    the members' own texts when ``include_user_texts``. Terms are scored by
    ``keyword_scoring``: ``"log_odds"`` (default) is the Fightin'-Words z-score of the term in
    the cluster against the other clusters with a Dirichlet prior of ``keyword_prior_size``
    pseudo-words (None: the mean words per cluster), so a word as common in every cluster tops
    none; ``"ctfidf"`` is plain class-based TF-IDF. A keyword must occur in at least
    ``keyword_min_texts`` distinct texts of the cluster's document (1: no such rule). See
    :mod:`interestlens.explain.keywords`.

    Items need support: at least ``max(min_support, ceil(min_support_share * cluster size))``
    members who interacted with them. Central items are the supported items among the
    ``central_pool`` with the most members (None: all supported items), closest to the centroid
    first. Over-represented
    items are ranked by their lift shrunk toward 1 with ``lift_prior`` pseudo-interactions
    (``0``: raw lift), see :func:`~interestlens.explain.representatives.over_represented_items`.

    The label comes from ``namer`` (default :class:`KeywordNamer`); a namer's errors are raised,
    not hidden.
    """
    labels_arr = _int_vector("labels", labels)
    n_users = len(labels_arr)
    if n_users and labels_arr.min() < -1:
        raise ParameterError(
            f"labels hold {int(labels_arr.min())}",
            expected="cluster ids >= 0, or -1 for noise",
            fix="pass the labels the clustering step returned",
        )
    vectors = _matrix("user_vectors", user_vectors, n_rows=n_users, rows_of="labels")
    _check_length("user_ids", user_ids, n_users, "labels")
    if user_texts is not None:
        _check_length("user_texts", user_texts, n_users, "labels")
    n_items = len(item_ids)
    for name, values in (("item_texts", item_texts), ("item_titles", item_titles)):
        if values is not None:
            _check_length(name, values, n_items, "item_ids")
    item_vecs = None
    if item_vectors is not None:
        item_vecs = _matrix("item_vectors", item_vectors, n_rows=n_items, rows_of="item_ids")
        if item_vecs.shape[1] != vectors.shape[1]:
            raise ParameterError(
                f"item_vectors have dimension {item_vecs.shape[1]} but user_vectors "
                f"{vectors.shape[1]}",
                expected="item and user vectors from the same encoder",
                fix="encode items and users with the same encoder",
            )
    users_of, items_of, ratings = _interactions(user_idx, item_idx, rating, n_users, n_items)
    for name, value, low in (
        ("top_keywords", top_keywords, 0),
        ("top_items", top_items, 0),
        ("top_users", top_users, 0),
        ("min_support", min_support, 1),
        ("keyword_min_texts", keyword_min_texts, 1),
    ):
        if not isinstance(value, int | np.integer) or value < low:
            raise ParameterError(f"{name}={value!r}", expected=f"an integer >= {low}")
    if central_pool is not None and (
        not isinstance(central_pool, int | np.integer) or central_pool < 1
    ):
        raise ParameterError(
            f"central_pool={central_pool!r}", expected="an integer >= 1, or None for no cut"
        )
    if not _number_ok(min_support_share, upper=1.0):
        raise ParameterError(
            f"min_support_share={min_support_share!r}", expected="a number in [0, 1]"
        )
    if not _number_ok(lift_prior):
        raise ParameterError(f"lift_prior={lift_prior!r}", expected="a number >= 0")
    if keyword_prior_size is not None and not (
        _number_ok(keyword_prior_size) and keyword_prior_size > 0
    ):
        raise ParameterError(
            f"keyword_prior_size={keyword_prior_size!r}", expected="a number > 0, or None"
        )
    if keyword_scoring not in KEYWORD_SCORINGS:
        raise ParameterError(
            f"keyword_scoring={keyword_scoring!r}",
            expected=" or ".join(repr(name) for name in KEYWORD_SCORINGS),
        )
    if item_weighting not in ("members", "binary"):
        raise ParameterError(f"item_weighting={item_weighting!r}", expected="'members' or 'binary'")
    namer = KeywordNamer() if namer is None else namer
    if not isinstance(namer, ClusterNamer):
        raise ParameterError(
            f"namer is a {type(namer).__name__} without a name(explanation) method",
            expected="a ClusterNamer such as KeywordNamer or OpenAICompatibleNamer",
        )

    cluster_ids = np.unique(labels_arr[labels_arr >= 0])
    n_clusters = len(cluster_ids)
    cluster_of_user = np.full(n_users, -1, dtype=np.int64)
    clustered = labels_arr >= 0
    cluster_of_user[clustered] = np.searchsorted(cluster_ids, labels_arr[clustered])
    members_matrix = sp.csr_matrix(
        (np.ones(int(clustered.sum())), (cluster_of_user[clustered], np.flatnonzero(clustered))),
        shape=(n_clusters, n_users),
    )
    centres = _unit_centroids(centroids, cluster_ids, members_matrix, vectors)

    stats = cluster_item_stats(cluster_of_user, n_clusters, users_of, items_of, n_items)
    keywords = cluster_keywords(
        stats.item_weights(by_members=item_weighting == "members"),
        item_texts,
        members_matrix,
        user_texts if include_user_texts else None,
        n=top_keywords,
        vectorizer=vectorizer,
        extra_stop_words=extra_stop_words,
        scoring=keyword_scoring,
        prior_size=keyword_prior_size,
        min_texts=keyword_min_texts,
    )

    interacted = np.bincount(users_of, minlength=n_users) > 0
    has_text = (
        np.array([bool(text and text.strip()) for text in user_texts])
        if user_texts is not None
        else np.zeros(n_users, dtype=bool)
    )
    interaction_cluster = cluster_of_user[users_of]
    n_interactions = np.bincount(
        interaction_cluster[interaction_cluster >= 0], minlength=n_clusters
    )
    rating_sum, rating_count = _rating_sums(ratings, interaction_cluster, n_clusters)
    title_of = _titles(item_ids, item_titles, item_texts)

    explanations = []
    for position, cluster_id in enumerate(cluster_ids):
        members = np.flatnonzero(cluster_of_user == position)
        support = support_threshold(len(members), min_support, min_support_share)
        explanation = ClusterExplanation(
            cluster_id=int(cluster_id),
            size=len(members),
            share=len(members) / n_users,
            label="",
            keywords=keywords[position],
            central_items=(
                central_items(
                    stats,
                    position,
                    centres[position],
                    item_vecs,
                    item_ids,
                    title_of,
                    top_items,
                    min_members=support,
                    pool=central_pool,
                )
                if item_vecs is not None
                else []
            ),
            over_represented_items=over_represented_items(
                stats, position, item_ids, title_of, top_items, support, lift_prior
            ),
            medoid_users=medoid_users(members, vectors, centres[position], user_ids, top_users),
            mean_rating=(
                float(rating_sum[position] / rating_count[position])
                if rating_count[position]
                else None
            ),
            n_with_text=int(has_text[members].sum()),
            n_with_history=int(interacted[members].sum()),
            n_interactions=int(n_interactions[position]),
        )
        explanations.append(replace(explanation, label=namer.name(explanation)))
    return explanations


def _number_ok(value: object, upper: float | None = None) -> bool:
    """A finite real number >= 0 (and <= ``upper``); booleans are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return False
    return bool(np.isfinite(value) and value >= 0 and (upper is None or value <= upper))


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
