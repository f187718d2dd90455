"""Automatic k: the rule, the scores kept, and recovery of a known k."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interestlens.cluster import (
    AgglomerativeClusterer,
    AutoKClusterer,
    GaussianMixtureClusterer,
    KMeansClusterer,
    KSelection,
    choose_k,
    fit_clustering,
    internal_scores,
    scan_k,
)
from interestlens.cluster.select_k import elbow_k
from interestlens.cluster.synthetic import interest_blobs
from interestlens.config import ClusterConfig
from interestlens.errors import ParameterError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def four_blobs():
    return interest_blobs(4, n_per_cluster=25, dimension=16, seed=2)


@pytest.mark.parametrize(
    "estimator",
    [
        KMeansClusterer(random_state=0),
        AgglomerativeClusterer(linkage="ward"),
        AgglomerativeClusterer(linkage="average"),
        GaussianMixtureClusterer(random_state=0),
    ],
    ids=["kmeans", "ward", "average-cosine", "gmm"],
)
def test_auto_k_finds_four_blobs(four_blobs, estimator):
    X, _ = four_blobs
    model = AutoKClusterer(estimator, k_min=2, k_max=8).fit(X)
    assert model.n_clusters_ == 4
    assert model.selection_.chosen_k == 4
    assert model.selection_.best_k_by["silhouette"] == 4


def test_scores_are_kept_for_every_k_and_serialise(four_blobs):
    X, _ = four_blobs
    model = AutoKClusterer(KMeansClusterer(random_state=0), k_min=2, k_max=7).fit(X)
    selection = model.selection_
    assert selection.ks == [2, 3, 4, 5, 6, 7]
    for column in ("inertia", "silhouette", "silhouette_se", "calinski_harabasz", "davies_bouldin"):
        assert len(getattr(selection, column)) == 6
    assert selection.bic is None
    # Inertia falls with k; the elbow of 4 blobs is at 4.
    assert all(a >= b for a, b in zip(selection.inertia, selection.inertia[1:], strict=False))
    assert selection.elbow_k == 4
    assert selection.best_k_by["calinski_harabasz"] == 4
    assert selection.best_k_by["davies_bouldin"] == 4
    text = json.dumps(selection.to_dict())
    assert KSelection.from_dict(json.loads(text)) == selection
    assert [row["k"] for row in selection.table()] == selection.ks


def test_gmm_scan_records_bic(four_blobs):
    X, _ = four_blobs
    selection = AutoKClusterer(GaussianMixtureClusterer(random_state=0), k_min=2, k_max=5).fit(X)
    scan = selection.selection_
    assert scan.ks == [2, 3, 4, 5] and len(scan.bic) == 4
    assert scan.ks[scan.bic.index(min(scan.bic))] == 4  # lower BIC is better
    assert scan.best_k_by["bic"] == 4


def test_rule_takes_highest_silhouette():
    assert choose_k([2, 3, 4, 5], [0.2, 0.4, 0.7, 0.5]) == 4


def test_rule_breaks_ties_within_one_standard_error_by_smallest_k():
    # Best is k=4 (0.70, standard error 0.01): k=3 at 0.695 is within it, k=2 is not.
    assert choose_k([2, 3, 4], [0.5, 0.695, 0.70], [0.01, 0.01, 0.01]) == 3
    assert choose_k([2, 3, 4], [0.5, 0.68, 0.70], [0.01, 0.01, 0.01]) == 4
    assert choose_k([2, 3, 4], [0.5, 0.68, 0.70], [0.01, 0.01, 0.01], n_se=2.0) == 3
    # Exact silhouettes (no standard error): only equal scores tie.
    assert choose_k([2, 3, 4], [0.5, 0.6999, 0.70]) == 4
    assert choose_k([2, 3, 4], [0.7, 0.7, 0.7], [0.0, 0.0, 0.0]) == 2


def test_rule_skips_undefined_scores():
    assert choose_k([2, 3, 4], [None, 0.3, None]) == 3
    with pytest.raises(ParameterError, match="no k in"):
        choose_k([2, 3], [None, None])


def test_elbow_on_a_known_curve():
    ks = list(range(1, 9))
    inertia = [100, 50, 12, 10, 9, 8, 7, 6]
    assert elbow_k(ks, inertia) == 3
    assert elbow_k([2, 3], [5.0, 4.0]) is None


def test_explicit_k_overrides_the_scan(four_blobs):
    X, _ = four_blobs
    result = fit_clustering(X, ClusterConfig(k=3, stability_runs=0), seed=0)
    assert result.n_clusters == 3
    assert result.k_source == "fixed"
    assert result.k_selection is None


def test_fit_clustering_keeps_the_scan(four_blobs):
    X, truth = four_blobs
    result = fit_clustering(X, ClusterConfig(k_max=6, stability_runs=0), seed=0, labels_true=truth)
    assert result.k_source == "auto"
    assert result.chosen_k == 4
    assert result.k_selection["chosen_k"] == 4
    assert result.k_selection["ks"] == [2, 3, 4, 5, 6]
    assert result.metrics["adjusted_rand"] == pytest.approx(1.0)


def test_scan_refuses_k_max_not_below_n(four_blobs):
    X, _ = four_blobs
    with pytest.raises(ParameterError, match=r"n_samples=10 should be > k_max=10"):
        scan_k(X[:10], lambda k: KMeansClusterer(k).fit(X[:10]), 2, 10)
    with pytest.raises(ParameterError, match=r"k_min=5, k_max=3"):
        scan_k(X, lambda k: KMeansClusterer(k).fit(X), 5, 3)


def test_silhouette_is_sampled_and_seeded(four_blobs):
    X, truth = four_blobs
    full = internal_scores(X, truth, silhouette_sample_size=None)
    sampled = internal_scores(X, truth, silhouette_sample_size=40, random_state=1)
    again = internal_scores(X, truth, silhouette_sample_size=40, random_state=1)
    assert sampled == again
    assert full["silhouette_se"] == 0.0
    assert 0 < sampled["silhouette_se"] < 0.05
    assert sampled["silhouette"] != full["silhouette"]
    assert sampled["silhouette"] == pytest.approx(
        full["silhouette"], abs=3 * sampled["silhouette_se"]
    )


def test_internal_scores_ignore_noise_and_need_two_clusters(four_blobs):
    X, truth = four_blobs
    labels = truth.copy()
    labels[:5] = -1
    scores = internal_scores(X, labels)
    assert scores == internal_scores(X[5:], truth[5:])
    single = internal_scores(X, np.zeros(len(X), dtype=np.int64))
    assert single["silhouette"] is None
    assert single["inertia"] > 0
