"""InterestRecommender on tiny checkerboard fixtures with known answers, plus the shared
conformance suite of every recommender."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from interestlens.errors import ParameterError
from interestlens.recommend import Recommender
from interestlens.recommend.interest import (
    ANCHORS,
    COMPONENTS,
    DEFAULT_WEIGHTS,
    REFERENCES,
    REGIMES,
    InterestRecommender,
)
from test_recommend_baselines import RecommenderConformance

GROUP = 6  # users per group and items per block
BLOCK_A = list(range(GROUP))
BLOCK_B = list(range(GROUP, 2 * GROUP))
ITEM_TEXTS = [
    "Star Voyage. space rocket galaxy astronaut",
    "Moon Base. space station astronaut orbit",
    "Red Planet. rocket mars galaxy orbit",
    "Deep Field. galaxy telescope space stars",
    "Launch Day. rocket launch astronaut space",
    "Comet Tail. comet orbit stars galaxy",
    "June Wedding. romance love wedding bride",
    "Paris Letters. love letters romance paris",
    "Second Chances. romance love reunion",
    "The Proposal. wedding proposal love ring",
    "Summer Hearts. summer romance love beach",
    "Old Flames. love romance reunion wedding",
]
COLD_TEXTS = ["Orbit Nine. space rocket galaxy orbit", "Vows. wedding love romance bride"]
LABELS = ["space fans", "romance fans"]


def checkerboard() -> sp.csr_matrix:
    """Users 0-5 like block A (items 0-5), users 6-11 block B (items 6-11); user u of a group
    misses items u and u + 1 (mod 6) of its block, so those two are its unseen block items."""
    dense = np.zeros((2 * GROUP, 2 * GROUP), dtype=np.float32)
    for group in range(2):
        for user in range(GROUP):
            row = group * GROUP + user
            dense[row, group * GROUP : (group + 1) * GROUP] = 1.0
            for missing in (user, (user + 1) % GROUP):
                dense[row, group * GROUP + missing] = 0.0
    return sp.csr_matrix(dense)


def unseen(user: int) -> set[int]:
    group, offset = divmod(user, GROUP)
    return {group * GROUP + offset, group * GROUP + (offset + 1) % GROUP}


def with_cold_items(matrix: sp.csr_matrix) -> sp.csr_matrix:
    return sp.hstack([matrix, sp.csr_matrix((matrix.shape[0], len(COLD_TEXTS)))]).tocsr()


def model(**settings) -> InterestRecommender:
    return InterestRecommender(**{"n_clusters": 2, "tune": False, **settings})


@pytest.fixture(scope="module")
def fitted() -> InterestRecommender:
    return model().fit(checkerboard(), item_texts=ITEM_TEXTS)


# --- known answers ---------------------------------------------------------------------------


def test_unseen_same_block_items_come_first(fitted) -> None:
    items, scores = fitted.recommend(np.arange(2 * GROUP), 4)
    for user in range(2 * GROUP):
        assert set(items[user, :2]) == unseen(user)
        assert not set(items[user, 2:]) & set(BLOCK_A if user < GROUP else BLOCK_B)
    assert np.isfinite(scores).all()


def test_two_interest_clusters_are_the_two_groups(fitted) -> None:
    labels = fitted.cluster_labels_
    assert len(set(labels[:GROUP])) == 1 and len(set(labels[GROUP:])) == 1
    assert labels[0] != labels[GROUP]


def test_text_only_cold_user_gets_the_matching_block(fitted) -> None:
    texts = ["I love films about space rockets and the galaxy", "a wedding and a love story"]
    items, _ = fitted.recommend_new(texts=texts, k=GROUP)
    assert set(items[0]) == set(BLOCK_A)
    assert set(items[1]) == set(BLOCK_B)


@pytest.mark.parametrize("n_history", [1, 2, 3])
def test_cold_user_with_a_few_interactions_gets_their_block(fitted, n_history: int) -> None:
    history = np.zeros((2, 2 * GROUP), dtype=np.float32)
    history[0, BLOCK_A[:n_history]] = 1.0
    history[1, BLOCK_B[-n_history:]] = 1.0
    items, _ = fitted.recommend_new(sp.csr_matrix(history), k=GROUP - n_history)
    assert set(items[0]) == set(BLOCK_A[n_history:])
    assert set(items[1]) == set(BLOCK_B[:-n_history])


def test_cold_item_ranks_by_its_text_for_each_block() -> None:
    matrix = with_cold_items(checkerboard())
    cold = np.array([2 * GROUP, 2 * GROUP + 1])
    fitted = model().fit(matrix, item_texts=ITEM_TEXTS + COLD_TEXTS)
    assert fitted.core_.cold_items.tolist() == cold.tolist()
    items, _ = fitted.recommend(np.arange(2 * GROUP), 2, candidates=cold)
    assert (items[:GROUP, 0] == cold[0]).all()
    assert (items[GROUP:, 0] == cold[1]).all()
    # the space cold item inherits its text neighbours' behaviour: block A's users rank it
    # above the romance one, and its popularity prior is an average of theirs
    scores = fitted.score(np.arange(2 * GROUP))
    assert (scores[:GROUP, cold[0]] > scores[:GROUP, cold[1]]).all()
    prior = fitted.core_.popularity[cold]
    assert (prior > 0).all() and (prior <= fitted.core_.popularity[:12].max() + 1e-6).all()


def test_exclude_seen_and_candidates(fitted) -> None:
    seen = checkerboard().toarray() > 0
    items, _ = fitted.recommend(np.arange(2 * GROUP), 2 * GROUP)
    for user in range(2 * GROUP):
        listed = items[user][items[user] >= 0]
        assert not seen[user, listed].any() and len(listed) == (~seen[user]).sum()
    items, _ = fitted.recommend(np.arange(2 * GROUP), 2 * GROUP, exclude_seen=False)
    assert (items >= 0).all()
    candidates = np.array([1, 7, 8])
    items, _ = fitted.recommend(np.array([0, 7]), 3, candidates=candidates)
    assert items[0, 0] == 1 and set(items[0]) == {1, 7, 8}
    assert set(items[1, :2]) == unseen(7) == {7, 8} and items[1, 2] == 1
    items, scores = fitted.recommend(np.array([0]), 2, candidates=np.array([2, 3]))
    assert (items == -1).all() and np.isneginf(scores).all()  # user 0 has seen both


def test_reasons_mention_the_cluster_label_and_a_similar_rated_item(fitted) -> None:
    reason = fitted.explain(0, 0, cluster_labels=LABELS)
    assert "space fans" in reason
    assert "romance fans" not in reason
    rated_names = {"Moon Base", "Red Planet", "Deep Field", "Launch Day", "Comet Tail"}
    assert any(f"similar to {name}, which you rated" in reason for name in rated_names)
    assert "you rated" in fitted.explain(GROUP, 7, cluster_labels=LABELS)
    assert "romance fans" in fitted.explain(GROUP, 7, cluster_labels=LABELS)
    default = fitted.explain(0, 1)
    assert "cluster " in default
    names = [f"film {i}" for i in range(2 * GROUP)]
    assert "film " in fitted.explain(0, 1, item_names=names)
    with pytest.raises(ParameterError, match="cluster_labels has 1 entries; it should equal"):
        fitted.explain(0, 0, cluster_labels=["only one"])
    with pytest.raises(ParameterError, match="item index 99 should be in"):
        fitted.explain(0, 99)


def test_recency_follows_the_latest_interests() -> None:
    matrix = checkerboard()
    # user 12 watched three space films long ago, then two romance films
    user = np.zeros((1, 2 * GROUP), dtype=np.float32)
    user[0, [0, 1, 2, 6, 7]] = 1.0
    full = sp.vstack([matrix, sp.csr_matrix(user)]).tocsr()
    times = full.copy()
    times.data = np.arange(1, full.nnz + 1, dtype=np.float32)  # later rows are later
    times[12, 0], times[12, 1], times[12, 2] = 1.0, 2.0, 3.0
    times[12, 6], times[12, 7] = 1000.0, 1001.0
    recent = model(half_life=1.0).fit(full, item_texts=ITEM_TEXTS, timestamps=times)
    items, _ = recent.recommend(np.array([12]), 2)
    assert set(items[0]) <= set(BLOCK_B)
    bad = sp.csr_matrix((3, 3))
    with pytest.raises(ParameterError, match=r"timestamps has shape \(3, 3\)"):
        model().fit(full, timestamps=bad)


def test_trend_prefers_what_was_popular_at_the_users_time() -> None:
    # users 0-9 took item 0 early, users 10-19 took item 1 late; item 2 was taken once by each
    # of users 0 and 19, so it is never the most popular at either time
    dense = np.zeros((20, 3), dtype=np.float32)
    dense[:10, 0] = 1.0
    dense[10:, 1] = 1.0
    dense[[0, 19], 2] = 1.0
    matrix = sp.csr_matrix(dense)
    times = matrix.copy()
    rows = np.repeat(np.arange(20), np.diff(matrix.indptr))
    times.data = np.where(rows < 10, 1.0 + rows, 1000.0 + rows).astype(np.float64)
    only_trend = {"warm": {"trend": 1.0}}
    fitted = model(weights=only_trend).fit(matrix, timestamps=times)
    items, _ = fitted.recommend(np.array([0, 19]), 3, exclude_seen=False)
    assert items[:, 0].tolist() == [0, 1]
    trend = fitted.core_.trend(np.array([5.0, 1015.0]), 2)
    assert trend[0, 0] > trend[0, 1] and trend[1, 1] > trend[1, 0]


def test_mmr_diversifies_the_list() -> None:
    fitted = model(mmr_lambda=0.2).fit(checkerboard(), item_texts=ITEM_TEXTS)
    plain = model().fit(checkerboard(), item_texts=ITEM_TEXTS)
    user = np.array([0])
    plain_items, _ = plain.recommend(user, 3)
    items, values = fitted.recommend(user, 3)
    assert items[0, 0] == plain_items[0, 0]
    assert set(items[0]) & set(BLOCK_B)  # a different topic is pulled up
    assert (np.diff(values[0]) <= 1e-6).all()
    assert len(set(items[0])) == 3


def test_tuned_weights_are_stored() -> None:
    tuned = InterestRecommender(n_clusters=(2, 3), half_life=(None, 2.0)).fit(
        checkerboard(), item_texts=ITEM_TEXTS
    )
    assert set(tuned.weights_) == set(REGIMES)
    for regime in REGIMES:
        assert set(tuned.weights_[regime]) == set(COMPONENTS) | set(REFERENCES)
        record = tuned.tuning_[regime]
        if regime == "cold_text":  # the checkerboard users have no text of their own
            assert record == {"skipped": "the users have no text of their own"}
            continue
        assert record["weights"] == tuned.weights_[regime]
        assert record["references"]["scores"]["blend"] >= record["start_score"]
        if record["references"]["fallback"] is None:
            assert record["weights"][ANCHORS[regime]] == 1.0  # the anchor
        else:  # the regime is its best plain reference, alone
            chosen = [name for name, weight in record["weights"].items() if weight]
            assert chosen == [record["references"]["fallback"]]
    assert tuned.n_clusters_ in (2, 3)
    assert tuned.half_life_ is None  # no times given: recency cannot be tuned
    fixed = model().fit(checkerboard(), item_texts=ITEM_TEXTS)
    assert fixed.tuning_ == {}
    for regime, weights in fixed.weights_.items():
        assert {n: w for n, w in weights.items() if w} == {
            n: w for n, w in DEFAULT_WEIGHTS[regime].items() if w
        }
    given = {"warm": {"collaborative": 1.0, "popularity": 0.5}}
    partly = InterestRecommender(n_clusters=2, weights=given, tune=["warm", "cold_items"]).fit(
        checkerboard(), item_texts=ITEM_TEXTS
    )
    assert partly.weights_["warm"]["popularity"] == 0.5 and "warm" not in partly.tuning_
    assert "cold_items" in partly.tuning_ and "cold_users" not in partly.tuning_


def test_without_item_texts_the_text_components_are_off() -> None:
    fitted = model().fit(checkerboard())
    assert fitted.text_ is None
    items, _ = fitted.recommend(np.arange(2 * GROUP), 2)
    assert all(set(items[user]) == unseen(user) for user in range(2 * GROUP))


def test_bad_settings_are_refused() -> None:
    matrix = checkerboard()
    with pytest.raises(ParameterError, match="text_weight=2 should be in"):
        model(text_weight=2).fit(matrix)
    with pytest.raises(ParameterError, match=r"n_clusters=\(\)"):
        model(n_clusters=()).fit(matrix)
    with pytest.raises(ParameterError, match="unknown regimes"):
        model(tune=["hot_items"]).fit(matrix)
    with pytest.raises(ParameterError, match="unknown components"):
        model(weights={"warm": {"magic": 1.0}}).fit(matrix)
    with pytest.raises(ParameterError, match="half_life"):
        model(half_life=-1.0).fit(matrix)


# --- conformance ---------------------------------------------------------------------------


class TestInterestRecommenderConformance(RecommenderConformance):
    make = staticmethod(lambda: InterestRecommender(n_clusters=2))


def test_is_a_recommender_for_cold_items_and_new_users(fitted) -> None:
    assert isinstance(fitted, Recommender)
    assert InterestRecommender.handles_cold_items is True
    assert InterestRecommender.new_user_inputs == frozenset({"history", "text"})
