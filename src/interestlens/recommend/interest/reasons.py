"""Short reasons for a recommendation: the interest cluster that likes the item, and the
rated item it is most like."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from interestlens.errors import ParameterError
from interestlens.recommend.interest.core import InterestCore
from interestlens.recommend.interest.text import TextSpace

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


def reason(
    membership: np.ndarray,
    lift: np.ndarray,
    *,
    warm_item: bool,
    labels: list[str],
    similar: str | None,
    has_text: bool,
) -> str:
    """``"popular among <label>; similar to <item> you rated"`` and its variants.

    The cluster named is, among the user's clusters, the one where membership times the
    item's lift is highest: the interest that explains the item best.
    """
    parts = []
    if membership.any():
        cluster = int(np.argmax(np.where(membership > 0, membership * np.exp(lift), -1.0)))
        if not warm_item:
            parts.append(f"new, close to what {labels[cluster]} like")
        elif lift[cluster] > 0:
            parts.append(f"popular among {labels[cluster]}")
        else:
            parts.append(f"fits the interests of {labels[cluster]}")
    if similar is not None:
        parts.append(f"similar to {similar} you rated")
    elif has_text:
        parts.append("close to what you wrote")
    return "; ".join(parts) if parts else "popular overall"
