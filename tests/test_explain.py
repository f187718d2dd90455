"""The explain stage on a tiny world whose answers are known by hand.

Cluster 0 (u0..u3) hikes, cluster 1 (u4..u7) cooks, u8 and u9 are noise. Item 0 is read by
every hiker and nobody else, item 7 by one hiker only, item 6 (news) by almost everyone.
"""

from __future__ import annotations

import json
import math

import httpx
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from interestlens.errors import ModelFormatError, ParameterError
from interestlens.explain import (
    ClusterEvidence,
    ClusterExplainer,
    ClusterExplanation,
    ClusterKeywords,
    ClusterRepresentatives,
    Explainer,
    KeywordScorer,
    NamerError,
    StaticExplainer,
    StaticNamer,
    class_tfidf,
    default_vectorizer,
    load_explanations,
    log_odds_z,
    save_explanations,
)
from interestlens.explain.representatives import support_threshold

ITEMS = [
    # id, title, text, vector direction
    (
        "trail-guide",
        "Trail Guide",
        "Hiking trail guide\nMountain trail maps for every hiker",
        [1, 0, 0, 0],
    ),
    ("boots", "Boots", "Mountain hiking boots\nBoots that grip on a rocky trail", [1, 0, 0, 0.3]),
    ("summit", "Summit", "Summit stories\nA hiking trail to the mountain summit", [1, 0, 0, 0.4]),
    ("pasta-book", "Pasta Book", "Pasta recipe book\nCooking fresh pasta at home", [0, 1, 0, 0]),
    ("sauce", "Sauce", "Tomato sauce recipe\nCooking a simple sauce for pasta", [0, 1, 0, 0.3]),
    ("dinner", "Dinner", "Quick dinner recipe\nCooking pasta fast on weeknights", [0, 1, 0, 0.4]),
    ("news", "News", "Weekly news roundup\nThe week in news", [0, 0, 1, 0]),
    ("rare-map", None, "Rare hiking map\nAn old trail map", [1, 0, 0.2, 0]),
]
USERS = [
    # id, label, own text, vector
    ("u0", 0, "I love mountain hiking", [1, 0.3, 0, 0]),
    ("u1", 0, "weekend trail runner", [1, -0.3, 0, 0]),
    ("u2", 0, "", [1, 0, 0, 0.05]),
    ("u3", 0, "", [1, 0, 0, -0.2]),
    ("u4", 1, "", [0.3, 1, 0, 0]),
    ("u5", 1, "", [-0.3, 1, 0, 0]),
    ("u6", 1, "", [0, 1, 0, 0.05]),
    ("u7", 1, "", [0, 1, 0, -0.2]),
    ("u8", -1, "hiking and cooking", [0, 0, 1, 0]),
    ("u9", -1, "", [0.5, 0.5, 0.5, 0.5]),
]
NAN = float("nan")
INTERACTIONS = [
    # cluster 0: 14 interactions, ratings sum 58
    (0, 0, 5), (0, 1, 4), (0, 6, 3), (0, 7, 5),
    (1, 0, 5), (1, 1, 5), (1, 6, 2),
    (2, 0, 4), (2, 2, 5), (2, 6, 3),
    (3, 0, 5), (3, 2, 4), (3, 1, 4), (3, 6, 4),
    # cluster 1: 9 interactions, 8 rated, ratings sum 31; u7 has no history
    (4, 3, 4), (4, 4, 4), (4, 6, 4),
    (5, 3, 5), (5, 5, 3), (5, 6, 3),
    (6, 3, 3), (6, 4, NAN), (6, 5, 5),
    # noise: 6 interactions
    (8, 1, 3), (8, 2, 3), (8, 6, 3), (8, 3, 3),
    (9, 6, 1), (9, 5, 2),
]  # fmt: skip
N_INTERACTIONS = len(INTERACTIONS)  # 29


