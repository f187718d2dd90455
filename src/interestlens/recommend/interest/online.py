"""Operations on a fitted :class:`InterestRecommender` for a running service: one user's raw
history scored as a known user's, items appended from their text, and the rated item that
explains a recommendation. Each works on one user or a few items in milliseconds; nothing is
refitted.

* :func:`add_items` gives items added after fitting the treatment ``fit`` gives cold items
  (text neighbours among the warm items, factors and popularity from the fitted ridge mapping,
  cluster lifts and collaborative scores through the neighbours). Nothing learned from the
  interactions changes, so existing items keep their scores for every user.
* :func:`score_histories` applies the warm regime (rating weights, recency, the user's own
  text when the user is known) to histories given at query time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from interestlens.errors import ParameterError
from interestlens.recommend.base import _check_texts
from interestlens.recommend.interest.coldstart import place_new_items
from interestlens.recommend.interest.core import InterestCore, Query
from interestlens.recommend.interest.history import aligned_times, latest, rating_weights, recency
from interestlens.recommend.interest.reasons import item_names, most_similar_rated
from interestlens.recommend.interest.tuning import WARM
from interestlens.recommend.ranking import check_index_array

if TYPE_CHECKING:
    from interestlens.recommend.interest.model import InterestRecommender


# --- new items -------------------------------------------------------------------------------


def add_items(model: InterestRecommender, texts: Sequence[str]) -> np.ndarray:
    """Append one item per text; returns their indices (``n_items_`` before the call onwards)."""
    model._check_fitted()
    text_list = _check_texts(texts, None, "texts", "the number of new items")
    assert text_list is not None
    core, space = model.core_, model.text_
    if space is None:
        raise ParameterError(
            "this InterestRecommender was fitted without item texts, so new items cannot be "
            "placed from their text",
            expected="a model fitted with item_texts",
            fix="fit again with item_texts=... (one text per item)",
        )
    if core.cold_mapping is None:
        raise ParameterError(
            "the training matrix had no interactions, so there are no items to place new "
            "items near",
            expected="a model fitted on a matrix with interactions",
            fix="fit on interactions before adding items",
        )
    space._require_encoder()
    n_old, n_new = model.n_items_, len(text_list)
    new = np.arange(n_old, n_old + n_new, dtype=np.int64)
    if n_new == 0:
        return new
    space.add_items(text_list)  # encodes first: a failing encoder leaves the model as it was
    _extend_core(core, n_new)
    model.interactions_ = _with_empty_columns(model.interactions_, n_new)
    model.weighted_ = _with_empty_columns(model.weighted_, n_new)
    if model.times_ is not None:
        model.times_ = _with_empty_columns(model.times_, n_new)
    model.item_names_ = [*model.item_names_, *item_names(text_list, n_new, start=n_old)]
    model.n_items_ = n_old + n_new
    return new


def _extend_core(core: InterestCore, n_new: int) -> None:
    """Grow every item-indexed part of ``core`` by ``n_new`` cold items (text already added)."""
    assert core.text is not None and core.cold_mapping is not None
    n_old = len(core.warm)
    new = np.arange(n_old, n_old + n_new)
    warm = np.concatenate([core.warm, np.zeros(n_new, dtype=bool)])
    factors = np.vstack([core.factors, np.zeros((n_new, core.factors.shape[1]), np.float32)])
    popularity = np.concatenate([core.popularity, np.zeros(n_new, dtype=np.float32)])
    neighbours, new_factors, new_popularity = place_new_items(
        core.cold_mapping,
        core.text.joint_,
        core.text.richness_,
        warm,
        factors,
        popularity,
        new,
        n_neighbours=core.settings.text_neighbours,
    )
    factors[new] = new_factors
    popularity[new] = new_popularity
    if core.attributes is not None:
        core.attributes.add_empty_items(n_new)
    mapping = core.cold_mapping
    n_cold = mapping.neighbours.shape[1]
    old_columns = sp.vstack([mapping.neighbours, sp.csr_matrix((n_new, n_cold), dtype=np.float32)])
    mapping.neighbours = sp.hstack([old_columns, neighbours], format="csr", dtype=np.float32)
    mapping.cold_items = np.concatenate([mapping.cold_items, new])
    mapping.factors = np.vstack([mapping.factors, new_factors])
    mapping.log_popularity = np.concatenate([mapping.log_popularity, new_popularity])
    for k, clusters in core.clusters.items():
        clusters.add_empty_items(n_new)
        lift = np.hstack([core.lifts[k], np.zeros((len(core.lifts[k]), n_new), np.float32)])
        lift[:, new] = lift @ neighbours
        core.lifts[k] = lift
    if core.ease is not None:
        core.ease.add_empty_items(n_new)
    if core.trend_edges is not None:
        empty_bins = np.zeros((n_new, core.item_bins.shape[1]), dtype=core.item_bins.dtype)
        core.item_bins = np.vstack([core.item_bins, empty_bins])
    core.warm, core.factors, core.popularity = warm, factors, popularity
    core.cold_items = np.flatnonzero(~warm)


def _with_empty_columns(matrix: sp.csr_matrix, n_new: int) -> sp.csr_matrix:
    empty = sp.csr_matrix((matrix.shape[0], n_new), dtype=matrix.dtype)
    return sp.hstack([matrix, empty], format="csr", dtype=matrix.dtype)


# --- histories given at query time -----------------------------------------------------------


def score_histories(
    model: InterestRecommender,
    history: sp.csr_matrix,
    times: sp.csr_matrix | None = None,
    user_indices: np.ndarray | None = None,
) -> np.ndarray:
    """Warm-regime scores ``(n, n_items)`` of the users whose raw histories are given."""
    model._check_fitted()
    matrix = _checked_history(history, model.n_items_)
    n_rows = matrix.shape[0]
    aligned = aligned_times(matrix, times)
    if aligned is not None:
        _check_times_cover(matrix, times)
    users = _checked_users(user_indices, n_rows, model.n_users_)
    weights = rating_weights(matrix, model.max_value_, model.rating_power)
    query = Query(recency(weights, aligned, model.half_life_), reference_time=latest(aligned))
    if model.user_text_ is not None and users is not None and (users >= 0).any():
        known = np.flatnonzero(users >= 0)
        select = sp.csr_matrix(
            (np.ones(len(known), dtype=np.float32), (known, users[known])),
            shape=(n_rows, model.n_users_),
        )
        dense, lexical = model.user_text_
        query.text_dense = np.asarray(select @ dense, dtype=np.float32)
        query.text_lexical = sp.csr_matrix(select @ lexical, dtype=np.float32)
    return model._blend(query, WARM)


def _checked_history(history: object, n_items: int) -> sp.csr_matrix:
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


def _check_times_cover(matrix: sp.csr_matrix, times: object) -> None:
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


def _checked_users(user_indices: object, n_rows: int, n_users: int) -> np.ndarray | None:
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


# --- explanations ----------------------------------------------------------------------------


def most_similar_item(model: InterestRecommender, item: int, among: np.ndarray) -> int | None:
    """The item of ``among`` (e.g. a user's rated items) that best explains ``item``."""
    model._check_fitted()
    n_items = model.n_items_
    if isinstance(item, bool) or not isinstance(item, int | np.integer):
        raise ParameterError(
            f"item={item!r} is not an integer",
            expected="an item index",
            fix="map the item id with the item IdMap",
        )
    if not 0 <= int(item) < n_items:
        raise ParameterError(
            f"item index {item} should be in [0, n_items={n_items})",
            expected="an item index of the model",
            fix="map the item id with the item IdMap",
        )
    rated = check_index_array(among, name="among", kind="item", example="np.array([3, 7])")
    bad = rated[(rated < 0) | (rated >= n_items)]
    if bad.size:
        raise ParameterError(
            f"among holds item index {int(bad[0])}; it should be in [0, n_items={n_items})",
            expected="item indices of the model",
            fix="drop unknown items (IdMap.indices(..., missing='skip') gives -1)",
        )
    return most_similar_rated(model.core_, model.text_, np.unique(rated), int(item))
