"""Recommendations with reasons for many known users at once (``interestlens recommend
--all``): lists ranked in batches, reasons and table rows built with array operations.

Gives the rows :meth:`RankingMixin.recommend_user` gives one user at a time, for the users
that path would score as fitted users (fitted, with a history, no events, not forgotten) and
without candidates; the others keep the one-user path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from interestlens.engine.reasons import REASON_LIFT

#: users ranked per call of the recommender (its dense score blocks are users × items)
BULK_BATCH = 256
_SEPARATOR = "; "


class BulkMixin:
    """Many known users' tables (mixed into :class:`~interestlens.engine.RecommendationEngine`)."""

    def _bulk_eligible(self, users: np.ndarray) -> np.ndarray:
        """Users the bulk path serves exactly as the one-user path would."""
        has_history = np.diff(self._history_start)[users] > 0
        special = self._events.keys() | self._dropped | self._forgotten
        plain = ~np.isin(users, np.fromiter(special, dtype=np.int64, count=len(special)))
        return has_history & plain & (users < self.n_fitted_users)

    def _bulk_lists(self, users: np.ndarray, k: int, progress: Any) -> tuple[np.ndarray, ...]:
        """``(n, k)`` items (-1 = none) and scores of each user's best ``k``, cut from the
        ``cache_k`` list the one-user path ranks (the same items, in the same order)."""
        depth = min(self.cache_k, self.n_items)
        items = np.full((len(users), k), -1, dtype=np.int64)
        scores = np.full((len(users), k), -np.inf, dtype=np.float32)
        for start in range(0, len(users), BULK_BATCH):
            batch = users[start : start + BULK_BATCH]
            cached = [self._lists.get(int(user)) for user in batch]
            todo = np.array([u for u, c in zip(batch, cached, strict=True) if c is None])
            ranked: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            if len(todo):
                with self._lock:
                    top, values = self.recommender.recommend(todo, depth)
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

    def _bulk_histories(self, users: np.ndarray) -> sp.csr_matrix:
        """Each user's fitted items as one sparse row (columns sorted and distinct)."""
        starts, ends = self._history_start[users], self._history_start[users + 1]
        counts = ends - starts
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        positions = np.arange(int(counts.sum())) + offsets
        columns = self._history_frame["item_index"].to_numpy(dtype=np.int64)[positions]
        rows = np.repeat(np.arange(len(users)), counts)
        matrix = sp.csr_matrix(
            (np.ones(len(columns), dtype=np.float32), (rows, columns)),
            shape=(len(users), self.n_items),
        )
        matrix.sum_duplicates()
        return matrix

    def _bulk_rows(self, users: np.ndarray, k: int, progress: Any) -> dict[str, np.ndarray]:
        """Columns ``user, rank, item, score, cluster, cluster_label, reason`` (one entry per
        recommendation, users in the given order)."""
        items, scores = self._bulk_lists(users, k, progress)
        similar = np.full(items.shape, -1, dtype=np.int64)
        for start in range(0, len(users), 4096):
            block = slice(start, start + 4096)
            similar[block] = self.recommender.most_similar_items(
                items[block], self._bulk_histories(users[block])
            )
        clusters = np.where(users < len(self.user_labels), self.user_labels[users], -1)
        has_text = np.array([self._user_text(int(user)) is not None for user in users], dtype=bool)
        valid = items >= 0
        row, rank = np.nonzero(valid)
        item = items[valid]
        cluster = clusters[row]
        reason = self._bulk_reasons(item, cluster, similar[valid], has_text[row])
        if self._reasons:  # reasons cached by earlier one-user requests win, as there
            keys = zip(users[row].tolist(), item.tolist(), strict=True)
            reason = np.array(
                [self._reasons.get(key, text) for key, text in zip(keys, reason, strict=True)],
                dtype=object,
            )
        names = np.array(
            [
                self._label(c) if c >= 0 else ""
                for c in range(-1, int(clusters.max(initial=-1)) + 1)
            ],
            dtype=object,
        )
        item_ids = np.asarray(self.item_ids.to_list(), dtype=object)
        return {
            "user": row,
            "rank": rank + 1,
            "item_id": item_ids[item],
            "score": np.array([round(float(s), 6) for s in scores[valid]], dtype=object),
            "cluster": cluster,
            "cluster_label": names[cluster + 1],
            "reason": reason,
        }

    def _bulk_reasons(
        self, item: np.ndarray, cluster: np.ndarray, similar: np.ndarray, has_text: np.ndarray
    ) -> np.ndarray:
        """The texts :meth:`ReasonsMixin._reason` builds, for many (user, item) pairs."""
        lift = self._lift
        n_clusters = len(lift)
        labels = [self._label(c) for c in range(n_clusters)]
        popular_among = np.array([f"popular among {label}" for label in labels] + [""], object)
        fits = np.array([f"fits the interests of {label}" for label in labels] + [""], object)
        in_range = (cluster >= 0) & (cluster < n_clusters)
        safe_cluster = np.where(in_range, cluster, n_clusters)
        fitted_item = item < lift.shape[1]
        fitted_item[fitted_item] = self._item_counts[item[fitted_item]] > 0
        item_lift = np.zeros(len(item), dtype=lift.dtype)
        both = in_range & fitted_item
        item_lift[both] = lift[cluster[both], item[both]]
        first = np.where(
            ~in_range,
            "",
            np.where(
                ~fitted_item,
                "new item",
                np.where(
                    item_lift > np.log(REASON_LIFT),
                    popular_among[safe_cluster],
                    fits[safe_cluster],
                ),
            ),
        ).astype(object)
        titles = np.asarray(self.titles, dtype=object)
        second = np.full(len(item), "", dtype=object)
        found = similar >= 0
        second[found] = "similar to " + titles[similar[found]] + ", which you rated"
        second[~found & has_text] = "close to what you wrote"
        joined = np.where(
            (first != "") & (second != ""), first + _SEPARATOR + second, first + second
        ).astype(object)
        joined[joined == ""] = "popular overall"
        return joined

    def _users_table(
        self,
        ids: list[str],
        k: int,
        candidates: Any,
        popular: list[Any],
        show_progress: bool,
    ) -> dict[str, np.ndarray]:
        """The columns of :meth:`recommend_users`' table for ``ids`` (in order, repeats kept):
        the bulk path where it applies, the one-user path (or ``popular``) elsewhere."""
        from tqdm.auto import tqdm

        from interestlens.engine.records import _row

        index = np.array(
            [self.user_ids.get(u) if self.has_user(u) else -1 for u in ids], dtype=np.int64
        )
        known = index[index >= 0]
        bulk = np.unique(known)
        if candidates is not None or len(bulk) == 0:
            bulk = bulk[:0]
        else:
            bulk = bulk[self._bulk_eligible(bulk)]
        in_bulk = np.isin(index, bulk)
        with tqdm(total=len(ids), desc="recommending", disable=not show_progress) as progress:
            columns = self._bulk_rows(bulk, k, progress)
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
                user_id = ids[position]
                recs = (
                    self.recommend_user(user_id, k, candidates)
                    if self.has_user(user_id)
                    else popular
                )
                extra_rows.extend(_row(r) for r in recs)
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
