"""Tuning that matches the task: the validation protocol, the fall-back to plain baselines, the
text-only regime, the text bridge, one meaning of interest cluster, and transform/predict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from interestlens import InterestLens
from interestlens.config import Settings
from interestlens.data.schema import USER_ID
from interestlens.data.synthetic import make_demo_dataset
from interestlens.embed.hashing import HashingEncoder
from interestlens.errors import DataError, ParameterError
from interestlens.model_dir import read_recommender, write_recommender
from interestlens.recommend import EASE, ContentKNN, MostPop
from interestlens.recommend.interest import COLD_TEXT, COLD_USERS, InterestRecommender
from interestlens.recommend.interest.tuning import Carve, ValidationScorer
from interestlens.recommend.ranking_metrics import ndcg_at_k
from interestlens.recommend.top_items import top_k
from interestlens.represent import TextInterestBridge
from test_interest_recommender import COLD_TEXTS, ITEM_TEXTS, checkerboard, with_cold_items

NEVER = 1e9  # a reference_z no blend can reach: every regime falls back


def noisy_world(seed: int = 0, n_users: int = 120, n_items: int = 40) -> sp.csr_matrix:
    """Two tastes (first / second half of the items) plus popular items everyone takes."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((n_users, n_items), dtype=np.float32)
    half = n_items // 2
    for user in range(n_users):
        block = np.arange(half) if user % 2 == 0 else np.arange(half, n_items)
        dense[user, rng.choice(block, size=6, replace=False)] = 1.0
        dense[user, rng.choice(n_items, size=3, replace=False)] = 1.0
    return sp.csr_matrix(dense)


def item_texts(n_items: int) -> list[str]:
    words = ["space rocket galaxy", "romance love wedding"]
    return [f"item {i} {words[i >= n_items // 2]}" for i in range(n_items)]


def test_a_blend_that_cannot_win_ranks_exactly_as_its_best_baseline() -> None:
    matrix = noisy_world()
    model = InterestRecommender(
        tune=["warm"], reference_z=NEVER, n_clusters=2, ease_l2=50.0, random_state=0
    ).fit(matrix, item_texts=item_texts(matrix.shape[1]))
    record = model.tuning_["warm"]["references"]
    assert record["fallback"] == record["best_reference"]
    assert record["scores"][record["fallback"]] == max(
        score for name, score in record["scores"].items() if name != "blend"
    )
    assert "falls back to" in record["why"]
    assert {n for n, w in model.weights_["warm"].items() if w} == {record["fallback"]}
    baseline = {"ease": EASE(l2=50.0), "popularity": MostPop()}[record["fallback"]]
    baseline.fit(sp.csr_matrix(matrix > 0, dtype=np.float32))
    users = np.arange(matrix.shape[0])
    ours, _ = model.recommend(users, 5)
    theirs, _ = baseline.recommend(users, 5)
    # same items; order may differ only between exactly tied scores
    assert np.mean([set(a) == set(b) for a, b in zip(ours, theirs, strict=True)]) > 0.95


def test_new_items_fall_back_to_tfidf_knn() -> None:
    matrix = with_cold_items(checkerboard())
    texts = ITEM_TEXTS + COLD_TEXTS
    model = InterestRecommender(
        tune=["cold_items"], reference_z=NEVER, n_clusters=2, random_state=0
    ).fit(matrix, item_texts=texts)
    assert model.tuning_["cold_items"]["references"]["fallback"] == "content"
    cold = np.arange(12, 14)
    users = np.array([0, 6])  # a space fan, a romance fan
    ours = model.score(users)[:, cold]
    theirs = ContentKNN().fit(matrix, item_texts=texts).score(users)[:, cold]
    assert (np.argsort(-ours, axis=1) == np.argsort(-theirs, axis=1)).all()
    assert list(np.argmax(ours, axis=1)) == [0, 1]  # "Orbit Nine" for space, "Vows" for romance


def test_the_validation_protocol_is_chosen_recorded_and_checked(tmp_path) -> None:
    matrix = noisy_world()
    times = sp.csr_matrix(matrix.multiply(np.arange(1, matrix.shape[1] + 1)[None, :]))
    model = InterestRecommender(
        tune=["warm"], validation="random", n_clusters=2, half_life=(None, 2.0), random_state=0
    ).fit(matrix, timestamps=times)
    assert model.tuning_["warm"]["protocol"] == "random"
    loaded = read_recommender(write_recommender(tmp_path / "rec", model))
    assert loaded.validation == "random"
    assert loaded.tuning_["warm"]["protocol"] == "random"
    with pytest.raises(ParameterError, match="validation='next'.*'temporal'"):
        InterestRecommender(validation="next").fit(matrix)
    with pytest.raises(ParameterError, match="reference_z=-1"):
        InterestRecommender(reference_z=-1).fit(matrix)


