"""Offline ranking metrics, vectorised over users (the top-k list metrics are defined in
:mod:`interestlens.recommend.ranking_metrics` and re-exported here).

Conventions shared by every function:

* ``ranked``: int ``(n_users, k)`` item indices, best first, padded with -1 (as returned by
  ``Recommender.recommend``). A padded slot counts as a miss.
* ``relevant``: sparse ``(n_users, n_items)``; a stored positive entry marks a relevant item
  (binary relevance; the value itself is not used).
* Per-user metrics return float64 ``(n_users,)``. Where a user has no relevant item, recall,
  NDCG, MAP and AUC are undefined and come back as NaN; precision, MRR and hit rate are 0.
  Average with ``np.nanmean`` or keep only users with relevant items.

Definitions (``rel_u`` relevant items of user ``u``, ``hit_j`` 1 if the item at rank ``j``
(1-based) is relevant):

* precision@k = sum hit_j / k;  recall@k = sum hit_j / |rel_u|;  hit rate@k = [any hit_j]
* NDCG@k = sum hit_j / log2(j+1) divided by the same sum for the ideal list
  (``min(k, |rel_u|)`` hits first), as ``sklearn.metrics.ndcg_score`` with binary relevance
* MRR@k = 1 / rank of the first hit (0 without hit)
* MAP@k = sum_j precision@j * hit_j / min(k, |rel_u|)
* AUC = probability that a relevant item scores above a non-relevant one (ties count 1/2),
  over the eligible items only (candidates, minus excluded ones)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata
from sklearn.preprocessing import normalize

from interestlens.errors import ParameterError
from interestlens.recommend.ranking_metrics import (
    RANKING_METRICS,
    check_relevant,
    divide_or_nan,
    hit_rate_at_k,
    hits,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from interestlens.recommend.top_items import excluded_cells

__all__ = [
    "RANKING_METRICS",
    "auc",
    "catalogue_coverage",
    "hit_rate_at_k",
    "hits",
    "intra_list_diversity",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
]


def auc(
    scores: np.ndarray,
    relevant: sp.spmatrix,
    *,
    exclude: sp.spmatrix | None = None,
    candidates: np.ndarray | None = None,
) -> np.ndarray:
    """Per-user ROC AUC of ``scores`` (dense ``(n_users, n_items)``) against ``relevant``.

    Eligible items are ``candidates`` (all items if None) minus the stored entries of
    ``exclude`` (items seen in training). Relevant items outside the eligible set take no
    part. Users with no eligible relevant or no eligible non-relevant item get NaN.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ParameterError(
            f"scores has shape {scores.shape}",
            expected="a 2-D array (n_users, n_items)",
            fix="pass the output of Recommender.score",
        )
    n_users, n_items = scores.shape
    matrix = check_relevant(relevant, n_users)
    if matrix.shape[1] != n_items:
        raise ParameterError(
            f"relevant has {matrix.shape[1]} columns but scores have {n_items}",
            expected="one column per item in both",
            fix="build relevant with the model's item IdMap",
        )
    eligible = np.ones((n_users, n_items), dtype=bool)
    if candidates is not None:
        eligible[:, :] = False
        eligible[:, np.asarray(candidates, dtype=np.int64)] = True
    if exclude is not None:
        eligible[excluded_cells(exclude, scores.shape)] = False
    positive = matrix.toarray().astype(bool) & eligible
    # ineligible items sink to the bottom ranks; subtracting their count from the ranks of
    # the positives leaves ranks among eligible items only
    floor = np.finfo(np.float64).min
    ranked_scores = np.where(eligible, np.maximum(scores, np.nextafter(floor, 0)), floor)
    ranks = rankdata(ranked_scores, axis=1, method="average")
    n_ineligible = (~eligible).sum(axis=1)
    n_positive = positive.sum(axis=1)
    n_negative = eligible.sum(axis=1) - n_positive
    positive_rank_sum = np.where(positive, ranks, 0.0).sum(axis=1) - n_positive * n_ineligible
    u_statistic = positive_rank_sum - n_positive * (n_positive + 1) / 2.0
    return divide_or_nan(u_statistic, (n_positive * n_negative).astype(np.float64))