def _unit(rows):
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def explain(
    labels,
    user_vectors,
    *,
    centroids=None,
    namer=None,
    item_weighting="members",
    include_user_texts=True,
    top_keywords=10,
    keyword_scoring="log_odds",
    keyword_prior_size=None,
    keyword_min_texts=1,
    vectorizer=None,
    extra_stop_words=(),
    top_items=5,
    top_users=5,
    min_support=2,
    min_support_share=0.02,
    central_pool=50,
    lift_prior=5.0,
    **evidence,
):
    """The explain stage assembled from its collaborators, each setting where it belongs."""
    explainer = ClusterExplainer(
        ClusterKeywords(
            top_keywords,
            scorer=KeywordScorer(keyword_scoring, keyword_prior_size),
            min_texts=keyword_min_texts,
            vectorizer=vectorizer,
            extra_stop_words=extra_stop_words,
        ),
        ClusterRepresentatives(
            top_items, top_users, min_support, min_support_share, central_pool, lift_prior
        ),
        namer,
        item_weighting=item_weighting,
        include_user_texts=include_user_texts,
    )
    return explainer.explain(labels, user_vectors, ClusterEvidence(**evidence), centroids=centroids)


def world(**overrides):
    users, items, ratings = zip(*INTERACTIONS, strict=True)
    arguments = dict(
        labels=np.array([u[1] for u in USERS]),
        user_vectors=_unit([u[3] for u in USERS]),
        user_ids=[u[0] for u in USERS],
        user_texts=[u[2] for u in USERS],
        item_ids=[i[0] for i in ITEMS],
        item_titles=[i[1] for i in ITEMS],
        item_texts=[i[2] for i in ITEMS],
        item_vectors=_unit([i[3] for i in ITEMS]),
        user_idx=np.array(users),
        item_idx=np.array(items),
        rating=np.array(ratings, dtype=float),
    )
    arguments.update(overrides)
    return arguments


@pytest.fixture(scope="module")
def explained() -> dict[int, ClusterExplanation]:
    return {e.cluster_id: e for e in explain(**world())}


def terms(explanation: ClusterExplanation) -> list[str]:
    return [k.term for k in explanation.keywords]


# --- c-TF-IDF --------------------------------------------------------------------------------


def test_class_tfidf_matches_the_formula_by_hand():
    counts = np.array([[2, 0, 1], [0, 3, 1], [0, 0, 0]])
    weights = class_tfidf(sp.csr_matrix(counts)).toarray()
    mean_words = 7 / 3
    expected = np.array(
        [
            [2 / 3 * math.log(1 + mean_words / 2), 0, 1 / 3 * math.log(1 + mean_words / 2)],
            [0, 3 / 4 * math.log(1 + mean_words / 3), 1 / 4 * math.log(1 + mean_words / 2)],
            [0, 0, 0],
        ]
    )
    np.testing.assert_allclose(weights, expected)


def test_log_odds_z_matches_the_formula_by_hand():
    counts = np.array([[6.0, 2.0, 0.0], [3.0, 1.0, 4.0]])
    prior_size = 5.0
    total, term_total, words = 16.0, counts.sum(axis=0), counts.sum(axis=1)

    def z(row: int, term: int) -> float:
        prior = prior_size * term_total[term] / total
        inside, outside = counts[row, term], term_total[term] - counts[row, term]
        n_inside, n_outside = words[row], total - words[row]
        delta = math.log((inside + prior) / (n_inside + prior_size - inside - prior)) - math.log(
            (outside + prior) / (n_outside + prior_size - outside - prior)
        )
        return delta / math.sqrt(1 / (inside + prior) + 1 / (outside + prior))

    weights = log_odds_z(counts, prior_size=prior_size).toarray()
    # only over-represented terms keep a (positive) weight
    expected = np.array([[z(0, 0), z(0, 1), 0.0], [0.0, 0.0, z(1, 2)]])
    assert z(0, 0) > 0 and z(0, 1) > 0 and z(1, 0) < 0
    np.testing.assert_allclose(weights, expected)


def test_a_word_as_common_in_every_cluster_tops_none():
    # "drama" is 10 of 11 words in cluster 0 and 20 of 22 in cluster 1: the same share
    counts = np.array([[10.0, 1.0, 0.0], [20.0, 0.0, 2.0]])
    z = log_odds_z(counts).toarray()
    assert z[0, 0] == 0 and z[1, 0] == 0
    assert z[0, 1] > 0 and z[1, 2] > 0
    # plain c-TF-IDF puts the shared word first in both
    ctfidf = class_tfidf(counts).toarray()
    assert ctfidf[0].argmax() == 0 and ctfidf[1].argmax() == 0


