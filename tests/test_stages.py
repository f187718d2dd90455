"""Every stage of InterestLens is a seam: a lens assembled from the shipped doubles fits and
predicts with answers known by hand, and from_settings builds the same model as the settings."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from interestlens import Dataset, InterestLens, load_settings, make_demo_dataset
from interestlens.cluster import InterestClusters, cluster_interests, fit_clustering
from interestlens.cluster.interest_clusters import PLACED_BY_FIT
from interestlens.config import ClusterConfig
from interestlens.errors import ModelFormatError, ParameterError
from interestlens.explain import ClusterExplainer, ClusterExplanation
from interestlens.model_dir import read_interest_clusters, write_interest_clusters
from interestlens.represent import InterestRepresenter, WeightedMeanInterests
from interestlens.testing import (
    FixedScores,
    NearestCentroidClusterer,
    StaticEncoder,
    StaticExplainer,
    StaticInterests,
)

HIKERS, COOKS = [1.0, 0.0], [0.0, 1.0]
ITEMS = pd.DataFrame(
    {
        "item_id": ["boots", "map", "pasta", "sauce"],
        "title": ["Trail boots", "Mountain map", "Pasta book", "Tomato sauce"],
    }
)
# u0..u2 hike, u3..u5 cook
INTERACTIONS = pd.DataFrame(
    {
        "user_id": ["u0", "u0", "u1", "u2", "u3", "u3", "u4", "u5"],
        "item_id": ["boots", "map", "map", "boots", "pasta", "sauce", "sauce", "pasta"],
    }
)


def about_the_outdoors(text: str) -> list[float]:
    words = text.lower()
    return HIKERS if "trail" in words or "mountain" in words else COOKS


def settings():
    return load_settings(
        environ={},
        overrides={
            "encoder.kind": "hashing",
            "encoder.cache": False,
            "encoder.show_progress": False,
            "cluster.stability_runs": 0,
            "recommend.tune": False,
        },
    )


def doubles() -> dict:
    scores = np.tile(np.array([[0.1, 0.2, 0.9, 0.4]], dtype=np.float32), (6, 1))
    return {
        "encoder": StaticEncoder(about_the_outdoors, dimension=2),
        "representer": StaticInterests(np.array([HIKERS] * 3 + [COOKS] * 3)),
        "clusterer": NearestCentroidClusterer(np.array([HIKERS, COOKS])),
        "explainer": StaticExplainer({0: "Hikers", 1: "Cooks"}),
        "recommender": FixedScores(scores),
    }


def test_a_lens_of_doubles_fits_and_predicts_known_answers():
    stages = doubles()
    lens = InterestLens(settings(), **stages)
    model = lens.fit(Dataset(INTERACTIONS, ITEMS, name="tiny"))
    # the doubles were used, each once, and are still the objects given
    assert model.get_params()["explainer"] is stages["explainer"]
    assert stages["representer"].calls == [6]
    np.testing.assert_array_equal(stages["explainer"].calls[0], [0, 0, 0, 1, 1, 1])
    table = model.cluster_table().set_index("user_id")
    assert table["label"].to_dict() == {
        "u0": "Hikers",
        "u1": "Hikers",
        "u2": "Hikers",
        "u3": "Cooks",
        "u4": "Cooks",
        "u5": "Cooks",
    }
    assert set(table["placed_by"]) == {"fit"}

    new = pd.DataFrame(
        {
            "user_id": ["u1", None, None],
            "items": [None, ["pasta"], None],
            "text": [None, None, "I walk a mountain trail every weekend"],
        }
    )
    predicted = model.predict(new)
    assert predicted["label"].tolist() == ["Hikers", "Cooks", "Hikers"]
    assert predicted["placed_by"].tolist() == ["fit", "history", "text"]
    # the recommender double's scores, seen items left out: pasta, then sauce for u0
    items, _ = model.recommender_.recommend(np.array([0]), 2)
    assert items.tolist() == [[2, 3]]


def test_a_lens_whose_representer_cannot_save_says_so(tmp_path):
    model = InterestLens(settings(), **doubles()).fit(Dataset(INTERACTIONS, ITEMS))
    with pytest.raises(ParameterError, match="StaticInterests has no state"):
        model.save(tmp_path / "model")


def test_the_representer_double_refuses_vectors_of_another_size():
    stages = doubles() | {"representer": StaticInterests(np.ones((2, 2)))}
    with pytest.raises(ParameterError, match=r"shape \(2, 2\) for n_users=6"):
        InterestLens(settings(), **stages).fit(Dataset(INTERACTIONS, ITEMS))


def test_both_representers_follow_the_protocol():
    item_vectors = np.array([HIKERS, HIKERS, COOKS, COOKS], dtype=np.float32)
    user_idx, item_idx = np.array([0, 0, 1]), np.array([0, 1, 2])
    fitted = [
        WeightedMeanInterests().fit(user_idx, item_idx, item_vectors, n_users=3),
        StaticInterests(np.array([HIKERS, COOKS, [0, 0]])).fit(
            user_idx, item_idx, item_vectors, n_users=3
        ),
    ]
    for representer in fitted:
        assert isinstance(representer, InterestRepresenter)
        np.testing.assert_allclose(representer.vectors_, [HIKERS, COOKS, [0, 0]], atol=1e-6)
        assert representer.source_.tolist() == ["history", "history", "none"]
        assert representer.users_without_signal_.tolist() == [2]
        assert representer.summary() == {"blend": 0, "history": 2, "text": 0, "none": 1}
        np.testing.assert_allclose(
            representer.transform_one(np.array([2, 3]), item_vectors), COOKS, atol=1e-6
        )


def test_the_weighted_representer_comes_back_from_its_state():
    item_vectors = np.array([HIKERS, COOKS], dtype=np.float32)
    original = WeightedMeanInterests(text_weight=0.5).fit(
        np.array([0, 1, 1]),
        np.array([0, 1, 0]),
        item_vectors,
        n_users=3,
        ratings=np.array([5.0, 4.0, 1.0]),
        user_text_vectors=np.array([[0, 0], [0, 0], [1, 0]], dtype=np.float32),
    )
    restored = WeightedMeanInterests.from_state(*original.state())
    np.testing.assert_array_equal(restored.vectors_, original.vectors_)
    assert restored.source_.tolist() == ["history", "history", "text"]
    assert restored.max_rating_ == 5.0 and restored.text_weight == 0.5
    new_user = {"ratings": np.array([2.0]), "text_vector": np.array([0.0, 1.0])}
    np.testing.assert_allclose(
        restored.transform_one(np.array([0]), item_vectors, **new_user),
        original.transform_one(np.array([0]), item_vectors, **new_user),
    )
    meta, arrays = original.state()
    with pytest.raises(ParameterError, match=r"2 sources for user vectors of shape \(3, 2\)"):
        WeightedMeanInterests.from_state(meta, arrays | {"source": arrays["source"][:2]})


def test_from_settings_builds_the_same_model_as_the_settings():
    dataset, _ = make_demo_dataset(seed=5, n_items=60, n_users=80, n_themes=3)
    overrides = settings()
    by_settings = InterestLens(overrides).fit(dataset)
    lens = InterestLens.from_settings(overrides)
    assert isinstance(lens.explainer, ClusterExplainer)
    assert lens.clusterer is not None and lens.representer is not None
    built = lens.fit(dataset)
    pd.testing.assert_frame_equal(built.cluster_table(), by_settings.cluster_table())
    assert built.clusters_.explanations == by_settings.clusters_.explanations
    np.testing.assert_array_equal(
        built.recommender_.score(np.arange(5)), by_settings.recommender_.score(np.arange(5))
    )


def test_fit_clustering_fits_a_copy_of_a_given_clusterer_and_refits_copies_for_stability():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.05, size=(30, 2)) for c in ([0, 3], [3, 0])]).astype(np.float32)
    given = NearestCentroidClusterer(np.array([[0, 3], [3, 0]]))
    result = fit_clustering(X, ClusterConfig(stability_runs=2), seed=0, clusterer=given)
    assert not hasattr(given, "labels_")  # the given object is not fitted
    assert result.labels.tolist() == [0] * 30 + [1] * 30
    assert result.method == "NearestCentroidClusterer" and result.k_source == "fixed"
    assert result.stability["mean_ari"] == pytest.approx(1.0)


def interest_clusters() -> InterestClusters:
    vectors = np.array([HIKERS, HIKERS, COOKS, [0, 0]], dtype=np.float32)
    clusters = cluster_interests(
        vectors,
        np.linalg.norm(vectors, axis=1) > 0,
        config=ClusterConfig(k=2, stability_runs=0),
        seed=0,
        clusterer=NearestCentroidClusterer(np.array([HIKERS, COOKS])),
        user_ids=["a", "b", "c", "d"],
        item_vectors=np.zeros((0, 2), dtype=np.float32),
        interactions=pd.DataFrame(
            {"user_index": [], "item_index": [], "rating": [], "timestamp": []}
        ),
        labels_true={"a": "hike", "b": "hike", "c": "cook"},
    )
    assert clusters.explanations == []  # naming is the explain stage's work
    return replace(
        clusters,
        explanations=[
            ClusterExplanation(cluster_id=0, size=2, share=0.5, label="Hikers"),
            ClusterExplanation(cluster_id=1, size=1, share=0.25, label="Cooks"),
        ],
    )


def test_interest_clusters_place_users_and_say_how_sure():
    clusters = interest_clusters()
    assert clusters.user_labels.tolist() == [0, 0, 1, -1]
    assert clusters.placed_by().tolist() == ["fit", "fit", "fit", "none"]
    assert clusters.unclustered == 1
    assert clusters.truth_metrics["adjusted_rand"] == pytest.approx(1.0)
    # cosine 1 to the own centroid, 0 to the other: softmax share 1 / (1 + e^-20)
    np.testing.assert_allclose(clusters.confidence[:3], 1 / (1 + np.exp(-20)), rtol=1e-5)
    assert np.isnan(clusters.confidence[3])
    labels, confidence = clusters.assign(np.array([COOKS, [0, 0]]))
    assert labels.tolist() == [1, -1] and np.isnan(confidence[1])
    assert [clusters.label_of(c) for c in (0, 1, -1, 7)] == [
        "Hikers",
        "Cooks",
        "no signal",
        "cluster 7",
    ]


def test_interest_clusters_come_back_from_their_state_and_their_files(tmp_path):
    clusters = interest_clusters()
    meta, arrays = clusters.state()
    assert arrays["user_placement"].tolist() == [PLACED_BY_FIT] * 3 + [0]
    again = InterestClusters.from_state(
        meta, arrays, result=clusters.result, explanations=clusters.explanations
    )
    np.testing.assert_array_equal(again.user_labels, clusters.user_labels)
    np.testing.assert_array_equal(again.placement, clusters.placement)

    write_interest_clusters(tmp_path, clusters)
    read = read_interest_clusters(tmp_path)
    np.testing.assert_array_equal(read.user_labels, clusters.user_labels)
    np.testing.assert_array_equal(read.user_map, clusters.user_map)
    assert read.explanations == clusters.explanations
    assert read.predict(np.array([COOKS], dtype=np.float32)).tolist() == [1]
    assert read_interest_clusters(tmp_path / "nothing") is None

    (tmp_path / "clustering" / "result.json").write_text('{"format": 99}')
    with pytest.raises(ModelFormatError, match="clustering result has format 99"):
        read_interest_clusters(tmp_path)
