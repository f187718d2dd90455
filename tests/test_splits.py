"""Split properties: no leakage, cold parts really cold, temporal order, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from interestlens.errors import (
    EmptyDataError,
    InvalidValueError,
    MissingColumnsError,
    ParameterError,
)
from interestlens.evaluate import (
    cold_item_holdout,
    cold_user_holdout,
    leave_last_n,
    random_holdout,
    temporal_holdout,
    validation_split,
)


@pytest.fixture
def interactions() -> pd.DataFrame:
    """30 users with 1..12 events each over 40 items, timestamps shuffled within users."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(30):
        n_events = 1 + user % 12
        items = rng.choice(40, size=n_events, replace=False)
        times = rng.permutation(n_events) * 100 + user
        rows += [
            (f"u{user}", f"i{item}", 4.0, int(t)) for item, t in zip(items, times, strict=True)
        ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    return frame.sample(frac=1.0, random_state=1).reset_index(drop=True)


def pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame.user_id, frame.item_id, strict=True))


def assert_partition(split, interactions: pd.DataFrame) -> None:
    parts = [split.train, split.test] + ([split.history] if split.history is not None else [])
    assert sum(len(part) for part in parts) == len(interactions)
    assert not pairs(split.train) & pairs(split.test), "a test pair leaked into training"
    assert list(split.train.columns) == list(interactions.columns)


def test_temporal_holdout_test_events_come_after_train_events(interactions) -> None:
    split = temporal_holdout(interactions, 0.25)
    assert_partition(split, interactions)
    last_train = split.train.groupby("user_id").timestamp.max()
    first_test = split.test.groupby("user_id").timestamp.min()
    assert (first_test >= last_train.reindex(first_test.index)).all()
    sizes = interactions.groupby("user_id").size()
    test_sizes = split.test.groupby("user_id").size().reindex(sizes.index, fill_value=0)
    expected = np.where(
        sizes > 1, np.minimum(np.maximum(np.floor(sizes * 0.25 + 0.5), 1), sizes - 1), 0
    )
    assert test_sizes.tolist() == expected.astype(int).tolist()
    assert set(split.train.user_id) == set(interactions.user_id)  # everyone keeps history
    assert split.cold_users == () and split.cold_items == ()


def test_temporal_holdout_keeps_input_order_for_equal_timestamps() -> None:
    frame = pd.DataFrame(
        {"user_id": ["a"] * 4, "item_id": ["x", "y", "z", "w"], "timestamp": [5, 5, 5, 1]}
    )
    split = temporal_holdout(frame, 0.25)
    assert split.test.item_id.tolist() == ["z"]


def test_leave_last_n_and_min_train(interactions) -> None:
    split = leave_last_n(interactions, n=2, min_train=3)
    assert_partition(split, interactions)
    sizes = interactions.groupby("user_id").size()
    test_sizes = split.test.groupby("user_id").size().reindex(sizes.index, fill_value=0)
    assert (test_sizes == np.clip(sizes - 3, 0, 2)).all()
    latest = interactions.sort_values("timestamp").groupby("user_id").tail(2)
    assert pairs(split.test) <= pairs(latest)


def test_random_holdout_is_seeded(interactions) -> None:
    first = random_holdout(interactions, 0.3, seed=5)
    again = random_holdout(interactions, 0.3, seed=5)
    other = random_holdout(interactions, 0.3, seed=6)
    assert_partition(first, interactions)
    pd.testing.assert_frame_equal(first.test, again.test)
    assert pairs(first.test) != pairs(other.test)
    assert set(first.train.user_id) == set(interactions.user_id)


def test_cold_user_holdout_moves_whole_users(interactions) -> None:
    split = cold_user_holdout(interactions, user_fraction=0.2, seed=3)
    assert_partition(split, interactions)
    assert len(split.cold_users) == 6
    assert not set(split.cold_users) & set(split.train.user_id)
    assert set(split.test.user_id) == set(split.cold_users)
    assert split.history is None


def test_cold_user_holdout_with_fold_in_history(interactions) -> None:
    split = cold_user_holdout(interactions, user_fraction=0.2, seed=3, history_per_user=2)
    assert_partition(split, interactions)
    assert not set(split.cold_users) & set(split.train.user_id)
    assert (split.history.groupby("user_id").size() == 2).all()
    assert not pairs(split.history) & pairs(split.test)
    last_history = split.history.groupby("user_id").timestamp.max()
    first_test = split.test.groupby("user_id").timestamp.min()
    assert (first_test >= last_history.reindex(first_test.index)).all()


def test_cold_item_holdout_removes_items_from_training(interactions) -> None:
    split = cold_item_holdout(interactions, item_fraction=0.25, seed=2)
    assert_partition(split, interactions)
    n_items = interactions.item_id.nunique()
    assert len(split.cold_items) == int(np.floor(n_items * 0.25 + 0.5))
    assert not set(split.cold_items) & set(split.train.item_id)
    assert set(split.test.item_id) == set(split.cold_items)
    assert set(split.cold_users) == set(split.test.user_id) - set(split.train.user_id)


def test_validation_split_uses_training_part_only(interactions) -> None:
    split = temporal_holdout(interactions, 0.2)
    validation = validation_split(split, "temporal", fraction=0.2)
    assert pairs(validation.train) | pairs(validation.test) == pairs(split.train)
    assert not pairs(validation.test) & pairs(split.test)
    assert validation.kind == "validation_temporal"
    random_part = validation_split(split.train, "random", fraction=0.2, seed=1)
    assert pairs(random_part.test) <= pairs(split.train)


def test_split_errors(interactions) -> None:
    with pytest.raises(ParameterError, match=r"test_fraction=1.5 should be in \(0, 1\)"):
        temporal_holdout(interactions, 1.5)
    with pytest.raises(MissingColumnsError, match="lack \\['timestamp'\\]"):
        temporal_holdout(interactions.drop(columns="timestamp"))
    with pytest.raises(EmptyDataError, match="interactions has no rows"):
        random_holdout(interactions.iloc[:0])
    with_gap = interactions.astype({"timestamp": "float64"})
    with_gap.loc[0, "timestamp"] = np.nan
    with pytest.raises(InvalidValueError, match="1 interactions have no timestamp"):
        temporal_holdout(with_gap)
    with pytest.raises(ParameterError, match="user_fraction=0.01 of 30 users selects none"):
        cold_user_holdout(interactions, user_fraction=0.01)
    with pytest.raises(ParameterError, match="min_train=0 should be an integer >= 1"):
        leave_last_n(interactions, min_train=0)
    with pytest.raises(ParameterError, match="method='kfold'"):
        validation_split(interactions, "kfold")
