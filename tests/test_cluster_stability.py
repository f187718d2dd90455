"""Stability: near 1 on clean blobs, clearly lower on structureless data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interestlens.cluster import (
    DBSCANClusterer,
    KMeansClusterer,
    StabilityReport,
    fit_clustering,
    stability,
)
from interestlens.cluster.synthetic import interest_blobs, uniform_directions
from interestlens.config import ClusterConfig
from interestlens.errors import ConfigError, ParameterError

pytestmark = pytest.mark.usefixtures("one_thread")


def kmeans(k):
    return lambda seed: KMeansClusterer(k, random_state=seed)


def test_clean_blobs_are_stable():
    X, _ = interest_blobs(4, n_per_cluster=30, seed=3)
    report = stability(X, kmeans(4), n_runs=4, random_state=0)
    assert report.mean_ari == pytest.approx(1.0)
    assert len(report.pairwise_ari) == 6  # 4 runs, every pair
    assert report.n_clusters_per_run == [4, 4, 4, 4]


def test_structureless_data_is_less_stable():
    X = uniform_directions(150, dimension=16, seed=3)
    report = stability(X, kmeans(6), n_runs=4, random_state=0)
    assert report.mean_ari < 0.6
    blobs, _ = interest_blobs(6, n_per_cluster=25, seed=3)
    assert stability(blobs, kmeans(6), n_runs=4, random_state=0).mean_ari > report.mean_ari + 0.3


@pytest.mark.parametrize("sample", ["subsample", "bootstrap", "none"])
def test_sampling_modes(sample):
    X, truth = interest_blobs(3, n_per_cluster=20, seed=4)
    report = stability(
        X, kmeans(3), n_runs=3, sample=sample, random_state=0, reference_labels=truth
    )
    assert report.sample == sample
    assert report.mean_ari == pytest.approx(1.0)
    assert report.mean_ari_vs_full == pytest.approx(1.0)
    assert len(report.ari_vs_full) == 3


def test_same_seed_same_report_and_it_serialises():
    X = uniform_directions(80, seed=5)
    first = stability(X, kmeans(4), n_runs=3, random_state=9)
    second = stability(X, kmeans(4), n_runs=3, random_state=9)
    assert first.pairwise_ari == second.pairwise_ari
    data = json.loads(json.dumps(first.to_dict()))
    assert StabilityReport.from_dict(data).pairwise_ari == first.pairwise_ari


def test_failed_runs_are_reported_not_hidden():
    # One group of 6 rows: an 80% subsample has 5, fewer than min_cluster_size=6, which is a
    # ParameterError for that run; the report lists it instead of failing or hiding it.
    X, _ = interest_blobs(1, n_per_cluster=6, seed=6, spread=0.01)
    report = stability(
        X, lambda seed: DBSCANClusterer(0.2, min_cluster_size=6), n_runs=2, random_state=0
    )
    assert [run["run"] for run in report.failed_runs] == [0, 1]
    assert "n_samples=5 should be >= min_cluster_size=6" in report.failed_runs[0]["error"]
    assert report.mean_ari is None


def test_needs_two_runs():
    X, _ = interest_blobs(2, n_per_cluster=5)
    with pytest.raises(ParameterError, match="stability n_runs=1"):
        stability(X, kmeans(2), n_runs=1)
    with pytest.raises(ConfigError, match="stability_runs=1"):
        fit_clustering(X, ClusterConfig(k=2, stability_runs=1), seed=0)


def test_fit_clustering_reports_stability_with_every_fit():
    X, _ = interest_blobs(3, n_per_cluster=20, seed=7)
    result = fit_clustering(X, ClusterConfig(k=3, stability_runs=3), seed=0)
    assert result.stability["n_runs"] == 3
    assert result.stability["mean_ari"] == pytest.approx(1.0)
    assert result.stability["mean_ari_vs_full"] == pytest.approx(1.0)
    assert result.timings["stability"] > 0
    assert np.isfinite(result.timings["total"])