def test_a_common_word_does_not_top_the_keywords_of_explained_clusters():
    # "drama" is 5 of the 7 words of both texts
    texts = [
        "Drama drama drama drama drama. A spy story",
        "Drama drama drama drama drama. Romance letters",
    ]
    arguments = dict(
        labels=np.array([0, 0, 1, 1]),
        user_vectors=_unit([[1, 0], [1, 0.1], [0, 1], [0.1, 1]]),
        user_ids=["a", "b", "c", "d"],
        item_ids=["spy-drama", "romantic-drama"],
        item_texts=texts,
        user_idx=np.array([0, 1, 2, 3]),
        item_idx=np.array([0, 0, 1, 1]),
    )
    distinct = explain(**arguments)
    plain = explain(**arguments, keyword_scoring="ctfidf")
    assert [terms(e)[0] for e in plain] == ["drama", "drama"]
    assert [sorted(terms(e)) for e in distinct] == [["spy", "story"], ["letters", "romance"]]


def test_keyword_min_texts_drops_words_of_a_single_text():
    loose = explain(**world(), top_keywords=100)[0]
    strict = explain(**world(), top_keywords=100, keyword_min_texts=2)[0]
    # "guide" is said by trail-guide alone, "runner" by u1's own text alone
    assert {"guide", "runner"} <= set(terms(loose))
    assert not {"guide", "runner"} & set(terms(strict))
    # "hiking" is in 4 items and u0's text
    assert "hiking" in terms(strict)
    assert set(terms(strict)) < set(terms(loose))


def test_a_lone_cluster_keeps_c_tfidf_keywords():
    result = explain(**world(labels=np.array([0] * 8 + [-1, -1])))
    assert len(result) == 1
    plain = explain(**world(labels=np.array([0] * 8 + [-1, -1])), keyword_scoring="ctfidf")
    assert result[0].keywords == plain[0].keywords != []


def test_class_tfidf_gives_unused_terms_zero_weight():
    weights = class_tfidf(np.array([[1.0, 0.0], [2.0, 0.0]]))
    assert weights[:, 1].nnz == 0


# --- keywords and labels ---------------------------------------------------------------------


def test_hiking_cluster_keywords_are_hiking_words(explained):
    top = terms(explained[0])
    assert {"hiking", "trail", "mountain"} <= set(top[:5])
    assert not {"pasta", "recipe", "cooking"} & set(top)


def test_cooking_cluster_keywords_are_cooking_words(explained):
    top = terms(explained[1])
    assert {"pasta", "recipe", "cooking"} <= set(top[:5])
    assert not {"hiking", "trail", "mountain"} & set(top)


def test_words_shared_by_all_clusters_score_below_distinctive_ones(explained):
    # "news" is read in both clusters: by default it is no keyword at all, with plain
    # c-TF-IDF it is one, but below the distinctive words
    assert "news" not in terms(explained[0]) + terms(explained[1])
    plain = explain(**world(), keyword_scoring="ctfidf", top_keywords=100)[0]
    scores = {k.term: k.score for k in plain.keywords}
    assert scores["news"] < scores["trail"]
    for explanation in (explained[0], plain):
        ordered = [k.score for k in explanation.keywords]
        assert ordered == sorted(ordered, reverse=True)


def test_label_joins_the_top_keywords(explained):
    words = explained[0].label.split(" · ")
    assert len(words) == 3
    assert words == terms(explained[0])[:3]
    assert set(words) <= {"hiking", "trail", "mountain"}


def test_extra_stop_words_are_left_out():
    result = explain(**world(), extra_stop_words=["News", "weekly", "week", "roundup"])
    for explanation in result:
        assert not {"news", "weekly", "week", "roundup"} & set(terms(explanation))


def test_member_weighting_counts_an_item_once_per_member():
    settings = dict(user_texts=None, top_keywords=100)
    by_members = explain(**world(**settings), item_weighting="members")[0]
    binary = explain(**world(**settings), item_weighting="binary")[0]
    # "guide" is said once, by item 0, read by all four hikers; "rare" once, by item 7, read by one
    members_scores = {k.term: k.score for k in by_members.keywords}
    binary_scores = {k.term: k.score for k in binary.keywords}
    assert members_scores["guide"] > 1.5 * members_scores["rare"]
    assert binary_scores["guide"] == pytest.approx(binary_scores["rare"])


def test_user_texts_count_only_when_asked():
    with_users = explain(**world(), top_keywords=50)[0]
    without = explain(**world(), include_user_texts=False, top_keywords=50)[0]
    assert "runner" in terms(with_users)
    assert "runner" not in terms(without)