def catalogue_coverage(ranked: np.ndarray, n_items: int) -> float:
    """Share of the ``n_items`` catalogue (or candidate set) that appears in any list."""
    ranked = np.asarray(ranked)
    if n_items < 1:
        raise ParameterError(
            f"n_items={n_items} should be >= 1",
            expected="the size of the catalogue the lists were drawn from",
            fix="pass the number of items (or candidates)",
        )
    shown = np.unique(ranked[ranked >= 0])
    return float(len(shown) / n_items)


def novelty(ranked: np.ndarray, item_popularity: np.ndarray, n_users: int) -> np.ndarray:
    """Mean self-information ``-log2(p_i)`` of each list's items, ``p_i`` = share of the
    ``n_users`` training users who interacted with item ``i``.

    An item nobody interacted with is counted as if one user had (``p_i = 1 / n_users``), the
    most novel an observed item can be; empty lists give NaN.
    """
    ranked = np.asarray(ranked, dtype=np.int64)
    popularity = np.asarray(item_popularity, dtype=np.float64)
    if n_users < 1:
        raise ParameterError(
            f"n_users={n_users} should be >= 1",
            expected="the number of users the popularity was counted over",
            fix="pass the number of training users",
        )
    information = -np.log2(np.maximum(popularity, 1.0) / n_users)
    valid = ranked >= 0
    values = np.where(valid, information[np.where(valid, ranked, 0)], 0.0)
    return divide_or_nan(values.sum(axis=1), valid.sum(axis=1).astype(np.float64))


def intra_list_diversity(
    ranked: np.ndarray, item_vectors: np.ndarray | sp.spmatrix, *, block_size: int = 256
) -> np.ndarray:
    """Mean pairwise cosine distance ``1 - cos(v_i, v_j)`` between the items of each list.

    ``item_vectors``: dense or sparse ``(n_items, d)`` (embeddings, TF-IDF ...). Lists with
    fewer than two items give NaN.
    """
    ranked = np.asarray(ranked, dtype=np.int64)
    if ranked.ndim != 2:
        raise ParameterError(
            f"ranked has shape {ranked.shape}",
            expected="a 2-D array (n_users, k)",
            fix="pass the first output of Recommender.recommend",
        )
    if ranked.size and ranked.max() >= item_vectors.shape[0]:
        raise ParameterError(
            f"ranked holds item index {int(ranked.max())} but item_vectors has "
            f"{item_vectors.shape[0]} rows",
            expected="one vector per item index",
            fix="align item_vectors with the item IdMap",
        )
    vectors = normalize(item_vectors if sp.issparse(item_vectors) else np.asarray(item_vectors))
    n_users, width = ranked.shape
    out = np.full(n_users, np.nan)
    pair_mask = ~np.eye(width, dtype=bool)
    for start in range(0, n_users, block_size):
        block = ranked[start : start + block_size]
        valid = block >= 0
        rows = vectors[np.where(valid, block, 0).ravel()]
        if sp.issparse(rows):
            # the block's full Gram matrix is small; each user's lists is a diagonal block
            gram = (rows @ rows.T).toarray().reshape(len(block), width, len(block), width)
            similarity = np.einsum("akal->akl", gram)
        else:
            stacked = np.asarray(rows).reshape(len(block), width, -1)
            similarity = np.einsum("akd,ald->akl", stacked, stacked)
        pairs = valid[:, :, None] & valid[:, None, :] & pair_mask
        distance = np.where(pairs, 1.0 - similarity, 0.0).sum(axis=(1, 2))
        out[start : start + len(block)] = divide_or_nan(
            distance, pairs.sum(axis=(1, 2)).astype(np.float64)
        )
    return out
