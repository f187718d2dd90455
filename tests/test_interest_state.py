"""InterestRecommender.state / from_state in memory, the one NDCG, and scikit-learn's
check_is_fitted behind the project's NotFittedError."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from interestlens.errors import ModelFormatError, NotFittedError, ParameterError
from interestlens.evaluate.metrics import ndcg_at_k
from interestlens.recommend import EASE, AttributePopularity
from interestlens.recommend.interest import InterestRecommender
from interestlens.recommend.interest.tuning import Carve, ValidationScorer
from interestlens.recommend.ranking_metrics import ndcg_from_hits
from test_interest_persist import N_USERS, assert_same_behaviour, fit, training
from test_interest_recommender import COLD_TEXTS, GROUP, ITEM_TEXTS, LABELS


def test_state_is_json_meta_and_plain_arrays_and_rebuilds_the_same_model() -> None:
    fitted = fit(ease_neighbours=3)
    meta, arrays = fitted.state()
    assert json.loads(json.dumps(meta)) == meta
    assert all(isinstance(a, np.ndarray) or sp.issparse(a) for a in arrays.values())
    assert meta["shapes"]["n_users"] == N_USERS and meta["shapes"]["n_items"] == 14
    assert len(meta["item_names"]) == 14
    rebuilt = InterestRecommender.from_state(meta, arrays)
    assert_same_behaviour(fitted, rebuilt)
    assert rebuilt.weights_ == fitted.weights_


def test_from_state_refuses_missing_and_misshapen_arrays() -> None:
    meta, arrays = fit().state()
    without = {k: v for k, v in arrays.items() if k != "warm"}
    with pytest.raises(ModelFormatError, match="the given state lists no array warm"):
        InterestRecommender.from_state(meta, without, source="the given state")
    bent = {**arrays, "popularity": np.zeros(3, dtype=np.float32)}
    with pytest.raises(ModelFormatError, match=r"array popularity has shape \(3,\)"):
        InterestRecommender.from_state(meta, bent)
    labels = arrays["cluster_labels"].copy()
    labels[0] = 99
    with pytest.raises(ModelFormatError, match="cluster_labels: holds entries from"):
        InterestRecommender.from_state(meta, {**arrays, "cluster_labels": labels})
    with pytest.raises(ModelFormatError, match="has version 2"):
        InterestRecommender.from_state({**meta, "version": 2}, arrays)


def test_added_items_survive_a_state_round_trip() -> None:
    fitted = fit()
    new = fitted.add_items(["rockets and space stations", "a wedding story"])
    assert new.tolist() == [14, 15]
    rebuilt = InterestRecommender.from_state(*fitted.state())
    assert rebuilt.n_items_ == 16 and rebuilt.item_names_ == fitted.item_names_
    users = np.arange(N_USERS)
    np.testing.assert_array_equal(rebuilt.score(users), fitted.score(users))


def test_attribute_popularity_state_round_trip() -> None:
    matrix = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], np.float32))
    users = pd.DataFrame({"job": ["a", "b", "a", "b"]})
    model = AttributePopularity(columns=["job"], shrinkage=1.0).fit(matrix, users)
    rebuilt = AttributePopularity.from_state(*model.state())
    np.testing.assert_array_equal(rebuilt.score(users), model.score(users))
    meta, arrays = model.state()
    with pytest.raises(ModelFormatError, match="item_share has shape"):
        AttributePopularity.from_state(meta, {**arrays, "item_share": np.zeros(2)})


@pytest.mark.parametrize(
    "model",
    [InterestRecommender(), EASE(), AttributePopularity()],
    ids=lambda model: type(model).__name__,
)
def test_unfitted_models_say_so(model) -> None:
    with pytest.raises(NotFittedError, match=f"this {type(model).__name__} is not fitted yet"):
        model.state() if hasattr(model, "state") else model.score(np.array([0]))


def test_ndcg_from_hits_known_answer() -> None:
    found = np.array([[True, False, True], [False, False, False], [False, True, False]])
    got = ndcg_from_hits(found, np.array([2, 0, 5]))
    ideal_two = 1.0 + 1.0 / np.log2(3)
    assert got[0] == pytest.approx((1.0 + 0.5) / ideal_two)
    assert np.isnan(got[1])
    assert got[2] == pytest.approx((1.0 / np.log2(3)) / (1.0 + 1.0 / np.log2(3) + 0.5))


def test_the_validation_scorer_computes_the_evaluation_ndcg() -> None:
    rng = np.random.default_rng(0)
    relevant = sp.csr_matrix(rng.random((6, 12)) < 0.3, dtype=np.float32)
    empty = sp.csr_matrix((6, 12), dtype=np.float32)
    part = Carve("warm", empty, None, np.arange(6), empty, relevant)
    scorer = ValidationScorer(part, k=4)
    scores = rng.random((6, 12))
    ranked = np.argsort(-scores, axis=1)[:, :4]
    want = ndcg_at_k(ranked, relevant)
    np.testing.assert_allclose(scorer(scores), want[relevant.getnnz(axis=1) > 0])


def test_fit_with_factors_matches_fit_on_the_same_factors_and_clusters() -> None:
    matrix, times = training()
    labels = np.repeat([0, 1], GROUP)
    fitted = InterestRecommender(n_clusters=2, tune=False, half_life=None).fit(
        matrix, item_texts=ITEM_TEXTS + COLD_TEXTS, timestamps=times, user_clusters=labels
    )
    members = sp.csr_matrix((np.ones(N_USERS), (labels, np.arange(N_USERS))), shape=(2, N_USERS))
    assembled = InterestRecommender(n_clusters=2, tune=False, half_life=None).fit_with_factors(
        matrix,
        item_factors=fitted.core_.factors,
        user_clusters=labels,
        cluster_weights=members @ fitted.weighted_,
        item_texts=ITEM_TEXTS + COLD_TEXTS,
        timestamps=times,
    )
    np.testing.assert_allclose(assembled.core_.lifts[2], fitted.core_.lifts[2], atol=1e-6)
    np.testing.assert_allclose(assembled.clusters_.centroids, fitted.clusters_.centroids, atol=1e-6)
    assert assembled.core_.ease is None and assembled.tuning_["warm"]["skipped"]
    # the cluster half of the reason; the rated item differs (no EASE weights to pick it)
    got, want = (m.explain(0, 0, cluster_labels=LABELS).split(";")[0] for m in (assembled, fitted))
    assert got == want == "popular among space fans"
    with pytest.raises(ParameterError, match=r"cluster_weights has shape \(2, 3\)"):
        InterestRecommender().fit_with_factors(
            matrix,
            item_factors=fitted.core_.factors,
            user_clusters=labels,
            cluster_weights=sp.csr_matrix((2, 3)),
        )
    with pytest.raises(ParameterError, match="user_clusters holds cluster 1 but"):
        InterestRecommender().fit_with_factors(
            matrix,
            item_factors=fitted.core_.factors,
            user_clusters=labels,
            cluster_weights=sp.csr_matrix((1, matrix.shape[1])),
        )