def test_no_text_at_all_gives_empty_keywords_and_a_fallback_label():
    result = explain(**world(user_texts=None, item_texts=None))
    assert [e.keywords for e in result] == [[], []]
    assert [e.label for e in result] == ["cluster 0", "cluster 1"]


def test_a_vectorizer_that_prunes_every_term_is_reported():
    with pytest.raises(ParameterError, match="vectorizer found no terms"):
        explain(**world(), vectorizer=CountVectorizer(min_df=100))


# --- sizes, shares, ratings, counts ----------------------------------------------------------


def test_noise_users_are_counted_but_not_explained(explained):
    assert sorted(explained) == [0, 1]
    assert [explained[c].size for c in (0, 1)] == [4, 4]
    assert [explained[c].share for c in (0, 1)] == [0.4, 0.4]


def test_mean_rating_skips_nan_and_noise(explained):
    assert explained[0].mean_rating == pytest.approx(58 / 14)
    assert explained[1].mean_rating == pytest.approx(31 / 8)


def test_mean_rating_is_none_without_ratings():
    result = explain(**world(rating=None))
    assert [e.mean_rating for e in result] == [None, None]


def test_counts_of_text_history_and_interactions(explained):
    assert (explained[0].n_with_text, explained[1].n_with_text) == (2, 0)
    assert (explained[0].n_with_history, explained[1].n_with_history) == (4, 3)
    assert (explained[0].n_interactions, explained[1].n_interactions) == (14, 9)


def test_cluster_without_member_text_still_gets_keywords(explained):
    assert explained[1].n_with_text == 0
    assert explained[1].keywords


# --- representative items and users ----------------------------------------------------------


def test_over_represented_items_by_lift_with_counts(explained):
    items = explained[0].over_represented_items
    assert [i.item_id for i in items] == ["trail-guide", "boots", "summit", "news"]
    best = items[0]
    assert best.title == "Trail Guide"
    assert (best.cluster_count, best.total_count, best.n_members) == (4, 4, 4)
    assert best.lift == pytest.approx((4 / 14) / (4 / N_INTERACTIONS))
    assert best.cluster_share == pytest.approx(4 / 14)
    assert best.global_share == pytest.approx(4 / N_INTERACTIONS)
    assert items[1].lift == pytest.approx((3 / 14) / (4 / N_INTERACTIONS))


def test_smoothed_lift_by_hand(explained):
    best = explained[0].over_represented_items[0]
    expected = 4 * 14 / N_INTERACTIONS  # the cluster's share of trail-guide's 4 interactions
    assert best.smoothed_lift == pytest.approx((4 + 5) / (expected + 5))
    raw = explain(**world(), lift_prior=0)[0].over_represented_items[0]
    assert raw.smoothed_lift == pytest.approx(raw.lift)


def rarity_world(lift_prior=None):
    """Clusters of 20: "rarity" seen by 2 members of cluster 0 and nobody else; "favourite" by
    15 members of cluster 0 and 1 of cluster 1; every member also reads a shared "filler"."""
    users, items = [], []
    for user in range(40):
        users.append(user)
        items.append(2)
    for user in (0, 1):
        users.append(user)
        items.append(0)
    for user in [*range(15), 20]:
        users.append(user)
        items.append(1)
    arguments = dict(
        labels=np.repeat([0, 1], 20),
        user_vectors=np.ones((40, 2), dtype=np.float32),
        user_ids=[f"u{i}" for i in range(40)],
        item_ids=["rarity", "favourite", "filler"],
        user_idx=np.array(users),
        item_idx=np.array(items),
    )
    if lift_prior is not None:
        arguments["lift_prior"] = lift_prior
    return arguments


def test_a_two_member_rarity_loses_to_a_well_supported_item():
    ranked = explain(**rarity_world())[0].over_represented_items
    assert [i.item_id for i in ranked] == ["favourite", "rarity"]
    favourite, rarity = ranked
    assert (rarity.n_members, favourite.n_members) == (2, 15)
    # the raw lift favours the rarity slightly: 15 of favourite's 16 interactions are here
    assert rarity.lift == pytest.approx(58 / 37)
    assert favourite.lift == pytest.approx(15 / 16 * 58 / 37)
    # cluster 0 holds 37 of the 58 interactions; 5 pseudo-interactions at lift 1
    assert rarity.smoothed_lift == pytest.approx((2 + 5) / (2 * 37 / 58 + 5))
    assert favourite.smoothed_lift == pytest.approx((15 + 5) / (16 * 37 / 58 + 5))
    raw = explain(**rarity_world(lift_prior=0))[0].over_represented_items
    assert [i.item_id for i in raw] == ["rarity", "favourite"]


