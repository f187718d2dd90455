"""AttributePopularity: known answers on tiny tables, shrinkage, unknown and missing values,
column choice, hostile input, and its place in the evaluation runner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from interestlens.data.splits import cold_user_holdout
from interestlens.errors import MissingColumnsError, NotFittedError, ParameterError
from interestlens.evaluate import prepare_split
from interestlens.evaluate.runner import evaluate_models
from interestlens.recommend import MostPop
from interestlens.recommend.attribute_popularity import (
    AttributePopularity,
    AttributeRecommender,
    attribute_columns,
)

# users 0, 1 (group A) took item 0; users 2, 3 (group B) took item 1; everyone but 1 took item 2
MATRIX = sp.csr_matrix(np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 1, 1]], dtype=np.float32))
GROUPS = pd.DataFrame({"group": ["A", "A", "B", "B"]})


def test_group_a_likes_item_0_and_group_b_item_1():
    model = AttributePopularity(["group"], shrinkage=0).fit(MATRIX, GROUPS)
    scores = model.score(pd.DataFrame({"group": ["A", "B"]}))
    np.testing.assert_allclose(scores, [[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]])
    assert scores.dtype == np.float32 and scores.shape == (2, 3)
    assert np.argmax(scores[0]) == 0 and np.argmax(scores[1]) == 1
    assert isinstance(model, AttributeRecommender)


def test_shrinkage_pulls_a_group_of_one_halfway_to_global_popularity():
    matrix = sp.csr_matrix(np.array([[1, 0], [0, 1], [0, 1], [0, 1]], dtype=np.float32))
    groups = pd.DataFrame({"job": ["chef", "nurse", "nurse", "nurse"]})
    model = AttributePopularity(["job"], shrinkage=1.0).fit(matrix, groups)
    np.testing.assert_allclose(model.item_share_, [0.25, 0.75])
    # (n_vi + m p) / (n_v + m) with n_v = 1, m = 1: halfway between 1 and 0.25, and 0 and 0.75
    np.testing.assert_allclose(model.score(pd.DataFrame({"job": ["chef"]})), [[0.625, 0.375]])
    # a large shrinkage count leaves global popularity
    flat = AttributePopularity(["job"], shrinkage=1e9).fit(matrix, groups)
    np.testing.assert_allclose(flat.score(pd.DataFrame({"job": ["chef"]})), [[0.25, 0.75]])


def test_unknown_missing_and_blank_values_give_global_popularity():
    model = AttributePopularity(["group"], shrinkage=2).fit(MATRIX, GROUPS)
    rows = pd.DataFrame({"group": ["Z", None, np.nan, "  "]})
    expected = np.tile(model.item_share_, (4, 1))
    np.testing.assert_allclose(model.score(rows), expected, rtol=1e-6)


def test_columns_combine_as_independent_evidence():
    attributes = pd.DataFrame({"group": ["A", "A", "B", "B"], "age": [20, 30, 40, 50]})
    model = AttributePopularity(["group", "age"], n_bins=2, shrinkage=0).fit(MATRIX, attributes)
    assert model.bin_edges_ == {"age": [35.0]}
    # group A (item 0 share 1.0, global 0.5: lift 2) and the young bin (same users: lift 2)
    scores = model.score(pd.DataFrame({"group": ["A", "A"], "age": [25, np.nan]}))
    np.testing.assert_allclose(scores[0, 0], 0.5 * 2 * 2)
    np.testing.assert_allclose(scores[1], [1.0, 0.0, 0.5])  # NaN age: no evidence from it


def test_joint_groups_use_the_combination():
    attributes = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["p", "q", "p", "q"]})
    model = AttributePopularity(["a", "b"], groups="joint", shrinkage=0).fit(MATRIX, attributes)
    assert model.categories_ == {"(joint)": ["x\x1fp", "x\x1fq", "y\x1fp", "y\x1fq"]}
    np.testing.assert_allclose(
        model.score(pd.DataFrame({"a": ["x", "x"], "b": ["q", None]})),
        [[1.0, 0.0, 0.0], model.item_share_],
    )


def test_numeric_columns_are_cut_at_training_quantiles():
    matrix = sp.csr_matrix(np.eye(8, 2, dtype=np.float32) + np.eye(8, 2, k=-6, dtype=np.float32))
    ages = pd.DataFrame({"age": [18, 22, 25, 31, 40, 47, 55, 70]})
    model = AttributePopularity(["age"], n_bins=4).fit(matrix, ages)
    assert model.bin_edges_["age"] == pytest.approx(np.quantile(ages["age"], [0.25, 0.5, 0.75]))
    assert model.categories_["age"] == ["bin0", "bin1", "bin2", "bin3"]
    np.testing.assert_array_equal(model.group_sizes_["age"], [2, 2, 2, 2])
    # an age outside the training range falls in the outer bin; text in a numeric column: unknown
    scores = model.score(pd.DataFrame({"age": [120, "unknown"]}))
    np.testing.assert_allclose(scores[1], model.item_share_)
    assert np.isfinite(scores).all()


def test_columns_are_chosen_from_the_table():
    users = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u4", "u5", "u6"],
            "bio": ["hiking", "jazz", "cooking", "", "maps", "dogs"],
            "gender": ["f", "m", "f", "m", "f", None],
            "age": [21.0, 35.0, np.nan, 50.0, 44.0, 30.0],
            "country": ["uk"] * 6,
        }
    )
    columns, skipped = attribute_columns(users)
    assert columns == ["gender", "age"]
    assert skipped == {
        "bio": "5 distinct values in 6 rows (mostly unique)",
        "country": "1 distinct value(s)",
    }
    assert attribute_columns(users, max_categories=2)[0] == ["gender", "age"]
    many = pd.DataFrame({"zip": [f"z{i % 60}" for i in range(600)]})
    assert attribute_columns(many)[1] == {"zip": "60 distinct values > max_categories=50"}


def test_a_table_without_attributes_gives_global_popularity():
    model = AttributePopularity().fit(MATRIX, pd.DataFrame(index=range(4)))
    assert model.columns_ == []
    np.testing.assert_allclose(model.score(pd.DataFrame(index=range(2))), [model.item_share_] * 2)
    pop = MostPop().fit(MATRIX)
    assert np.argsort(-model.score(pd.DataFrame(index=range(1)))[0], kind="stable").tolist() == (
        np.argsort(-pop.score(np.array([0]))[0], kind="stable").tolist()
    )


def test_items_nobody_took_score_zero():
    matrix = sp.csr_matrix(np.array([[1, 0], [1, 0]], dtype=np.float32))
    model = AttributePopularity(["g"], shrinkage=0).fit(matrix, pd.DataFrame({"g": ["a", "b"]}))
    np.testing.assert_array_equal(model.score(pd.DataFrame({"g": ["a", "z"]})), [[1, 0], [1, 0]])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_bins": 1}, "n_bins=1 should be an integer >= 2"),
        ({"shrinkage": -1}, "shrinkage=-1 should be a finite number >= 0"),
        ({"shrinkage": float("nan")}, "shrinkage=nan should be a finite number >= 0"),
        ({"groups": "pairs"}, "groups='pairs'"),
        ({"max_categories": True}, "max_categories=True should be an integer >= 2"),
    ],
)
def test_bad_settings_are_parameter_errors(params, message):
    with pytest.raises(ParameterError, match=message):
        AttributePopularity(["group"], **params).fit(MATRIX, GROUPS)


def test_hostile_inputs():
    with pytest.raises(ParameterError, match="attributes has 3 rows; it should equal n_users=4"):
        AttributePopularity().fit(MATRIX, GROUPS.iloc[:3])
    with pytest.raises(ParameterError, match="attributes is a list"):
        AttributePopularity().fit(MATRIX, ["A", "A", "B", "B"])
    with pytest.raises(MissingColumnsError, match=r"attribute columns \['job'\] are not among"):
        AttributePopularity(["job"]).fit(MATRIX, GROUPS)
    model = AttributePopularity(["group"]).fit(MATRIX, GROUPS)
    with pytest.raises(MissingColumnsError, match=r"\['group'\] are not among \['job'\]"):
        model.score(pd.DataFrame({"job": ["chef"]}))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        AttributePopularity().score(GROUPS)
    with pytest.raises(ParameterError, match="NaN or infinite"):
        AttributePopularity().fit(sp.csr_matrix(np.array([[np.nan]])), GROUPS.iloc[:1])


def test_the_runner_fits_it_on_attributes_and_scores_cold_users_by_theirs():
    # 20 users in two groups, each group taking its own 4 items; cold users by seed
    rows = []
    for user in range(20):
        group = user % 2
        rows += [(f"u{user}", f"i{group * 4 + item}", 1.0, item) for item in range(4)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    users = pd.DataFrame({"user_id": [f"u{u}" for u in range(20)], "side": ["left", "right"] * 10})
    split = cold_user_holdout(frame, 0.2, seed=0, history_per_user=1)
    models = {"MostPop": MostPop(), "AttributePop": AttributePopularity(shrinkage=1)}
    table = evaluate_models(models, split, k=3, segments=["cold_users"], user_attributes=users)
    ndcg = table[table["metric"] == "ndcg@3"].set_index("model")["value"]
    assert ndcg["AttributePop"] == pytest.approx(1.0)
    assert ndcg["AttributePop"] > ndcg["MostPop"]
    prepared = prepare_split(split, user_attributes=users)
    assert prepared.user_attributes["side"].tolist() == [
        users.set_index("user_id").loc[u, "side"] for u in prepared.user_map
    ]
    without = evaluate_models({"AttributePop": AttributePopularity()}, split, k=3)
    assert without.empty
    assert without.attrs["skipped"][0]["reason"] == (
        "the model needs user attributes; the users table has none"
    )


def test_evaluate_reports_attribute_pop_for_a_users_file_of_attributes_only(one_thread):
    from interestlens.config import Settings
    from interestlens.data.schema import Dataset
    from interestlens.data.synthetic import make_demo_dataset
    from interestlens.embed import HashingEncoder
    from interestlens.evaluate.job import MODELS, run_evaluation

    settings = Settings(seed=0)
    settings.recommend.tune = False
    settings.recommend.n_clusters = [8]
    encoder = HashingEncoder(dimension=64)
    sizes = dict(seed=0, n_items=120, n_users=200, n_themes=4)
    weak, _ = make_demo_dataset(**sizes, attribute_strength=1.0, bios=False)
    result = run_evaluation(weak, settings, encoder=encoder, segments=["cold_users"])
    assert result.setup["user_attributes"]["columns"] == ["age_band", "gender", "occupation"]
    text_only = result.tables["cold_users_text"].set_index("model")
    assert text_only.index.tolist() == [*MODELS, "AttributePop"]
    assert text_only.loc["AttributePop", "n_users"] == text_only.loc["interestlens", "n_users"]
    # occupation fully tied to the primary interest: the groups beat plain popularity
    assert text_only.loc["AttributePop", "ndcg@10"] > text_only.loc["MostPop", "ndcg@10"]

    # a users table without attribute columns (bios only): no AttributePop row, and why
    plain, _ = make_demo_dataset(**sizes)
    result = run_evaluation(plain, settings, encoder=encoder, segments=["cold_users"])
    assert result.tables["cold_users_text"]["model"].tolist() == list(MODELS)
    assert result.setup["user_attributes"]["reason"].startswith(
        "the users table has no attribute columns (bio:"
    )
    # a users table built from interactions may describe held-out items: not read at all
    derived = Dataset(weak.interactions, weak.items, weak.users, "derived", {"review_lines": 1})
    result = run_evaluation(derived, settings, encoder=encoder, segments=["cold_users"])
    assert result.setup["user_attributes"] == {
        "columns": [],
        "reason": "no users table the evaluation may read",
    }
    assert "AttributePop" not in result.tables["cold_users"]["model"].tolist()
