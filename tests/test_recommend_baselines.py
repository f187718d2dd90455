"""Baselines on tiny block fixtures with known answers, plus one conformance suite for all."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from interestlens.errors import NotFittedError, ParameterError
from interestlens.recommend import (
    ALS,
    EASE,
    BaseRecommender,
    ContentKNN,
    FixedScores,
    ItemKNN,
    MostPop,
    RandomScores,
    Recommender,
    interaction_matrix,
    top_k,
)

N_USERS, N_ITEMS = 6, 8


def block_matrix() -> sp.csr_matrix:
    """Users 0-2 like items 0-3, users 3-5 like items 4-7; user u misses one item of its block
    (item u for block A, item u+1 for block B), so each user has exactly one unseen block item."""
    dense = np.zeros((N_USERS, N_ITEMS), dtype=np.float32)
    for user in range(3):
        dense[user, :4] = 1.0
        dense[user, user] = 0.0
    for user in range(3, 6):
        dense[user, 4:] = 1.0
        dense[user, user + 1] = 0.0
    return sp.csr_matrix(dense)


MISSING_ITEM = np.array([0, 1, 2, 4, 5, 6])
ITEM_TEXTS = ["space rocket galaxy"] * 4 + ["romance love wedding"] * 4
USER_TEXTS = ["galaxy"] * 3 + ["wedding"] * 3


def fit(model: BaseRecommender) -> BaseRecommender:
    return model.fit(block_matrix(), item_texts=ITEM_TEXTS, user_texts=USER_TEXTS)


# --- top_k ---------------------------------------------------------------------------------


def test_top_k_orders_breaks_ties_by_index_and_pads() -> None:
    scores = np.array([[0.5, 0.9, 0.5, 0.1], [1.0, 1.0, 1.0, 1.0]])
    items, values = top_k(scores, 3)
    assert items.tolist() == [[1, 0, 2], [0, 1, 2]]
    exclude = sp.csr_matrix(np.array([[0, 1, 0, 0], [1, 1, 1, 0]]))
    items, values = top_k(scores, 3, exclude=exclude, candidates=np.array([1, 2, 3]))
    assert items.tolist() == [[2, 3, -1], [3, -1, -1]]
    assert np.isneginf(values[1, 1:]).all()
    items, _ = top_k(scores, 6)
    assert items[0].tolist() == [1, 0, 2, 3, -1, -1]


def test_top_k_excludes_explicit_zero_entries() -> None:
    exclude = sp.csr_matrix((np.array([0.0]), np.array([1]), np.array([0, 1])), shape=(1, 3))
    items, _ = top_k(np.array([[0.1, 0.9, 0.5]]), 1, exclude=exclude)
    assert items.tolist() == [[2]]


def test_top_k_rejects_nan_scores() -> None:
    with pytest.raises(ParameterError, match="scores contain NaN"):
        top_k(np.array([[np.nan, 1.0]]), 1)


# --- known answers -------------------------------------------------------------------------

MODELS = {
    "MostPop": MostPop,
    "ItemKNN": ItemKNN,
    "EASE": lambda: EASE(l2=1.0),
    "ALS": lambda: ALS(factors=2, regularization=0.1, iterations=20, random_state=0),
    "ContentKNN": ContentKNN,
}


@pytest.mark.parametrize("name", [n for n in MODELS if n != "MostPop"])
def test_every_personalised_model_recommends_the_unseen_block_item_first(name: str) -> None:
    model = fit(MODELS[name]())
    items, scores = model.recommend(np.arange(N_USERS), 1)
    assert items[:, 0].tolist() == MISSING_ITEM.tolist()
    assert np.isfinite(scores).all()


def test_mostpop_exact_order() -> None:
    matrix = sp.csr_matrix(
        np.array([[1, 1, 0, 0, 1], [1, 0, 0, 1, 0], [1, 1, 0, 0, 0]], dtype=np.float32)
    )
    model = MostPop().fit(matrix)
    np.testing.assert_array_equal(model.popularity_, [3, 2, 0, 1, 1])
    items, scores = model.recommend(np.array([0]), 5, exclude_seen=False)
    assert items.tolist() == [[0, 1, 3, 4, 2]]  # ties (items 3 and 4) by index
    assert scores.tolist() == [[3.0, 2.0, 1.0, 1.0, 0.0]]
    items, _ = model.recommend(np.array([1]), 5)
    assert items.tolist() == [[1, 4, 2, -1, -1]]
    weighted = MostPop(by="weight").fit(matrix * 2)
    np.testing.assert_array_equal(weighted.popularity_, [6, 4, 0, 2, 2])


def test_itemknn_cosine_neighbours_and_pruning() -> None:
    # items 0 and 1 co-occur for users 0 and 1; item 2 only with item 0 for user 2
    matrix = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1]], dtype=np.float32))
    model = ItemKNN(n_neighbors=2).fit(matrix)
    cos01 = 2 / (np.sqrt(3) * np.sqrt(2))
    cos02 = 1 / np.sqrt(3)
    expected = np.array([[0, cos01, cos02], [cos01, 0, 0], [cos02, 0, 0]])
    np.testing.assert_allclose(model.weights_.toarray(), expected, rtol=1e-6)
    pruned = ItemKNN(n_neighbors=1).fit(matrix)
    # item 0's single neighbour is item 1; items 1 and 2 keep item 0
    np.testing.assert_allclose(
        pruned.weights_.toarray(), [[0, cos01, cos02], [cos01, 0, 0], [0, 0, 0]], rtol=1e-6
    )
    shrunk = ItemKNN(n_neighbors=2, shrinkage=1.0).fit(matrix)
    assert shrunk.weights_[0, 1] == pytest.approx(2 / (np.sqrt(3) * np.sqrt(2) + 1))
    np.testing.assert_allclose(model.score(np.array([2])), [[cos02, cos01, cos02]], rtol=1e-6)


def test_ease_matches_the_closed_form() -> None:
    matrix = block_matrix()
    l2 = 2.0
    gram = (matrix.T @ matrix).toarray() + l2 * np.eye(N_ITEMS)
    precision = np.linalg.inv(gram)
    expected = -precision / np.diag(precision)
    np.fill_diagonal(expected, 0.0)
    for solver in ("cholesky", "woodbury"):
        exact = EASE(l2=l2, dtype="float64", solver=solver).fit(matrix)
        np.testing.assert_allclose(exact.weights_, expected, atol=1e-6)
    model = EASE(l2=l2).fit(matrix)
    np.testing.assert_allclose(model.weights_, expected, atol=1e-5)
    np.testing.assert_allclose(
        model.score(np.arange(N_USERS)), matrix.toarray() @ expected, atol=1e-5
    )
    with pytest.raises(ParameterError, match="l2=0 should be > 0"):
        EASE(l2=0).fit(matrix)


def test_ease_leaves_items_without_interactions_out_and_scores_them_zero() -> None:
    matrix = sp.hstack([block_matrix(), sp.csr_matrix((N_USERS, 1))]).tocsr()
    model = EASE(l2=1.0).fit(matrix)
    assert model.active_items_.tolist() == list(range(N_ITEMS))
    assert (model.score(np.arange(N_USERS))[:, N_ITEMS] == 0).all()


def test_ease_tune_lambda_picks_the_best_value_on_validation() -> None:
    train = block_matrix()
    validation = sp.csr_matrix(
        (np.ones(N_USERS), (np.arange(N_USERS), MISSING_ITEM)), shape=train.shape
    )
    search = EASE.tune_lambda(train, validation, [1.0, 10.0], k=1, metric="recall")
    assert search.scores == {1.0: 1.0, 10.0: 1.0}
    assert search.best_lambda == 1.0
    with pytest.raises(ParameterError, match="metric='rmse'"):
        EASE.tune_lambda(train, validation, [1.0], metric="rmse")
    with pytest.raises(ParameterError, match="validation has no interactions"):
        EASE.tune_lambda(train, sp.csr_matrix(train.shape), [1.0])


def test_content_knn_profiles_and_cold_items() -> None:
    # item 8 has text but no interaction; content still ranks it within its block
    matrix = sp.hstack([block_matrix(), sp.csr_matrix((N_USERS, 1))]).tocsr()
    model = ContentKNN().fit(matrix, item_texts=[*ITEM_TEXTS, "galaxy rocket"])
    items, _ = model.recommend(np.array([0, 3]), 1, candidates=np.array([4, 8]))
    assert items.tolist() == [[8], [4]]
    # a user known at fit time without history falls back to their own text
    no_history = sp.vstack([matrix, sp.csr_matrix((1, N_ITEMS + 1))]).tocsr()
    model = ContentKNN().fit(
        no_history, item_texts=[*ITEM_TEXTS, "galaxy rocket"], user_texts=[*USER_TEXTS, "love"]
    )
    items, _ = model.recommend(np.array([N_USERS]), 4)
    assert sorted(items[0].tolist()) == [4, 5, 6, 7]


def test_als_runs_on_cpu_and_folds_in_new_users() -> None:
    model = fit(MODELS["ALS"]())
    assert model.user_factors_.shape == (N_USERS, 2)
    history = sp.csr_matrix(np.array([[0, 0, 0, 0, 1, 1, 1, 0]], dtype=np.float32))
    items, _ = model.recommend_new(history, k=1)
    assert items.tolist() == [[7]]


@pytest.mark.parametrize("name", ["ItemKNN", "EASE", "ContentKNN"])
def test_new_user_from_history_matches_known_user(name: str) -> None:
    model = fit(MODELS[name]())
    known = model.score(np.array([4]))
    new = model.score_new(block_matrix()[4])
    np.testing.assert_allclose(new, known, rtol=1e-5, atol=1e-6)


def test_content_knn_scores_new_users_from_text_only() -> None:
    model = fit(ContentKNN())
    items, _ = model.recommend_new(texts=["a love story", "rocket to the galaxy"], k=2)
    assert set(items[0]) <= {4, 5, 6, 7} and set(items[1]) <= {0, 1, 2, 3}


def test_history_only_models_refuse_text_only_new_users() -> None:
    model = fit(ItemKNN())
    with pytest.raises(ParameterError, match="ItemKNN scores new users from history"):
        model.score_new(texts=["space"])


def test_interaction_matrix_weights() -> None:
    import pandas as pd

    from interestlens.data import IdMap

    frame = pd.DataFrame(
        {"user_id": ["a", "a", "b"], "item_id": ["x", "x", "y"], "rating": [4.0, 2.0, 5.0]}
    )
    users, items = IdMap(["a", "b"]), IdMap(["x", "y", "z"])
    assert interaction_matrix(frame, users, items).toarray().tolist() == [[1, 0, 0], [0, 1, 0]]
    counts = interaction_matrix(frame, users, items, weight="count").toarray()
    assert counts.tolist() == [[2, 0, 0], [0, 1, 0]]
    ratings = interaction_matrix(frame, users, items, weight="rating").toarray()
    assert ratings.tolist() == [[3, 0, 0], [0, 5, 0]]


# --- conformance: every Recommender passes these ---------------------------------------------


class RecommenderConformance:
    """Contract checks; subclasses set ``make`` to build an unfitted model."""

    make: staticmethod

    @pytest.fixture
    def model(self) -> BaseRecommender:
        return fit(self.make())

    def test_is_a_recommender(self, model) -> None:
        assert isinstance(model, Recommender)
        assert model.fit(block_matrix(), item_texts=ITEM_TEXTS) is model

    def test_score_shape_and_dtype(self, model) -> None:
        scores = model.score(np.array([0, 5, 5]))
        assert scores.shape == (3, N_ITEMS) and scores.dtype == np.float32
        assert model.score(np.array([], dtype=np.int64)).shape == (0, N_ITEMS)

    def test_recommend_shapes_and_order(self, model) -> None:
        items, scores = model.recommend(np.array([1, 4]), 3, exclude_seen=False)
        assert items.shape == scores.shape == (2, 3)
        assert items.dtype == np.int64 and scores.dtype == np.float32
        assert (np.diff(scores, axis=1) <= 0).all()
        np.testing.assert_allclose(
            scores, np.take_along_axis(model.score(np.array([1, 4])), items, axis=1)
        )

    def test_exclude_seen_and_padding(self, model) -> None:
        users = np.arange(N_USERS)
        items, scores = model.recommend(users, N_ITEMS)
        seen = block_matrix().toarray() > 0
        for user in users:
            valid = items[user][items[user] >= 0]
            assert not seen[user, valid].any()
            assert len(valid) == N_ITEMS - seen[user].sum()
        assert (items[:, -3:] == -1).all() and np.isneginf(scores[:, -3:]).all()

    def test_candidates_restrict_the_lists(self, model) -> None:
        candidates = np.array([0, 3, 6])
        items, _ = model.recommend(np.arange(N_USERS), 3, candidates=candidates)
        assert set(items[items >= 0]) <= set(candidates)
        items, _ = model.recommend(np.arange(N_USERS), 2, candidates=np.array([], dtype=int))
        assert (items == -1).all()

    def test_deterministic_across_fits(self, model) -> None:
        again = fit(self.make())
        users = np.arange(N_USERS)
        np.testing.assert_array_equal(model.score(users), again.score(users))
        np.testing.assert_array_equal(model.recommend(users, 4)[0], again.recommend(users, 4)[0])

    def test_score_new_shape_or_clear_refusal(self, model) -> None:
        history = block_matrix()[:2]
        texts = ["galaxy", "love"]
        if model.new_user_inputs and "history" not in model.new_user_inputs:
            with pytest.raises(ParameterError, match="scores new users from"):
                model.score_new(history)
        else:
            assert model.score_new(history, texts).shape == (2, N_ITEMS)
            items, _ = model.recommend_new(history, texts, k=N_ITEMS)
            assert not (history.toarray() > 0)[np.arange(2)[:, None], items.clip(0)][
                items >= 0
            ].any()

    def test_errors(self, model) -> None:
        with pytest.raises(ParameterError, match="k=0 should be >= 1"):
            model.recommend(np.array([0]), 0)
        with pytest.raises(ParameterError, match="k=-2 should be >= 1"):
            model.recommend(np.array([0]), -2)
        with pytest.raises(ParameterError, match="user index 12 should be < n_users=6"):
            model.recommend(np.array([0, 12]), 3)
        with pytest.raises(ParameterError, match="user index -1 should be >= 0"):
            model.score(np.array([-1]))
        with pytest.raises(ParameterError, match=r"user_indices has shape \(\)"):
            model.score(np.int64(0))
        with pytest.raises(
            ParameterError, match=r"candidate item index 8 should be in \[0, n_items=8\)"
        ):
            model.recommend(np.array([0]), 1, candidates=np.array([8]))
        with pytest.raises(
            ParameterError, match="history has 3 columns; it should equal n_items=8"
        ):
            model.score_new(sp.csr_matrix((1, 3)))
        with pytest.raises(ParameterError, match="received neither history nor texts"):
            model.score_new()
        with pytest.raises(ParameterError, match="item_texts has 2 entries; it should equal"):
            self.make().fit(block_matrix(), item_texts=["a", "b"])
        with pytest.raises(ParameterError, match="interactions is a ndarray"):
            self.make().fit(block_matrix().toarray())

    def test_not_fitted(self) -> None:
        with pytest.raises(NotFittedError, match="is not fitted yet"):
            self.make().recommend(np.array([0]), 1)


class TestMostPopConformance(RecommenderConformance):
    make = staticmethod(MostPop)


class TestItemKNNConformance(RecommenderConformance):
    make = staticmethod(ItemKNN)


class TestEASEConformance(RecommenderConformance):
    make = staticmethod(MODELS["EASE"])


class TestALSConformance(RecommenderConformance):
    make = staticmethod(MODELS["ALS"])


class TestContentKNNConformance(RecommenderConformance):
    make = staticmethod(ContentKNN)


class TestRandomScoresConformance(RecommenderConformance):
    make = staticmethod(RandomScores)


class TestFixedScoresConformance(RecommenderConformance):
    make = staticmethod(
        lambda: FixedScores(
            np.arange(N_USERS * N_ITEMS, dtype=np.float32).reshape(N_USERS, N_ITEMS) % 5,
            new_user_scores=np.ones((2, N_ITEMS)),
        )
    )