def test_items_below_lift_one_are_not_over_represented():
    # everyone reads the filler once, so in cluster 0 (37 of the 58 interactions) its lift is
    # (20 / 37) / (40 / 58) < 1
    items = explain(**rarity_world())[0].over_represented_items
    assert [i.item_id for i in items] == ["favourite", "rarity"]


def test_min_support_grows_with_the_cluster():
    assert support_threshold(4, 2, 0.02) == 2
    assert support_threshold(150, 2, 0.02) == 3
    assert support_threshold(245, 2, 0.02) == 5
    assert support_threshold(1000, 2, 0.0) == 2
    # 2 of 20 members (10%) is enough at 2% but not at 15%
    assert "rarity" in [i.item_id for i in explain(**rarity_world())[0].over_represented_items]
    strict = explain(**rarity_world(), min_support_share=0.15)[0]
    assert [i.item_id for i in strict.over_represented_items] == ["favourite"]


def test_explanations_written_before_smoothed_lift_still_load(explained):
    data = explained[0].to_dict()
    for item in data["over_represented_items"]:
        del item["smoothed_lift"]
    loaded = ClusterExplanation.from_dict(data)
    assert loaded.over_represented_items[0].smoothed_lift is None


def test_one_off_items_need_min_support(explained):
    assert "rare-map" not in [i.item_id for i in explained[0].over_represented_items]
    loose = explain(**world(), min_support=1)[0].over_represented_items
    rare = next(i for i in loose if i.item_id == "rare-map")
    # no title given: the first line of the text stands in
    assert rare.title == "Rare hiking map"
    assert rare.n_members == 1


def test_central_items_are_closest_to_the_centroid(explained):
    central = explained[0].central_items
    assert central[0].item_id == "trail-guide"
    assert central[0].n_members == 4
    assert {i.item_id for i in central} <= {"trail-guide", "boots", "summit", "news", "rare-map"}
    similarities = [i.similarity for i in central]
    assert similarities == sorted(similarities, reverse=True)


def test_central_items_come_from_supported_items():
    # a centroid right on "rare-map", which only one hiker read
    centroids = _unit([ITEMS[7][3], [0, 1, 0, 0]])
    central = explain(**world(), centroids=centroids)[0].central_items
    assert "rare-map" not in [i.item_id for i in central]
    assert all(i.n_members >= 2 for i in central)
    loose = explain(**world(), centroids=centroids, min_support=1)[0].central_items
    assert loose[0].item_id == "rare-map"


def test_central_items_come_from_the_most_shared_items():
    # every hiker read trail-guide and news (4 members), boots 3, summit 2
    top_one = explain(**world(), central_pool=1)[0].central_items
    assert [i.item_id for i in top_one] == ["trail-guide", "news"]  # a tie at the cut is kept
    top_three = explain(**world(), central_pool=3)[0].central_items
    assert {i.item_id for i in top_three} == {"trail-guide", "news", "boots"}
    everything = explain(**world(), central_pool=None)[0].central_items
    assert {i.item_id for i in everything} == {"trail-guide", "news", "boots", "summit"}


def test_central_items_need_item_vectors():
    result = explain(**world(item_vectors=None))
    assert [e.central_items for e in result] == [[], []]
    assert result[0].over_represented_items


def test_medoid_is_the_member_closest_to_the_mean(explained):
    medoids = [u.user_id for u in explained[0].medoid_users]
    assert medoids[:2] == ["u2", "u3"]
    assert sorted(medoids[2:]) == ["u0", "u1"]
    assert explained[1].medoid_users[0].user_id == "u6"
    assert "u8" not in [u.user_id for e in explained.values() for u in e.medoid_users]


def test_given_centroids_are_used():
    vectors = world()["user_vectors"]
    centroids = np.stack([vectors[0], vectors[5]])
    result = explain(**world(), centroids=centroids, top_users=1)
    assert [e.medoid_users[0].user_id for e in result] == ["u0", "u5"]
    assert result[0].medoid_users[0].similarity == pytest.approx(1.0, abs=1e-6)


