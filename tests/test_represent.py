import numpy as np
import pytest

from interestlens.errors import ParameterError
from interestlens.represent import WeightedMeanInterests

DAY = 86_400.0
ITEMS = np.eye(3, dtype=np.float32)  # three orthogonal items


def test_rating_weighting():
    model = WeightedMeanInterests(half_life_days=None, text_weight=0.0).fit(
        np.array([0, 0]), np.array([0, 1]), ITEMS, n_users=1, ratings=np.array([4.0, 1.0])
    )
    vector = model.vectors_[0]
    assert vector[0] / vector[1] == pytest.approx(4.0)
    assert np.linalg.norm(vector) == pytest.approx(1.0)


def test_recency_half_life():
    model = WeightedMeanInterests(half_life_days=10, use_ratings=False, text_weight=0.0).fit(
        np.array([0, 0]),
        np.array([0, 1]),
        ITEMS,
        n_users=1,
        timestamps=np.array([0.0, 10 * DAY]),
    )
    vector = model.vectors_[0]
    assert vector[1] / vector[0] == pytest.approx(2.0)  # the older one weighs half


def test_sources_blend_text_only_and_none_reported():
    text = np.zeros((4, 3), dtype=np.float32)
    text[0] = [0, 0, 1]  # user 0: history and text
    text[2] = [0, 0, 1]  # user 2: text only
    model = WeightedMeanInterests(half_life_days=None, text_weight=0.5).fit(
        np.array([0, 1]), np.array([0, 1]), ITEMS, n_users=4, user_text_vectors=text
    )
    assert list(model.source_) == ["blend", "history", "text", "none"]
    np.testing.assert_allclose(model.vectors_[0], [2**-0.5, 0, 2**-0.5], atol=1e-6)
    np.testing.assert_allclose(model.vectors_[2], [0, 0, 1])
    np.testing.assert_array_equal(model.vectors_[3], [0, 0, 0])
    assert list(model.users_without_signal_) == [3]
    assert model.summary() == {"blend": 1, "history": 1, "text": 1, "none": 1}


def test_transform_one_matches_fit():
    model = WeightedMeanInterests(half_life_days=30, text_weight=0.3)
    users, items = np.array([0, 0, 0]), np.array([0, 1, 2])
    ratings, times = np.array([5.0, 3.0, 1.0]), np.array([0.0, 5 * DAY, 40 * DAY])
    model.fit(users, items, ITEMS, n_users=1, ratings=ratings, timestamps=times)
    again = model.transform_one(items, ITEMS, ratings=ratings, timestamps=times)
    np.testing.assert_allclose(again, model.vectors_[0], atol=1e-6)


def test_parameter_errors():
    with pytest.raises(ParameterError, match="text_weight=1.5 should be within"):
        WeightedMeanInterests(text_weight=1.5).fit(np.array([0]), np.array([0]), ITEMS, n_users=1)
    with pytest.raises(ParameterError, match="user index 3 should be < n_users=2"):
        WeightedMeanInterests().fit(np.array([3]), np.array([0]), ITEMS, n_users=2)
