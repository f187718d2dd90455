"""Interaction tables (canonical columns) to sparse user × item matrices, through IdMap."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.data.ids import IdMap
from interestlens.data.schema import ITEM_ID, RATING, USER_ID
from interestlens.errors import MissingColumnsError, ParameterError

Weighting = Literal["binary", "count", "rating"]
WEIGHTINGS = ("binary", "count", "rating")


def interaction_matrix(
    interactions: pd.DataFrame,
    user_map: IdMap,
    item_map: IdMap,
    *,
    weight: Weighting = "binary",
) -> sp.csr_matrix:
    """``(len(user_map), len(item_map))`` float32 matrix of ``interactions``.

    ``weight``: ``"binary"`` (1 per user-item pair, repeats included once), ``"count"`` (number
    of rows per pair) or ``"rating"`` (mean rating per pair). Every user and item must be in
    its map: an unknown id raises :class:`~interestlens.errors.UnknownIdError`.
    """
    if weight not in WEIGHTINGS:
        raise ParameterError(
            f"weight={weight!r}",
            expected=f"one of {', '.join(WEIGHTINGS)}",
            fix="pass weight='binary' for implicit feedback",
        )
    needed = [USER_ID, ITEM_ID] + ([RATING] if weight == "rating" else [])
    missing = [column for column in needed if column not in interactions.columns]
    if missing:
        raise MissingColumnsError(
            f"interactions columns {list(interactions.columns)} lack {missing}",
            expected=f"columns {needed}",
            fix="use the canonical column names from interestlens.data.schema",
        )
    rows = user_map.indices(interactions[USER_ID])
    cols = item_map.indices(interactions[ITEM_ID])
    shape = (len(user_map), len(item_map))
    if weight == "rating":
        ratings = interactions[RATING].to_numpy(dtype=np.float64)
        if np.isnan(ratings).any():
            raise ParameterError(
                f"{int(np.isnan(ratings).sum())} interactions have no rating",
                expected="a rating on every row when weight='rating'",
                fix="drop or fill rows without rating, or use weight='binary'",
            )
        sums = sp.coo_matrix((ratings, (rows, cols)), shape=shape).tocsr()
        counts = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=shape).tocsr()
        sums.sum_duplicates()
        counts.sum_duplicates()
        # both matrices share their sparsity pattern, so their data arrays line up
        matrix = sums.copy()
        matrix.data = sums.data / counts.data
    else:
        matrix = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=shape).tocsr()
        matrix.sum_duplicates()
        if weight == "binary":
            matrix.data[:] = 1.0
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    matrix.sort_indices()
    return matrix


def history_matrices(
    user_index: np.ndarray,
    item_index: np.ndarray,
    shape: tuple[int, int],
    *,
    ratings: np.ndarray | None = None,
    timestamps: np.ndarray | None = None,
) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
    """Index-space interactions → ``(values, times)`` with one entry per user-item pair.

    ``values``: the mean rating of the pair's rows (1.0 without ratings, or where a row has no
    rating); ``times``: the pair's latest timestamp (None without timestamps). Both share one
    sparsity pattern, as :class:`~interestlens.recommend.InterestRecommender` expects.
    """
    rows = np.asarray(user_index, dtype=np.int64)
    cols = np.asarray(item_index, dtype=np.int64)
    values = np.ones(len(rows)) if ratings is None else np.asarray(ratings, dtype=np.float64)
    values = np.where(np.isfinite(values), values, 1.0)
    frame = pd.DataFrame({"row": rows, "col": cols, "value": values})
    if timestamps is not None:
        frame["time"] = np.asarray(timestamps, dtype=np.float64)
    grouped = frame.groupby(["row", "col"], sort=True)
    pairs = grouped["value"].mean().reset_index()
    matrix = sp.csr_matrix(
        (pairs["value"].to_numpy(dtype=np.float32), (pairs["row"], pairs["col"])), shape=shape
    )
    times = None
    if timestamps is not None:
        latest = grouped["time"].max().to_numpy(dtype=np.float64)
        # a pair without any time sits at the earliest known time (no recency bonus)
        known = latest[np.isfinite(latest)]
        latest = np.where(np.isfinite(latest), latest, known.min() if len(known) else 0.0)
        times = sp.csr_matrix((latest, (pairs["row"], pairs["col"])), shape=shape)
        times.sort_indices()
    matrix.sort_indices()
    return matrix, times
