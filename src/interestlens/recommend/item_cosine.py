"""Item-item cosine with the top ``n_neighbours`` per item, via ``implicit``'s all-pairs kNN:
the collaborative component for catalogues too large for EASE's ``n × n`` inverse."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from interestlens.errors import ParameterError
from interestlens.recommend.base import HISTORY, BaseRecommender
from interestlens.recommend.ease import keep_largest_per_column
from interestlens.recommend.item_weights import ItemWeightsScoring


class ItemCosine(ItemWeightsScoring, BaseRecommender):
    """``score(u) = x_u W`` with ``W[j, i]`` the cosine between item columns ``j`` and ``i``
    of the binary interactions, kept for the ``n_neighbours`` most similar items ``i`` of each
    item ``j`` (sparse CSR, zero diagonal).

    Cost: ``implicit.nearest_neighbours.all_pairs_knn`` walks, for each item, the users who had
    it and their other items, so the work grows with the interactions times the mean history
    length, and memory with ``n_items × n_neighbours``; EASE needs ``n_items²`` memory and
    ``n_items³`` time. The fitted state (``active_items_``, ``weights_``) has EASE's layout, so
    the recommender saves, loads and scores both the same way. ``num_threads``: 0 = every core.
    """

    new_user_inputs: ClassVar[frozenset[str]] = frozenset({HISTORY})
    handles_cold_items: ClassVar[bool] = False

    def __init__(self, n_neighbours: int = 256, num_threads: int = 0):
        self.n_neighbours = n_neighbours
        self.num_threads = num_threads

    def _fit(self, interactions, item_texts, user_texts) -> None:
        for name, value, low in (
            ("n_neighbours", self.n_neighbours, 1),
            ("num_threads", self.num_threads, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ParameterError(
                    f"{name}={value!r} should be an integer >= {low}",
                    expected=f"a whole number >= {low}",
                    fix="keep the defaults n_neighbours=256, num_threads=0",
                )
        # imported here: implicit loads its compiled extension on import
        from implicit.nearest_neighbours import all_pairs_knn

        binary = sp.csr_matrix(interactions > 0, dtype=np.float32)
        active = np.flatnonzero(binary.getnnz(axis=0) > 0)
        columns = binary[:, active]
        norms = np.sqrt(np.asarray(columns.sum(axis=0)).ravel())
        unit = sp.csr_matrix(columns @ sp.diags(1.0 / norms), dtype=np.float64)
        # the item itself is its own nearest neighbour: ask for one more, then drop it
        k = min(int(self.n_neighbours) + 1, len(active))
        with threadpool_limits(1, "blas"):
            similarity = all_pairs_knn(
                unit, k, show_progress=False, num_threads=int(self.num_threads)
            )
        similarity = sp.csr_matrix(similarity, dtype=np.float32)
        similarity.setdiag(0.0)
        similarity.eliminate_zeros()
        # where other items tie with the item itself, the diagonal may not have been among the
        # k kept: cut every row back to n_neighbours
        self.active_items_ = active
        self.weights_ = sp.csr_matrix(
            keep_largest_per_column(similarity.T, int(self.n_neighbours)).T
        )
        self.weights_.sort_indices()
