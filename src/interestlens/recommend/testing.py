"""A test double: a recommender whose scores are given, so metric answers are known."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from interestlens.errors import ParameterError
from interestlens.recommend.base import HISTORY, TEXT, BaseRecommender


class FixedScores(BaseRecommender):
    """Returns ``scores[user]`` for known users and ``new_user_scores`` rows for new users.

    ``scores`` must have shape ``(n_users, n_items)`` of the matrix passed to ``fit``.
    """

    new_user_inputs: ClassVar[frozenset[str]] = frozenset({HISTORY, TEXT})
    handles_cold_items: ClassVar[bool] = True

    def __init__(self, scores: np.ndarray, new_user_scores: np.ndarray | None = None):
        self.scores = scores
        self.new_user_scores = new_user_scores

    def _fit(self, interactions, item_texts, user_texts) -> None:
        scores = np.asarray(self.scores, dtype=np.float32)
        if scores.shape != interactions.shape:
            raise ParameterError(
                f"scores has shape {scores.shape} but interactions have shape {interactions.shape}",
                expected="one score per user and item of the training matrix",
                fix="build scores with the same IdMaps",
            )
        self.scores_ = scores

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return self.scores_[users]

    def _score_new(self, history, texts, n_new: int) -> np.ndarray:
        if self.new_user_scores is None:
            raise ParameterError(
                "FixedScores has no new_user_scores",
                expected="new_user_scores of shape (n_new, n_items)",
                fix="pass new_user_scores=... when building the double",
            )
        new_scores = np.asarray(self.new_user_scores, dtype=np.float32)
        if new_scores.shape != (n_new, self.n_items_):
            raise ParameterError(
                f"new_user_scores has shape {new_scores.shape}",
                expected=f"shape ({n_new}, {self.n_items_})",
                fix="give one row per new user in the order of score_new",
            )
        return new_scores
