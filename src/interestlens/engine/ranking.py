"""Scores and ranked lists: one user's scores, the cached best ``cache_k`` items, and the
recommendations for known users, new people, popular items and many users at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from interestlens.engine.records import Recommendation
from interestlens.errors import InvalidValueError, ParameterError, UnknownIdError
from interestlens.recommend.top_items import check_k, top_k

PRECOMPUTE_BATCH = 256


class RankingMixin:
    """Scoring and recommendations of a :class:`~interestlens.engine.RecommendationEngine`."""

    def _scores(self, user: int) -> tuple[np.ndarray, sp.csr_matrix]:
        """All item scores of one user and the user's history row (seen items)."""
        recommender = self.recommender
        values, times = self._history_row(user)
        with self._lock:
            fitted = user < self.n_fitted_users and user not in self._dropped
            if fitted and user not in self._events:
                # users known only by their text are scored from their stored text vectors
                # (the recommender's text-only regime); users with neither get popularity
                if values.nnz or self._user_text(user) is not None:
                    return recommender.score(np.array([user]))[0], values
                return self._popularity_scores(), values
            if fitted:
                return recommender.score_histories(values, times, np.array([user]))[0], values
            return recommender.score_new(history=values)[0], values

    def _bounded_k(self, k: object) -> int:
        """``k`` checked, and no longer than the catalogue: a list cannot hold more items, and
        ``-k 200000000`` must not allocate gigabytes of padding."""
        return min(check_k(k), max(self.n_items, 1))

    def _popularity_scores(self) -> np.ndarray:
        return np.log1p(self._item_counts).astype(np.float32)

    def _ranked(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        cached = self._lists.get(user)
        if cached is not None:
            return cached
        scores, seen = self._scores(user)
        items, values = top_k(scores[None, :], min(self.cache_k, self.n_items), exclude=seen)
        keep = items[0] >= 0
        ranked = (items[0][keep], values[0][keep])
        self._lists[user] = ranked
        return ranked

    def precompute(self, *, show_progress: bool = False) -> None:
        """Rank every known user's best ``cache_k`` items now (batched)."""
        users = np.array(
            [
                u
                for u in range(self.n_fitted_users)
                if u not in self._events and u not in self._forgotten and u not in self._lists
            ],
            dtype=np.int64,
        )
        has_history = np.diff(self._history_start)[users] > 0 if len(users) else users
        warm = users[has_history.astype(bool)] if len(users) else users
        k = min(self.cache_k, self.n_items)
        batches = range(0, len(warm), PRECOMPUTE_BATCH)
        for start in tqdm(batches, desc="ranking users", disable=not show_progress):
            batch = warm[start : start + PRECOMPUTE_BATCH]
            with self._lock:
                items, values = self.recommender.recommend(batch, k)
            for row, user in enumerate(batch):
                keep = items[row] >= 0
                self._lists[int(user)] = (items[row][keep], values[row][keep])
        for user in users[~has_history.astype(bool)] if len(users) else []:
            self._ranked(int(user))

    # --- recommendations -------------------------------------------------------------------

    def recommend_user(
        self, user_id: str, k: int, candidates: Sequence[str] | None = None
    ) -> list[Recommendation]:
        """The ``k`` best unseen items for a known user (restricted to ``candidates``)."""
        k = self._bounded_k(k)
        user = self._user_index(user_id)
        wanted = self._candidate_indices(candidates)
        items, scores = self._ranked(user)
        # the cached list stops at cache_k: past it (or with candidates below it), rank anew
        truncated = len(items) >= min(self.cache_k, self.n_items)
        if wanted is not None:
            inside = np.isin(items, wanted)
            items, scores = items[inside], scores[inside]
        if len(items) < k and truncated:
            all_scores, seen = self._scores(user)
            ranked, values = top_k(all_scores[None, :], k, exclude=seen, candidates=wanted)
            keep = ranked[0] >= 0
            items, scores = ranked[0][keep], values[0][keep]
        return self._package(items[:k], scores[:k], user=user)

    def recommend_new(
        self,
        *,
        text: str | None = None,
        history: Sequence[str] = (),
        k: int,
        candidates: Sequence[str] | None = None,
    ) -> list[Recommendation]:
        """Recommendations for someone the model has never seen: a description and/or the
        ids of items they liked (most recent last)."""
        k = self._bounded_k(k)
        text = text if text is not None and text.strip() else None
        items = self._item_indices(list(history), "history item") if history else np.zeros(0, int)
        if text is None and len(items) == 0:
            raise InvalidValueError(
                "neither text nor history was given",
                expected="a non-empty text, at least one known item id, or both",
                fix="send {'text': 'what the person likes'} or {'history': ['item id', ...]}",
            )
        wanted = self._candidate_indices(candidates)
        row = None
        if len(items):
            max_value = float(getattr(self.recommender, "max_value_", 1.0))
            row = sp.csr_matrix(
                (np.full(len(items), max_value, dtype=np.float32), (np.zeros(len(items)), items)),
                shape=(1, self.n_items),
            )
            row.sum_duplicates()
            row.data[:] = max_value
        with self._lock:
            if text is not None:
                self.encoder()
            scores = self.recommender.score_new(
                history=row, texts=[text] if text is not None else None
            )
        ranked, values = top_k(scores, k, exclude=row, candidates=wanted)
        keep = ranked[0] >= 0
        cluster = self._cluster_of_new(items, text)
        return self._package(
            ranked[0][keep], values[0][keep], cluster=cluster, history=items, has_text=bool(text)
        )

    def popular(self, k: int, candidates: Sequence[str] | None = None) -> list[Recommendation]:
        """The most interacted-with items (for unknown users, when asked to fall back)."""
        k = self._bounded_k(k)
        wanted = self._candidate_indices(candidates)
        ranked, values = top_k(self._popularity_scores()[None, :], k, candidates=wanted)
        keep = ranked[0] >= 0
        return self._package(ranked[0][keep], values[0][keep], cluster=-1, popular=True)

    def recommend_users(
        self,
        user_ids: Sequence[str],
        k: int,
        *,
        candidates: Sequence[str] | None = None,
        unknown: Literal["error", "popular"] = "error",
        show_progress: bool = False,
    ) -> tuple[pd.DataFrame, list[str]]:
        """One table ``user_id, rank, item_id, score, cluster, cluster_label, reason`` for many
        users, and the ids that were unknown (``unknown="popular"``: they get the most popular
        items; ``"error"``: an :class:`UnknownIdError` lists them before anything is scored)."""
        if unknown not in ("error", "popular"):
            raise ParameterError(
                f"unknown={unknown!r}",
                expected="'error' or 'popular'",
                fix="pass --unknown popular to fall back to popular items",
            )
        k = self._bounded_k(k)
        ids = [str(u) for u in user_ids]
        missing = [u for u in dict.fromkeys(ids) if not self.has_user(u)]
        if missing and unknown == "error":
            shown = ", ".join(repr(u) for u in missing[:5])
            raise UnknownIdError(
                f"{len(missing)} user id{'s' if len(missing) > 1 else ''} not in the model: "
                f"{shown}{' …' if len(missing) > 5 else ''}",
                expected="ids of users in the fitted data (interactions or users file)",
                fix="check the ids, or pass --unknown popular to give them popular items",
            )
        self._candidate_indices(candidates)  # fail before the long loop
        popular = self.popular(k, candidates) if missing else []
        # known users in batches, rows and reasons as arrays (engine.bulk)
        table = self._users_table(ids, k, candidates, popular, show_progress)
        columns = ["user_id", "rank", "item_id", "score", "cluster", "cluster_label", "reason"]
        return pd.DataFrame({name: table[name] for name in columns}, columns=columns), missing
