"""The evaluate job: every model in every segment (or n/a), metric ranges, determinism, files,
bad input, and the report section."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from interestlens.config import Settings
from interestlens.data.schema import ITEM_ID, TIMESTAMP, USER_ID, Dataset
from interestlens.data.synthetic import make_demo_dataset
from interestlens.embed import HashingEncoder
from interestlens.errors import ModelFormatError, ParameterError
from interestlens.evaluate.job import (
    COLD_USERS_TEXT,
    MODELS,
    OURS,
    interaction_user_texts,
    read_evaluation,
    run_evaluation,
    write_evaluation,
)
from interestlens.report.evaluation import CHART_ID, evaluation_section_html, ndcg_figure

pytestmark = pytest.mark.usefixtures("one_thread")

K = 10
BOUNDED = ["ndcg", "recall", "precision", "mrr", "map", "hit_rate", "coverage"]


def fast_settings(seed: int = 0) -> Settings:
    settings = Settings(seed=seed)
    settings.recommend.tune = False
    settings.recommend.n_clusters = [8]
    return settings


@pytest.fixture(scope="module")
def demo() -> Dataset:
    dataset, _ = make_demo_dataset(seed=0, n_items=200, n_users=250, n_themes=6)
    return dataset


@pytest.fixture(scope="module")
def result(demo, one_thread):
    return run_evaluation(demo, fast_settings(), encoder=HashingEncoder(dimension=128))


def test_every_model_in_every_segment_or_marked_na(result):
    assert list(result.tables) == ["warm", "cold_users", COLD_USERS_TEXT, "cold_items"]
    assert result.skipped == {}
    for name, table in result.tables.items():
        assert table["model"].tolist() == list(MODELS), name
        scored = table[f"ndcg@{K}"].notna()
        assert (table.loc[~scored, "note"].str.startswith("n/a: ")).all(), name
        assert (table.loc[scored, "note"] == "").all(), name
        assert scored[table["model"] == OURS].all(), name
    cold_items = result.tables["cold_items"].set_index("model")
    # only text-aware models can rank items nobody interacted with
    assert cold_items[f"ndcg@{K}"].notna().to_dict() == {
        OURS: True,
        "MostPop": False,
        "ItemKNN": False,
        "EASE": False,
        "ALS": False,
        "ContentKNN": True,
    }
    assert "cannot score items without interactions" in cold_items.loc["EASE", "note"]
    text_only = result.tables[COLD_USERS_TEXT].set_index("model")
    assert "needs history" in text_only.loc["ALS", "note"]
    assert text_only.loc["MostPop", f"ndcg@{K}"] >= 0


def test_metrics_are_in_range(result):
    for name, table in result.tables.items():
        values = table.set_index("model")
        for metric in BOUNDED:
            column = values[f"{metric}@{K}"].dropna()
            assert ((column >= 0) & (column <= 1)).all(), (name, metric)
        assert ((values["auc"].dropna() >= 0) & (values["auc"].dropna() <= 1)).all()
        assert (values[f"diversity@{K}"].dropna().between(0, 2)).all()
        assert (values[f"novelty@{K}"].dropna() >= 0).all()
        assert values.loc[OURS, "n_users"] > 0


def test_two_runs_with_a_seed_are_equal(demo, result):
    again = run_evaluation(demo, fast_settings(), encoder=HashingEncoder(dimension=128))
    for name, table in result.tables.items():
        pd.testing.assert_frame_equal(table, again.tables[name])
    first, second = result.to_dict(), again.to_dict()
    for data in (first, second):
        data.pop("timings")
    assert first == second


def test_interestlens_beats_most_popular_and_content_on_cold_items(result):
    # MostPop cannot rank items without interactions (n/a); its warm-user list is the floor
    cold = result.tables["cold_items"].set_index("model")[f"ndcg@{K}"]
    warm = result.tables["warm"].set_index("model")[f"ndcg@{K}"]
    assert math.isnan(cold["MostPop"])
    assert cold[OURS] > warm["MostPop"]
    assert cold[OURS] > 0.1


def test_summary_and_hyperparameters(result):
    lines = result.summary_lines()
    assert len(lines) == 4
    assert lines[0].startswith("warm users: interestlens NDCG@10 ")
    assert "vs best baseline" in lines[0] and "(x" in lines[0]
    assert result.hyperparameters["warm"]["EASE"]["l2"] in (10, 50, 100, 200, 500, 1000)
    chosen = result.hyperparameters["cold_items"][OURS]
    assert chosen["regime"] == "cold_items" and chosen["tuned"] is False
    assert "EASE" not in result.hyperparameters["cold_items"]  # n/a there: nothing tuned


def test_json_markdown_csv_round_trip(result, tmp_path):
    paths = write_evaluation(result, tmp_path)
    assert sorted(p.name for p in paths.values()) == [
        "evaluation.csv",
        "evaluation.json",
        "evaluation.md",
    ]
    data = read_evaluation(paths["json"])
    assert data == json.loads(json.dumps(result.to_dict()))
    assert read_evaluation(tmp_path) == data
    row = data["segments"]["cold_items"]["table"][2]
    assert row["model"] == "ItemKNN" and row[f"ndcg@{K}"] is None
    tidy = pd.read_csv(paths["csv"])
    assert tidy.columns[:3].tolist() == ["segment", "model", f"ndcg@{K}"]
    assert len(tidy) == 4 * len(MODELS)
    markdown = paths["markdown"].read_text()
    assert markdown.count("| model |") == 4
    assert "| **interestlens** |" in markdown and "n/a" in markdown


def test_read_evaluation_rejects_bad_files(tmp_path):
    with pytest.raises(ModelFormatError, match="does not exist"):
        read_evaluation(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        read_evaluation(bad)
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ModelFormatError, match="not an interestlens evaluation"):
        read_evaluation(bad)
    bad.write_text(
        json.dumps({"format": "interestlens-evaluation", "version": 1, "k": 10, "segments": []})
    )
    with pytest.raises(ModelFormatError, match="well-formed segment tables"):
        read_evaluation(bad)


def test_report_section_and_chart(result, tmp_path):
    data = read_evaluation(write_evaluation(result, tmp_path)["json"])
    figure = ndcg_figure(data)
    assert [trace.name for trace in figure.data] == list(MODELS)
    assert figure.layout.barmode == "group"
    section = evaluation_section_html(data, f'<div id="{CHART_ID}"></div>')
    assert 'id="evaluation"' in section and f'id="{CHART_ID}"' in section
    assert section.count('<tr class="ours">') == 4


def test_write_report_shows_evaluation_from_model_dir(result, tmp_path):
    from interestlens.pipeline import InterestLens
    from interestlens.report import write_report

    dataset, _ = make_demo_dataset(seed=0, n_items=60, n_users=80, n_themes=3)
    settings = fast_settings()
    settings.encoder.cache = False
    settings.cluster.k = 3
    settings.cluster.stability_runs = 0
    settings.recommend.enabled = False
    model = InterestLens(settings, encoder=HashingEncoder(dimension=64)).fit(dataset)
    write_evaluation(result, tmp_path)
    page = write_report(model, tmp_path / "with.html", model_dir=tmp_path).read_text()
    assert "Recommendation evaluation" in page and f'id="{CHART_ID}"' in page
    plain = write_report(model, tmp_path / "without.html").read_text()
    assert "Recommendation evaluation" not in plain


def tiny_dataset(n_users: int, per_user: int, n_items: int = 12) -> Dataset:
    rows = [
        (f"u{u}", f"i{(u + j) % n_items}", 1000 * u + j)
        for u in range(n_users)
        for j in range(per_user)
    ]
    interactions = pd.DataFrame(rows, columns=[USER_ID, ITEM_ID, TIMESTAMP])
    items = pd.DataFrame(
        {
            ITEM_ID: [f"i{i}" for i in range(n_items)],
            "title": [f"thing {i}" for i in range(n_items)],
        }
    )
    return Dataset(interactions, items, name="tiny")


def test_segments_the_data_cannot_fill_are_skipped_with_a_reason():
    dataset = tiny_dataset(n_users=6, per_user=3)
    result = run_evaluation(
        dataset,
        fast_settings(),
        encoder=HashingEncoder(dimension=32),
        models=["interestlens", "MostPop", "ContentKNN"],
    )
    assert "cold_users" in result.skipped
    assert result.skipped["cold_users"].startswith("0 users have more than 3 interactions")
    assert "warm" in result.tables
    assert result.tables["warm"]["model"].tolist() == [OURS, "MostPop", "ContentKNN"]
    assert any("cold users" in line and "skipped" in line for line in result.summary_lines())


def test_no_segment_at_all_is_an_error():
    dataset = tiny_dataset(n_users=1, per_user=1, n_items=2)
    with pytest.raises(ParameterError, match="no segment of dataset 'tiny' can be evaluated"):
        run_evaluation(dataset, fast_settings(), encoder=HashingEncoder(dimension=32))


def test_unknown_segment_or_model_names_are_errors(demo):
    with pytest.raises(ParameterError, match=r"segments=\['warm', 'hot'\] names unknown \['hot'\]"):
        run_evaluation(demo, fast_settings(), encoder=HashingEncoder(), segments=["warm", "hot"])
    with pytest.raises(ParameterError, match=r"names unknown \['SVD'\]"):
        run_evaluation(demo, fast_settings(), encoder=HashingEncoder(), models=["SVD"])


def test_user_text_policies(demo):
    reviewed = Dataset(demo.interactions, demo.items, demo.users, "d", {"review_lines": 5})
    auto = run_evaluation(
        reviewed,
        fast_settings(),
        encoder=HashingEncoder(dimension=32),
        segments=["cold_users"],
        models=["MostPop"],
    )
    assert auto.setup["user_texts"]["source"] == "none"
    assert "built from interactions" in auto.setup["user_texts"]["reason"]
    assert COLD_USERS_TEXT not in auto.tables
    with pytest.raises(ParameterError, match="user_texts='bios'"):
        run_evaluation(demo, fast_settings(), encoder=HashingEncoder(), user_texts="bios")


def test_interaction_user_texts_keep_only_allowed_pairs():
    pairs = pd.DataFrame(
        {USER_ID: ["u1", "u1", "u2"], ITEM_ID: ["a", "b", "a"], "text": ["ok", "leak", "fine"]}
    )
    allowed = pd.DataFrame({USER_ID: ["u1", "u2", "u2"], ITEM_ID: ["a", "a", "c"]})
    texts = interaction_user_texts(pairs, allowed).set_index(USER_ID)["text"].to_dict()
    assert texts == {"u1": "ok", "u2": "fine"}
    assert np.all([isinstance(t, str) for t in texts.values()])