def test_cluster_ids_need_not_be_contiguous():
    labels = np.array([3, 3, 3, 3, 7, 7, 7, 7, -1, -1])
    result = explain(**world(labels=labels))
    assert [e.cluster_id for e in result] == [3, 7]
    centroids = np.zeros((8, 4), dtype=np.float32)
    centroids[3] = world()["user_vectors"][1]
    centroids[7] = world()["user_vectors"][4]
    given = explain(**world(labels=labels), centroids=centroids, top_users=1)
    assert [e.medoid_users[0].user_id for e in given] == ["u1", "u4"]


def test_all_noise_gives_no_explanations():
    assert explain(**world(labels=np.full(10, -1))) == []


# --- namers, determinism, persistence --------------------------------------------------------


def test_a_given_namer_names_every_cluster():
    namer = StaticNamer({0: "Hikers"})
    result = explain(**world(), namer=namer)
    assert [e.label for e in result] == ["Hikers", "cluster 1"]
    assert namer.calls == [0, 1]


def test_namer_errors_are_not_hidden():
    class Broken:
        def name(self, explanation):
            raise NamerError("server down", expected="a label")

    with pytest.raises(NamerError, match="server down"):
        explain(**world(), namer=Broken())


def test_default_explanation_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network used")

    monkeypatch.setattr(httpx.Client, "send", refuse)
    assert len(explain(**world())) == 2


def test_same_input_same_output():
    first = [e.to_dict() for e in explain(**world())]
    second = [e.to_dict() for e in explain(**world())]
    assert first == second


def test_round_trip_through_json(tmp_path, explained):
    original = [explained[0], explained[1]]
    path = save_explanations(tmp_path / "explanations.json", original)
    assert load_explanations(path) == original
    assert json.loads(path.read_text())[0]["over_represented_items"][0]["item_id"] == "trail-guide"
    assert (
        ClusterExplanation.from_dict(json.loads(json.dumps(original[0].to_dict()))) == original[0]
    )


def test_from_dict_names_missing_and_unknown_keys(explained):
    data = explained[0].to_dict()
    del data["size"]
    data["colour"] = "red"
    with pytest.raises(
        ModelFormatError, match=r"missing keys \['size'\] and unknown keys \['colour'\]"
    ):
        ClusterExplanation.from_dict(data)


def test_load_rejects_a_file_that_is_not_a_list(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{}")
    with pytest.raises(ModelFormatError, match="expected a JSON list"):
        load_explanations(path)


# --- bad input -------------------------------------------------------------------------------


OUT_OF_RANGE = r"item_idx ranges over \[8, 8\]; expected indices in \[0, 7\]"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"user_vectors": np.ones((3, 4))}, r"user_vectors has shape \(3, 4\); expected \(10, d\)"),
        ({"user_ids": ["u0"]}, "user_ids has 1 entries; expected 10"),
        ({"item_titles": ["x"]}, "item_titles has 1 entries; expected 8"),
        ({"labels": np.array([0, 0, 0, 0, 1, 1, 1, 1, -2, -1])}, "labels hold -2"),
        ({"labels": np.zeros(10)}, "labels has shape .* and dtype float64"),
        ({"item_idx": np.full(N_INTERACTIONS, 8)}, OUT_OF_RANGE),
        ({"user_idx": np.zeros(3, dtype=int)}, "user_idx has 3 entries and item_idx 29"),
        ({"rating": np.ones(2)}, r"rating has shape \(2,\)"),
        ({"rating": np.full(N_INTERACTIONS, np.inf)}, "rating holds infinite values"),
        ({"item_vectors": np.ones((8, 3))}, "item_vectors have dimension 3 but user_vectors 4"),
        ({"centroids": np.ones((1, 4))}, r"centroids have shape \(1, 4\); expected \(k, 4\)"),
        ({"user_vectors": np.full((10, 4), np.nan)}, "user_vectors holds NaN"),
        ({"min_support": 0}, "min_support=0; expected an integer >= 1"),
        ({"item_weighting": "tfidf"}, "item_weighting='tfidf'"),
        ({"keyword_scoring": "tfidf"}, "keyword_scoring='tfidf'; expected 'log_odds' or"),
        ({"keyword_prior_size": 0}, "keyword_prior_size=0; expected a number > 0, or None"),
        ({"min_support_share": 1.5}, r"min_support_share=1.5; expected a number in \[0, 1\]"),
        ({"lift_prior": -1}, "lift_prior=-1; expected a number >= 0"),
        ({"lift_prior": float("nan")}, "lift_prior=nan; expected a number >= 0"),
        ({"central_pool": 0}, "central_pool=0; expected an integer >= 1, or None"),
        ({"keyword_min_texts": 0}, "keyword_min_texts=0; expected an integer >= 1"),
        ({"namer": object()}, "namer is a object without a name"),
    ],
)  # fmt: skip
def test_bad_input_is_named(overrides, message):
    with pytest.raises(ParameterError, match=message):
        explain(**world(**overrides))


