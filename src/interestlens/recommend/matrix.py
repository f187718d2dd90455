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
