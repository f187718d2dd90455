"""Ranking metrics of top-k lists, vectorised over users: the one definition of each (the
recommenders' own validation, ``EASE.tune_lambda`` and :mod:`interestlens.evaluate` use them).

Conventions shared by every function:

* ``ranked``: int ``(n_users, k)`` item indices, best first, padded with -1 (as returned by
  ``Recommender.recommend``). A padded slot counts as a miss.
* ``relevant``: sparse ``(n_users, n_items)``; a stored positive entry marks a relevant item
  (binary relevance; the value itself is not used).
* Per-user metrics return float64 ``(n_users,)``. Where a user has no relevant item, recall,
  NDCG and MAP are undefined and come back as NaN; precision, MRR and hit rate are 0.

Definitions (``rel_u`` relevant items of user ``u``, ``hit_j`` 1 if the item at rank ``j``
(1-based) is relevant):

* precision@k = sum hit_j / k;  recall@k = sum hit_j / |rel_u|;  hit rate@k = [any hit_j]
* NDCG@k = sum hit_j / log2(j+1) divided by the same sum for the ideal list
  (``min(k, |rel_u|)`` hits first), as ``sklearn.metrics.ndcg_score`` with binary relevance
  (:func:`ndcg_from_hits` is that formula on a hit matrix)
* MRR@k = 1 / rank of the first hit (0 without hit)
* MAP@k = sum_j precision@j * hit_j / min(k, |rel_u|)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from interestlens.errors import ParameterError


def check_ranked(ranked: np.ndarray, k: int | None) -> tuple[np.ndarray, int]:
    ranked = np.asarray(ranked)
    if ranked.ndim != 2:
        raise ParameterError(
            f"ranked has shape {ranked.shape}",
            expected="a 2-D array (n_users, k) of item indices",
            fix="pass the first output of Recommender.recommend",
        )
    if ranked.size and not np.issubdtype(ranked.dtype, np.integer):
        raise ParameterError(
            f"ranked has dtype {ranked.dtype}",
            expected="integer item indices (-1 for padding)",
            fix="pass the item indices, not the scores",
        )
    width = ranked.shape[1]
    if k is None:
        k = width
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ParameterError(
            f"k={k!r} should be an integer >= 1",
            expected="the cut-off of the ranked lists",
            fix="pass k=10 or leave k=None for the full width",
        )
    if k > width:
        raise ParameterError(
            f"k={k} should be <= the width of ranked ({width})",
            expected="a cut-off no longer than the lists",
            fix=f"recommend at least {k} items, or pass k={width}",
        )
    return ranked[:, :k].astype(np.int64, copy=False), int(k)


def check_relevant(relevant: sp.spmatrix, n_users: int) -> sp.csr_matrix:
    if not sp.issparse(relevant):
        raise ParameterError(
            f"relevant is a {type(relevant).__name__}",
            expected="a scipy.sparse matrix (n_users, n_items)",
            fix="build it with interestlens.recommend.interaction_matrix",
        )
    matrix = sp.csr_matrix(relevant, dtype=np.float32)
    if matrix.shape[0] != n_users:
        raise ParameterError(
            f"relevant has {matrix.shape[0]} rows but ranked has {n_users}",
            expected="one row of relevant items per ranked list",
            fix="slice relevant with the same user indices as ranked",
        )
    matrix = sp.csr_matrix(matrix > 0, dtype=np.float32)
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def hits(ranked: np.ndarray, relevant: sp.spmatrix, k: int | None = None) -> np.ndarray:
    """Boolean ``(n_users, k)``: is the item at each rank relevant."""
    ranked, k = check_ranked(ranked, k)
    matrix = check_relevant(relevant, ranked.shape[0])
    n_items = matrix.shape[1]
    if ranked.size and ranked.max() >= n_items:
        raise ParameterError(
            f"ranked holds item index {int(ranked.max())}; it should be < n_items={n_items}",
            expected="item indices within the columns of relevant",
            fix="build relevant with the same item IdMap as the model",
        )
    # one sorted key per relevant (user, item) pair; a rank hits when its key is among them
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    keys = rows * n_items + matrix.indices
    queries = np.arange(ranked.shape[0], dtype=np.int64)[:, None] * n_items + ranked
    if keys.size == 0:
        return np.zeros(ranked.shape, dtype=bool)
    position = np.minimum(np.searchsorted(keys, queries), keys.size - 1)
    return (keys[position] == queries) & (ranked >= 0)


def relevant_counts(relevant: sp.spmatrix, n_users: int) -> np.ndarray:
    return check_relevant(relevant, n_users).getnnz(axis=1).astype(np.float64)


def divide_or_nan(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(
        numerator,
        denominator,
        out=np.full(np.shape(numerator), np.nan, dtype=np.float64),
        where=denominator > 0,
    )


def precision_at_k(ranked: np.ndarray, relevant: sp.spmatrix, k: int | None = None) -> np.ndarray:
    found = hits(ranked, relevant, k)
    return found.sum(axis=1) / found.shape[1]


def recall_at_k(ranked: np.ndarray, relevant: sp.spmatrix, k: int | None = None) -> np.ndarray:
    found = hits(ranked, relevant, k)
    return divide_or_nan(
        found.sum(axis=1).astype(np.float64), relevant_counts(relevant, len(found))
    )


def hit_rate_at_k(ranked: np.ndarray, relevant: sp.spmatrix, k: int | None = None) -> np.ndarray:
    return hits(ranked, relevant, k).any(axis=1).astype(np.float64)


def ndcg_from_hits(found: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """NDCG of boolean hit lists ``found`` ``(n_users, k)`` (best rank first) given each user's
    number of relevant items ``n_relevant`` ``(n_users,)``; NaN where a user has none."""
    width = found.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, width + 2))
    dcg = found @ discounts
    ideal_hits = np.minimum(np.asarray(n_relevant), width).astype(np.int64)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[ideal_hits]
    return divide_or_nan(dcg, ideal)


def ndcg_at_k(ranked: np.ndarray, relevant: sp.spmatrix, k: int | None = None) -> np.ndarray:
    found = hits(ranked, relevant, k)
    return ndcg_from_hits(found, relevant_counts(relevant, len(found)))


def mrr_at_k(ranked: np.ndarray, relevant: sp.spmatrix, k: int | None = None) -> np.ndarray:
    found = hits(ranked, relevant, k)
    first = np.argmax(found, axis=1)
    return np.where(found.any(axis=1), 1.0 / (first + 1), 0.0)


def map_at_k(ranked: np.ndarray, relevant: sp.spmatrix, k: int | None = None) -> np.ndarray:
    found = hits(ranked, relevant, k)
    width = found.shape[1]
    precision_at_rank = np.cumsum(found, axis=1) / np.arange(1, width + 1)
    summed = (precision_at_rank * found).sum(axis=1)
    return divide_or_nan(summed, np.minimum(relevant_counts(relevant, len(found)), width))


#: name -> per-user metric over ranked lists; the runner reports each as ``name@k``
RANKING_METRICS: dict[str, Callable[..., np.ndarray]] = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "mrr": mrr_at_k,
    "map": map_at_k,
    "hit_rate": hit_rate_at_k,
}
