"""Baselines that ignore who the user is: most popular items, and seeded random scores."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from interestlens.errors import ParameterError
from interestlens.recommend.base import BaseRecommender


class MostPop(BaseRecommender):
    """Score of an item = how many users interacted with it (``by="users"``) or the sum of
    their weights (``by="weight"``). Scores any user, new or not; ties go to the lower index."""

    new_user_inputs: ClassVar[frozenset[str]] = frozenset()
    handles_cold_items: ClassVar[bool] = False

    def __init__(self, by: Literal["users", "weight"] = "users"):
        self.by = by

    def _fit(self, interactions, item_texts, user_texts) -> None:
        if self.by == "users":
            popularity = interactions.getnnz(axis=0)
        elif self.by == "weight":
            popularity = np.asarray(interactions.sum(axis=0)).ravel()
        else:
            raise ParameterError(
                f"by={self.by!r}",
                expected="'users' or 'weight'",
                fix="pass by='users' to count distinct users",
            )
        self.popularity_ = np.asarray(popularity, dtype=np.float32)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (len(users), self.n_items_)).copy()

    def _score_new(self, history, texts, n_new: int) -> np.ndarray:
        return np.broadcast_to(self.popularity_, (n_new, self.n_items_)).copy()


class RandomScores(BaseRecommender):
    """Uniform random scores, the floor any model should beat.

    A user's scores depend only on ``random_state`` and the user index, not on which other
    users share the call; new users get scores from their position in the ``score_new`` call.
    """

    new_user_inputs: ClassVar[frozenset[str]] = frozenset()
    handles_cold_items: ClassVar[bool] = True

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def _fit(self, interactions, item_texts, user_texts) -> None:
        self.seed_ = int(self.random_state)

    def _rows(self, keys: np.ndarray, stream: int) -> np.ndarray:
        out = np.empty((len(keys), self.n_items_), dtype=np.float32)
        for row, key in enumerate(keys):
            rng = np.random.default_rng([self.seed_, stream, int(key)])
            out[row] = rng.random(self.n_items_, dtype=np.float32)
        return out

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return self._rows(users, 0)

    def _score_new(self, history: sp.csr_matrix | None, texts, n_new: int) -> np.ndarray:
        return self._rows(np.arange(n_new), 1)