def test_default_tokens_keep_hyphenated_words_and_drop_numbers():
    analyze = default_vectorizer(extra_stop_words=["Genres"]).build_analyzer()
    assert analyze("Genres: Sci-Fi, Film-Noir; 1999 3D x the mountains") == [
        "sci-fi",
        "film-noir",
        "mountains",
    ]


def test_whitespace_is_not_text():
    texts = ["  \n", "trail", "", "", "", "", "", "", "", ""]
    assert explain(**world(user_texts=texts))[0].n_with_text == 1


def test_users_without_any_items_or_interactions():
    labels = np.array([0, 0, 1])
    result = explain(
        labels,
        _unit([[1, 0], [1, 0.1], [0, 1]]),
        user_ids=["a", "b", "c"],
        user_texts=["mountain hiking", "trail hiking", "pasta"],
        item_ids=[],
        user_idx=np.array([], dtype=int),
        item_idx=np.array([], dtype=int),
    )
    assert [e.size for e in result] == [2, 1]
    assert [e.n_interactions for e in result] == [0, 0]
    assert result[0].label == "hiking · mountain · trail"
    assert result[0].over_represented_items == []
    assert result[1].mean_rating is None


# --- the stage's parts on their own ------------------------------------------------------------


def test_the_keyword_scorer_learns_the_corpus_and_scores_rows_against_it():
    counts = np.array([[6.0, 2.0, 0.0], [3.0, 1.0, 4.0]])
    scorer = KeywordScorer(prior_size=5.0).fit(counts)
    assert scorer.total_ == 16.0
    np.testing.assert_array_equal(scorer.term_frequency_, [9.0, 3.0, 4.0])
    np.testing.assert_allclose(
        scorer.transform(counts).toarray(), log_odds_z(counts, prior_size=5.0).toarray()
    )
    # a lone cluster has nothing to be told apart from: c-TF-IDF
    lone = KeywordScorer().fit(counts[:1])
    assert lone.scoring_ == "ctfidf"
    np.testing.assert_allclose(
        lone.transform(counts[:1]).toarray(), class_tfidf(counts[:1]).toarray()
    )
    with pytest.raises(ParameterError, match="counts have 2 terms; expected 3 terms"):
        scorer.transform(counts[:, :2])


def test_the_explainer_parts_are_stored_unchanged():
    keywords = ClusterKeywords(3)
    explainer = ClusterExplainer(keywords, namer=StaticNamer())
    assert explainer.get_params()["keywords"] is keywords
    assert explainer.get_params()["representatives"] is None
    explainer.explain(**world_as_evidence())
    assert explainer.get_params()["keywords"] is keywords  # explaining learns nothing


def world_as_evidence(**overrides):
    arguments = world(**overrides)
    labels, vectors = arguments.pop("labels"), arguments.pop("user_vectors")
    return {"labels": labels, "user_vectors": vectors, "evidence": ClusterEvidence(**arguments)}


def test_the_static_explainer_is_an_explainer_with_known_answers():
    double = StaticExplainer({1: "Cooks"})
    result = double.explain(**world_as_evidence())
    assert [(e.cluster_id, e.size, e.share, e.label) for e in result] == [
        (0, 4, 0.4, "cluster 0"),
        (1, 4, 0.4, "Cooks"),
    ]
    np.testing.assert_array_equal(double.calls[0], [0, 0, 0, 0, 1, 1, 1, 1, -1, -1])
    # both explainers answer the same protocol with the same cluster ids and sizes
    real = ClusterExplainer().explain(**world_as_evidence())
    assert [(e.cluster_id, e.size) for e in real] == [(e.cluster_id, e.size) for e in result]
    assert isinstance(double, Explainer) and isinstance(ClusterExplainer(), Explainer)
