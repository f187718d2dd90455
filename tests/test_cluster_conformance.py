"""Every Clusterer implementation passes the same contract tests (ClustererConformance)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from interestlens.cluster import (
    AgglomerativeClusterer,
    AutoKClusterer,
    Clusterer,
    DBSCANClusterer,
    GaussianMixtureClusterer,
    HDBSCANClusterer,
    KMeansClusterer,
    MiniBatchKMeansClusterer,
    NearestCentroidClusterer,
    PCAReducer,
    ReducedClusterer,
    UMAPReducer,
    clusterer_from_state,
    clustering_metrics,
)
from interestlens.cluster.synthetic import interest_blobs
from interestlens.errors import ConfigError, DataError, NotFittedError, ParameterError
from interestlens.model_dir import read_clusterer_state, write_clusterer_state

N_CLUSTERS = 4


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def blobs():
    return interest_blobs(N_CLUSTERS, n_per_cluster=30, dimension=16, seed=1)


@pytest.fixture(scope="module")
def new_rows():
    # Rows drawn around the same four directions as `blobs`, not seen in fitting.
    rows, labels = interest_blobs(N_CLUSTERS, n_per_cluster=30, dimension=16, seed=1)
    rng = np.random.default_rng(7)
    moved = rows + 0.02 * rng.standard_normal(rows.shape).astype(np.float32)
    return moved / np.linalg.norm(moved, axis=1, keepdims=True), labels


class ClustererConformance:
    """Subclass and implement ``make(seed)``; every test here must pass."""

    #: the message fit raises on 3 rows
    too_few_message = r"n_samples=3 should be >= n_clusters=4"
    #: whether fit on the same data with the same seed must give identical centroids
    soft = False

    def make(self, seed: int = 0):
        raise NotImplementedError

    def test_fitted_model_is_a_clusterer(self, blobs):
        assert isinstance(self.make().fit(blobs[0]), Clusterer)

    def test_fit_returns_self(self, blobs):
        model = self.make()
        assert model.fit(blobs[0]) is model

    def test_fitted_attributes(self, blobs):
        X, _ = blobs
        model = self.make().fit(X)
        assert model.labels_.shape == (len(X),)
        assert np.issubdtype(model.labels_.dtype, np.integer)
        assert model.n_clusters_ == N_CLUSTERS
        assert model.centroids_.dtype == np.float32
        assert model.centroids_.shape == (N_CLUSTERS, X.shape[1])

    def test_recovers_well_separated_blobs(self, blobs):
        X, truth = blobs
        model = self.make().fit(X)
        assert clustering_metrics(truth, model.labels_)["adjusted_rand"] == pytest.approx(1.0)

    def test_centroids_are_member_means_in_input_space(self, blobs):
        X, _ = blobs
        model = self.make().fit(X)
        for cluster in range(model.n_clusters_):
            members = X[model.labels_ == cluster]
            np.testing.assert_allclose(model.centroids_[cluster], members.mean(axis=0), atol=1e-3)

    def test_predict_on_training_rows_returns_their_cluster(self, blobs):
        X, _ = blobs
        model = self.make().fit(X)
        np.testing.assert_array_equal(model.predict(X), model.labels_)

    def test_predict_new_rows_goes_to_nearest_cluster(self, blobs, new_rows):
        model = self.make().fit(blobs[0])
        rows, truth = new_rows
        predicted = model.predict(rows)
        assert (predicted >= 0).all()
        assert clustering_metrics(truth, predicted)["adjusted_rand"] == pytest.approx(1.0)

    def test_same_seed_same_result(self, blobs):
        X, _ = blobs
        first, second = self.make(seed=3).fit(X), self.make(seed=3).fit(X)
        np.testing.assert_array_equal(first.labels_, second.labels_)
        np.testing.assert_array_equal(first.centroids_, second.centroids_)

    def test_predict_before_fit_raises(self, blobs):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            self.make().predict(blobs[0])

    def test_too_few_rows_is_a_parameter_error(self, blobs):
        with pytest.raises(ParameterError, match=self.too_few_message):
            self.make().fit(blobs[0][:3])

    def test_rejects_nan(self, blobs):
        X = blobs[0].copy()
        X[5, 2] = np.nan
        with pytest.raises(DataError, match="1 rows with NaN"):
            self.make().fit(X)

    def test_rejects_1d_input(self, blobs):
        with pytest.raises(DataError, match="expected a 2-D array"):
            self.make().fit(blobs[0][0])

    def test_predict_rejects_other_dimension(self, blobs):
        model = self.make().fit(blobs[0])
        with pytest.raises(DataError, match="X has 15 features but"):
            model.predict(blobs[0][:, :15])

    def test_saved_state_predicts_identically(self, blobs, new_rows, tmp_path):
        model = self.make().fit(blobs[0])
        write_clusterer_state(tmp_path, model.get_state())
        restored = clusterer_from_state(read_clusterer_state(tmp_path))
        np.testing.assert_array_equal(restored.predict(new_rows[0]), model.predict(new_rows[0]))
        np.testing.assert_array_equal(restored.labels_, model.labels_)
        np.testing.assert_array_equal(restored.centroids_, model.centroids_)
        if self.soft:
            np.testing.assert_allclose(
                restored.predict_proba(new_rows[0]), model.predict_proba(new_rows[0]), atol=1e-6
            )

    def test_soft_methods_have_probabilities(self, blobs):
        model = self.make().fit(blobs[0])
        assert hasattr(model, "predict_proba") == self.soft
        if self.soft:
            proba = model.predict_proba(blobs[0])
            assert proba.shape == (len(blobs[0]), N_CLUSTERS)
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
            np.testing.assert_array_equal(np.argmax(proba, axis=1), model.predict(blobs[0]))


class TestKMeansFaiss(ClustererConformance):
    def make(self, seed=0):
        return KMeansClusterer(N_CLUSTERS, backend="faiss", random_state=seed)


class TestKMeansSklearn(ClustererConformance):
    def make(self, seed=0):
        return KMeansClusterer(N_CLUSTERS, backend="sklearn", random_state=seed)


class TestMiniBatchKMeans(ClustererConformance):
    def make(self, seed=0):
        return MiniBatchKMeansClusterer(N_CLUSTERS, batch_size=64, n_init=1, random_state=seed)


class TestAgglomerativeWard(ClustererConformance):
    def make(self, seed=0):
        return AgglomerativeClusterer(N_CLUSTERS, linkage="ward")


class TestAgglomerativeAverageCosine(ClustererConformance):
    def make(self, seed=0):
        return AgglomerativeClusterer(N_CLUSTERS, linkage="average")


class TestGaussianMixture(ClustererConformance):
    soft = True

    def make(self, seed=0):
        return GaussianMixtureClusterer(N_CLUSTERS, random_state=seed)


class TestHDBSCAN(ClustererConformance):
    too_few_message = r"n_samples=3 should be >= min_cluster_size=5"

    def make(self, seed=0):
        return HDBSCANClusterer(5, random_state=seed)


class TestDBSCAN(ClustererConformance):
    too_few_message = r"n_samples=3 should be >= min_cluster_size=5"

    def make(self, seed=0):
        return DBSCANClusterer(0.5, min_cluster_size=5, random_state=seed)


class TestPCAThenKMeans(ClustererConformance):
    def make(self, seed=0):
        return ReducedClusterer(
            PCAReducer(6, random_state=seed), KMeansClusterer(N_CLUSTERS, random_state=seed)
        )


class TestPCAThenGaussianMixture(ClustererConformance):
    soft = True

    def make(self, seed=0):
        return ReducedClusterer(
            PCAReducer(6, random_state=seed),
            GaussianMixtureClusterer(N_CLUSTERS, covariance_type="full", random_state=seed),
        )


class TestPCAThenHDBSCAN(ClustererConformance):
    too_few_message = r"n_samples=3 should be >= min_cluster_size=5"

    def make(self, seed=0):
        return ReducedClusterer(PCAReducer(6), HDBSCANClusterer(5, random_state=seed))


class TestAutoKMeans(ClustererConformance):
    too_few_message = r"n_samples=3 should be > k_max=6"

    def make(self, seed=0):
        return AutoKClusterer(KMeansClusterer(random_state=seed), k_min=2, k_max=6)


class TestAutoKGaussianMixture(ClustererConformance):
    soft = True
    too_few_message = r"n_samples=3 should be > k_max=6"

    def make(self, seed=0):
        return AutoKClusterer(GaussianMixtureClusterer(random_state=seed), k_min=2, k_max=6)


class TestNearestCentroidDouble(ClustererConformance):
    """The library's test double: fixed centroids, so two tests assert its own behaviour."""

    def make(self, seed=0):
        centres, _ = interest_blobs(N_CLUSTERS, n_per_cluster=1, dimension=16, spread=0, seed=1)
        return NearestCentroidClusterer(centres)

    def test_centroids_are_member_means_in_input_space(self, blobs):
        model = self.make().fit(blobs[0])
        np.testing.assert_array_equal(model.centroids_, self.make().centroids)

    def test_too_few_rows_is_a_parameter_error(self, blobs):
        # Nothing is learned, so labelling fewer rows than centroids is fine.
        assert self.make().fit(blobs[0][:3]).labels_.shape == (3,)


