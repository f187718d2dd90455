"""One hold-out protocol for evaluate and tuning: holdout_split on frames and matrices,
``run_evaluation(split="random")`` and ``evaluate --split``, recorded in the result files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from interestlens.cli import main
from interestlens.config import Settings
from interestlens.data.synthetic import make_demo_dataset, write_demo_files
from interestlens.embed import HashingEncoder
from interestlens.errors import ParameterError
from interestlens.evaluate import MatrixHoldout, Split, cold_user_holdout, holdout_split
from interestlens.evaluate.job import interest_model, run_evaluation, write_evaluation

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def interactions() -> pd.DataFrame:
    """8 users with 4, 8, ..., 32 interactions; times shuffled within each user."""
    rng = np.random.default_rng(3)
    rows = []
    for user in range(8):
        n_events = 4 * (user + 1)
        items = rng.choice(60, size=n_events, replace=False)
        times = rng.permutation(n_events) * 10 + 1000
        rows += [(f"u{user}", f"i{i}", 3.0, int(t)) for i, t in zip(items, times, strict=True)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["user_id"], frame["item_id"], strict=True))


def test_random_holds_out_the_exact_fraction_of_each_user(interactions):
    split = holdout_split(interactions, "random", 0.25, seed=7)
    assert isinstance(split, Split) and split.kind == "random"
    held = split.test["user_id"].value_counts().sort_index()
    sizes = interactions["user_id"].value_counts().sort_index()
    assert held.to_dict() == (sizes // 4).to_dict()  # 4, 8 ... 32 interactions: exactly a quarter
    assert _pairs(split.train) | _pairs(split.test) == _pairs(interactions)
    assert not _pairs(split.train) & _pairs(split.test)
    assert split.params == {"test_fraction": 0.25, "seed": 7, "min_train": 1}


def test_random_is_seeded_and_not_the_latest(interactions):
    first = holdout_split(interactions, "random", 0.25, seed=7)
    again = holdout_split(interactions, "random", 0.25, seed=7)
    other = holdout_split(interactions, "random", 0.25, seed=8)
    pd.testing.assert_frame_equal(first.test, again.test)
    assert _pairs(first.test) != _pairs(other.test)
    latest = holdout_split(interactions, "temporal", 0.25)
    assert _pairs(first.test) != _pairs(latest.test)


def test_temporal_holds_out_each_users_latest(interactions):
    split = holdout_split(interactions, "temporal")  # default fraction 0.2
    assert split.kind == "temporal" and split.params["test_fraction"] == 0.2
    first_test = split.test.groupby("user_id")["timestamp"].min()
    last_train = split.train.groupby("user_id")["timestamp"].max()
    assert (first_test > last_train[first_test.index]).all()
    assert holdout_split(interactions, "random").params["test_fraction"] == 0.25


def test_a_matrix_is_split_like_the_frame_of_its_entries(interactions):
    users = {u: i for i, u in enumerate(sorted(interactions["user_id"].unique()))}
    items = {v: i for i, v in enumerate(sorted(interactions["item_id"].unique()))}
    rows = interactions["user_id"].map(users).to_numpy()
    cols = interactions["item_id"].map(items).to_numpy()
    shape = (len(users), len(items))
    weights = sp.csr_matrix((interactions["rating"].to_numpy(), (rows, cols)), shape=shape)
    times = sp.csr_matrix((interactions["timestamp"].to_numpy(float), (rows, cols)), shape=shape)

    random = holdout_split(weights, "random", 0.25, seed=7)
    assert isinstance(random, MatrixHoldout) and random.train_times is None
    assert random.train.shape == random.held_out.shape == shape
    np.testing.assert_array_equal(random.held_out.getnnz(axis=1), weights.getnnz(axis=1) // 4)
    assert (random.train + random.held_out != weights).nnz == 0
    assert random.train.multiply(random.held_out).nnz == 0
    assert random.params == {"test_fraction": 0.25, "seed": 7, "min_train": 1}

    temporal = holdout_split(weights, "temporal", 0.25, times=times)
    coo = temporal.held_out.tocoo()
    frame_split = holdout_split(interactions, "temporal", 0.25)
    inverse_users = {i: u for u, i in users.items()}
    inverse_items = {i: v for v, i in items.items()}
    held = {(inverse_users[r], inverse_items[c]) for r, c in zip(coo.row, coo.col, strict=True)}
    assert held == _pairs(frame_split.test)
    assert temporal.train_times is not None  # narrows the type for the next line
    assert (temporal.train_times != 0).nnz == temporal.train.nnz
    assert ((temporal.train_times != 0) != (temporal.train != 0)).nnz == 0  # the same entries


@pytest.mark.parametrize(
    ("fraction", "message"),
    [
        (0, "fraction=0.0 should be in \\(0, 1\\)"),
        (1, "fraction=1.0 should be in \\(0, 1\\)"),
        (2, "fraction=2.0 should be in \\(0, 1\\)"),
        (float("nan"), "fraction=nan should be in \\(0, 1\\)"),
        ("a quarter", "fraction='a quarter' is not a number"),
        (True, "fraction=True is not a number"),
    ],
)
def test_absurd_fractions_are_parameter_errors(interactions, fraction, message):
    with pytest.raises(ParameterError, match=message):
        holdout_split(interactions, "random", fraction)


def test_other_hostile_calls(interactions):
    with pytest.raises(ParameterError, match="protocol='latest'"):
        holdout_split(interactions, "latest", 0.2)  # type: ignore[arg-type]
    matrix = sp.csr_matrix(np.ones((2, 3)))
    with pytest.raises(ParameterError, match="protocol='temporal' on a matrix without times"):
        holdout_split(matrix, "temporal", 0.5)
    with pytest.raises(ParameterError, match=r"times has shape \(3, 3\)"):
        holdout_split(matrix, "temporal", 0.5, times=sp.csr_matrix(np.ones((3, 3))))
    with pytest.raises(ParameterError, match="interactions is a list"):
        holdout_split([[1, 0]], "random", 0.5)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="history_order='latest'"):
        cold_user_holdout(interactions, 0.25, history_per_user=2, history_order="latest")  # type: ignore[arg-type]


def test_cold_users_fold_in_random_interactions_under_the_random_protocol(interactions):
    earliest = cold_user_holdout(interactions, 0.25, seed=1, history_per_user=3)
    random = cold_user_holdout(
        interactions, 0.25, seed=1, history_per_user=3, history_order="random"
    )
    assert earliest.cold_users == random.cold_users  # the same users leave training
    assert random.history["user_id"].value_counts().eq(3).all()
    assert _pairs(random.history) != _pairs(earliest.history)
    assert random.params["history_order"] == "random"
    assert "history_order" not in earliest.params


def fast_settings() -> Settings:
    settings = Settings(seed=0)
    settings.recommend.tune = False
    settings.recommend.n_clusters = [8]
    return settings


@pytest.fixture(scope="module")
def demo():
    dataset, _ = make_demo_dataset(seed=0, n_items=120, n_users=150, n_themes=4)
    return dataset


def test_evaluate_with_the_random_protocol_records_it(demo, tmp_path):
    result = run_evaluation(
        demo,
        fast_settings(),
        encoder=HashingEncoder(dimension=64),
        segments=["warm", "cold_users"],
        split="random",
    )
    assert result.setup["split"] == {
        "requested": "random",
        "protocol": "random",
        "holdout_fraction": 0.25,
        "seed": 0,
        "cold_user_fold_in": "random",
        "note": "",
    }
    assert result.splits["warm"]["kind"] == "random"
    assert result.splits["warm"]["params"]["test_fraction"] == 0.25
    assert result.splits["cold_users"]["params"]["history_order"] == "random"
    # the text-only users are scored by the blend of the text-only regime
    assert result.hyperparameters["cold_users_text"]["interestlens"]["regime"] == "cold_text"
    assert result.hyperparameters["cold_users"]["interestlens"]["regime"] == "cold_users"
    paths = write_evaluation(result, tmp_path)
    assert json.loads(paths["json"].read_text())["setup"]["split"]["protocol"] == "random"
    assert "Split protocol: random (0.25 of each user's interactions held out, seed 0" in (
        paths["markdown"].read_text()
    )


def test_temporal_stays_the_default_and_falls_back_without_times(demo):
    settings, encoder = fast_settings(), HashingEncoder(dimension=64)
    default = run_evaluation(demo, settings, encoder=encoder, segments=["warm"])
    assert default.setup["split"]["protocol"] == "temporal"
    assert default.setup["split"]["holdout_fraction"] == 0.2
    assert default.splits["warm"]["kind"] == "temporal"
    settings.recommend.validation = "random"  # the protocol fit tunes for is the default
    assert (
        run_evaluation(demo, settings, encoder=encoder, segments=["warm"]).setup["split"][
            "protocol"
        ]
        == "random"
    )
    settings.recommend.validation = "temporal"
    untimed = demo.interactions.drop(columns="timestamp")
    no_times = type(demo)(untimed, demo.items, demo.users, "untimed")
    fallback = run_evaluation(no_times, settings, encoder=encoder, segments=["warm"])
    assert fallback.setup["split"]["protocol"] == "random"
    assert fallback.setup["split"]["holdout_fraction"] == 0.2
    assert (
        "no" in fallback.setup["split"]["note"] and "timestamp" in fallback.setup["split"]["note"]
    )
    with pytest.raises(ParameterError, match="protocol='leave_one_out'"):
        run_evaluation(demo, settings, encoder=encoder, split="leave_one_out")
    with pytest.raises(ParameterError, match="fraction=1.5 should be in"):
        run_evaluation(demo, settings, encoder=encoder, split="random", holdout_fraction=1.5)


def test_cli_evaluate_split_random(demo, tmp_path, capsys):
    data = tmp_path / "data"
    write_demo_files(demo, make_demo_dataset(seed=0, n_items=120, n_users=150, n_themes=4)[1], data)
    args = [
        "evaluate",
        *("--interactions", str(data / "interactions.csv"), "--items", str(data / "items.csv")),
        *("--out", str(tmp_path / "out"), "--encoder", "hashing", "--quiet", "--no-cache"),
        *("--segments", "warm", "--split", "random", "--holdout-fraction", "0.3"),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Split: random, 0.3 of each user's interactions held out, seed 0" in printed
    saved = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert saved["setup"]["split"]["holdout_fraction"] == 0.3
    bad = [*args[:-4], "--split", "sideways"]
    assert main(bad) == 2
    error = capsys.readouterr().err
    assert "protocol='sideways'" in error and "Traceback" not in error


def test_the_evaluated_model_follows_the_protocol_and_never_tunes_on_revealing_texts():
    settings = fast_settings()
    settings.recommend.tune = True
    encoder = HashingEncoder(dimension=32)
    model = interest_model(settings, encoder, ("cold_users", "cold_text"), None, protocol="random")
    assert model.validation == "random" and model.tune == ("cold_users", "cold_text")
    assert model.user_text_reveals_items is False
    reviews = interest_model(settings, encoder, "cold_text", None, texts_from_interactions=True)
    assert reviews.user_text_reveals_items is True and reviews.validation == "temporal"
    settings.recommend.user_text_reveals_items = False  # the configuration has the last word
    assert not interest_model(
        settings, encoder, "cold_text", None, texts_from_interactions=True
    ).user_text_reveals_items