def test_text_only_users_have_their_own_tuned_regime() -> None:
    matrix = noisy_world(n_users=160)
    texts = item_texts(matrix.shape[1])
    user_texts = [
        "I love space rockets and galaxies" if u % 2 == 0 else "romance and weddings, love"
        for u in range(matrix.shape[0])
    ]
    model = InterestRecommender(tune=["cold_text"], n_clusters=2, random_state=0).fit(
        matrix, item_texts=texts, user_texts=user_texts
    )
    record = model.tuning_[COLD_TEXT]
    assert record["validation"][0]["query_users"] >= 20
    # a bio that names the taste beats popularity for people known only by it
    assert record["references"]["scores"]["blend"] > record["references"]["scores"]["popularity"]
    scores = model.score_new(texts=["space rocket galaxy please"])
    top = np.argsort(-scores[0])[:5]
    assert (top < matrix.shape[1] // 2).all()

    leaky = InterestRecommender(
        tune=["cold_text"], n_clusters=2, user_text_reveals_items=True, random_state=0
    ).fit(matrix, item_texts=texts, user_texts=user_texts)
    assert COLD_TEXT not in leaky.tuning_  # reviews/tags would read their own targets


def test_text_only_and_history_rows_use_their_own_weights() -> None:
    matrix = noisy_world()
    weights = {COLD_TEXT: {"popularity": 1.0}, COLD_USERS: {"collaborative": 1.0}}
    model = InterestRecommender(tune=False, weights=weights, n_clusters=2).fit(
        matrix, item_texts=item_texts(matrix.shape[1])
    )
    history = sp.vstack([matrix[0], sp.csr_matrix((1, matrix.shape[1]))], format="csr")
    scores = model.score_new(history, ["", "space rocket galaxy"])
    popularity = np.asarray(matrix.sum(axis=0)).ravel()
    # the text-only row is ranked by popularity alone; the row with history is not
    assert np.argmax(scores[1]) == np.argmax(popularity)
    assert not np.allclose(np.argsort(-scores[0])[:5], np.argsort(-scores[1])[:5])


def test_the_bridge_maps_text_to_where_behaviour_is() -> None:
    rng = np.random.default_rng(0)
    history = rng.normal(size=(200, 16)).astype(np.float32)
    history /= np.linalg.norm(history, axis=1, keepdims=True)
    rotation, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    text = history @ rotation.astype(np.float32) + 0.05 * rng.normal(size=(200, 16))
    bridge = TextInterestBridge().fit(text[:150], history[:150])
    mapped = bridge.transform(text[150:])
    assert np.mean(np.sum(mapped * history[150:], axis=1)) > 0.95
    assert (
        np.mean(np.sum(text[150:] / np.linalg.norm(text[150:], axis=1)[:, None] * history[150:], 1))
        < 0.5
    )
    restored = TextInterestBridge.from_state(*bridge.state())
    np.testing.assert_allclose(restored.transform(text[150:]), mapped, atol=1e-6)

    few = TextInterestBridge().fit(text[:5], history[:5])
    assert few.fitted_ is False
    np.testing.assert_allclose(
        few.transform(text[:2]), text[:2] / np.linalg.norm(text[:2], axis=1)[:, None], atol=1e-6
    )
    with pytest.raises(ParameterError, match=r"\(n, 16\)"):
        bridge.transform(np.ones((2, 3)))
    with pytest.raises(ParameterError, match="one row of each"):
        TextInterestBridge().fit(text[:10], history[:9])


@pytest.fixture(scope="module")
def bio_only_model():
    """The demo with a fifth of the users known only by their bio (interactions dropped)."""
    dataset, truth = make_demo_dataset(seed=0, n_items=150, n_users=250, n_themes=4)
    users = dataset.users
    with_bio = users[users["bio"].str.strip() != ""][USER_ID].tolist()
    bio_only = set(np.random.default_rng(0).choice(with_bio, size=50, replace=False))
    dataset.interactions = dataset.interactions[
        ~dataset.interactions[USER_ID].isin(bio_only)
    ].reset_index(drop=True)
    settings = Settings.model_validate(
        {"encoder": {"cache": False}, "recommend": {"tune": False}, "cluster": {"k": 4}}
    )
    model = InterestLens(settings, encoder=HashingEncoder(seed=0)).fit(dataset)
    return model, truth, bio_only


def test_bio_only_users_are_assigned_not_fitted(bio_only_model, tmp_path) -> None:
    model, truth, bio_only = bio_only_model
    table = model.cluster_table()
    placed = dict(zip(table["user_id"], table["placed_by"], strict=True))
    assert {placed[u] for u in bio_only} == {"predict"}
    assert {p for u, p in placed.items() if u not in bio_only} == {"fit"}
    assert model.representer_.bridge_.fitted_
    assert table["confidence"].between(0, 1).all()
    # behaviour users keep clusters that match their known interest
    behaviour = table[~table["user_id"].isin(bio_only)]
    truth_labels = behaviour["user_id"].map(truth.user_primary_theme)
    assert adjusted_rand_score(truth_labels, behaviour["cluster"]) > 0.8
    # the recommender scores with the same clusters people see
    np.testing.assert_array_equal(model.recommender_.cluster_labels_, model.clusters_.user_labels)
    loaded = InterestLens.load(model.save(tmp_path / "model"))
    new = pd.DataFrame({"text": ["Gardening: roses, seeds and compost"]})
    pd.testing.assert_frame_equal(
        loaded.predict(new, encoder=HashingEncoder(seed=0)),
        model.predict(new, encoder=HashingEncoder(seed=0)),
    )
    np.testing.assert_array_equal(
        loaded.recommender_.cluster_labels_, model.recommender_.cluster_labels_
    )


def test_transform_and_predict_take_ids_texts_and_histories(bio_only_model) -> None:
    model, _, _ = bio_only_model
    known = model.user_ids_.ids[:2]
    np.testing.assert_array_equal(model.transform(known), model.user_vectors_[:2])
    frame = pd.DataFrame(
        {
            "user_id": [known[0], None, None],
            "text": ["", "", "roses and compost"],
            "items": [None, list(model.item_ids_.ids[:3]), []],
        }
    )
    placed = model.predict(frame, encoder=HashingEncoder(seed=0))
    assert list(placed["placed_by"]) == ["fit", "history", "text"]
    assert placed.loc[0, "cluster"] == model.clusters_.user_labels[0]
    assert (placed["cluster"] >= 0).all()
    with pytest.raises(DataError, match="items='i1' in row 0 is a string"):
        model.transform(pd.DataFrame({"items": ["i1"]}))
    with pytest.raises(DataError, match="nobody"):
        model.transform(["nobody"])
    nothing = model.predict(pd.DataFrame({"text": [""]}))
    assert nothing.loc[0, "cluster"] == -1 and nothing.loc[0, "placed_by"] == "none"


def test_given_clusters_are_the_recommenders_clusters(tmp_path) -> None:
    matrix = checkerboard()
    labels = np.repeat([0, 1], 6)
    model = InterestRecommender(tune=False, n_clusters=(8, 16)).fit(
        matrix, item_texts=ITEM_TEXTS, user_clusters=labels
    )
    assert model.n_clusters_ == 2
    np.testing.assert_array_equal(model.cluster_labels_, labels)
    loaded = read_recommender(write_recommender(tmp_path / "rec", model))
    np.testing.assert_array_equal(loaded.user_clusters_, labels)
    with pytest.raises(ParameterError, match=r"user_clusters has shape \(3,\)"):
        InterestRecommender(tune=False).fit(matrix, user_clusters=np.zeros(3))


@pytest.mark.parametrize(("regime", "unit"), [("warm", "users"), ("cold_items", "items")])
def test_keep_or_fall_back_is_judged_on_validation_the_weights_never_saw(
    regime: str, unit: str
) -> None:
    matrix = noisy_world(n_users=160)
    model = InterestRecommender(tune=[regime], n_clusters=2, random_state=0).fit(
        matrix, item_texts=item_texts(matrix.shape[1])
    )
    record = model.tuning_[regime]["references"]
    # two searches, one per half of the validation (users; for new items, held-out items),
    # each judged on the other half
    assert record["cross_fit_over"] == unit
    assert len(record["half_weights"]) == 2
    anchor = model.tuning_[regime]["anchor"]
    assert all(weights[anchor] == 1.0 for weights in record["half_weights"])
    # the gain pairs the blend and the best reference on the same held-out halves
    assert record["gain_over_best"] == pytest.approx(
        record["held_out_blend"] - record["held_out_reference"], abs=1e-9
    )
    if unit == "users":  # the halves hold every validation user once
        best = record["best_reference"]
        assert record["held_out_reference"] == pytest.approx(record["scores"][best], abs=1e-9)
    kept = record["gain_over_best"] > record["z"] * record["gain_standard_error"]
    assert (record["fallback"] is None) == kept
    assert "not searched on" in record["why"]
    assert ("clustered by item" in record["why"]) == (unit == "items")


def test_the_validation_scorer_ranks_new_items_among_their_candidate_columns_only() -> None:
    part = Carve(
        "cold_items",
        sp.csr_matrix((2, 6), dtype=np.float32),
        None,
        np.arange(2),
        sp.csr_matrix(([1.0], ([0], [1])), shape=(2, 6)),  # user 0 rated item 1
        sp.csr_matrix(([1.0, 1.0], ([0, 1], [3, 0])), shape=(2, 6)),  # targets: 3 and 0
        candidates=np.array([1, 3, 5]),
    )
    scorer = ValidationScorer(part, k=2)
    # columns 1, 3, 5: item 1 is set aside (rated), item 5 ranks above the target 3
    ndcg = scorer(np.array([[0.9, 0.5, 0.7], [0.1, 0.2, 0.3]], dtype=np.float32))
    # user 1's target is not a candidate: no score for them
    assert ndcg == pytest.approx([1 / np.log2(3)])
    assert scorer.rows(slice(1, None, 2))(np.zeros((1, 3), dtype=np.float32)).size == 0


def test_a_half_of_the_new_items_keeps_the_users_with_a_target_among_them() -> None:
    part = Carve(
        "cold_items",
        sp.csr_matrix((3, 6), dtype=np.float32),
        None,
        np.arange(3),
        sp.csr_matrix((3, 6), dtype=np.float32),
        # user 0: items 1 and 3; user 1: item 5; user 2: item 3
        sp.csr_matrix(([1.0] * 4, ([0, 0, 1, 2], [1, 3, 5, 3])), shape=(3, 6)),
        candidates=np.array([1, 3, 5]),
    )
    scorer = ValidationScorer(part, k=2)
    # which items each user's score is about, 1 / (their targets) each, in full-matrix columns
    np.testing.assert_allclose(
        scorer.targets(6).toarray(),
        [[0, 0.5, 0, 0.5, 0, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 1, 0, 0]],
    )
    first = scorer.among(np.array([0, 2]))  # items 1 and 5: users 0 and 1 have a target there
    np.testing.assert_array_equal(first.columns, [1, 5])
    np.testing.assert_array_equal(first.users, [True, True, False])
    np.testing.assert_allclose(first.targets(6).toarray()[:, [1, 5]], [[1, 0], [0, 1]])
    # user 0 ranks item 5 above item 1 (NDCG 1/log2(3)); user 1 finds item 5 first
    ndcg = first(np.array([[0.1, 0.9], [0.2, 0.8], [0.0, 0.0]], dtype=np.float32))
    assert ndcg == pytest.approx([1 / np.log2(3), 1.0])
    second = scorer.among(np.array([1]))  # item 3 alone: users 0 and 2
    np.testing.assert_array_equal(second.users, [True, False, True])
    assert second.k == 1


@pytest.mark.parametrize("seed", range(12))
def test_the_validation_scorer_ranks_as_top_k_does_ties_included(seed: int) -> None:
    # validation NDCG must be the NDCG of the lists the model would serve: top_k's order, ties
    # to the lower item index, -inf never recommended
    rng = np.random.default_rng(seed)
    n_users, n_items, k = (
        int(rng.integers(1, 30)),
        int(rng.integers(2, 50)),
        int(rng.integers(1, 12)),
    )
    history = sp.random(n_users, n_items, density=0.2, random_state=seed, format="csr")
    targets = sp.random(n_users, n_items, density=0.2, random_state=seed + 50, format="csr")
    part = Carve(
        "warm", sp.csr_matrix((n_users, n_items)), None, np.arange(n_users), history, targets
    )
    scores = np.round(rng.standard_normal((n_users, n_items)), seed % 3).astype(np.float32)
    if seed % 4 == 0:
        scores[:] = 1.0  # every item tied
    if seed % 4 == 1:
        scores[:, : n_items // 2] = -np.inf  # fewer finite items than k
    given = scores.copy()
    got = ValidationScorer(part, k)(scores)
    np.testing.assert_array_equal(scores, given)  # the caller's scores are left alone
    items, _ = top_k(scores, k, exclude=history)
    relevant = sp.csr_matrix((targets.toarray() > 0) & ~(history.toarray() > 0))
    want = ndcg_at_k(items, relevant, k)[relevant.getnnz(axis=1) > 0]
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("n_items", [4, 5, 8])
def test_a_catalogue_too_small_to_judge_new_items_falls_back_to_tfidf_knn(n_items: int) -> None:
    # one or two held-out items per carve: a half may hold none, and one item is one draw, so
    # nothing can show that the blend generalises to new items
    rng = np.random.default_rng(n_items)
    dense = (rng.random((30, n_items)) < 0.5).astype(np.float32)
    dense[:, 0] = 1.0
    model = InterestRecommender(tune=["cold_items"], n_clusters=2, random_state=0).fit(
        sp.csr_matrix(dense), item_texts=item_texts(n_items)
    )
    record = model.tuning_["cold_items"]["references"]
    assert record["fallback"] == "content"
    assert record["cross_fit_over"] == "items"
