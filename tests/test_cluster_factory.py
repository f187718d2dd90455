"""make_clusterer / fit_clustering from a ClusterConfig, and a ClusteringResult written and read
through interestlens.model_dir."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interestlens.cluster import (
    AutoKClusterer,
    ClusteringResult,
    HDBSCANClusterer,
    KMeansClusterer,
    ReducedClusterer,
    effective_reduce,
    fit_clustering,
    make_clusterer,
)
from interestlens.cluster.synthetic import interest_blobs
from interestlens.config import ClusterConfig, load_settings
from interestlens.errors import ConfigError, DataError, ModelFormatError, NotFittedError
from interestlens.model_dir import read_clustering, write_clustering

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def blobs():
    return interest_blobs(3, n_per_cluster=20, dimension=16, seed=11)


@pytest.fixture(scope="module")
def new_rows():
    rows, _ = interest_blobs(3, n_per_cluster=5, dimension=16, spread=0.1, seed=11)
    return rows


def config(**settings):
    return ClusterConfig(**({"k_max": 5, "min_cluster_size": 5, "stability_runs": 0} | settings))


def test_factory_builds_the_described_stack():
    model = make_clusterer(config(method="kmeans"), seed=3)
    assert isinstance(model, AutoKClusterer)
    assert isinstance(model.estimator, KMeansClusterer)
    assert model.estimator.random_state == 3
    fixed = make_clusterer(config(method="kmeans", k=4, reduce="pca", n_components=8), seed=3)
    assert isinstance(fixed, ReducedClusterer)
    assert fixed.clusterer.n_clusters == 4
    assert fixed.reducer.n_components == 8


def test_density_methods_reduce_with_pca_unless_told_otherwise():
    assert effective_reduce(ClusterConfig(method="hdbscan")) == "pca"
    assert effective_reduce(ClusterConfig(method="dbscan")) == "pca"
    assert effective_reduce(ClusterConfig(method="kmeans")) == "none"
    assert effective_reduce(ClusterConfig(method="hdbscan", reduce="none")) == "none"
    from_file = load_settings(overrides={"cluster.method": "hdbscan", "cluster.reduce": "none"})
    assert effective_reduce(from_file.cluster) == "none"
    model = make_clusterer(ClusterConfig(method="hdbscan"), seed=0)
    assert isinstance(model, ReducedClusterer)
    assert isinstance(model.clusterer, HDBSCANClusterer)


def test_k_with_a_density_method_is_a_config_error():
    with pytest.raises(ConfigError, match="cluster.k=5 with cluster.method='hdbscan'"):
        make_clusterer(ClusterConfig(method="hdbscan", k=5), seed=0)


@pytest.mark.parametrize(
    "settings",
    [
        {"method": "kmeans"},
        {"method": "minibatch-kmeans", "k": 3},
        {"method": "agglomerative", "linkage": "ward"},
        {"method": "agglomerative", "linkage": "average"},
        {"method": "gmm"},
        {"method": "hdbscan"},
        {"method": "dbscan", "eps": 0.5},
        {"method": "kmeans", "k": 3, "reduce": "pca", "n_components": 4},
    ],
    ids=lambda s: "-".join(str(v) for v in s.values()),
)
def test_every_method_round_trips_through_save_and_load(blobs, new_rows, tmp_path, settings):
    X, truth = blobs
    result = fit_clustering(X, config(**settings), seed=0, labels_true=truth)
    assert result.n_clusters == 3
    assert result.metrics["adjusted_rand"] == pytest.approx(1.0)
    write_clustering(tmp_path / "model", result)
    loaded = read_clustering(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict(new_rows), result.predict(new_rows))
    np.testing.assert_array_equal(loaded.labels, result.labels)
    np.testing.assert_array_equal(loaded.centroids, result.centroids)
    assert loaded.to_dict(include_arrays=False) == json.loads(
        json.dumps(result.to_dict(include_arrays=False))
    )
    if result.probabilities is not None:
        np.testing.assert_array_equal(loaded.probabilities, result.probabilities)
        np.testing.assert_allclose(
            loaded.clusterer.predict_proba(new_rows),
            result.clusterer.predict_proba(new_rows),
            atol=1e-6,
        )


def test_result_fields(blobs):
    X, truth = blobs
    result = fit_clustering(X, config(method="gmm", stability_runs=2), seed=0, labels_true=truth)
    assert result.method == "gmm"
    assert result.k_source == "auto"
    assert result.labels.dtype == np.int64
    assert result.centroids.shape == (3, 16)
    assert result.probabilities.shape == (len(X), 3)
    assert result.noise_share is None
    assert result.stability["mean_ari"] == pytest.approx(1.0)
    assert set(result.scores) == {
        "inertia",
        "silhouette",
        "silhouette_se",
        "calinski_harabasz",
        "davies_bouldin",
    }
    assert set(result.timings) == {"fit", "scores", "stability", "metrics", "total"}
    assert result.config["method"] == "gmm"


def test_saved_json_holds_no_arrays_and_no_pickle(blobs, tmp_path):
    X, _ = blobs
    write_clustering(tmp_path, fit_clustering(X, config(method="gmm", k=3), seed=0))
    text = (tmp_path / "result.json").read_text()
    assert '"labels"' not in text
    for path in tmp_path.glob("*.npy"):
        np.load(path, allow_pickle=False)
    assert (tmp_path / "probabilities.npy").exists()


def test_to_dict_and_from_dict_with_inline_arrays(blobs):
    X, _ = blobs
    result = fit_clustering(X, config(method="kmeans", k=3), seed=0)
    copy = ClusteringResult.from_dict(json.loads(json.dumps(result.to_dict())))
    np.testing.assert_array_equal(copy.labels, result.labels)
    np.testing.assert_array_equal(copy.centroids, result.centroids)
    assert copy.probabilities is None
    with pytest.raises(NotFittedError, match="carries no clusterer"):
        copy.predict(X)


def test_dbscan_noise_is_reported_and_can_be_reassigned(blobs):
    X, _ = blobs
    outlier = np.zeros((1, 16), dtype=np.float32)
    outlier[0, 0] = 1.0
    with_outlier = np.vstack([X, -X[:1], outlier])
    kept = fit_clustering(with_outlier, config(method="dbscan", eps=0.5, reduce="none"), seed=0)
    assert kept.noise_share == pytest.approx(2 / len(with_outlier))
    assert (kept.labels == -1).sum() == 2
    assert (kept.predict(with_outlier[-2:]) >= 0).all()
    moved = fit_clustering(
        with_outlier, config(method="dbscan", eps=0.5, reduce="none", reassign_noise=True), seed=0
    )
    assert moved.noise_share == pytest.approx(2 / len(with_outlier))
    assert (moved.labels >= 0).all()
    np.testing.assert_array_equal(moved.labels[-2:], moved.predict(with_outlier[-2:]))


def test_damaged_or_foreign_directories_are_model_format_errors(blobs, tmp_path):
    X, _ = blobs
    write_clustering(tmp_path, fit_clustering(X, config(method="kmeans", k=3), seed=0))
    (tmp_path / "model.cluster_centers.npy").unlink()
    with pytest.raises(ModelFormatError, match="model.cluster_centers.npy is missing"):
        read_clustering(tmp_path)
    (tmp_path / "result.json").write_text('{"format": 99}')
    with pytest.raises(ModelFormatError, match="has format 99"):
        read_clustering(tmp_path)
    with pytest.raises(ModelFormatError, match="result.json is missing"):
        read_clustering(tmp_path / "elsewhere")


def test_labels_true_must_align(blobs):
    X, truth = blobs
    with pytest.raises(DataError, match=f"labels_true has 3 labels for {len(X)} rows"):
        fit_clustering(X, config(k=3), seed=0, labels_true=truth[:3])
