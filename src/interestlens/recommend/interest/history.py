"""History rows as query weights: ratings, recency and interaction times."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from interestlens.errors import ParameterError


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
