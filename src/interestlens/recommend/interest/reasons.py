"""Short reasons for a recommendation, worded in one place (:func:`reason_texts`): the
interest cluster that likes the item, and the rated item it is most like."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from interestlens.errors import ParameterError
from interestlens.recommend.interest.components import InterestCore
from interestlens.recommend.interest.text_space import TextSpace

_NAME_END = re.compile(r"\.\s|\n")
_NAME_LENGTH = 60


def item_names(item_texts: Sequence[str] | None, n_items: int, start: int = 0) -> list[str]:
    """The start of each item text (up to the first sentence end), or ``item N`` (N counted
    from ``start``)."""
    if item_texts is None:
        return [f"item {i}" for i in range(start, start + n_items)]
    names = []
    for i, text in enumerate(item_texts, start=start):
        head = _NAME_END.split(text.strip(), maxsplit=1)[0].strip()
        if len(head) > _NAME_LENGTH:
            head = head[: _NAME_LENGTH - 3].rstrip() + "..."
        names.append(head or f"item {i}")
    return names


def checked_labels(cluster_labels: Sequence[str] | None, n_clusters: int) -> list[str]:
    if cluster_labels is None:
        return [f"cluster {c}" for c in range(n_clusters)]
    labels = list(cluster_labels)
    if len(labels) != n_clusters:
        raise ParameterError(
            f"cluster_labels has {len(labels)} entries; it should equal the number of fitted "
            f"clusters, {n_clusters}",
            expected="one label per fitted cluster, in cluster order (model.clusters_.n_clusters)",
            fix="pass one label per cluster, or none for 'cluster N'",
        )
    return [str(label) for label in labels]


def checked_names(names: Sequence[str] | None, defaults: list[str]) -> list[str]:
    if names is None:
        return defaults
    given = list(names)
    if len(given) != len(defaults):
        raise ParameterError(
            f"item_names has {len(given)} entries; it should equal n_items={len(defaults)}",
            expected="one name per item, in index order",
            fix="align the names with the item IdMap",
        )
    return [str(name) for name in given]


def most_similar_rated(
    core: InterestCore, text: TextSpace | None, rated: np.ndarray, item: int
) -> int | None:
    """The rated item that does most for ``item``: its EASE weight towards it, text cosine
    breaking ties and deciding alone for cold items."""
    rated = rated[rated != item]
    if len(rated) == 0:
        return None
    similarity = np.zeros(len(rated), dtype=np.float64)
    if core.ease is not None and core.warm[item]:
        similarity += core.ease.item_weights(rated, item)
    if text is not None:
        cosine = text.joint_[rated] @ text.joint_[item]
        similarity = similarity + 1e-3 * cosine if similarity.any() else cosine
    return int(rated[int(np.argmax(similarity))])


#: a cluster "likes" an item (``popular among <label>``) when its share there is this many
#: times its global share; below, the item only ``fits the interests of <label>``
REASON_LIFT = 1.2
#: between the parts of a reason
REASON_SEPARATOR = "; "
#: the reason when nothing else can be said (no cluster, no rated item, no text)
POPULAR_OVERALL = "popular overall"


def reason_texts(
    cluster: np.ndarray,
    lift: np.ndarray,
    known_item: np.ndarray,
    similar: np.ndarray,
    has_text: np.ndarray,
    *,
    cluster_labels: Sequence[str],
    item_names: Sequence[str],
) -> np.ndarray:
    """The reason for each (person, item) pair, as an object array of texts; the one place
    reasons are worded (the recommender's :meth:`explain` and the engine both use it).

    ``cluster``: the person's cluster (-1 or out of ``cluster_labels``: none); ``lift``: the
    item's lift in it (:mod:`interestlens.recommend.interest.lift`); ``known_item``: the item
    had interactions at fit time; ``similar``: the rated item most like it (-1: none, a name
    from ``item_names`` otherwise); ``has_text``: the person wrote about themselves.

    ``"popular among <label>; similar to <name>, which you rated"`` and its variants:
    ``fits the interests of <label>`` below :data:`REASON_LIFT`, ``new item, close to what
    <label> like`` for items added after fitting, ``close to what you wrote`` without a
    similar rated item, :data:`POPULAR_OVERALL` when nothing applies.
    """
    cluster = np.asarray(cluster, dtype=np.int64)
    labels = [str(label) for label in cluster_labels]
    in_range = (cluster >= 0) & (cluster < len(labels))
    # first part: 3 kinds per cluster (new item, popular among, fits), -1 for none
    kind = np.where(
        ~np.asarray(known_item, dtype=bool),
        0,
        np.where(np.asarray(lift) > np.log(REASON_LIFT), 1, 2),
    )
    first = np.where(in_range, cluster * 3 + kind, -1)
    # second part: the similar rated item, -2 for "close to what you wrote", -1 for none
    similar = np.asarray(similar, dtype=np.int64)
    second = np.where(similar >= 0, similar, np.where(np.asarray(has_text, dtype=bool), -2, -1))
    # a reason is worded once per distinct (first, second) pair, not once per recommendation:
    # the pairs repeat, and only the item names used are read (the catalogue may hold millions)
    width = int(similar.max(initial=-1)) + 3
    distinct, inverse = np.unique((first + 1) * width + (second + 2), return_inverse=True)
    texts = []
    for value in distinct.tolist():
        head, tail = divmod(value, width)
        texts.append(_worded(head - 1, tail - 2, labels, item_names))
    return np.array(texts, dtype=object)[inverse.reshape(-1)]


def _worded(first: int, second: int, labels: Sequence[str], item_names: Sequence[str]) -> str:
    """The reason of one (first part, second part) pair of :func:`reason_texts`' codes."""
    lead = ""
    if first >= 0:
        label = labels[first // 3]
        lead = (
            f"new item, close to what {label} like",
            f"popular among {label}",
            f"fits the interests of {label}",
        )[first % 3]
    rest = ""
    if second >= 0:
        rest = f"similar to {item_names[second]}, which you rated"
    elif second == -2:
        rest = "close to what you wrote"
    if lead and rest:
        return lead + REASON_SEPARATOR + rest
    return lead + rest or POPULAR_OVERALL


def reason(
    membership: np.ndarray,
    lift: np.ndarray,
    *,
    warm_item: bool,
    labels: list[str],
    similar: str | None,
    has_text: bool,
) -> str:
    """The reason for one user and item of the recommender (:func:`reason_texts`).

    The cluster named is, among the user's clusters (``membership``), the one where
    membership times the item's ``lift`` is highest: the interest that explains the item best.
    """
    cluster = -1
    if membership.any():
        cluster = int(np.argmax(np.where(membership > 0, membership * np.exp(lift), -1.0)))
    return str(
        reason_texts(
            np.array([cluster]),
            np.array([lift[cluster] if cluster >= 0 else 0.0]),
            np.array([warm_item]),
            np.array([-1 if similar is None else 0]),
            np.array([has_text]),
            cluster_labels=labels,
            item_names=[similar or ""],
        )[0]
    )


#: rated-item × recommended-item entries compared at once by :func:`most_similar_rated_many`
_PAIR_BUDGET = 400_000
#: a catalogue this small takes dense item × item tables (EASE weights, text cosines) for
#: :func:`most_similar_rated_many`: 64 MiB each at the limit
DENSE_PAIR_ITEMS = 4096
#: ... and only when a table costs less than this many times the rated items to explain: the
#: batched path gathers a text vector per rated item, the table a product per item pair
_TABLE_PER_RATED = 16


def most_similar_rated_many(
    core: InterestCore, text: TextSpace | None, rated: sp.csr_matrix, items: np.ndarray
) -> np.ndarray:
    """:func:`most_similar_rated` for many users at once: ``rated`` holds each user's rated
    items (the column indices of row ``u``, any values), ``items`` ``(n_users, k)`` the items
    to explain (-1 = none); returns ``(n_users, k)`` rated items, -1 where there is none.

    Same answer as the one-pair function (same float types, ties to the lowest item index):
    rows are grouped by history length so that padding stays small, and each group's text
    cosines come from one batched product.
    """
    rated = sp.csr_matrix(rated)
    rated.sum_duplicates()  # sorted, distinct columns: the order np.unique gives
    items = np.asarray(items, dtype=np.int64)
    out = np.full(items.shape, -1, dtype=np.int64)
    n_items = rated.shape[1]
    tables = None
    if n_items <= DENSE_PAIR_ITEMS and n_items**2 <= _TABLE_PER_RATED * rated.nnz:
        tables = _PairTables(core, text, n_items)
    lengths = np.diff(rated.indptr)
    order = np.argsort(lengths, kind="stable")
    order = order[lengths[order] > 0]
    start = 0
    while start < len(order):
        width = int(lengths[order[start]])
        # grow the group while its padded size (rows × longest history × k) fits the budget
        stop = start + 1
        while stop < len(order):
            width_next = int(lengths[order[stop]])
            if (stop + 1 - start) * width_next * max(items.shape[1], 1) > _PAIR_BUDGET:
                break
            width = width_next
            stop += 1
        rows = order[start:stop]
        out[rows] = _most_similar_group(core, text, rated, rows, items[rows], width, tables)
        start = stop
    return out


class _PairTables:
    """Every item pair's EASE weight and text cosine of a small catalogue, as dense tables:
    many users' reasons then read them instead of gathering a text vector per rated item."""

    def __init__(self, core: InterestCore, text: TextSpace | None, n_items: int):
        self.weights: np.ndarray | None = None
        ease = core.ease
        if ease is not None:
            # items outside the fitted active ones (no interactions, added later) weigh 0
            active = ease.active_items_
            weights = ease.weights_
            block = weights.toarray() if sp.issparse(weights) else np.asarray(weights)
            self.weights = np.zeros((n_items, n_items), dtype=np.float32)
            self.weights[np.ix_(active, active)] = block
        self.cosine: np.ndarray | None = None
        if text is not None:
            joint = text.joint_[:n_items]
            self.cosine = joint @ joint.T


def _most_similar_group(
    core: InterestCore,
    text: TextSpace | None,
    rated: sp.csr_matrix,
    rows: np.ndarray,
    items: np.ndarray,
    width: int,
    tables: _PairTables | None = None,
) -> np.ndarray:
    n = len(rows)
    starts, ends = rated.indptr[rows], rated.indptr[rows + 1]
    slot = np.arange(width)[None, :]
    present = slot < (ends - starts)[:, None]
    history = np.full((n, width), -1, dtype=np.int64)
    history[present] = rated.indices[(starts[:, None] + slot)[present]]
    target = items[:, None, :]  # (n, 1, k)
    candidate = present[:, :, None] & (target >= 0) & (history[:, :, None] != target)
    similarity = np.zeros(candidate.shape, dtype=np.float64)
    ease = core.ease
    if ease is not None:
        warm = np.zeros(target.shape, dtype=bool)
        valid = target >= 0
        warm[valid] = core.warm[target[valid]]
        use = candidate & warm
        if use.any():
            row, slot_index, column = np.nonzero(use)
            sources = history[row, slot_index]
            targets = items[row, column]
            if tables is not None and tables.weights is not None:
                similarity[use] = tables.weights[sources, targets]
            else:
                similarity[use] = ease.pair_weights(sources, targets)
    if text is not None:
        if tables is not None and tables.cosine is not None:
            cosine = tables.cosine[np.maximum(history, 0)[:, :, None], target.clip(0)]
        else:
            joint = text.joint_
            left = joint[np.maximum(history, 0)]  # (n, width, d)
            right = joint[np.maximum(items, 0)]  # (n, k, d)
            cosine = np.matmul(left, right.transpose(0, 2, 1))  # (n, width, k), float32
        has_weight = ((similarity != 0) & candidate).any(axis=1, keepdims=True)
        similarity = np.where(has_weight, similarity + 1e-3 * cosine, cosine)
    similarity = np.where(candidate, similarity, -np.inf)
    best = np.argmax(similarity, axis=1)  # (n, k): first maximum, lowest item index
    chosen = np.take_along_axis(history, best, axis=1)
    return np.where(candidate.any(axis=1), chosen, -1)
