"""The one top-k helper every recommender (and the evaluation runner) ranks with."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from interestlens.errors import ParameterError

#: the longest list anyone may ask for; longer k values are refused, never allocated
MAX_K = 1_000_000


def check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ParameterError(
            f"k={k!r} is not an integer",
            expected="a positive integer number of items to return",
            fix="pass k as an int, e.g. k=10",
        )
    if k <= 0:
        raise ParameterError(
            f"k={k} should be >= 1",
            expected="a positive number of items to return",
            fix="pass k >= 1",
        )
    if k > MAX_K:
        raise ParameterError(
            f"k={k} is more than any list needs",
            expected=f"1 <= k <= {MAX_K}",
            fix="ask for fewer items per user",
        )
    return int(k)


def check_index_array(values: object, *, name: str, kind: str, example: str) -> np.ndarray:
    """``values`` as a flat int64 array of ``kind`` indices, or a ParameterError naming ``name``."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ParameterError(
            f"{name} has shape {array.shape}",
            expected=f"a 1-D array of {kind} indices",
            fix=f"pass a flat array such as {example}",
        )
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ParameterError(
            f"{name} has dtype {array.dtype}",
            expected=f"integer {kind} indices",
            fix=f"map {kind} ids to indices with IdMap.indices",
        )
    return array.astype(np.int64)


def check_candidates(candidates: object, n_items: int) -> np.ndarray | None:
    if candidates is None:
        return None
    array = check_index_array(
        candidates, name="candidates", kind="item", example="np.array([3, 7, 9])"
    )
    bad = array[(array < 0) | (array >= n_items)]
    if bad.size:
        raise ParameterError(
            f"candidate item index {int(bad[0])} should be in [0, n_items={n_items})",
            expected="item indices the model was fitted on",
            fix="drop unknown items from candidates",
        )
    return array.astype(np.int64)


def excluded_cells(exclude: object, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, columns)`` of the stored entries of ``exclude`` (a sparse matrix with one row
    per score row and one column per item: e.g. each user's training interactions), to be set
    aside from a ranking."""
    matrix = sp.csr_matrix(exclude)
    if matrix.shape != tuple(shape):
        raise ParameterError(
            f"exclude has shape {matrix.shape} but scores have shape {tuple(shape)}",
            expected="one exclusion row per score row, one column per item",
            fix="slice the interaction matrix with the same user indices",
        )
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return rows, matrix.indices


def top_k(
    scores: np.ndarray,
    k: int,
    *,
    exclude: sp.spmatrix | None = None,
    candidates: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` items of each row of ``scores``, best first.

    ``exclude``: sparse ``(n_rows, n_items)``; every stored entry (even an explicit zero) is
    removed. ``candidates``: item indices; all other items are removed. Rows with fewer than
    ``k`` remaining items are padded with item -1 and score -inf. Ties are broken by the lower
    item index, so the result does not depend on how the partition happens to split ties.
    """
    k = check_k(k)
    scores = np.array(scores, dtype=np.float32, copy=True)
    if scores.ndim != 2:
        raise ParameterError(
            f"scores has shape {scores.shape}",
            expected="a 2-D array (n_users, n_items)",
            fix="pass one row of scores per user",
        )
    n_rows, n_items = scores.shape
    if np.isnan(scores).any():
        raise ParameterError(
            "scores contain NaN",
            expected="finite scores (or -inf for items that must not be recommended)",
            fix="check the model's fit; a NaN usually means a division by zero",
        )
    if candidates is not None:
        keep = np.zeros(n_items, dtype=bool)
        keep[check_candidates(candidates, n_items)] = True
        scores[:, ~keep] = -np.inf
    if exclude is not None:
        scores[excluded_cells(exclude, scores.shape)] = -np.inf

    width = min(k, n_items)
    items = np.full((n_rows, k), -1, dtype=np.int64)
    values = np.full((n_rows, k), -np.inf, dtype=np.float32)
    if width == 0 or n_rows == 0:
        return items, values
    # the width-th best value of each row; then take everything above it and, among items equal
    # to it, the lowest indices: exactly `width` per row
    threshold = -np.partition(-scores, width - 1, axis=1)[:, width - 1 : width]
    above = scores > threshold
    tied = scores == threshold
    room = width - above.sum(axis=1, keepdims=True)
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= room))
    picked = np.nonzero(chosen)[1].reshape(n_rows, width)
    picked_scores = np.take_along_axis(scores, picked, axis=1)
    order = np.lexsort((picked, -picked_scores), axis=1)
    picked = np.take_along_axis(picked, order, axis=1)
    picked_scores = np.take_along_axis(picked_scores, order, axis=1)
    valid = np.isfinite(picked_scores) | (picked_scores == np.inf)
    items[:, :width] = np.where(valid, picked, -1)
    values[:, :width] = np.where(valid, picked_scores, -np.inf)
    return items, values
