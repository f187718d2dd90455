"""EASE: a closed-form linear item-item model (Steck, "Embarrassingly Shallow Autoencoders
for Sparse Data", WWW 2019)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from interestlens.errors import ParameterError
from interestlens.recommend.base import HISTORY, BaseRecommender, as_interaction_matrix

DEFAULT_LAMBDAS: tuple[float, ...] = (10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)


@dataclass(frozen=True)
class LambdaSearch:
    """Result of :meth:`EASE.tune_lambda`: the best value and the metric for each tried one."""

    best_lambda: float
    metric: str
    k: int
    scores: dict[float, float]


class EASE(BaseRecommender):
    """``B = argmin |X - XB|^2 + l2 |B|^2`` with ``diag(B) = 0``; ``score(u) = x_u B``.

    Closed form: ``P = (X^T X + l2 I)^-1``, ``B = -P / diag(P)`` off the diagonal. Only items
    with at least one training interaction enter ``B`` (the others would get zero rows and
    columns anyway), which keeps the dense ``n × n`` solve as small as the data allows. The
    inverse comes from a Cholesky factorisation in ``dtype`` (``X^T X + l2 I`` is well
    conditioned for the usual ``l2``, so float32 halves the time at no cost in ranking), or,
    with fewer users than items, from the Woodbury identity, which only inverts a
    users × users matrix. ``solver="auto"`` picks the smaller problem.
    """

    new_user_inputs: ClassVar[frozenset[str]] = frozenset({HISTORY})
    handles_cold_items: ClassVar[bool] = False

    def __init__(
        self,
        l2: float = 500.0,
        dtype: str = "float32",
        solver: str = "auto",
        block_size: int = 4096,
    ):
        self.l2 = l2
        self.dtype = dtype
        self.solver = solver
        self.block_size = block_size

    def _fit(self, interactions, item_texts, user_texts) -> None:
        if not self.l2 > 0:
            raise ParameterError(
                f"l2={self.l2} should be > 0",
                expected="a positive regularisation weight (it keeps X^T X + l2 I invertible)",
                fix="pass l2=500 or tune it with EASE.tune_lambda",
            )
        if self.dtype not in ("float32", "float64"):
            raise ParameterError(
                f"dtype={self.dtype!r}",
                expected="'float32' or 'float64'",
                fix="keep dtype='float32' (about 2x faster, same rankings in practice)",
            )
        if self.solver not in ("auto", "cholesky", "woodbury"):
            raise ParameterError(
                f"solver={self.solver!r}",
                expected="'auto', 'cholesky' or 'woodbury'",
                fix="keep solver='auto'",
            )
        active = np.flatnonzero(interactions.getnnz(axis=0) > 0)
        columns = interactions[:, active]
        columns = columns[columns.getnnz(axis=1) > 0]
        solver = self.solver
        if solver == "auto":
            solver = "woodbury" if columns.shape[0] < len(active) else "cholesky"
        if solver == "woodbury":
            precision = self._precision_woodbury(columns)
        else:
            precision = self._precision_cholesky(columns)
        weights = -precision / np.diag(precision)[None, :]
        weights[np.diag_indices_from(weights)] = 0.0
        self.active_items_ = active
        self.weights_ = weights.astype(np.float32)

    def _precision_cholesky(self, columns: sp.csr_matrix) -> np.ndarray:
        n_active = columns.shape[1]
        gram = np.zeros((n_active, n_active), dtype=self.dtype)
        # dense BLAS products over blocks of users beat a sparse X^T X that is nearly dense
        for start in range(0, columns.shape[0], self.block_size):
            block = columns[start : start + self.block_size].toarray().astype(self.dtype)
            gram += block.T @ block
        gram[np.diag_indices_from(gram)] += self.l2
        return _spd_inverse(gram)

    def _precision_woodbury(self, columns: sp.csr_matrix) -> np.ndarray:
        # (X^T X + l2 I)^-1 = (I - X^T (l2 I + X X^T)^-1 X) / l2: a users x users inverse
        dense = columns.toarray().astype(np.float64)
        inner = dense @ dense.T
        inner[np.diag_indices_from(inner)] += self.l2
        left = (dense.T @ _spd_inverse(inner)).astype(self.dtype)
        precision = left @ dense.astype(self.dtype)
        precision *= -1.0 / self.l2
        precision[np.diag_indices_from(precision)] += 1.0 / self.l2
        return precision

    def _expand(self, history: sp.csr_matrix) -> np.ndarray:
        out = np.zeros((history.shape[0], self.n_items_), dtype=np.float32)
        out[:, self.active_items_] = history[:, self.active_items_] @ self.weights_
        return out

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return self._expand(self.interactions_[users])

    def _score_new(self, history, texts, n_new: int) -> np.ndarray:
        return self._expand(history)

    @classmethod
    def tune_lambda(
        cls,
        train: sp.csr_matrix,
        validation: sp.csr_matrix,
        lambdas: Sequence[float] = DEFAULT_LAMBDAS,
        *,
        k: int = 10,
        metric: str = "ndcg",
        dtype: str = "float32",
    ) -> LambdaSearch:
        """Fit on ``train`` for each value in ``lambdas``; pick the best ``metric@k`` on
        ``validation`` (same shape; users without validation items are ignored).

        Carve ``validation`` out of the training part only
        (:func:`interestlens.evaluate.validation_split`), never out of the test part.
        Ties go to the first value in ``lambdas``.
        """
        # imported here: the evaluate package itself imports recommend
        from interestlens.evaluate.metrics import RANKING_METRICS

        if metric not in RANKING_METRICS:
            raise ParameterError(
                f"metric={metric!r}",
                expected=f"one of {', '.join(RANKING_METRICS)}",
                fix="pass metric='ndcg'",
            )
        if len(lambdas) == 0:
            raise ParameterError(
                "lambdas is empty",
                expected="at least one regularisation value",
                fix="pass lambdas=(100, 500, 1000)",
            )
        train = as_interaction_matrix(train)
        validation = sp.csr_matrix(validation, dtype=np.float32)
        if validation.shape != train.shape:
            raise ParameterError(
                f"validation has shape {validation.shape} but train has shape {train.shape}",
                expected="the same users and items in both matrices",
                fix="build both with the same IdMaps",
            )
        validation.eliminate_zeros()
        users = np.flatnonzero(validation.getnnz(axis=1) > 0)
        if users.size == 0:
            raise ParameterError(
                "validation has no interactions",
                expected="at least one user with a validation item",
                fix="use a larger validation fraction",
            )
        relevant = validation[users]
        scores: dict[float, float] = {}
        for value in lambdas:
            model = cls(l2=float(value), dtype=dtype).fit(train)
            ranked, _ = model.recommend(users, k)
            scores[float(value)] = float(np.nanmean(RANKING_METRICS[metric](ranked, relevant)))
        best = max(scores, key=lambda value: scores[value])
        return LambdaSearch(best_lambda=best, metric=metric, k=k, scores=scores)


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix via LAPACK potrf + potri."""
    factorise, invert = lapack.get_lapack_funcs(("potrf", "potri"), (matrix,))
    factor, info = factorise(matrix, lower=False, overwrite_a=True, clean=True)
    if info == 0:
        inverse, info = invert(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ParameterError(
            f"X^T X + l2 I is not positive definite in {matrix.dtype} (LAPACK info={info})",
            expected="a regularised Gram matrix, which is positive definite for l2 > 0",
            fix="raise l2, or pass dtype='float64'",
        )
    # potri fills the upper triangle only
    upper = np.triu(inverse)
    return upper + np.triu(upper, 1).T
