"""Scores and ranked lists of one user, and each known user's best ``cache_k`` items kept
after the first request (:class:`Ranker`)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from interestlens.engine.histories import UserHistories
from interestlens.recommend.interest import InterestRecommender
from interestlens.recommend.top_items import top_k

#: users ranked per call of the recommender (its dense score blocks are users × items)
PRECOMPUTE_BATCH = 256
#: ... or more over a small catalogue, up to this many cells per score block (4 MiB of
#: float32): a call has a fixed cost that 256 users over 400 items do not cover
BATCH_CELLS = 1_000_000


def batch_size(n_items: int) -> int:
    """Users per call of the recommender over ``n_items`` items."""
    return max(PRECOMPUTE_BATCH, BATCH_CELLS // max(n_items, 1))


class Ranker:
    """Scores users through the recommender and keeps their ``cache_k`` best items.

    A user's list is ranked once and sliced afterwards; :meth:`forget_list` (new events,
    forgetting) and :meth:`forget_lists` (a new item) drop lists that no longer hold.
    """

    def __init__(
        self,
        recommender: InterestRecommender,
        histories: UserHistories,
        *,
        cache_k: int,
        lock: threading.RLock,
    ):
        self._recommender = recommender
        self._histories = histories
        self._lock = lock
        self._cache_k = int(cache_k)
        self._lists: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def cache_k(self) -> int:
        """Items kept per user (``recommend.cache_k``); change it with :meth:`resize`."""
        return self._cache_k

    @property
    def n_cached(self) -> int:
        """Users whose ranked list is kept."""
        return len(self._lists)

    def depth(self) -> int:
        """Length of a kept list: ``cache_k``, or the catalogue when shorter."""
        return min(self._cache_k, self._histories.n_items)

    def scores(self, user: int) -> tuple[np.ndarray, sp.csr_matrix]:
        """All item scores of one user and the user's history row (seen items)."""
        histories = self._histories
        values, times = histories.history_row(user)
        with self._lock:
            if histories.is_fitted(user) and not histories.has_events(user):
                # users known only by their text are scored from their stored text vectors
                # (the recommender's text-only regime); users with neither get popularity
                if values.nnz or histories.text(user) is not None:
                    return self._recommender.score(np.array([user]))[0], values
                return histories.popularity_scores(), values
            if histories.is_fitted(user):
                return (
                    self._recommender.score_histories(values, times, np.array([user]))[0],
                    values,
                )
            return self._recommender.score_new(history=values)[0], values

    def ranked(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """The user's best :meth:`depth` unseen items and their scores (kept)."""
        cached = self._lists.get(user)
        if cached is not None:
            return cached
        scores, seen = self.scores(user)
        items, values = top_k(scores[None, :], self.depth(), exclude=seen)
        keep = items[0] >= 0
        ranked = (items[0][keep], values[0][keep])
        self._lists[user] = ranked
        return ranked

    def ranked_anew(
        self, user: int, k: int, candidates: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The user's best ``k`` unseen items among ``candidates``, past the kept list."""
        scores, seen = self.scores(user)
        ranked, values = top_k(scores[None, :], k, exclude=seen, candidates=candidates)
        keep = ranked[0] >= 0
        return ranked[0][keep], values[0][keep]

    def precompute(self, *, show_progress: bool = False) -> None:
        """Rank every known user's list now (batched)."""
        users = self._histories.unchanged_fitted_users()
        users = users[[int(u) not in self._lists for u in users]] if len(users) else users
        has_history = self._histories.has_fitted_history(users)
        warm = users[has_history]
        depth = self.depth()
        batches = range(0, len(warm), PRECOMPUTE_BATCH)
        for start in tqdm(batches, desc="ranking users", disable=not show_progress):
            batch = warm[start : start + PRECOMPUTE_BATCH]
            with self._lock:
                items, values = self._recommender.recommend(batch, depth)
            for row, user in enumerate(batch):
                keep = items[row] >= 0
                self._lists[int(user)] = (items[row][keep], values[row][keep])
        for user in users[~has_history]:
            self.ranked(int(user))

    def top_lists(self, users: np.ndarray, k: int, progress: Any) -> tuple[np.ndarray, ...]:
        """``(n, k)`` items (-1 = none) and scores of each user's best ``k``, cut from the
        list :meth:`ranked` gives (the same items, in the same order); lists ranked here
        are not kept (a whole catalogue run would fill memory), so they are ranked only as
        deep as asked (ties go to the lower item index: a shorter list is the longer one's
        start)."""
        depth = min(self.depth(), k)
        items = np.full((len(users), k), -1, dtype=np.int64)
        scores = np.full((len(users), k), -np.inf, dtype=np.float32)
        size = batch_size(self._histories.n_items)
        for start in range(0, len(users), size):
            batch = users[start : start + size]
            cached = [self._lists.get(int(user)) for user in batch]
            todo = np.array([u for u, c in zip(batch, cached, strict=True) if c is None])
            ranked: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            if len(todo):
                with self._lock:
                    top, values = self._recommender.recommend(todo, depth)
                for row, user in enumerate(todo):
                    ranked[int(user)] = (top[row], values[row])
            for row, (user, hit) in enumerate(zip(batch, cached, strict=True)):
                top, values = hit if hit is not None else ranked[int(user)]
                keep = top >= 0
                top, values = top[keep][:k], values[keep][:k]
                items[start + row, : len(top)] = top
                scores[start + row, : len(top)] = values
            progress.update(len(batch))
        return items, scores

    # --- changes ---------------------------------------------------------------------------

    def resize(self, cache_k: int) -> None:
        """Keep ``cache_k`` items per user from now on (kept lists are dropped)."""
        with self._lock:
            self._cache_k = int(cache_k)
            self._lists.clear()

    def forget_list(self, user: int) -> None:
        self._lists.pop(user, None)

    def forget_lists(self) -> None:
        self._lists.clear()
