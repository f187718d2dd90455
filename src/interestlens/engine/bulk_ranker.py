"""Recommendations with reasons for many known users at once (``interestlens recommend
--all``): lists ranked in batches, reasons and table rows built with array operations
(:class:`BulkRanker`).

Gives the rows :meth:`RecommendationEngine.recommend_user` gives one user at a time, for the
users that path would score as fitted users (fitted, with a history, no events, not
forgotten) and without candidates; the others keep the one-user path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from interestlens.engine.catalogue import ItemCatalogue
from interestlens.engine.cluster_assignments import ClusterAssignments
from interestlens.engine.histories import UserHistories
from interestlens.engine.ranker import MIN_THREAD_USERS, Ranker, one_blas_thread
from interestlens.engine.reason_writer import ReasonWriter
from interestlens.engine.records import Recommendation
from interestlens.recommend.interest import InterestRecommender

#: users whose most similar rated items are found per call (a (users, k) block at a time)
SIMILAR_BATCH = 4096


def rounded(values: np.ndarray, digits: int) -> np.ndarray:
    """``round(float(v), digits)`` of each value, as Python floats (an object array): what the
    one-user path gives, without a Python call per value.

    ``np.round`` scales by ``10**digits``, rounds half to even and scales back; ``round``
    rounds the exact decimal value. Away from a half-way point they pick the same integer and
    both return the double nearest to it over ``10**digits``; near one (or where the scaled
    value is too large to be exact, or not finite) ``round`` itself decides.
    """
    values = np.asarray(values, dtype=np.float64)
    scale = 10.0**digits
    with np.errstate(invalid="ignore", over="ignore"):  # inf and nan go to round() below
        scaled = values * scale
        out = np.round(scaled) / scale
        doubtful = ~(np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) > 1e-6) | ~(
            np.abs(scaled) < 2.0**52
        )
    for position in np.flatnonzero(doubtful):
        out[position] = round(float(values[position]), digits)
    return out.astype(object)


class BulkRanker:
    """Tables of many known users' recommendations, from the engine's collaborators."""

    def __init__(
        self,
        *,
        recommender: InterestRecommender,
        ranker: Ranker,
        reasons: ReasonWriter,
        histories: UserHistories,
        clusters: ClusterAssignments,
        catalogue: ItemCatalogue,
    ):
        self._recommender = recommender
        self._ranker = ranker
        self._reasons = reasons
        self._histories = histories
        self._clusters = clusters
        self._catalogue = catalogue

    def rows(self, users: np.ndarray, k: int, progress: Any) -> dict[str, np.ndarray]:
        """Columns ``user, rank, item_id, score, cluster, cluster_label, reason`` (one entry
        per recommendation, users in the given order; ``user`` is the position in
        ``users``)."""
        items, scores = self._ranker.top_lists(users, k, progress)
        similar = self._most_similar(users, items)
        clusters = self._clusters.of_many(users)
        has_text = np.array(
            [self._histories.text(int(user)) is not None for user in users], dtype=bool
        )
        valid = items >= 0
        row, rank = np.nonzero(valid)
        item = items[valid]
        cluster = clusters[row]
        reason = self._reasons.texts(item, cluster, similar[valid], has_text[row])
        # reasons given by earlier one-user requests win, as on that path
        reason = self._reasons.cached_or(users[row], item, reason)
        names = np.array(
            ["", *self._clusters.labels(int(clusters.max(initial=-1)) + 1)], dtype=object
        )
        item_ids = np.asarray(self._catalogue.ids.to_list(), dtype=object)
        return {
            "user": row,
            "rank": rank + 1,
            "item_id": item_ids[item],
            "score": rounded(scores[valid], 6),
            "cluster": cluster,
            "cluster_label": names[cluster + 1],
            "reason": reason,
        }

    def _most_similar(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Each recommended item's most similar item in its user's history (-1: none), in
        blocks; with several scoring threads (``recommend.threads``) the blocks are shared out
        among them, each a share of :data:`SIMILAR_BATCH` users (the memory of one block)."""
        similar = np.full(items.shape, -1, dtype=np.int64)
        threads = max(1, min(self._ranker.threads, len(users) // MIN_THREAD_USERS))
        size = max(1, min(SIMILAR_BATCH // threads, -(-len(users) // threads)))
        blocks = [slice(start, start + size) for start in range(0, len(users), size)]

        def find(block: slice) -> np.ndarray:
            return self._recommender.most_similar_items(
                items[block], self._histories.fitted_items(users[block])
            )

        if threads == 1 or len(blocks) < 2:
            for block in blocks:
                similar[block] = find(block)
            return similar
        # the lookups release the GIL in numpy; BLAS threads would contend for the same cores
        with (
            ThreadPoolExecutor(min(threads, len(blocks))) as pool,
            one_blas_thread(),
        ):
            for block, found in zip(blocks, pool.map(find, blocks), strict=True):
                similar[block] = found
        return similar

    def table(
        self,
        ids: Sequence[str],
        index: np.ndarray,
        k: int,
        *,
        candidates: Sequence[str] | None,
        one_user: Callable[[str], list[Recommendation]],
        show_progress: bool,
    ) -> dict[str, np.ndarray]:
        """The columns of :meth:`RecommendationEngine.recommend_users`' table for ``ids`` (in
        order, repeats kept; ``index``: each id's user index, -1 unknown): the array path
        where it applies, ``one_user`` (a known user's list, or the popular list)
        elsewhere."""
        known = index[index >= 0]
        bulk = np.unique(known)
        if candidates is not None or len(bulk) == 0:
            bulk = bulk[:0]
        else:
            bulk = bulk[self._histories.plain_users(bulk)]
        in_bulk = np.isin(index, bulk)
        with tqdm(total=len(ids), desc="recommending", disable=not show_progress) as progress:
            columns = self.rows(bulk, k, progress)
            counts = np.bincount(columns["user"], minlength=len(bulk))
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
            slot = np.searchsorted(bulk, index[in_bulk])
            order_key = np.repeat(np.flatnonzero(in_bulk), counts[slot])
            first = np.repeat(
                starts[slot] - np.concatenate([[0], np.cumsum(counts[slot])[:-1]]), counts[slot]
            )
            gather = np.arange(len(order_key)) + first
            out = {name: values[gather] for name, values in columns.items() if name != "user"}
            extra_rows: list[dict[str, Any]] = []
            extra_key: list[int] = []
            for position in np.flatnonzero(~in_bulk):
                recs = one_user(ids[position])
                extra_rows.extend(r.as_row() for r in recs)
                extra_key.extend([int(position)] * len(recs))
                progress.update(1)
        if extra_rows:
            for name in out:
                extra = np.array([row[name] for row in extra_rows], dtype=object)
                out[name] = np.concatenate([out[name].astype(object), extra])
            order_key = np.concatenate([order_key, np.array(extra_key, dtype=np.int64)])
        order = np.argsort(order_key, kind="stable")
        out = {name: values[order] for name, values in out.items()}
        out["user_id"] = np.asarray(ids, dtype=object)[order_key[order]]
        return out