def test_nearest_centroid_double_keeps_its_centroids():
    centres = np.eye(3, dtype=np.float32)
    model = NearestCentroidClusterer(centres).fit(np.eye(3, dtype=np.float32))
    np.testing.assert_array_equal(model.labels_, [0, 1, 2])
    np.testing.assert_array_equal(model.predict(np.array([[0.1, 0.9, 0.0]])), [1])


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("RUN_UMAP_TESTS"),
    reason="UMAP's numba compilation takes minutes on 2 shared cores; "
    "set RUN_UMAP_TESTS=1 to run it",
)
def test_umap_reduction_clusters_and_restores_by_centroids(blobs, new_rows, tmp_path):
    pytest.importorskip("umap", reason="needs the optional umap-learn package")
    X, truth = blobs
    model = ReducedClusterer(
        UMAPReducer(4, n_neighbors=10, random_state=0), KMeansClusterer(N_CLUSTERS, random_state=0)
    ).fit(X)
    assert clustering_metrics(truth, model.labels_)["adjusted_rand"] == pytest.approx(1.0)
    state = model.get_state()
    assert state.params["exact_restore"] is False
    write_clusterer_state(tmp_path, state)
    restored = clusterer_from_state(read_clusterer_state(tmp_path))
    # Without the UMAP object, a restored model predicts by input-space centroid: same answer
    # on well-separated groups.
    np.testing.assert_array_equal(restored.predict(new_rows[0]), model.predict(new_rows[0]))


def test_umap_missing_is_a_clear_config_error(monkeypatch, blobs):
    import builtins

    real_import = builtins.__import__

    def no_umap(name, *args, **kwargs):
        if name == "umap":
            raise ImportError("No module named 'umap'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_umap)
    with pytest.raises(ConfigError, match=r"needs the umap-learn package.*interestlens\[umap\]"):
        UMAPReducer(4).fit_transform(blobs[0])
