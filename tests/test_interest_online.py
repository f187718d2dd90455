"""InterestRecommender's online operations: add_items, score_histories, most_similar_item."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from interestlens.errors import ParameterError
from interestlens.model_dir import read_recommender, write_recommender
from interestlens.recommend.interest import InterestRecommender
from test_interest_persist import USER_TEXTS, training
from test_interest_recommender import (
    BLOCK_A,
    BLOCK_B,
    COLD_TEXTS,
    GROUP,
    ITEM_TEXTS,
    checkerboard,
)

N_USERS = 2 * GROUP
N_ITEMS = len(ITEM_TEXTS) + len(COLD_TEXTS)
MOON_BASE = 1  # a block A item whose text the new item copies


def fit(**settings) -> InterestRecommender:
    matrix, times = training()
    settings = {"n_clusters": 2, "tune": False, "half_life": 3.0, **settings}
    return InterestRecommender(**settings).fit(
        matrix, item_texts=ITEM_TEXTS + COLD_TEXTS, user_texts=USER_TEXTS, timestamps=times
    )


# --- add_items -------------------------------------------------------------------------------


@pytest.mark.parametrize("neighbours", [None, 3])
def test_added_items_leave_existing_scores_unchanged(neighbours) -> None:
    model = fit(ease_neighbours=neighbours)
    users = np.arange(N_USERS)
    history = sp.csr_matrix(([4.0, 2.0], ([0, 1], [0, 7])), shape=(2, N_ITEMS))
    before = model.score(users)
    before_new = model.score_new(history, texts=["rockets", "weddings"])
    new = model.add_items(["Mars Again. rocket mars orbit", "Last Dance. love wedding"])
    assert new.tolist() == [N_ITEMS, N_ITEMS + 1] and model.n_items_ == N_ITEMS + 2
    after = model.score(users)
    np.testing.assert_allclose(after[:, :N_ITEMS], before, rtol=1e-6, atol=1e-6)
    wider = sp.hstack([history, sp.csr_matrix((2, 2))], format="csr")
    np.testing.assert_allclose(
        model.score_new(wider, texts=["rockets", "weddings"])[:, :N_ITEMS],
        before_new,
        rtol=1e-6,
        atol=1e-6,
    )
    # every item-indexed part grew, with empty interactions for the new items
    n = N_ITEMS + 2
    assert model.interactions_.shape == model.weighted_.shape == model.times_.shape == (N_USERS, n)
    assert model.interactions_[:, new].nnz == 0
    assert model.item_names_[-2:] == ["Mars Again", "Last Dance"]
    core = model.core_
    assert len(core.warm) == len(core.popularity) == len(core.factors) == n
    assert core.cold_items.tolist() == [12, 13, 14, 15]
    assert core.cold_mapping.neighbours.shape == (n, 4)
    assert model.text_.joint_.shape[0] == model.text_.lexical_.shape[0] == n
    assert model.clusters_.log_share.shape[1] == core.lifts[model.n_clusters_].shape[1] == n
    assert core.item_bins.shape[0] == n and core.ease.n_items_ == n
    # the space film goes to the space fans, the romance to the romance fans
    assert (after[:GROUP, new[0]] > after[:GROUP, new[1]]).all()
    assert (after[GROUP:, new[1]] > after[GROUP:, new[0]]).all()


def test_a_copy_of_a_warm_item_inherits_its_neighbourhood_and_rank() -> None:
    model = fit()
    users = np.arange(N_USERS)
    [copy] = model.add_items([ITEM_TEXTS[MOON_BASE]])
    core = model.core_
    weights = core.cold_mapping.neighbours[:, -1].toarray().ravel()
    assert int(np.argmax(weights)) == MOON_BASE  # its own text: cosine 1
    assert set(np.flatnonzero(weights)) <= set(BLOCK_A + BLOCK_B)
    # its text neighbours are mostly the space films, and so is its popularity
    assert weights[BLOCK_A].sum() > weights[BLOCK_B].sum()
    assert abs(core.popularity[copy] - core.popularity[MOON_BASE]) < 0.5
    scores = model.score(users)
    space_films = len(BLOCK_A) + 2  # block A, the cold space film 12 and the copy
    for user in range(GROUP):
        ranks = np.argsort(-scores[user], kind="stable").tolist()
        assert ranks.index(copy) < space_films  # above every romance
        assert abs(ranks.index(copy) - ranks.index(MOON_BASE)) <= 4
    for user in range(GROUP, N_USERS):
        assert np.argsort(-scores[user]).tolist().index(copy) >= len(BLOCK_B) + 1
    assert most_similar_for(model, copy, np.array([0, MOON_BASE, 7])) == MOON_BASE


def most_similar_for(model: InterestRecommender, item: int, among: np.ndarray) -> int | None:
    return model.most_similar_item(item, among)


def test_added_items_are_recommended_explained_and_saved(tmp_path: Path) -> None:
    model = fit()
    [space, romance] = model.add_items(["Orbit Ten. space rocket galaxy orbit", "Vows. love bride"])
    items, _ = model.recommend(np.arange(N_USERS), 2, candidates=np.array([space, romance]))
    assert (items[:GROUP, 0] == space).all() and (items[GROUP:, 0] == romance).all()
    assert "new item, close to what" in model.explain(0, int(space))
    write_recommender(tmp_path, model)
    loaded = read_recommender(tmp_path)
    users = np.arange(N_USERS)
    np.testing.assert_array_equal(loaded.score(users), model.score(users))
    assert loaded.explain(0, int(space)) == model.explain(0, int(space))
    assert loaded.add_items(["Another space rocket"]).tolist() == [N_ITEMS + 2]
    assert model.add_items([]).tolist() == []


def test_add_items_refuses_what_it_cannot_place() -> None:
    without_text = InterestRecommender(n_clusters=2, tune=False).fit(checkerboard())
    with pytest.raises(ParameterError, match="fitted without item texts"):
        without_text.add_items(["a space film"])
    model = fit()
    with pytest.raises(ParameterError, match="texts is a single string"):
        model.add_items("a space film")
    with pytest.raises(ParameterError, match=r"texts\[1\] is a int, not a string"):
        model.add_items(["fine", 3])
    assert model.n_items_ == N_ITEMS


# --- score_histories -------------------------------------------------------------------------


def test_a_known_users_history_scores_as_the_user() -> None:
    model = fit()
    for user in (0, 3, GROUP + 2):
        scores = model.score_histories(
            model.interactions_[[user]], model.times_[[user]], np.array([user])
        )
        np.testing.assert_allclose(scores, model.score([user]), rtol=1e-5)
    users = np.array([4, GROUP, 1])
    np.testing.assert_allclose(
        model.score_histories(model.interactions_[users], model.times_[users], users),
        model.score(users),
        rtol=1e-5,
    )


def test_histories_without_user_texts_or_times() -> None:
    matrix, _ = training()
    plain = InterestRecommender(n_clusters=2, tune=False).fit(
        matrix, item_texts=ITEM_TEXTS + COLD_TEXTS
    )
    for user in (2, GROUP + 4):
        np.testing.assert_allclose(
            plain.score_histories(plain.interactions_[[user]]), plain.score([user]), rtol=1e-5
        )
    # a new user's history (-1: no text of their own) ranks their block first
    model = fit()
    history = sp.csr_matrix(([5.0, 4.0], ([0, 0], [7, 9])), shape=(1, N_ITEMS))
    when = sp.csr_matrix(([2000.0, 2001.0], ([0, 0], [7, 9])), shape=(1, N_ITEMS))
    scores = model.score_histories(history, when, np.array([-1]))
    top = np.argsort(-scores[0])
    top = [item for item in top if item not in (7, 9)][:4]
    assert set(top) <= {*BLOCK_B, 13}  # 13: the cold romance film


def test_score_histories_refuses_bad_input() -> None:
    model = fit()
    row = model.interactions_[[0]]
    with pytest.raises(ParameterError, match="history is a ndarray"):
        model.score_histories(row.toarray())
    with pytest.raises(ParameterError, match=r"history has shape \(1, 5\); its columns should"):
        model.score_histories(sp.csr_matrix((1, 5)))
    with pytest.raises(ParameterError, match="user_indices has 2 entries; it should equal the 1"):
        model.score_histories(row, user_indices=np.array([0, 1]))
    with pytest.raises(ParameterError, match=r"user index 12 should be -1 or in \[0, n_users=12\)"):
        model.score_histories(row, user_indices=np.array([N_USERS]))
    with pytest.raises(ParameterError, match=r"timestamps has shape \(1, 3\)"):
        model.score_histories(row, sp.csr_matrix((1, 3)))
    partial = model.times_[[0]].tolil()
    partial[0, row.indices[0]] = 0.0
    with pytest.raises(ParameterError, match="times has no entry for 1 history entries"):
        model.score_histories(row, sp.csr_matrix(partial))


# --- most_similar_item -----------------------------------------------------------------------


def test_most_similar_item_is_the_rated_item_that_explains_it() -> None:
    model = fit(ease_neighbours=3)
    assert model.most_similar_item(0, np.array([3, 7, 8])) == 3  # same block
    assert model.most_similar_item(7, np.array([3, 8])) == 8
    assert model.most_similar_item(12, np.array([1, 7])) == 1  # cold space item: by text
    assert model.most_similar_item(0, np.array([0])) is None
    assert model.most_similar_item(0, np.array([], dtype=int)) is None
    with pytest.raises(ParameterError, match=r"item index 99 should be in \[0, n_items=14\)"):
        model.most_similar_item(99, np.array([1]))
    with pytest.raises(ParameterError, match="among holds item index -1"):
        model.most_similar_item(0, np.array([1, -1]))
    with pytest.raises(ParameterError, match="item=1.5 is not an integer"):
        model.most_similar_item(1.5, np.array([1]))
