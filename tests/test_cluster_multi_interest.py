"""Multi-interest users (PinnerSage-style): splits, medoids, decayed importance, membership."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from interestlens.cluster import (
    GaussianMixtureClusterer,
    KMeansClusterer,
    NearestCentroidClusterer,
    interest_membership,
    split_interests_by_user,
    split_user_interests,
)
from interestlens.cluster.synthetic import interest_blobs
from interestlens.errors import DataError, ParameterError

DAY = 86400.0


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def two_tastes():
    """One user's 12 items: 8 around one direction (old), 4 around another (recent)."""
    rows, groups = interest_blobs(2, n_per_cluster=6, dimension=16, spread=0.05, seed=21)
    items = np.vstack([rows[groups == 0], rows[groups == 0][:2], rows[groups == 1][:4]])
    group = np.array([0] * 8 + [1] * 4)
    times = np.where(group == 0, 0.0, 300 * DAY) + np.arange(12) * 60.0
    return items, group, times


def test_two_distant_groups_make_two_interests(two_tastes):
    items, group, _ = two_tastes
    interests = split_user_interests(items)
    assert len(interests) == 2
    members = [set(interest.item_indices) for interest in interests]
    assert members == [set(np.flatnonzero(group == 0)), set(np.flatnonzero(group == 1))]
    for interest in interests:
        assert interest.medoid_index in interest.item_indices
        np.testing.assert_array_equal(interest.medoid, items[interest.medoid_index])


def test_medoid_minimises_summed_squared_distance():
    items = np.array([[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.95, 0.05]], dtype=np.float32)
    (interest,) = split_user_interests(items, distance_threshold=10.0)
    costs = ((items[:, None, :] - items[None, :, :]) ** 2).sum(axis=(1, 2))
    assert interest.medoid_index == int(np.argmin(costs))


def test_without_time_importance_is_the_count(two_tastes):
    items, _, _ = two_tastes
    interests = split_user_interests(items)
    assert [interest.importance for interest in interests] == [8.0, 4.0]
    assert [interest.share for interest in interests] == pytest.approx([8 / 12, 4 / 12])
    # Unpacks as the (medoid vector, importance) pair.
    medoid, importance = interests[0]
    assert importance == 8.0
    assert medoid.shape == (16,)


def test_time_decay_makes_recent_interest_more_important(two_tastes):
    items, group, times = two_tastes
    interests = split_user_interests(items, times, half_life_days=30.0)
    recent, old = interests
    assert set(recent.item_indices) == set(np.flatnonzero(group == 1))
    # 4 recent items near weight 1, 8 items ten half-lives old near 8 / 1024.
    assert recent.importance == pytest.approx(4.0, rel=1e-3)
    assert old.importance == pytest.approx(8 / 1024, rel=1e-2)
    assert recent.share + old.share == pytest.approx(1.0)


def test_half_life_is_exact_for_one_item_per_group():
    items = np.eye(2, dtype=np.float32)  # 1.41 apart: two interests at threshold 1.0
    interests = split_user_interests(
        items, [0.0, 10 * DAY], half_life_days=10.0, distance_threshold=1.0
    )
    assert [i.importance for i in interests] == pytest.approx([1.0, 0.5])
    no_decay = split_user_interests(
        items, [0.0, 10 * DAY], half_life_days=None, distance_threshold=1.0
    )
    assert [i.importance for i in no_decay] == [1.0, 1.0]


def test_weights_scale_importance(two_tastes):
    items, group, _ = two_tastes
    weights = np.where(group == 1, 5.0, 1.0)
    interests = split_user_interests(items, weights=weights)
    assert [interest.importance for interest in interests] == [20.0, 8.0]


def test_single_item_and_max_interests():
    one = np.ones((1, 4), dtype=np.float32) / 2
    (interest,) = split_user_interests(one)
    assert interest.share == 1.0
    # Six unrelated items (random directions, ~1.4 apart): six interests at threshold 1.0.
    spread, _ = interest_blobs(6, n_per_cluster=1, dimension=32, spread=0.0, seed=5)
    assert len(split_user_interests(spread, distance_threshold=1.0)) == 6
    assert len(split_user_interests(spread, distance_threshold=1.0, max_interests=2)) == 2
    # The default threshold (1.5) merges some of them: Ward heights grow with group size.
    assert len(split_user_interests(spread)) < 6


def test_average_cosine_linkage_option(two_tastes):
    items, _, _ = two_tastes
    interests = split_user_interests(items, linkage_method="average", distance_threshold=0.2)
    assert len(interests) == 2


def test_split_by_user(two_tastes):
    items, _, times = two_tastes
    users = np.array(["u1"] * 12 + ["u2"] * 3)
    all_items = np.vstack([items, items[:3]])
    all_times = np.concatenate([times, times[:3]])
    result = split_interests_by_user(users, all_items, all_times, half_life_days=30.0)
    assert sorted(result) == ["u1", "u2"]
    assert len(result["u1"]) == 2
    assert len(result["u2"]) == 1
    assert result["u2"][0].importance == pytest.approx(3.0, rel=1e-3)  # minutes apart


def test_membership_over_global_clusters(two_tastes):
    items, group, _ = two_tastes
    interests = split_user_interests(items)
    centroids = np.vstack([items[group == 0].mean(axis=0), items[group == 1].mean(axis=0)])
    clusterer = NearestCentroidClusterer(centroids).fit(items)
    hard = interest_membership(interests, clusterer)
    np.testing.assert_allclose(hard, [8 / 12, 4 / 12], rtol=1e-6)
    soft = interest_membership(interests, clusterer, temperature=0.05)
    assert soft.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(soft, hard, atol=1e-3)
    warm = interest_membership(interests, clusterer, temperature=10.0)
    assert abs(warm[0] - warm[1]) < abs(hard[0] - hard[1])


def test_membership_uses_predict_proba_of_soft_clusterers(two_tastes):
    items, _, _ = two_tastes
    interests = split_user_interests(items)
    gmm = GaussianMixtureClusterer(2, random_state=0).fit(items)
    membership = interest_membership(interests, gmm)
    assert membership.shape == (2,)
    assert membership.sum() == pytest.approx(1.0)
    kmeans = KMeansClusterer(2, random_state=0).fit(items)
    assert sorted(interest_membership(interests, kmeans)) == pytest.approx([4 / 12, 8 / 12])


def test_bad_inputs_are_named():
    items = np.eye(3, dtype=np.float32)
    with pytest.raises(DataError, match="timestamps has 2 values for 3 item vectors"):
        split_user_interests(items, [1.0, 2.0])
    with pytest.raises(DataError, match="weights has 1 negative values"):
        split_user_interests(items, weights=[1.0, -1.0, 1.0])
    with pytest.raises(ParameterError, match="distance_threshold=0"):
        split_user_interests(items, distance_threshold=0)
    with pytest.raises(DataError, match="the user has no interests"):
        interest_membership([], NearestCentroidClusterer(items).fit(items))
