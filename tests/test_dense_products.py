"""Small item-side matrices multiplied as dense copies: the same scores as the sparse
products, the copy only under the size limit, and batches sized by the catalogue."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from interestlens.engine.ranker import BATCH_CELLS, PRECOMPUTE_BATCH, batch_size
from interestlens.recommend import dense_products
from interestlens.recommend.dense_products import dense_product, small_as_dense
from test_interest_persist import fit, history


def test_a_small_matrix_becomes_dense_and_a_large_one_stays_sparse(monkeypatch) -> None:
    matrix = sp.random(30, 40, density=0.1, format="csr", random_state=0, dtype=np.float32)
    dense = small_as_dense(matrix)
    assert isinstance(dense, np.ndarray) and dense.dtype == np.float32
    np.testing.assert_array_equal(dense, matrix.toarray())
    monkeypatch.setattr(dense_products, "DENSE_OPERAND_CELLS", 30 * 40 - 1)
    assert sp.issparse(small_as_dense(matrix))
    # a dense array is left as it is
    array = np.ones((2, 2))
    assert small_as_dense(array) is not None and np.array_equal(small_as_dense(array), array)


@pytest.mark.parametrize("right_dense", [True, False])
def test_the_dense_product_is_the_sparse_one(right_dense: bool) -> None:
    left = sp.random(20, 30, density=0.2, format="csr", random_state=1, dtype=np.float32)
    right = sp.random(30, 10, density=0.3, format="csr", random_state=2, dtype=np.float32)
    operand = right.toarray() if right_dense else right
    got = dense_product(left, operand)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, (left @ right).toarray(), rtol=1e-6, atol=1e-7)


def test_scores_do_not_depend_on_whether_the_operands_were_copied(monkeypatch) -> None:
    texts = ["space rockets", "weddings"]
    users = np.arange(12)
    copied = fit(ease_neighbours=3)  # pruned EASE weights and TF-IDF: both small
    scores, new_scores = copied.score(users), copied.score_new(history(), texts)
    # the copies were made (lazily, at the first scoring)
    assert isinstance(copied.core_._transposes["lexical"][1], np.ndarray)
    assert isinstance(copied.core_.ease._dense_weights[1], np.ndarray)
    monkeypatch.setattr(dense_products, "DENSE_OPERAND_CELLS", 0)
    kept_sparse = fit(ease_neighbours=3)
    np.testing.assert_allclose(kept_sparse.score(users), scores, atol=1e-5)
    np.testing.assert_allclose(kept_sparse.score_new(history(), texts), new_scores, atol=1e-5)
    assert sp.issparse(kept_sparse.core_._transposes["lexical"][1])


def test_batches_grow_over_small_catalogues_only() -> None:
    assert batch_size(400) == BATCH_CELLS // 400 > PRECOMPUTE_BATCH
    assert batch_size(100_000) == PRECOMPUTE_BATCH
    assert batch_size(0) == BATCH_CELLS  # an empty catalogue still gives a positive size
