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
from interestlens.recommend.base import (
    HISTORY,
    BaseRecommender,
    as_interaction_matrix,
    check_is_fitted,
)
from interestlens.recommend.item_weights import ItemWeightsScoring
from interestlens.recommend.ranking_metrics import RANKING_METRICS

DEFAULT_LAMBDAS: tuple[float, ...] = (10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0)


@dataclass(frozen=True)
class LambdaSearch:
    """Result of :meth:`EASE.tune_lambda`: the best value and the metric for each tried one."""

    best_lambda: float
    metric: str
    k: int
    scores: dict[float, float]


class EASE(ItemWeightsScoring, BaseRecommender):
    """``B = argmin |X - XB|^2 + l2 |B|^2`` with ``diag(B) = 0``; ``score(u) = x_u B``.

    Closed form: ``P = (X^T X + l2 I)^-1``, ``B = -P / diag(P)`` off the diagonal. Only items
    with at least one training interaction enter ``B`` (the others would get zero rows and
    columns anyway), which keeps the dense ``n × n`` solve as small as the data allows. The
    inverse comes from a Cholesky factorisation in ``dtype`` (``X^T X + l2 I`` is well
    conditioned for the usual ``l2``, so float32 halves the time at no cost in ranking), or,
    with fewer users than items, from the Woodbury identity, which only inverts a
    users × users matrix. ``solver="auto"`` picks the smaller problem.

    Memory: the Gram matrix ``X^T X`` comes from sparse products over ``block_size`` items at
    a time written into one dense ``n × n`` array (cost linear in the interactions times the
    mean history length, no dense BLAS product: the symmetric product OpenBLAS uses for
    ``A.T @ A`` crashes at ~40k items, numpy issue 19685), which LAPACK factorises and inverts
    in place; ``B`` is made in that same array. Peak: about one ``n × n`` array in ``dtype``
    plus one in float32 for ``dtype="float64"`` (float32 alone: 30k items take 3.6 GB).

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
        block_size: int = 2048,
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
        self.active_items_ = active
        self.weights_ = _weights_from_precision(precision).astype(np.float32, copy=False)

    def _precision_cholesky(self, columns: sp.csr_matrix) -> np.ndarray:
        gram = sparse_gram(columns, dtype=self.dtype, block_size=self.block_size)
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
        check_is_fitted(self)
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
        (:func:`interestlens.data.splits.validation_split`), never out of the test part.
        Ties go to the first value in ``lambdas``.
        """
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
            # a block of columns as contiguous rows (free for EASE's Fortran-order weights):
            # partitioning along strided columns was 1.4 times slower at 10k items
            block = np.ascontiguousarray(dense[:, start : start + _PRUNE_BLOCK].T)
            if k < n_rows:
                picked = np.argpartition(np.abs(block), n_rows - k, axis=1)[:, n_rows - k :]
            else:
                picked = np.broadcast_to(np.arange(n_rows)[None, :], block.shape)
            chosen = np.take_along_axis(block, picked, axis=1)
            target = np.broadcast_to(
                np.arange(start, start + block.shape[0])[:, None], picked.shape
            )
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
    # potri fills the upper triangle only: mirror it in place, one block of rows at a time
    # (np.triu and a transpose would make three more full-size copies)
    n = len(inverse)
    for start in range(0, n, _MIRROR_BLOCK):
        stop = min(start + _MIRROR_BLOCK, n)
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        block = inverse[start:stop, start:stop]
        lower = np.tril_indices(stop - start, -1)
        block[lower] = block.T[lower]
    return inverse


_MIRROR_BLOCK = 1024


def sparse_gram(
    columns: sp.spmatrix, *, dtype: str = "float32", block_size: int = 2048
) -> np.ndarray:
    """Dense ``X^T X`` of a sparse ``X`` (users × items) from sparse products over blocks of
    ``block_size`` items: the work grows with the interactions times the mean history length,
    not with users × items², and the only full-size array is the result."""
    columns = sp.csr_matrix(columns, dtype=np.float32)
    n_items = columns.shape[1]
    by_item = sp.csr_matrix(columns.T)
    gram = np.zeros((n_items, n_items), dtype=dtype)
    step = max(int(block_size), 1)
    for start in range(0, n_items, step):
        stop = min(start + step, n_items)
        # rows start:stop of the (symmetric) Gram matrix, summed in float32: counts stay exact
        # up to 2**24 co-occurrences
        product = sp.csr_matrix(by_item[start:stop] @ columns, dtype=gram.dtype)
        product.toarray(out=gram[start:stop])
    return gram


def _weights_from_precision(precision: np.ndarray) -> np.ndarray:
    """``B = -P / diag(P)`` with a zero diagonal, made in ``precision``'s own memory.

    ``P`` is symmetric, so column ``j`` of ``B`` is row ``j`` of ``P`` over ``-P_jj``: ``B`` is
    returned as the transpose of the row-scaled ``P`` (Fortran order), whose columns, the
    weights towards one target item, are contiguous. Pruning reads them by column; gathering
    strided columns into rows cost 0.5 s per fit at 10k items.
    """
    diagonal = precision.diagonal().copy()
    precision /= -diagonal[:, None]
    precision[np.diag_indices_from(precision)] = 0.0
    return precision.T
