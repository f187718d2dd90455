"""A refit that takes an earlier model's tuned choices instead of searching them again
(``InterestRecommender(reuse_tuning=…)``, ``recommend.reuse_tuning``, ``fit --reuse-tuning``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from interestlens import InterestLens, load_settings, make_demo_dataset
from interestlens.cli import main
from interestlens.errors import NotFittedError, ParameterError
from interestlens.model_dir import read_recommender, write_recommender
from interestlens.recommend.interest import REGIMES, InterestRecommender
from interestlens.recommend.interest import recommender as recommender_module
from interestlens.recommend.interest.reuse import ReusedTuning
from interestlens.report import recommender_tables
from interestlens.serve import refit_model
from test_task_matched_tuning import item_texts, noisy_world


def world() -> tuple[sp.csr_matrix, sp.csr_matrix, list[str]]:
    matrix = noisy_world(n_users=160)
    times = sp.csr_matrix(matrix.multiply(np.arange(1, matrix.shape[1] + 1)[None, :]))
    return matrix, times, item_texts(matrix.shape[1])


def tuned(**settings) -> InterestRecommender:
    matrix, times, texts = world()
    settings = {"n_clusters": (2, 3), "half_life": (None, 2.0), "random_state": 0, **settings}
    return InterestRecommender(**settings).fit(matrix, item_texts=texts, timestamps=times)


@pytest.fixture(scope="module")
def first() -> InterestRecommender:
    return tuned()


def refit(reused: ReusedTuning, **settings) -> InterestRecommender:
    return tuned(reuse_tuning=reused, **settings)


def test_a_refit_takes_every_choice_and_searches_nothing(first, monkeypatch) -> None:
    def no_search(*args, **kwargs):
        raise AssertionError("the refit searched")

    monkeypatch.setattr(recommender_module, "tune_regime", no_search)
    again = refit(ReusedTuning.from_recommender(first, "the first fit"))
    assert again.weights_ == first.weights_
    assert (again.half_life_, again.n_clusters_) == (first.half_life_, first.n_clusters_)
    for regime in REGIMES:
        record = again.tuning_[regime]
        assert record["reused"] == "the first fit" and record["protocol"] == "temporal"
        assert "not searched again" in record["why"]
    # same data, same choices, same seed: the same model
    users = np.arange(40)
    np.testing.assert_array_equal(again.score(users), first.score(users))
    texts = ["rockets and a galaxy", "a wedding"]
    np.testing.assert_array_equal(again.score_new(texts=texts), first.score_new(texts=texts))


def test_a_loaded_model_lends_its_tuning_and_the_refit_saves_where_it_came_from(
    first, tmp_path: Path
) -> None:
    loaded = read_recommender(write_recommender(tmp_path / "first", first))
    again = refit(ReusedTuning.from_recommender(loaded, "model A"))
    assert again.weights_ == first.weights_
    reloaded = read_recommender(write_recommender(tmp_path / "again", again))
    assert reloaded.reuse_tuning is None  # recorded in tuning_, not kept as a setting
    assert reloaded.tuning_["warm"]["reused"] == "model A"
    np.testing.assert_array_equal(reloaded.score(np.arange(5)), again.score(np.arange(5)))


def test_a_refit_for_another_protocol_is_refused(first) -> None:
    with pytest.raises(ParameterError, match="chosen for the temporal hold-out.*'random'"):
        refit(ReusedTuning.from_recommender(first, "A"), validation="random")


def test_an_unfitted_recommender_has_no_tuning_to_lend() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        ReusedTuning.from_recommender(InterestRecommender(), "nothing")


def choices(first: InterestRecommender, **changes) -> dict:
    base = {
        "weights": {r: dict(w) for r, w in first.weights_.items()},
        "half_life": first.half_life_,
        "n_clusters": first.n_clusters_,
        "protocol": "temporal",
        "source": "damaged",
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("weight", "message"),
    [(math.nan, "bad values"), (-1.0, "bad values"), ("1", "bad values"), (True, "bad values")],
)
def test_damaged_weights_are_refused(first, weight, message) -> None:
    given = choices(first)
    given["weights"]["warm"]["factors"] = weight
    with pytest.raises(ParameterError, match=message):
        ReusedTuning(**given)


def test_damaged_choices_are_refused(first) -> None:
    given = choices(first)
    given["weights"]["warm"]["telepathy"] = 1.0
    with pytest.raises(ParameterError, match=r"unknown components \['telepathy'\]"):
        ReusedTuning(**given)
    given = choices(first)
    del given["weights"]["cold_items"]
    with pytest.raises(ParameterError, match="no regime"):
        ReusedTuning(**given)
    for half_life in (0.0, -3.0, math.inf, "5"):
        with pytest.raises(ParameterError, match="half-life"):
            ReusedTuning(**choices(first, half_life=half_life))
    for k in (0, True, 2.5):
        with pytest.raises(ParameterError, match="cluster count"):
            ReusedTuning(**choices(first, n_clusters=k))
    with pytest.raises(ParameterError, match="tuned for 'next'"):
        ReusedTuning(**choices(first, protocol="next"))


# --- through the pipeline and the CLI ------------------------------------------------------


def fast_settings(**overrides):
    return load_settings(
        environ={},
        overrides={
            "encoder.kind": "hashing",
            "encoder.cache": False,
            "encoder.show_progress": False,
            "cluster.k": 4,
            "cluster.stability_runs": 0,
            "seed": 0,
            **overrides,
        },
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reuse")
    dataset, _ = make_demo_dataset(seed=0, n_items=120, n_users=300, n_themes=4)
    model = InterestLens(fast_settings()).fit(dataset)
    return dataset, model, model.save(tmp / "first")


def test_the_pipeline_reuses_the_previous_models_tuning(demo) -> None:
    dataset, model, directory = demo
    earlier = InterestLens.load(directory)
    settings = fast_settings(**{"recommend.reuse_tuning": True})
    again = InterestLens(settings).fit(dataset, previous=earlier)
    assert again.recommender_.weights_ == model.recommender_.weights_
    record = again.recommender_.tuning_["warm"]
    assert record["reused"] == f"the model fitted {earlier.manifest_['created_at']}"
    (card,) = recommender_tables(again).values()  # the report's model card says so too
    assert card["chosen"].str.startswith("reused (").all()
    assert card["why"].str.contains("not searched again").all()
    with pytest.raises(ParameterError, match="reuse_tuning is on, but fit got no earlier model"):
        InterestLens(settings).fit(dataset)
    off = fast_settings(**{"recommend.enabled": False})
    without = InterestLens(off).fit(dataset)
    with pytest.raises(ParameterError, match="has no recommender"):
        InterestLens(settings).fit(dataset, previous=without)


def test_cli_fit_reuse_tuning(demo, tmp_path, capsys) -> None:
    dataset, _, directory = demo
    interactions, items = tmp_path / "interactions.csv", tmp_path / "items.csv"
    dataset.interactions.to_csv(interactions, index=False)
    dataset.items.to_csv(items, index=False)
    config = tmp_path / "fast.toml"
    config.write_text(
        '[encoder]\nkind = "hashing"\ncache = false\nshow_progress = false\n'
        "[cluster]\nk = 4\nstability_runs = 0\n"
    )
    data = ["--interactions", str(interactions), "--items", str(items), "--config", str(config)]
    previous = ["--previous", str(directory), "--reuse-tuning", "-q"]
    code = main(["fit", *data, "--out", str(tmp_path / "a"), *previous])
    assert code == 0
    said = " ".join(capsys.readouterr().out.replace("│", " ").split())  # the summary table
    assert "weights reused from the model fitted" in said
    code = main(["fit", *data, "--out", str(tmp_path / "b"), "--reuse-tuning", "-q"])
    assert code == 2
    assert "--previous" in capsys.readouterr().err
    code = main(["fit", *data, "--out", str(tmp_path / "c"), "--engine", "spark", *previous])
    assert code == 2
    assert "there is none to reuse" in capsys.readouterr().err


def test_refit_reuses_the_served_models_tuning_only_when_its_caller_asks(demo, tmp_path) -> None:
    _, model, directory = demo
    asked = fast_settings(**{"recommend.reuse_tuning": True})
    refit_model(directory, tmp_path / "reused", asked)
    reused = InterestLens.load(tmp_path / "reused").recommender_
    assert reused.tuning_["warm"]["reused"].startswith("the model fitted")
    assert reused.weights_ == model.recommender_.weights_
    # the refit's own saved settings say "reuse"; a caller who does not ask tunes again
    refit_model(tmp_path / "reused", tmp_path / "tuned", fast_settings())
    tuned = InterestLens.load(tmp_path / "tuned").recommender_
    assert "reused" not in tuned.tuning_["warm"] and "score" in tuned.tuning_["warm"]
