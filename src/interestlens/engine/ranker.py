"""Scores and ranked lists of one user, and each known user's best ``cache_k`` items kept
after the first request (:class:`Ranker`)."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController
from tqdm.auto import tqdm

from interestlens.engine.histories import UserHistories
from interestlens.recommend.interest import InterestRecommender
from interestlens.recommend.top_items import top_k

#: users ranked per call of the recommender (its dense score blocks are users × items)
PRECOMPUTE_BATCH = 256
#: ... or more over a small catalogue, up to this many cells per score block (4 MiB of
#: float32): a call has a fixed cost that 256 users over 400 items do not cover
BATCH_CELLS = 1_000_000


#: scoring threads when ``recommend.threads`` is None: one per core, at most this many
MAX_DEFAULT_THREADS = 8
#: users per scoring thread below which fewer threads are used (a call has a fixed cost)
MIN_THREAD_USERS = 32


def batch_size(n_items: int) -> int:
    """Users per call of the recommender over ``n_items`` items."""
    return max(PRECOMPUTE_BATCH, BATCH_CELLS // max(n_items, 1))


@functools.cache
def _blas_controller() -> ThreadpoolController:
    # made once: each threadpool_limits() call scans the process's loaded libraries again
    # (3 ms per call in a process that has loaded the encoders)
    return ThreadpoolController()


def one_blas_thread() -> Any:
    """A context in which BLAS uses one thread (for code that runs on several threads)."""
    return _blas_controller().limit(limits=1)


def default_threads() -> int:
    """One scoring thread per core this process may run on, at most
    :data:`MAX_DEFAULT_THREADS`."""
    # the cores this process is allowed (taskset, cgroup cpusets), where the platform says
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_DEFAULT_THREADS))


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
        threads: int | None = None,
    ):
        self._recommender = recommender
        self._histories = histories
        self._lock = lock
        self._cache_k = int(cache_k)
        self._lists: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        #: threads that rank many users at once (``recommend.threads``)
        self.threads = default_threads() if threads is None else int(threads)

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
        with tqdm(total=len(warm), desc="ranking users", disable=not show_progress) as progress:
            for batch, items, values in self._ranked_batches(warm, depth, PRECOMPUTE_BATCH):
                for row, user in enumerate(batch):
                    keep = items[row] >= 0
                    self._lists[int(user)] = (items[row][keep], values[row][keep])
                progress.update(len(batch))
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
        rows: dict[int, list[int]] = {}
        for row, user in enumerate(users):
            rows.setdefault(int(user), []).append(row)

        def put(user: int, top: np.ndarray, values: np.ndarray) -> None:
            keep = top >= 0
            top, values = top[keep][:k], values[keep][:k]
            for row in rows[user]:
                items[row, : len(top)] = top
                scores[row, : len(top)] = values

        todo = []
        for user in rows:
            hit = self._lists.get(user)
            if hit is None:
                todo.append(user)
            else:
                put(user, *hit)
        progress.update(len(users) - sum(len(rows[user]) for user in todo))
        size = batch_size(self._histories.n_items)
        # each user once (the usual case): a batch's lists go to their rows in one step, since
        # the recommender pads a list with -1 at its end only
        row_of = (
            {user: places[0] for user, places in rows.items()} if len(rows) == len(users) else None
        )
        for batch, top, values in self._ranked_batches(np.array(todo, dtype=np.int64), depth, size):
            if row_of is not None:
                at = np.fromiter((row_of[int(user)] for user in batch), np.int64, len(batch))
                width = min(top.shape[1], k)
                items[at, :width] = top[:, :width]
                scores[at, :width] = values[:, :width]
                progress.update(len(batch))
                continue
            for row, user in enumerate(batch):
                put(int(user), top[row], values[row])
            progress.update(sum(len(rows[int(user)]) for user in batch))
        return items, scores

    def _ranked_batches(
        self, users: np.ndarray, depth: int, size: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(batch, items, values)``: the best ``depth`` items of consecutive batches of
        ``users``, ``size`` users at a time.

        With several :attr:`threads`, a wave of as many batches of ``size / threads`` users
        each (the memory of one batch) is scored at once, under one hold of the lock: numpy's
        and scipy's kernels release the GIL, so the batches use several cores, while BLAS is
        held to one thread per batch (its own threads would contend for the same cores). A
        change to the model waits for at most one wave, as it waited for one batch. A user's
        scores depend on that user alone, not on the batch (up to the last float digits, as
        with any batch size), so the lists are those of one thread (``tests/test_scaling.py``
        compares them).
        """
        threads = min(self.threads, len(users) // MIN_THREAD_USERS)
        if threads <= 1:
            for start in range(0, len(users), size):
                batch = users[start : start + size]
                with self._lock:
                    top, values = self._recommender.recommend(batch, depth)
                yield batch, top, values
            return
        # as many waves as batches of ``size`` users would be, every thread busy in each
        waves = -(-len(users) // size)
        share = -(-len(users) // (waves * threads))
        batches = [users[start : start + share] for start in range(0, len(users), share)]

        def rank(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return self._recommender.recommend(batch, depth)

        with ThreadPoolExecutor(threads, thread_name_prefix="interestlens-rank") as pool:
            for start in range(0, len(batches), threads):
                wave = batches[start : start + threads]
                with self._lock, one_blas_thread():
                    ranked = list(pool.map(rank, wave))
                for batch, (top, values) in zip(wave, ranked, strict=True):
                    yield batch, top, values

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
