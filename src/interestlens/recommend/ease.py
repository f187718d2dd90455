"""EASE: a closed-form linear item-item model (Steck, "Embarrassingly Shallow Autoencoders
for Sparse Data", WWW 2019)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

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

    :meth:`prune` (after ``fit``) keeps, for each target item, the ``n`` source weights of
    largest magnitude as a sparse CSR matrix: a dense ``B`` of 10k items takes 400 MB, 256
    neighbours per item about 20 MB, at a small cost in ranking quality
    (``benchmarks/results/ease_pruning.md``). ``weights_`` is then a ``scipy.sparse.csr_matrix``
    over the active items; scoring and :meth:`item_weights` work with either form.
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

    def prune(self, n_neighbours: int) -> Self:
        """Keep the ``n_neighbours`` entries of largest magnitude in each column of ``B`` (the
        weights towards one target item) as a sparse CSR matrix; returns ``self``.

        ``n_neighbours >= `` the number of active items keeps every non-zero weight (same scores
        as the dense matrix). Pruning an already pruned model prunes its kept entries again.
        """
        self._check_fitted()
        if (
            isinstance(n_neighbours, bool)
            or not isinstance(n_neighbours, int | np.integer)
            or n_neighbours < 1
        ):
            raise ParameterError(
                f"n_neighbours={n_neighbours!r} should be an integer >= 1",
                expected="how many source items to keep per target item",
                fix="pass n_neighbours=256, or keep the dense model (do not call prune)",
            )
        self.weights_ = keep_largest_per_column(self.weights_, int(n_neighbours))
        return self

    @property
    def is_pruned(self) -> bool:
        return sp.issparse(self.weights_)

    def item_weights(self, sources: np.ndarray, target: int) -> np.ndarray:
        """``B[source, target]`` for each of ``sources`` (catalogue indices); 0 where a source
        or the target has no interactions (or the weight was pruned)."""
        self._check_fitted()
        sources = np.asarray(sources, dtype=np.int64)
        out = np.zeros(len(sources), dtype=np.float32)
        active = self.active_items_
        column = int(np.searchsorted(active, target))
        if len(active) == 0 or column >= len(active) or active[column] != target:
            return out
        position = np.searchsorted(active, sources)
        inside = np.minimum(position, len(active) - 1)
        found = (position < len(active)) & (active[inside] == sources)
        if found.any():
            if sp.issparse(self.weights_):
                values = self.weights_[position[found], [column] * int(found.sum())]
            else:
                values = self.weights_[position[found], column]
            out[found] = np.asarray(values, dtype=np.float32).ravel()
        return out

    def add_empty_items(self, n_new: int) -> Self:
        """Append ``n_new`` items without interactions at the end of the catalogue (they score
        0 and take no part in ``B``); returns ``self``."""
        self._check_fitted()
        if n_new:
            empty = sp.csr_matrix((self.interactions_.shape[0], n_new), dtype=np.float32)
            self.interactions_ = sp.hstack([self.interactions_, empty], format="csr")
            self.n_items_ += int(n_new)
        return self

    def _active_columns(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """``history[:, active_items_]`` by relabelling the stored entries: O(nnz), where
        scipy's column indexing converts the whole matrix (milliseconds per request)."""
        n_items = history.shape[1]
        position = getattr(self, "_active_position", None)
        if position is None or len(position) != n_items:
            position = np.full(n_items, -1, dtype=np.int64)
            position[self.active_items_] = np.arange(len(self.active_items_))
            self._active_position = position
        coo = sp.coo_matrix(history)
        columns = position[coo.col]
        keep = columns >= 0
        return sp.csr_matrix(
            (coo.data[keep], (coo.row[keep], columns[keep])),
            shape=(history.shape[0], len(self.active_items_)),
            dtype=np.float32,
        )

    def _expand(self, history: sp.csr_matrix) -> np.ndarray:
        out = np.zeros((history.shape[0], self.n_items_), dtype=np.float32)
        product = self._active_columns(history) @ self.weights_
        out[:, self.active_items_] = product.toarray() if sp.issparse(product) else product
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


def keep_largest_per_column(weights: np.ndarray | sp.spmatrix, n: int) -> sp.csr_matrix:
    """CSR float32 copy of ``weights`` with, in each column, only the ``n`` entries of largest
    absolute value (fewer where the column has fewer non-zeros; exact ties are broken
    arbitrarily)."""
    n_rows, n_cols = weights.shape
    rows, cols, values = [], [], []
    if sp.issparse(weights):
        csc = sp.csc_matrix(weights, dtype=np.float32)
        csc.eliminate_zeros()
        for column in range(n_cols):
            start, end = csc.indptr[column], csc.indptr[column + 1]
            data = csc.data[start:end]
            keep = np.argsort(-np.abs(data), kind="stable")[:n]
            rows.append(csc.indices[start:end][keep])
            cols.append(np.full(len(keep), column))
            values.append(data[keep])
    else:
        dense = np.asarray(weights, dtype=np.float32)
        k = min(n, n_rows)
        # column blocks bound the temporary index arrays (an argpartition of the whole matrix
        # would take twice its memory in int64)
        for start in range(0, n_cols, _PRUNE_BLOCK):
            block = dense[:, start : start + _PRUNE_BLOCK]
            if k < n_rows:
                picked = np.argpartition(-np.abs(block), k - 1, axis=0)[:k]
            else:
                picked = np.broadcast_to(np.arange(n_rows)[:, None], block.shape)
            chosen = np.take_along_axis(block, picked, axis=0)
            target = np.broadcast_to(np.arange(start, start + block.shape[1]), picked.shape)
            nonzero = chosen != 0
            rows.append(picked[nonzero])
            cols.append(target[nonzero])
            values.append(chosen[nonzero])
    if not rows:
        return sp.csr_matrix((n_rows, n_cols), dtype=np.float32)
    pruned = sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cols),
        dtype=np.float32,
    )
    pruned.sort_indices()
    return pruned


_PRUNE_BLOCK = 256


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
