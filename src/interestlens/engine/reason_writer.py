"""Why an item is recommended, per user: the lift of each item in each explained cluster,
the reasons worded by :func:`interestlens.recommend.interest.reasons.reason_texts`, and a
bounded cache of the texts given (:class:`ReasonWriter`)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.engine.catalogue import ItemCatalogue
from interestlens.engine.cluster_assignments import ClusterAssignments
from interestlens.engine.histories import UserHistories
from interestlens.recommend.interest import InterestRecommender
from interestlens.recommend.interest.lift import cluster_item_weight, cluster_lift
from interestlens.recommend.interest.reasons import POPULAR_OVERALL, reason_texts

#: smoothing of a cluster's item shares toward the global share (interactions), as in the
#: recommender's own cluster affinity
REASON_SHRINKAGE = 50.0
#: reason texts kept per (user, item), counted with ~100 bytes of dict overhead each
REASONS_CACHE_BYTES = 32 * 1024 * 1024
_ENTRY_OVERHEAD = 100


def explained_cluster_lift(
    interactions: pd.DataFrame, labels: np.ndarray, n_items: int
) -> np.ndarray:
    """``(k, n_items)`` lift of each item in each explained cluster (``labels``: per fitted
    user), one count per fitted interaction."""
    labels = np.asarray(labels, dtype=np.int64)
    k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    if k == 0 or len(interactions) == 0:
        return np.zeros((max(k, 1), n_items), dtype=np.float32)
    users = interactions["user_index"].to_numpy()
    counts = sp.csr_matrix(
        (np.ones(len(users)), (users, interactions["item_index"].to_numpy())),
        shape=(len(labels), n_items),
    )
    return cluster_lift(cluster_item_weight(labels, counts, k), REASON_SHRINKAGE)


class ReasonWriter:
    """The reason of each recommendation, and the texts already given to each user."""

    def __init__(
        self,
        lift: np.ndarray,
        *,
        recommender: InterestRecommender,
        catalogue: ItemCatalogue,
        histories: UserHistories,
        clusters: ClusterAssignments,
        lock: threading.RLock,
    ):
        self._lift = lift
        self._recommender = recommender
        self._catalogue = catalogue
        self._histories = histories
        self._clusters = clusters
        self._lock = lock
        self._cache: dict[tuple[int, int], str] = {}
        self._cache_bytes = 0

    def texts(
        self,
        items: np.ndarray,
        cluster: np.ndarray,
        similar: np.ndarray,
        has_text: np.ndarray,
    ) -> np.ndarray:
        """Reasons for (person, item) pairs: their cluster, the rated item most like the item
        (-1: none) and whether they wrote about themselves."""
        items = np.asarray(items, dtype=np.int64)
        cluster = np.asarray(cluster, dtype=np.int64)
        n_clusters, n_fitted_items = self._lift.shape
        known = self._histories.known_items(items) & (items < n_fitted_items)
        inside = (cluster >= 0) & (cluster < n_clusters) & known
        lift = np.zeros(len(items), dtype=self._lift.dtype)
        lift[inside] = self._lift[cluster[inside], items[inside]]
        return reason_texts(
            cluster,
            lift,
            known,
            similar,
            has_text,
            cluster_labels=self._clusters.labels(n_clusters),
            item_names=self._catalogue.titles,
        )

    def for_list(
        self,
        items: np.ndarray,
        *,
        user: int | None,
        cluster: int,
        history: np.ndarray,
        has_text: bool,
        popular: bool = False,
    ) -> list[str]:
        """Reasons for one ranked list (``user``: a known user, whose texts are kept)."""
        if popular:
            return [POPULAR_OVERALL] * len(items)
        keys = [(user, int(item)) for item in items] if user is not None else []
        out: list[str | None] = [self._cache.get(key) for key in keys] or [None] * len(items)
        todo = [position for position, text in enumerate(out) if text is None]
        if todo:
            rated = np.unique(history)
            similar = np.full(len(todo), -1, dtype=np.int64)
            if len(rated):
                with self._lock:
                    for row, position in enumerate(todo):
                        found = self._recommender.most_similar_item(int(items[position]), rated)
                        similar[row] = -1 if found is None else found
            written = self.texts(
                np.asarray(items, dtype=np.int64)[todo],
                np.full(len(todo), cluster),
                similar,
                np.full(len(todo), has_text),
            )
            for position, text in zip(todo, written, strict=True):
                out[position] = str(text)
                if user is not None:
                    self._remember((user, int(items[position])), str(text))
        return [str(text) for text in out]

    def cached_or(self, users: np.ndarray, items: np.ndarray, texts: np.ndarray) -> np.ndarray:
        """``texts``, except where a reason was already given for (user, item): that one."""
        if not self._cache:
            return texts
        keys = zip(users.tolist(), items.tolist(), strict=True)
        return np.array(
            [self._cache.get(key, text) for key, text in zip(keys, texts, strict=True)],
            dtype=object,
        )

    def _remember(self, key: tuple[int, int], text: str) -> None:
        """Keep a reason text, within :data:`REASONS_CACHE_BYTES` (oldest dropped first)."""
        with self._lock:
            self._cache[key] = text
            self._cache_bytes += len(text) + _ENTRY_OVERHEAD
            while self._cache_bytes > REASONS_CACHE_BYTES and self._cache:
                old = self._cache.pop(next(iter(self._cache)))
                self._cache_bytes -= len(old) + _ENTRY_OVERHEAD

    # --- changes ---------------------------------------------------------------------------

    def forget_user(self, user: int) -> None:
        """Drop the texts given to ``user`` (their history or cluster changed)."""
        for key in [key for key in self._cache if key[0] == user]:
            self._cache_bytes -= len(self._cache.pop(key)) + _ENTRY_OVERHEAD

    def add_item(self) -> None:
        """One more item, liked by no cluster more than another (lift 0)."""
        self._lift = np.hstack([self._lift, np.zeros((len(self._lift), 1), np.float32)])
