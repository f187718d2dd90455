"""Implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) via the ``implicit``
package, always on the CPU."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from interestlens.errors import ParameterError
from interestlens.recommend.base import HISTORY, BaseRecommender


class ALS(BaseRecommender):
    """``score(u, i) = p_u . q_i`` with factors from alternating least squares.

    Runs on the CPU implementation of ``implicit`` even where a GPU exists, with
    ``num_threads`` solver threads and one BLAS thread, so that a seed gives the same factors
    on every run. New users get factors from their history with ``recalculate_user``.
    ``alpha`` scales the weights into confidences (``implicit`` multiplies the matrix by it).
    """

    new_user_inputs: ClassVar[frozenset[str]] = frozenset({HISTORY})
    handles_cold_items: ClassVar[bool] = False

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 1.0,
        iterations: int = 15,
        random_state: int = 0,
        num_threads: int = 1,
        show_progress: bool = False,
    ):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads
        self.show_progress = show_progress

    def _fit(self, interactions, item_texts, user_texts) -> None:
        for name, value, low in (
            ("factors", self.factors, 1),
            ("iterations", self.iterations, 1),
            ("num_threads", self.num_threads, 1),
        ):
            if value < low:
                raise ParameterError(
                    f"{name}={value} should be >= {low}",
                    expected=f"a positive {name}",
                    fix=f"pass {name}={low} or more",
                )
        if self.regularization < 0 or not self.alpha > 0:
            raise ParameterError(
                f"regularization={self.regularization}, alpha={self.alpha}",
                expected="regularization >= 0 and alpha > 0",
                fix="keep the defaults regularization=0.05, alpha=1.0",
            )
        from implicit.cpu.als import AlternatingLeastSquares

        # implicit warns (and slows down) when BLAS itself runs threads under its own threads
        with threadpool_limits(limits=1, user_api="blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.random_state,
                num_threads=self.num_threads,
                dtype=np.float32,
            )
            model.fit(interactions, show_progress=self.show_progress)
        self.model_ = model
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T

    def _score_new(self, history, texts, n_new: int) -> np.ndarray:
        with threadpool_limits(limits=1, user_api="blas"):
            factors = self.model_.recalculate_user(np.arange(n_new), history)
        return np.asarray(factors, dtype=np.float32).reshape(n_new, -1) @ self.item_factors_.T
