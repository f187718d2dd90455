"""Item-based k-nearest neighbours: cosine similarity between item columns, pruned."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from interestlens.errors import ParameterError
from interestlens.recommend.base import HISTORY, BaseRecommender, top_k


class ItemKNN(BaseRecommender):
    """``score(u, i) = sum over items j the user has of w_j * sim(j, i)``, where ``sim(j, i)``
    is kept only if ``j`` is among the ``n_neighbors`` most similar items of ``i``.

    ``sim(i, j) = x_i . x_j / (|x_i| |x_j| + shrinkage)`` over the user columns of the
    interaction matrix; ``shrinkage > 0`` damps similarities built on few co-occurrences.
    """

    new_user_inputs: ClassVar[frozenset[str]] = frozenset({HISTORY})
    handles_cold_items: ClassVar[bool] = False

    def __init__(self, n_neighbors: int = 100, shrinkage: float = 0.0, block_size: int = 1024):
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage
        self.block_size = block_size

    def _fit(self, interactions, item_texts, user_texts) -> None:
        if self.n_neighbors < 1:
            raise ParameterError(
                f"n_neighbors={self.n_neighbors} should be >= 1",
                expected="a positive number of neighbours per item",
                fix="pass n_neighbors=100 or similar",
            )
        if self.shrinkage < 0:
            raise ParameterError(
                f"shrinkage={self.shrinkage} should be >= 0",
                expected="a non-negative damping term",
                fix="pass shrinkage=0 for plain cosine",
            )
        if self.block_size < 1:
            raise ParameterError(
                f"block_size={self.block_size} should be >= 1",
                expected="a positive number of items per block",
                fix="keep the default block_size=1024",
            )
        n_items = interactions.shape[1]
        item_users = interactions.T.tocsr()
        norms = np.sqrt(np.asarray(item_users.multiply(item_users).sum(axis=1)).ravel())
        n_neighbors = min(self.n_neighbors, max(n_items - 1, 1))
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        values: list[np.ndarray] = []
        # dot products one block of items at a time keep memory at block_size * n_items
        for start in range(0, n_items, self.block_size):
            stop = min(start + self.block_size, n_items)
            dots = (item_users[start:stop] @ interactions).toarray()
            denominator = norms[start:stop, None] * norms[None, :] + self.shrinkage
            sims = np.divide(
                dots, denominator, out=np.zeros_like(dots, dtype=np.float64), where=denominator > 0
            )
            block = np.arange(stop - start)
            sims[block, start + block] = -np.inf
            neighbours, neighbour_sims = top_k(sims, n_neighbors)
            keep = (neighbours >= 0) & (neighbour_sims > 0)
            target = np.broadcast_to((start + block)[:, None], neighbours.shape)
            # weights_[j, i]: how much having item j adds to the score of item i
            rows.append(neighbours[keep])
            cols.append(target[keep])
            values.append(neighbour_sims[keep])
        self.weights_ = sp.csr_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_items, n_items),
            dtype=np.float32,
        )

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return (self.interactions_[users] @ self.weights_).toarray()

    def _score_new(self, history, texts, n_new: int) -> np.ndarray:
        return (history @ self.weights_).toarray()
