"""Metrics against sklearn (NDCG, AUC) and hand-computed tiny examples; the runner's table."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import ndcg_score, roc_auc_score

from interestlens.errors import MissingColumnsError, ParameterError
from interestlens.evaluate import (
    Split,
    auc,
    catalogue_coverage,
    cold_item_holdout,
    cold_user_holdout,
    evaluate_models,
    hit_rate_at_k,
    hits,
    intra_list_diversity,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    prepare_split,
    recall_at_k,
    results_to_dict,
    write_results,
)
from interestlens.recommend import ContentKNN, FixedScores, ItemKNN, MostPop, top_k


def relevant_matrix(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    dense = np.zeros((len(rows), n_items), dtype=np.float32)
    for user, items in enumerate(rows):
        dense[user, items] = 1.0
    return sp.csr_matrix(dense)


# user 0: relevant {1, 3}, list [1, 2, 3]: hits at ranks 1 and 3
# user 1: relevant {0}, list [4, 0, -1]: hit at rank 2, one padded slot
# user 2: relevant {2, 4, 5, 6}, list [0, 1, 3]: no hit
RANKED = np.array([[1, 2, 3], [4, 0, -1], [0, 1, 3]])
RELEVANT = relevant_matrix([[1, 3], [0], [2, 4, 5, 6]], n_items=7)


def test_hits_marks_relevant_positions_and_ignores_padding() -> None:
    expected = [[True, False, True], [False, True, False], [False, False, False]]
    assert hits(RANKED, RELEVANT).tolist() == expected


def test_hand_computed_precision_recall_hit_rate() -> None:
    np.testing.assert_allclose(precision_at_k(RANKED, RELEVANT), [2 / 3, 1 / 3, 0.0])
    np.testing.assert_allclose(recall_at_k(RANKED, RELEVANT), [1.0, 1.0, 0.0])
    np.testing.assert_allclose(hit_rate_at_k(RANKED, RELEVANT), [1.0, 1.0, 0.0])
    np.testing.assert_allclose(precision_at_k(RANKED, RELEVANT, k=1), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(recall_at_k(RANKED, RELEVANT, k=2), [0.5, 1.0, 0.0])


def test_hand_computed_mrr_and_map() -> None:
    np.testing.assert_allclose(mrr_at_k(RANKED, RELEVANT), [1.0, 0.5, 0.0])
    # user 0: (1/1 + 2/3) / min(3, 2); user 1: (1/2) / 1
    np.testing.assert_allclose(map_at_k(RANKED, RELEVANT), [(1 + 2 / 3) / 2, 0.5, 0.0])


def test_hand_computed_ndcg() -> None:
    ideal_two = 1 + 1 / math.log2(3)
    expected = [(1 + 1 / 2) / ideal_two, (1 / math.log2(3)) / 1.0, 0.0]
    np.testing.assert_allclose(ndcg_at_k(RANKED, RELEVANT), expected)


def test_users_without_relevant_items_give_nan_where_undefined() -> None:
    relevant = relevant_matrix([[]], n_items=4)
    ranked = np.array([[0, 1]])
    assert np.isnan(recall_at_k(ranked, relevant)[0])
    assert np.isnan(ndcg_at_k(ranked, relevant)[0])
    assert np.isnan(map_at_k(ranked, relevant)[0])
    assert precision_at_k(ranked, relevant)[0] == 0.0
    assert mrr_at_k(ranked, relevant)[0] == 0.0


@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_ndcg_matches_sklearn_on_random_binary_relevance(k: int) -> None:
    rng = np.random.default_rng(7)
    n_users, n_items = 40, 25
    truth = (rng.random((n_users, n_items)) < 0.2).astype(np.float32)
    truth[truth.sum(axis=1) == 0, 0] = 1.0  # sklearn counts empty users as 0, ours as NaN
    scores = rng.random((n_users, n_items))  # continuous: no ties, one ranking
    ranked, _ = top_k(scores, k)
    ours = ndcg_at_k(ranked, sp.csr_matrix(truth))
    reference = [ndcg_score(truth[u : u + 1], scores[u : u + 1], k=k) for u in range(n_users)]
    np.testing.assert_allclose(ours, reference, rtol=1e-6)


def test_auc_matches_sklearn_including_ties_and_exclusions() -> None:
    rng = np.random.default_rng(3)
    n_users, n_items = 30, 20
    truth = rng.random((n_users, n_items)) < 0.3
    scores = rng.integers(0, 5, size=(n_users, n_items)).astype(np.float32)  # many ties
    excluded = (rng.random((n_users, n_items)) < 0.2) & ~truth
    ours = auc(scores, sp.csr_matrix(truth.astype(np.float32)), exclude=sp.csr_matrix(excluded))
    for user in range(n_users):
        keep = ~excluded[user]
        labels = truth[user, keep]
        if labels.all() or not labels.any():
            assert np.isnan(ours[user])
        else:
            assert ours[user] == pytest.approx(roc_auc_score(labels, scores[user, keep]))


def test_auc_over_candidates_only() -> None:
    scores = np.array([[0.9, 0.1, 0.8, 0.7, 0.6]])
    relevant = relevant_matrix([[1, 3]], n_items=5)
    candidates = np.array([1, 3, 4])
    expected = roc_auc_score([1, 1, 0], scores[0, candidates])
    assert auc(scores, relevant, candidates=candidates)[0] == pytest.approx(expected)
    assert auc(np.array([[1.0, 2.0, 3.0]]), relevant_matrix([[2]], 3))[0] == 1.0


def test_coverage_novelty_diversity_hand_computed() -> None:
    ranked = np.array([[0, 1], [1, -1]])
    assert catalogue_coverage(ranked, n_items=4) == 0.5
    popularity = np.array([4, 2, 0, 1])
    # -log2(4/4) = 0, -log2(2/4) = 1; item 2 (never seen) counts as popularity 1
    np.testing.assert_allclose(novelty(ranked, popularity, n_users=4), [0.5, 1.0])
    np.testing.assert_allclose(novelty(np.array([[2]]), popularity, n_users=4), [2.0])
    vectors = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [3.0, 0.0]])
    diversity = intra_list_diversity(np.array([[0, 1, 3], [0, 2, -1], [1, -1, -1]]), vectors)
    # pairs (0,1)=1, (0,3)=0, (1,3)=1 -> 2/3; pair (0,2) = 1 - 1/sqrt(2); one item -> NaN
    np.testing.assert_allclose(diversity[:2], [2 / 3, 1 - 1 / math.sqrt(2)])
    assert np.isnan(diversity[2])
    sparse = intra_list_diversity(np.array([[0, 1, 3], [0, 2, -1]]), sp.csr_matrix(vectors))
    np.testing.assert_allclose(sparse, diversity[:2])


def test_metric_errors_are_concrete() -> None:
    with pytest.raises(ParameterError, match=r"k=4 should be <= the width of ranked \(3\)"):
        recall_at_k(RANKED, RELEVANT, k=4)
    with pytest.raises(ParameterError, match="relevant has 2 rows but ranked has 3"):
        recall_at_k(RANKED, RELEVANT[:2])
    with pytest.raises(ParameterError, match="relevant is a ndarray"):
        recall_at_k(RANKED, RELEVANT.toarray())
    with pytest.raises(ParameterError, match="ranked holds item index 9"):
        hits(np.array([[9]]), RELEVANT[:1])


# --- runner --------------------------------------------------------------------------------


def frame(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["user_id", "item_id"])


def value(table: pd.DataFrame, model: str, segment: str, metric: str) -> float:
    selected = table[(table.model == model) & (table.segment == segment) & (table.metric == metric)]
    assert len(selected) == 1, (model, segment, metric)
    return float(selected.value.iloc[0])


def test_runner_reports_known_metrics_for_fixed_scores() -> None:
    train = frame([("a", "i0"), ("a", "i1"), ("b", "i2")])
    test = frame([("a", "i2"), ("b", "i0"), ("b", "i1")])
    split = Split(train=train, test=test, kind="manual")
    # items in first-seen order: i0, i1, i2; users a, b
    scores = np.array([[0.0, 0.0, 1.0], [0.5, 0.1, 0.9]])
    table = evaluate_models({"fixed": FixedScores(scores)}, split, k=2)
    assert list(table.columns) == ["model", "segment", "metric", "value"]
    # a: [i2] hit at 1; b (i2 seen): [i0, i1] both relevant
    assert value(table, "fixed", "warm_users", "recall@2") == 1.0
    assert value(table, "fixed", "warm_users", "precision@2") == pytest.approx((0.5 + 1) / 2)
    assert value(table, "fixed", "warm_users", "ndcg@2") == 1.0
    assert value(table, "fixed", "warm_users", "n_users") == 2.0
    assert value(table, "fixed", "warm_users", "coverage@2") == 1.0
    reasons = {(s["segment"], s["reason"]) for s in table.attrs["skipped"]}
    assert ("cold_users", "no test interactions in this segment") in reasons
    json.dumps(results_to_dict(table), allow_nan=False)


def test_runner_segments_cold_items_and_skips_models_that_cannot_score_them() -> None:
    pairs = [(f"u{u}", f"i{i}") for u in range(6) for i in range(8) if (u < 3) == (i < 4)]
    interactions = frame(pairs)
    split = cold_item_holdout(interactions, item_fraction=0.25, seed=1)
    items = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(8)],
            "title": ["space rocket"] * 4 + ["love wedding"] * 4,
            "genre": ["scifi"] * 4 + ["romance"] * 4,
        }
    )
    table = evaluate_models(
        {"pop": MostPop(), "content": ContentKNN()},
        split,
        k=1,
        items=items,
        item_text_column=["title", "genre"],
        segments=["cold_items"],
    )
    assert set(table.model) == {"content"}
    assert {"model": "pop", "segment": "cold_items"}.items() <= table.attrs["skipped"][0].items()
    # each user's cold item is from their own block: content ranks it first among cold items
    assert value(table, "content", "cold_items", "hit_rate@1") == 1.0
    assert value(table, "content", "cold_items", "auc") == 1.0


def test_runner_cold_users_from_history_and_text(tmp_path) -> None:
    pairs = [(f"u{u}", f"i{i}") for u in range(8) for i in range(8) if (u < 4) == (i < 4)]
    interactions = frame(pairs).assign(timestamp=np.arange(len(pairs)))
    split = cold_user_holdout(interactions, user_fraction=0.25, seed=0, history_per_user=1)
    users = pd.DataFrame(
        {"user_id": [f"u{u}" for u in range(8)], "bio": ["space"] * 4 + ["love"] * 4}
    )
    items = pd.DataFrame(
        {"item_id": [f"i{i}" for i in range(8)], "text": ["space"] * 4 + ["love"] * 4}
    )
    table = evaluate_models(
        {"knn": ItemKNN(), "content": ContentKNN(), "pop": MostPop()},
        split,
        k=3,
        items=items,
        item_text_column="text",
        users=users,
        user_text_column="bio",
        item_vectors=np.repeat(np.eye(2), 4, axis=0),
    )
    assert set(table.segment) == {"cold_users"}
    assert value(table, "knn", "cold_users", "precision@3") == 1.0
    assert value(table, "content", "cold_users", "precision@3") == 1.0
    assert value(table, "knn", "cold_users", "diversity@3") == 0.0
    assert value(table, "knn", "cold_users", "n_users") == 2.0
    path = write_results(tmp_path / "results.json", table)
    saved = json.loads(path.read_text())
    assert saved["k"] == 3 and saved["split"]["kind"] == "cold_users"
    assert len(saved["results"]) == len(table)


def test_prepare_split_counts_what_it_leaves_out() -> None:
    train = frame([("a", "i0"), ("b", "i1")]).assign(rating=[5.0, 4.0])
    test = frame([("a", "i0"), ("a", "i1"), ("b", "i0")]).assign(rating=[5.0, 5.0, 1.0])
    prepared = prepare_split(Split(train=train, test=test, kind="manual"), relevance_threshold=3.0)
    assert prepared.notes["test_pairs_below_threshold"] == 1
    assert prepared.notes["test_pairs_already_in_train"] == 1
    assert prepared.test_matrix().toarray().tolist() == [[0.0, 1.0], [0.0, 0.0]]
    with pytest.raises(MissingColumnsError, match="test has no rating column"):
        prepare_split(
            Split(train=train, test=test.drop(columns="rating"), kind="m"),
            relevance_threshold=3.0,
        )


def test_runner_errors() -> None:
    split = Split(train=frame([("a", "i0")]), test=frame([("a", "i1")]), kind="manual")
    with pytest.raises(ParameterError, match="k=0 should be >= 1"):
        evaluate_models({"pop": MostPop()}, split, k=0)
    with pytest.raises(ParameterError, match=r"unknown segments \['everyone'\]"):
        evaluate_models({"pop": MostPop()}, split, segments=["everyone"])
    with pytest.raises(ParameterError, match="item_vectors has 5 rows but the catalogue has 2"):
        evaluate_models({"pop": MostPop()}, split, item_vectors=np.ones((5, 2)))
    with pytest.raises(ParameterError, match="split is already prepared, but items were"):
        evaluate_models({"pop": MostPop()}, prepare_split(split), items=pd.DataFrame())
