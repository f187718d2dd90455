"""The one lift module and the one reason wording, shared by the recommender's ``explain``
and the engine, on tiny inputs whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from interestlens.recommend.interest.lift import cluster_item_weight, cluster_lift, item_log_shares
from interestlens.recommend.interest.reasons import (
    POPULAR_OVERALL,
    REASON_LIFT,
    reason,
    reason_texts,
)

LABELS = ["space fans", "romance fans"]
NAMES = ["Moon Base", "Vows", "Orbit"]


def test_cluster_item_weight_sums_each_clusters_rows_and_leaves_out_the_unclustered():
    weights = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [5.0, 5.0], [1.0, 1.0]]))
    counts = cluster_item_weight(np.array([0, 1, -1, 0]), weights, 2)
    np.testing.assert_array_equal(counts, [[2.0, 1.0], [0.0, 2.0]])


def test_lift_is_the_shrunk_cluster_share_over_the_global_share():
    counts = np.array([[3.0, 1.0], [1.0, 3.0]])
    floor = 0.1 / 8  # a tenth of one interaction out of eight
    lift = cluster_lift(counts, shrinkage=0.0)
    expected = np.log(0.75 + floor) - np.log(0.5 + floor)
    assert lift[0, 0] == pytest.approx(expected, rel=1e-6)
    assert lift[1, 1] == pytest.approx(expected, rel=1e-6)
    assert lift[0, 1] == pytest.approx(np.log(0.25 + floor) - np.log(0.5 + floor), rel=1e-6)
    # shrinkage pulls a cluster toward the global shares: a huge one leaves no lift
    np.testing.assert_allclose(cluster_lift(counts, shrinkage=1e9), 0.0, atol=1e-6)
    _, _, log_floor = item_log_shares(counts, 0.0)
    assert log_floor == pytest.approx(np.log(floor), rel=1e-6)


def test_every_wording_of_a_reason():
    log_lift = np.log(REASON_LIFT)
    texts = reason_texts(
        cluster=np.array([0, 1, 0, 1, -1, -1, 7]),
        lift=np.array([log_lift + 0.1, log_lift - 0.1, 0.0, 2.0, 0.0, 0.0, 5.0]),
        known_item=np.array([True, True, False, True, True, True, True]),
        similar=np.array([2, -1, -1, -1, 0, -1, -1]),
        has_text=np.array([False, True, False, False, False, False, False]),
        cluster_labels=LABELS,
        item_names=NAMES,
    )
    assert texts.tolist() == [
        "popular among space fans; similar to Orbit, which you rated",
        "fits the interests of romance fans; close to what you wrote",
        "new item, close to what space fans like",
        "popular among romance fans",
        "similar to Moon Base, which you rated",
        POPULAR_OVERALL,
        POPULAR_OVERALL,  # a cluster id without a label is no cluster
    ]


def test_repeated_pairs_are_worded_alike_and_only_used_names_are_read():
    read: set[int] = set()

    class Names(list):
        def __getitem__(self, index):
            read.add(index)
            return super().__getitem__(index)

    names = Names(f"film {i}" for i in range(1000))
    rng = np.random.default_rng(0)
    similar = rng.choice([3, 7, -1], size=5000)
    texts = reason_texts(
        cluster=rng.integers(-1, 2, 5000),
        lift=rng.normal(0, 1, 5000),
        known_item=rng.random(5000) > 0.1,
        similar=similar,
        has_text=rng.random(5000) > 0.5,
        cluster_labels=LABELS,
        item_names=names,
    )
    assert read == {3, 7}
    one = reason_texts(
        np.array([1]), np.array([2.0]), np.array([True]), np.array([7]), np.array([False]),
        cluster_labels=LABELS, item_names=names,
    )  # fmt: skip
    assert one.tolist() == ["popular among romance fans; similar to film 7, which you rated"]
    assert len(set(texts.tolist())) <= 3 * 3 * 4  # (none + 2 clusters x 3 kinds) x 4 seconds


def test_no_pairs_give_no_reasons():
    none, no = np.zeros(0), np.zeros(0, dtype=bool)
    texts = reason_texts(none, none, no, none, no, cluster_labels=[], item_names=[])
    assert texts.shape == (0,)


def test_the_recommenders_reason_names_the_cluster_that_explains_the_item_best():
    # the user is mostly in cluster 0, but cluster 1 likes the item far more
    membership = np.array([0.6, 0.4, 0.0])
    lift = np.array([-1.0, 1.5, 3.0])
    text = reason(
        membership, lift, warm_item=True, labels=[*LABELS, "drama fans"], similar="Vows",
        has_text=False,
    )  # fmt: skip
    assert text == "popular among romance fans; similar to Vows, which you rated"
    nobody = reason(
        np.zeros(3), lift, warm_item=True, labels=[*LABELS, "x"], similar=None, has_text=True
    )
    assert nobody == "close to what you wrote"
