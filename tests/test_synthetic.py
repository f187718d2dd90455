"""The embedded demo dataset: deterministic, readable, canonical, and with a recoverable truth."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.data.synthetic import THEME_NAMES, DemoTruth, make_demo_dataset
from interestlens.data.synthetic.generator import (
    HISTORY_DAYS,
    SECONDS_PER_DAY,
    START_EPOCH,
    _split_by_weight,
)
from interestlens.data.synthetic.prose import with_article
from interestlens.data.synthetic.vocab import THEMES
from interestlens.data.validate import validate_dataset
from interestlens.errors import ParameterError


@functools.cache
def _demo(seed: int) -> tuple[Dataset, DemoTruth]:
    """Generated once per seed for the whole file; tests must not modify the frames."""
    return make_demo_dataset(seed=seed)


@pytest.fixture(scope="module")
def demo() -> tuple[Dataset, DemoTruth]:
    return _demo(0)


@pytest.fixture(scope="module")
def small_twelve() -> tuple[Dataset, DemoTruth]:
    return make_demo_dataset(seed=5, n_items=120, n_users=150, n_themes=12)


def _frames(dataset: Dataset) -> list[pd.DataFrame]:
    return [dataset.interactions, dataset.items, dataset.users]


# --- determinism and sizes -----------------------------------------------------------------------


def test_same_seed_gives_identical_data_and_truth(demo):
    dataset, truth = demo
    again, truth_again = make_demo_dataset(seed=0)
    for first, second in zip(_frames(dataset), _frames(again), strict=True):
        pd.testing.assert_frame_equal(first, second)
    assert truth == truth_again


def test_other_seed_gives_different_data(demo):
    dataset, truth = demo
    other, other_truth = _demo(1)
    assert not dataset.interactions.equals(other.interactions)
    assert not dataset.items["description"].equals(other.items["description"])
    assert truth.item_theme != other_truth.item_theme


def test_catalogue_size_does_not_change_the_users():
    small, small_truth = make_demo_dataset(seed=3, n_items=60, n_users=40)
    large, large_truth = make_demo_dataset(seed=3, n_items=90, n_users=40)
    pd.testing.assert_frame_equal(small.users, large.users)
    assert small_truth.user_themes == large_truth.user_themes


def test_default_sizes_and_theme_names(demo):
    dataset, truth = demo
    assert len(dataset.items) == 400
    assert len(dataset.users) == 600
    assert dataset.interactions[USER_ID].nunique() == 600
    assert truth.theme_names == list(THEME_NAMES[:10])
    assert THEME_NAMES[:3] == ("Hiking & outdoors", "Cooking", "Personal finance")
    assert len(truth.item_theme) == 400 and len(truth.user_primary_theme) == 600


def test_items_are_spread_evenly_over_themes(demo):
    _, truth = demo
    per_theme = pd.Series(truth.item_theme).value_counts()
    assert sorted(per_theme.index) == sorted(truth.theme_names)
    assert set(per_theme) == {40}


def test_twelve_themes_and_custom_sizes(small_twelve):
    dataset, truth = small_twelve
    assert len(THEMES) >= 12
    assert truth.theme_names == [theme.name for theme in THEMES[:12]]
    assert len(dataset.items) == 120 and len(dataset.users) == 150
    assert set(truth.item_theme.values()) == set(truth.theme_names)


def test_id_formats(demo):
    dataset, _ = demo
    assert dataset.items[ITEM_ID].tolist()[:2] == ["i0001", "i0002"]
    assert dataset.items[ITEM_ID].str.fullmatch(r"i\d{4}").all()
    assert dataset.users[USER_ID].str.fullmatch(r"u\d{4}").all()
    assert dataset.interactions[ITEM_ID].isin(dataset.items[ITEM_ID]).all()
    assert dataset.interactions[USER_ID].isin(dataset.users[USER_ID]).all()
    # wider when the count needs it
    wide, _ = make_demo_dataset(seed=0, n_items=40, n_users=10_000, n_themes=4)
    assert wide.users[USER_ID].iloc[[0, -1]].tolist() == ["u00001", "u10000"]
    assert wide.items[ITEM_ID].iloc[-1] == "i0040"


# --- the canonical model -------------------------------------------------------------------------


def test_frames_follow_the_canonical_model(demo):
    dataset, _ = demo
    interactions = dataset.interactions
    assert interactions.columns.tolist() == [USER_ID, ITEM_ID, RATING, TIMESTAMP]
    assert pd.api.types.is_string_dtype(interactions[USER_ID])
    assert pd.api.types.is_string_dtype(interactions[ITEM_ID])
    assert interactions[RATING].dtype == np.float64
    assert interactions[TIMESTAMP].dtype == np.int64
    assert dataset.items.columns.tolist() == [ITEM_ID, "title", "description", "category", "price"]
    assert dataset.items["price"].dtype == np.float64
    assert dataset.users.columns.tolist() == [USER_ID, "bio"]
    assert dataset.has_ratings and dataset.has_timestamps
    assert dataset.name == "demo" and dataset.notes["seed"] == 0


def test_validate_dataset_accepts_it_unchanged(demo):
    dataset, _ = demo
    validated = validate_dataset(dataset, require_all_users=True)
    for original, checked in zip(_frames(dataset), _frames(validated), strict=True):
        pd.testing.assert_frame_equal(original, checked)


# --- users and their interests -------------------------------------------------------------------


def test_every_user_has_one_to_three_themes_with_a_dominant_primary(demo):
    _, truth = demo
    counts = []
    for user, pairs in truth.user_themes.items():
        themes = [theme for theme, _ in pairs]
        weights = [weight for _, weight in pairs]
        counts.append(len(pairs))
        assert 1 <= len(pairs) <= 3
        assert len(set(themes)) == len(themes)
        assert set(themes) <= set(truth.theme_names)
        assert themes[0] == truth.user_primary_theme[user]
        assert sum(weights) == pytest.approx(1.0, abs=1e-9)
        assert weights[0] >= 0.6 and all(w > 0 for w in weights)
        assert weights == sorted(weights, reverse=True)
    assert set(counts) == {1, 2, 3}


def test_primary_labels_index_theme_names(demo):
    _, truth = demo
    labels = truth.primary_labels(["u0001", "u0002"])
    assert labels.dtype == np.int64
    assert [truth.theme_names[i] for i in labels] == [
        truth.user_primary_theme["u0001"],
        truth.user_primary_theme["u0002"],
    ]


def test_about_a_third_to_a_half_of_users_have_a_bio(demo):
    dataset, truth = demo
    bios = dataset.users["bio"]
    assert bios.notna().all()
    with_bio = bios != ""
    assert 1 / 3 <= with_bio.mean() <= 1 / 2
    assert bios[with_bio].str.match(r"[A-Z]").all() and bios[with_bio].str.endswith(".").all()
    # a bio mostly speaks of the user's primary interest: its persona words come from that theme
    personas = {theme.name: theme.personas + theme.topics for theme in THEMES}
    mentions_primary = [
        any(word.lower() in bio.lower() for word in personas[truth.user_primary_theme[user]])
        for user, bio in zip(dataset.users[USER_ID], bios, strict=True)
        if bio
    ]
    assert np.mean(mentions_primary) > 0.85


# --- interactions --------------------------------------------------------------------------------


def test_no_duplicate_pairs_and_5_to_40_per_user(demo):
    dataset, _ = demo
    interactions = dataset.interactions
    assert not interactions.duplicated([USER_ID, ITEM_ID]).any()
    per_user = interactions.groupby(USER_ID).size()
    assert per_user.min() >= 5 and per_user.max() <= 40
    assert per_user.mean() > per_user.median()  # skewed: a few heavy users


def test_ratings_are_whole_stars_higher_in_interest(demo):
    dataset, truth = demo
    interactions = dataset.interactions
    assert interactions[RATING].between(1, 5).all()
    assert (interactions[RATING] % 1 == 0).all()
    in_interest = _in_interest(interactions, truth)
    mean_in = interactions.loc[in_interest, RATING].mean()
    mean_out = interactions.loc[~in_interest, RATING].mean()
    assert mean_in - mean_out > 0.8


def test_timestamps_increase_per_user_within_the_window(demo):
    dataset, _ = demo
    interactions = dataset.interactions
    steps = interactions.groupby(USER_ID)[TIMESTAMP].diff().dropna()
    assert (steps > 0).all()
    assert interactions[TIMESTAMP].min() >= START_EPOCH
    assert interactions[TIMESTAMP].max() <= START_EPOCH + HISTORY_DAYS * SECONDS_PER_DAY
    span_days = (interactions[TIMESTAMP].max() - interactions[TIMESTAMP].min()) / SECONDS_PER_DAY
    assert 365 <= span_days <= 2 * 365


def test_about_ten_percent_noise(demo):
    dataset, truth = demo
    outside = ~_in_interest(dataset.interactions, truth)
    # noise items are uniform over the catalogue, so some land inside the user's themes
    assert 0.04 <= outside.mean() <= 0.14


def test_popularity_is_skewed(demo):
    dataset, _ = demo
    counts = dataset.interactions[ITEM_ID].value_counts()
    top_share = counts.iloc[: len(dataset.items) // 10].sum() / counts.sum()
    assert top_share > 0.2  # ten percent of items get more than twice their even share


def test_split_by_weight_gives_the_primary_its_quota():
    assert _split_by_weight(5, [0.6, 0.4]) == [3, 2]
    assert _split_by_weight(4, [0.6, 0.25, 0.15]) == [2, 1, 1]  # largest remainders
    assert _split_by_weight(3, [0.62, 0.38]) == [2, 1]
    assert _split_by_weight(7, [1.0]) == [7]
    assert _split_by_weight(0, [0.7, 0.3]) == [0, 0]


# --- item texts ----------------------------------------------------------------------------------


def test_item_texts_are_present_distinct_and_sentence_shaped(demo):
    items = demo[0].items
    for column in ("title", "description", "category"):
        assert (items[column].str.strip() != "").all()
    assert items["title"].is_unique
    assert items["description"].is_unique
    sentences = items["description"].str.count(r"[.!?](?:\s|$)")
    assert sentences.between(1, 3).all() and sentences.nunique() == 3
    assert items["description"].str.match(r"[A-Z]").all()
    assert items["description"].str.endswith(".").all()
    assert not items["description"].str.contains("  |\\.\\.|\\{|\\}").any()
    assert items["price"].gt(0).all() and (items["price"] * 100 % 100).round().eq(99).all()


def test_item_text_reads_like_a_product(demo):
    items = demo[0].items
    first = items.iloc[0]
    print(f"{first['title']} — {first['description']}")  # shown with pytest -s
    # Categories are product kinds shared across themes, not theme names.
    assert "Books" in set(items["category"])
    assert not set(items["category"]) & set(THEME_NAMES)
    # Articles agree with the next word ("an ergonomic", "a sturdy").
    assert not items["description"].str.contains(r"\b[Aa] (?:[aeiou])").any()
    assert not items["description"].str.contains(r"\b[Aa]n (?:[bcdfgjklmnpqrstvwxyz])").any()


def test_with_article():
    assert with_article("ergonomic trowel") == "an ergonomic trowel"
    assert with_article("sturdy skillet") == "a sturdy skillet"
    assert with_article("heirloom tomato") == "an heirloom tomato"
    assert with_article("up-to-date guide") == "an up-to-date guide"


def test_a_few_items_borrow_words_from_a_second_theme(demo):
    dataset, truth = demo
    crossover = truth.item_crossover_theme
    assert 0.03 <= len(crossover) / len(dataset.items) <= 0.15
    audiences = {theme.name: theme.audiences for theme in THEMES}
    descriptions = dataset.items.set_index(ITEM_ID)["description"]
    for item, second in crossover.items():
        assert second != truth.item_theme[item]
        assert any(audience in descriptions[item] for audience in audiences[second])


# --- truth tables --------------------------------------------------------------------------------


def test_truth_round_trips_through_csv(demo, tmp_path):
    _, truth = demo
    frames = truth.to_frames()
    assert set(frames) == {"themes", "items", "users", "user_themes"}
    assert frames["user_themes"]["weight"].dtype == np.float64
    assert len(frames["user_themes"]) == sum(len(p) for p in truth.user_themes.values())
    for name, frame in frames.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    loaded = {name: pd.read_csv(tmp_path / f"{name}.csv", keep_default_na=False) for name in frames}
    assert DemoTruth.from_frames(loaded) == truth


def test_truth_from_frames_names_missing_columns(demo):
    frames = demo[1].to_frames()
    frames["users"] = frames["users"].drop(columns="primary_theme")
    with pytest.raises(KeyError, match=r"'users'.*missing \['primary_theme'\]"):
        DemoTruth.from_frames(frames)


# --- argument checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_themes": 13}, r"n_themes=13 is out of range; expected 2 <= n_themes <= 12"),
        ({"n_themes": 1}, r"n_themes=1 is out of range"),
        ({"n_items": 20}, r"n_items=20 is out of range; expected 30 <= n_items"),
        ({"n_users": 0}, r"n_users=0 is out of range"),
        ({"n_users": 2.5}, r"n_users=2.5 is not an integer"),
        ({"seed": -1}, r"seed=-1; expected a non-negative integer"),
        ({"seed": "0"}, r"seed='0'"),
    ],
)
def test_bad_arguments_raise_parameter_errors(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        make_demo_dataset(**kwargs)


# --- the clustering target -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_primary_theme_is_recoverable_from_behaviour(seed):
    """Mean TF-IDF of a user's items, L2-normalised, k-means: ARI >= 0.95 vs primary theme."""
    dataset, truth = _demo(seed)
    items = dataset.items
    item_vectors = TfidfVectorizer().fit_transform(items["title"] + " " + items["description"])
    interactions = dataset.interactions
    users = pd.Index(interactions[USER_ID].unique())
    item_row = pd.Index(items[ITEM_ID])
    membership = sp.csr_matrix(
        (
            np.ones(len(interactions)),
            (users.get_indexer(interactions[USER_ID]), item_row.get_indexer(interactions[ITEM_ID])),
        ),
        shape=(len(users), len(items)),
    )
    user_vectors = normalize(normalize(membership, norm="l1") @ item_vectors)
    with threadpool_limits(1):  # much faster than many threads on a small shared machine
        kmeans = KMeans(n_clusters=len(truth.theme_names), n_init=10, random_state=0)
        labels = kmeans.fit_predict(user_vectors)
    score = adjusted_rand_score(truth.primary_labels(users), labels)
    print(f"seed={seed} ARI={score:.4f}")
    assert score >= 0.95


def _in_interest(interactions: pd.DataFrame, truth: DemoTruth) -> np.ndarray:
    user_theme_sets = {user: {t for t, _ in pairs} for user, pairs in truth.user_themes.items()}
    return np.array(
        [
            truth.item_theme[item] in user_theme_sets[user]
            for user, item in zip(interactions[USER_ID], interactions[ITEM_ID], strict=True)
        ]
    )
