"""History rows as query weights: ratings, recency and interaction times."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from interestlens.errors import ParameterError
from interestlens.recommend.top_items import check_index_array


def aligned_times(interactions: sp.csr_matrix, times: sp.csr_matrix | None) -> sp.csr_matrix | None:
    """``times`` at exactly the stored entries of ``interactions`` (float64 seconds)."""
    if times is None:
        return None
    if not sp.issparse(times) or times.shape != interactions.shape:
        shape = getattr(times, "shape", None)
        raise ParameterError(
            f"timestamps has shape {shape} but interactions have shape {interactions.shape}",
            expected="a sparse matrix of interaction times aligned with the interactions",
            fix="build it with the same IdMaps as the interactions, one time per stored entry "
            "(float64: float32 rounds Unix seconds to minutes)",
        )
    coo = interactions.tocoo()
    values = np.asarray(sp.csr_matrix(times)[coo.row, coo.col]).ravel()
    aligned = sp.csr_matrix(
        (values.astype(np.float64), (coo.row, coo.col)), shape=interactions.shape
    )
    aligned.sort_indices()
    return aligned


def rating_weights(matrix: sp.csr_matrix, max_value: float, power: float) -> sp.csr_matrix:
    """``(value / max_value) ** power``; non-positive values (dislikes) drop out."""
    weights = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    weights.data = np.clip(weights.data / max(max_value, 1e-12), 0.0, None)
    weights.data **= np.float32(power)
    weights.eliminate_zeros()
    return weights


def recency(
    weights: sp.csr_matrix, times: sp.csr_matrix | None, half_life: float | None
) -> sp.csr_matrix:
    """Each entry scaled by ``0.5 ** (position / half_life)``, position 0 being the row's latest
    interaction. ``times`` must hold the same entries as ``weights``."""
    if times is None or half_life is None:
        return weights
    times = times.tocsr()
    rows = np.repeat(np.arange(times.shape[0]), np.diff(times.indptr))
    # latest first; of equal times the higher column counts as the later (any fixed rule does)
    order = np.lexsort((-np.arange(len(rows)), -times.data, rows))
    starts = times.indptr[rows[order]]
    position = np.empty(len(rows), dtype=np.float64)
    position[order] = np.arange(len(rows)) - starts
    decay = sp.csr_matrix(
        ((0.5 ** (position / half_life)).astype(np.float32), times.indices, times.indptr),
        shape=times.shape,
    )
    return sp.csr_matrix(weights.multiply(decay), dtype=np.float32)


def latest(times: sp.csr_matrix | None) -> np.ndarray | None:
    """Each row's latest time (NaN for rows without any)."""
    if times is None:
        return None
    times = sp.csr_matrix(times)
    out = np.full(times.shape[0], np.nan)
    filled = np.diff(times.indptr) > 0
    if filled.any():
        out[filled] = np.maximum.reduceat(times.data, times.indptr[:-1][filled])
    return out


# --- histories given at query time ---------------------------------------------------------


def checked_history(history: object, n_items: int) -> sp.csr_matrix:
    if not sp.issparse(history):
        raise ParameterError(
            f"history is a {type(history).__name__}",
            expected=f"a scipy.sparse matrix of shape (n_users, n_items={n_items})",
            fix="build it with the model's item IdMap (one row per user)",
        )
    matrix = sp.csr_matrix(history, dtype=np.float32, copy=True)
    if matrix.ndim != 2 or matrix.shape[1] != n_items:
        raise ParameterError(
            f"history has shape {matrix.shape}; its columns should equal n_items={n_items}",
            expected="one column per item of the model",
            fix="build history with the same item IdMap as the model (after add_items too)",
        )
    if not np.isfinite(matrix.data).all():
        raise ParameterError(
            "history holds NaN or infinite values",
            expected="finite ratings (or 1 for an interaction)",
            fix="drop or fill missing ratings",
        )
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def check_times_cover(matrix: sp.csr_matrix, times: object) -> None:
    """Every history entry must have a stored time (a missing one would read as time 0)."""
    stored = sp.csr_matrix(times, copy=True)
    stored.sum_duplicates()
    pattern = sp.csr_matrix(
        (np.ones(len(stored.indices), dtype=np.float32), stored.indices, stored.indptr),
        shape=stored.shape,
    )
    wanted = sp.csr_matrix(
        (np.ones(len(matrix.indices), dtype=np.float32), matrix.indices, matrix.indptr),
        shape=matrix.shape,
    )
    missing = wanted - wanted.multiply(pattern)
    missing.eliminate_zeros()
    if missing.nnz:
        row, col = (int(v[0]) for v in missing.nonzero())
        raise ParameterError(
            f"times has no entry for {missing.nnz} history entries (first: row {row}, item {col})",
            expected="one time per stored history entry, at the same (row, item) positions",
            fix="give every interaction its time, or pass times=None (no recency weighting)",
        )


def checked_user_indices(user_indices: object, n_rows: int, n_users: int) -> np.ndarray | None:
    if user_indices is None:
        return None
    users = check_index_array(
        user_indices, name="user_indices", kind="user", example="np.array([u, -1])"
    )
    if len(users) != n_rows:
        raise ParameterError(
            f"user_indices has {len(users)} entries; it should equal the {n_rows} history rows",
            expected="one user index (or -1 for a user unknown at fit time) per history row",
            fix="pass user_indices aligned with the rows of history",
        )
    bad = users[(users < -1) | (users >= n_users)]
    if bad.size:
        raise ParameterError(
            f"user index {int(bad[0])} should be -1 or in [0, n_users={n_users})",
            expected="indices of users seen at fit time, -1 for the others",
            fix="map user ids with the user IdMap (missing='skip' gives -1)",
        )
    return users
