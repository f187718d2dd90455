"""Clustering metrics against known labels, cross-checked with scikit-learn and by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix, pair_confusion_matrix

from interestlens.cluster import clustering_metrics, pairwise_scores, purity
from interestlens.errors import DataError, ParameterError


def random_labelings(seed: int, n: int = 60):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, size=n), rng.integers(0, 5, size=n)


def brute_force_pairs(truth, predicted):
    same_both = same_predicted = same_true = 0
    for i, j in itertools.combinations(range(len(truth)), 2):
        same_t, same_p = truth[i] == truth[j], predicted[i] == predicted[j]
        same_both += same_t and same_p
        same_predicted += same_p
        same_true += same_t
    return same_both, same_predicted, same_true


@pytest.mark.parametrize("seed", range(5))
def test_pairwise_scores_match_sklearn_pair_confusion_matrix(seed):
    truth, predicted = random_labelings(seed)
    # sklearn counts ordered pairs: [[.., FP], [FN, TP]] with C[1, 1] = 2 * TP.
    confusion = pair_confusion_matrix(truth, predicted)
    tp, fp, fn = confusion[1, 1], confusion[0, 1], confusion[1, 0]
    scores = pairwise_scores(truth, predicted)
    assert scores["pairwise_precision"] == pytest.approx(tp / (tp + fp))
    assert scores["pairwise_recall"] == pytest.approx(tp / (tp + fn))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert scores["pairwise_f1"] == pytest.approx(2 * precision * recall / (precision + recall))


@pytest.mark.parametrize("seed", range(3))
def test_pairwise_scores_match_brute_force(seed):
    truth, predicted = random_labelings(seed, n=25)
    same_both, same_predicted, same_true = brute_force_pairs(truth, predicted)
    scores = pairwise_scores(truth, predicted)
    assert scores["pairwise_precision"] == pytest.approx(same_both / same_predicted)
    assert scores["pairwise_recall"] == pytest.approx(same_both / same_true)


@pytest.mark.parametrize("seed", range(5))
def test_purity_matches_sklearn_contingency_matrix(seed):
    truth, predicted = random_labelings(seed)
    table = contingency_matrix(truth, predicted)  # rows: true classes, columns: clusters
    assert purity(truth, predicted) == pytest.approx(table.max(axis=0).sum() / table.sum())


@pytest.mark.parametrize("seed", range(3))
def test_ari_and_nmi_are_sklearns(seed):
    truth, predicted = random_labelings(seed)
    metrics = clustering_metrics(truth, predicted)
    assert metrics["adjusted_rand"] == pytest.approx(adjusted_rand_score(truth, predicted))
    assert metrics["normalized_mutual_info"] == pytest.approx(
        normalized_mutual_info_score(truth, predicted)
    )


def test_perfect_clustering_scores_one_whatever_the_label_names():
    truth = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([7, 7, 3, 3, 9, 9])
    metrics = clustering_metrics(truth, predicted)
    for name in ("adjusted_rand", "normalized_mutual_info", "purity", "pairwise_f1"):
        assert metrics[name] == pytest.approx(1.0)
    assert metrics["n_clusters"] == 3
    assert metrics["n_true_labels"] == 3


def test_known_answer_by_hand():
    truth = ["a", "a", "a", "b", "b", "b"]
    predicted = [0, 0, 1, 1, 1, 1]
    # Cluster 0 = {a, a}; cluster 1 = {a, b, b, b}. Purity = (2 + 3) / 6.
    assert purity(truth, predicted) == pytest.approx(5 / 6)
    # Predicted pairs: 1 + 6 = 7, of which same-label: 1 + 3 = 4. True pairs: 3 + 3 = 6.
    scores = pairwise_scores(truth, predicted)
    assert scores["pairwise_precision"] == pytest.approx(4 / 7)
    assert scores["pairwise_recall"] == pytest.approx(4 / 6)


def test_noise_rows_are_singletons_by_default():
    truth = [0, 0, 0, 1, 1, 1]
    predicted = [0, 0, -1, 1, 1, -1]
    metrics = clustering_metrics(truth, predicted)
    # Noise pairs with nothing: every predicted pair is right, 2 of 6 true pairs are found.
    assert metrics["pairwise_precision"] == pytest.approx(1.0)
    assert metrics["pairwise_recall"] == pytest.approx(2 / 6)
    assert metrics["purity"] == pytest.approx(1.0)
    assert metrics["noise_share"] == pytest.approx(2 / 6)
    assert metrics["n_clusters"] == 2
    as_cluster = clustering_metrics(truth, predicted, noise="cluster")
    # As one cluster, the two noise rows (labels 0 and 1) form one wrong pair.
    assert as_cluster["pairwise_precision"] == pytest.approx(2 / 3)
    assert as_cluster["purity"] == pytest.approx(5 / 6)


def test_degenerate_pair_counts():
    # All singletons: no predicted pair (precision 1 by convention), recall 0.
    scores = pairwise_scores([0, 0, 1], [0, 1, 2])
    assert scores == {"pairwise_precision": 1.0, "pairwise_recall": 0.0, "pairwise_f1": 0.0}


def test_mismatched_lengths_and_bad_noise_option():
    with pytest.raises(DataError, match="labels_true has 3 labels but labels_pred has 2"):
        clustering_metrics([0, 1, 1], [0, 1])
    with pytest.raises(ParameterError, match="noise='drop'"):
        clustering_metrics([0, 1], [0, 1], noise="drop")
