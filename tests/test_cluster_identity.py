"""Stable cluster ids across refits: known answers on tiny snapshots, a refit of the demo."""

from __future__ import annotations

import numpy as np
import pytest

from interestlens import InterestLens, load_settings, make_demo_dataset
from interestlens.cluster.identity import (
    BORN,
    DISSOLVED,
    KEPT,
    SPLIT,
    ClusterSnapshot,
    centroids_by_cluster,
    match_clusters,
)
from interestlens.data.schema import Dataset
from interestlens.errors import ParameterError


def _blobs(seed: int = 0, n: int = 30, d: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.eye(d)[:4] * 5
    labels = np.repeat(np.arange(4), n)
    return centres[labels] + rng.normal(0, 0.3, (len(labels), d)), labels


def _snapshot(users, vectors, labels, **kwargs) -> ClusterSnapshot:
    return ClusterSnapshot(
        user_ids=users, labels=labels, centroids=centroids_by_cluster(vectors, labels), **kwargs
    )


def test_permuted_clusters_map_back_to_their_ids():
    vectors, labels = _blobs()
    users = [f"u{i}" for i in range(len(labels))]
    previous = _snapshot(users, vectors, labels, names={0: "a", 1: "b", 2: "c", 3: "d"})
    permutation = np.array([2, 0, 3, 1])
    current = _snapshot(users, vectors, permutation[labels])
    match = match_clusters(previous, current)
    assert {new: match.mapping[new] for new in range(4)} == {2: 0, 0: 1, 3: 2, 1: 3}
    assert match.users_kept_id == 1.0
    assert match.kinds() == {KEPT: 4}
    assert match.next_id == 4


def test_permuted_without_shared_users_matches_by_centroid():
    vectors, labels = _blobs()
    previous = _snapshot([f"a{i}" for i in range(len(labels))], vectors, labels)
    other, other_labels = _blobs(seed=1)
    current = _snapshot([f"b{i}" for i in range(len(labels))], other, (other_labels + 1) % 4)
    match = match_clusters(previous, current)
    assert match.mapping == {1: 0, 2: 1, 3: 2, 0: 3}
    assert match.users_kept_id is None


def test_a_split_is_recorded_as_split_and_a_new_interest_as_born():
    vectors, labels = _blobs()
    users = [f"u{i}" for i in range(len(labels))]
    # before: groups 0 and 1 were one interest (id 0); group 3 did not exist yet
    before = np.where(labels == 1, 0, labels)
    keep = labels != 3
    previous = _snapshot(
        [u for u, k in zip(users, keep, strict=True) if k],
        vectors[keep],
        np.where(before[keep] == 2, 1, before[keep]),
        next_id=5,
    )
    current = _snapshot(users, vectors, labels)
    match = match_clusters(previous, current)
    kinds = {event["kind"]: event for event in match.events if event["kind"] != KEPT}
    assert kinds[SPLIT]["from"] == 0
    assert kinds[SPLIT]["id"] >= 5  # a new id, never a reused one
    assert kinds[BORN]["id"] >= 5
    assert match.mapping[2] == 1  # the unchanged group keeps its id


def test_a_cluster_gone_is_dissolved():
    vectors, labels = _blobs()
    users = [f"u{i}" for i in range(len(labels))]
    previous = _snapshot(users, vectors, labels, names={3: "gone"})
    keep = labels != 3
    current = _snapshot(
        [u for u, k in zip(users, keep, strict=True) if k], vectors[keep], labels[keep]
    )
    match = match_clusters(previous, current)
    assert {"kind": DISSOLVED, "id": 3, "label": "gone"} in match.events


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_absurd_thresholds_are_refused(value):
    vectors, labels = _blobs()
    snap = _snapshot(["u"] * len(labels), vectors, labels)
    with pytest.raises(ParameterError, match="should be within"):
        match_clusters(snap, snap, min_score=value)


def test_refit_of_reordered_data_keeps_the_ids_of_unchanged_clusters(tmp_path):
    dataset, _ = make_demo_dataset(seed=2, n_items=120, n_users=240, n_themes=4)
    overrides = {
        "encoder.kind": "hashing",
        "encoder.cache": False,
        "encoder.show_progress": False,
        "cluster.k": 4,
        "cluster.stability_runs": 0,
        "recommend.enabled": False,
    }
    first = InterestLens(load_settings(environ={}, overrides=overrides)).fit(dataset)
    # nothing changed but the order of the rows: k-means numbers its clusters differently
    rng = np.random.default_rng(3)
    shuffled = Dataset(
        interactions=dataset.interactions.sample(frac=1.0, random_state=3).reset_index(drop=True),
        items=dataset.items,
        users=dataset.users.iloc[rng.permutation(len(dataset.users))].reset_index(drop=True),
        name="demo",
    )
    second = InterestLens(load_settings(environ={}, overrides=overrides)).fit(
        shuffled, previous=first
    )
    assert second.identity_.users_kept_id >= 0.95
    before = dict(zip(first.user_ids_.ids, first.clusters_.user_labels, strict=True))
    after = dict(zip(second.user_ids_.ids, second.clusters_.user_labels, strict=True))
    assert np.mean([before[u] == after[u] for u in before]) >= 0.95
    # labels of kept clusters are the previous ones, and the lineage survives a save and load
    names = {e.cluster_id: e.label for e in first.clusters_.explanations}
    assert all(e.label == names[e.cluster_id] for e in second.clusters_.explanations)
    loaded = InterestLens.load(second.save(tmp_path / "model"))
    assert loaded.clusters_.lineage["parent_fit_id"]
    assert np.array_equal(loaded.clusters_.user_labels, second.clusters_.user_labels)
    vectors = loaded.user_vectors_[:5]
    assert np.array_equal(loaded.clusters_.predict(vectors), second.clusters_.predict(vectors))
