"""RecommendationEngine and `interestlens recommend`: ids in, ranked items with clusters and
reasons out, on the demo data whose themes are known."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from interestlens import InterestLens, load_settings, make_demo_dataset
from interestlens.cli import main
from interestlens.engine import RecommendationEngine
from interestlens.errors import (
    DuplicateIdError,
    InvalidValueError,
    NotFittedError,
    ParameterError,
    UnknownIdError,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CSV_COLUMNS = ["user_id", "rank", "item_id", "score", "cluster", "cluster_label", "reason"]


def demo_settings(cache: Path):
    return load_settings(
        environ={},
        overrides={
            "encoder.kind": "hashing",
            "encoder.cache_dir": cache,
            "encoder.show_progress": False,
            "recommend.tune": False,
            "cluster.k": 4,
            "cluster.stability_runs": 0,
        },
    )


@pytest.fixture(scope="module")
def demo():
    return make_demo_dataset(seed=0, n_items=120, n_users=150, n_themes=4)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, demo):
    dataset, _ = demo
    root = tmp_path_factory.mktemp("engine")
    model = InterestLens(demo_settings(root / "cache")).fit(dataset)
    return model.save(root / "model")


@pytest.fixture()
def engine(model_dir):
    return RecommendationEngine.load(model_dir)


def seen_items(dataset, user_id: str) -> set[str]:
    interactions = dataset.interactions
    return set(interactions.loc[interactions["user_id"] == user_id, "item_id"])


def test_known_user_gets_unseen_ranked_items_with_cluster_and_reason(engine, demo):
    dataset, truth = demo
    user = dataset.interactions["user_id"].iloc[0]
    recs = engine.recommend_user(user, 10)
    assert [r.rank for r in recs] == list(range(1, 11))
    assert not {r.item_id for r in recs} & seen_items(dataset, user)
    scores = [r.score for r in recs]
    assert scores == sorted(scores, reverse=True)
    cluster = engine.user_cluster(user)
    assert all(r.cluster == cluster.cluster for r in recs)
    assert all(r.reason for r in recs)
    # the demo users mostly like one theme: their list should mostly be from it
    themes = Counter(truth.item_theme[r.item_id] for r in recs)
    assert themes.most_common(1)[0][0] == truth.user_primary_theme[user]


def test_reasons_name_the_cluster_and_a_rated_item(engine, demo):
    dataset, _ = demo
    user = dataset.interactions["user_id"].iloc[0]
    reasons = [r.reason for r in engine.recommend_user(user, 10)]
    label = engine.user_cluster(user).label
    assert any(label in reason for reason in reasons)
    assert any("which you rated" in reason for reason in reasons)


def test_candidates_restrict_the_ranking(engine, demo):
    dataset, _ = demo
    user = dataset.interactions["user_id"].iloc[0]
    unseen = [i for i in dataset.items["item_id"] if i not in seen_items(dataset, user)]
    wanted = unseen[-7:]
    recs = engine.recommend_user(user, 5, candidates=wanted)
    assert len(recs) == 5 and {r.item_id for r in recs} <= set(wanted)
    with pytest.raises(UnknownIdError, match="'nope'"):
        engine.recommend_user(user, 5, candidates=["nope"])


def test_lists_longer_than_the_cache_are_ranked_anew(model_dir, demo):
    dataset, _ = demo
    engine = RecommendationEngine.load(model_dir)
    engine.cache_k = 5
    user = dataset.interactions["user_id"].iloc[0]
    long = engine.recommend_user(user, 20)
    assert len(long) == 20
    assert [r.item_id for r in long[:5]] == [r.item_id for r in engine.recommend_user(user, 5)]


def test_unknown_user_is_a_clear_error_or_popular(engine):
    with pytest.raises(UnknownIdError, match="unknown user id 'ghost'"):
        engine.recommend_user("ghost", 5)
    table, missing = engine.recommend_users(["ghost", "u0001"], 3, unknown="popular")
    assert missing == ["ghost"]
    ghost = table[table["user_id"] == "ghost"]
    assert list(ghost["item_id"]) == [r.item_id for r in engine.popular(3)]
    assert set(ghost["reason"]) == {"popular overall"}
    with pytest.raises(UnknownIdError, match="1 user id not in the model: 'ghost'"):
        engine.recommend_users(["ghost", "u0001"], 3)


def test_new_person_from_text_gets_the_theme_they_describe(engine, demo):
    dataset, truth = demo
    theme = truth.theme_names[0]
    items = [i for i, t in truth.item_theme.items() if t == theme]
    titles = dataset.items.set_index("item_id").loc[items[:6], "title"]
    text = "I love " + ", ".join(titles)
    recs = engine.recommend_new(text=text, k=10)
    share = np.mean([truth.item_theme[r.item_id] == theme for r in recs])
    assert share >= 0.7
    assert recs[0].cluster >= 0


def test_new_person_from_history(engine, demo):
    _, truth = demo
    theme = truth.theme_names[1]
    items = [i for i, t in truth.item_theme.items() if t == theme][:3]
    recs = engine.recommend_new(history=items, k=10)
    assert not {r.item_id for r in recs} & set(items)
    assert np.mean([truth.item_theme[r.item_id] == theme for r in recs]) >= 0.7
    with pytest.raises(InvalidValueError, match="neither text nor history"):
        engine.recommend_new(k=5)
    with pytest.raises(UnknownIdError, match="history item"):
        engine.recommend_new(history=["missing"], k=5)


def test_events_make_a_new_user_and_move_a_known_one(model_dir, demo):
    _, truth = demo
    engine = RecommendationEngine.load(model_dir)
    theme = truth.theme_names[2]
    items = [i for i, t in truth.item_theme.items() if t == theme]
    engine.add_events("newcomer", items[:4], [5.0] * 4, [None] * 4)
    assert engine.has_user("newcomer")
    recs = engine.recommend_user("newcomer", 10)
    assert not {r.item_id for r in recs} & set(items[:4])
    assert np.mean([truth.item_theme[r.item_id] == theme for r in recs]) >= 0.7
    cluster = engine.user_cluster("newcomer")
    assert cluster.cluster >= 0
    # the cluster of the newcomer is the one most users of that theme are in
    members = [u for u, t in truth.user_primary_theme.items() if t == theme]
    usual = Counter(engine.user_cluster(u).cluster for u in members).most_common(1)[0][0]
    assert cluster.cluster == usual

    user = "u0001"
    before = [r.item_id for r in engine.recommend_user(user, 10)]
    engine.add_events(user, [before[0]], [5.0], [None])
    after = [r.item_id for r in engine.recommend_user(user, 10)]
    assert before[0] not in after
    with pytest.raises(UnknownIdError, match="event item"):
        engine.add_events(user, ["missing"], [None], [None])


def test_new_item_is_recommendable_at_once(model_dir, demo):
    dataset, truth = demo
    engine = RecommendationEngine.load(model_dir)
    theme = truth.theme_names[0]
    template = next(i for i, t in truth.item_theme.items() if t == theme)
    row = dataset.items.set_index("item_id").loc[template]
    engine.add_item("fresh", f"{row['title']}. {row['description']}")
    assert engine.has_item("fresh")
    fan = next(u for u, t in truth.user_primary_theme.items() if t == theme)
    recs = engine.recommend_user(fan, 5, candidates=["fresh", *sorted(truth.item_theme)[:3]])
    assert "fresh" in {r.item_id for r in recs}
    assert any(r.reason.startswith("new item") for r in recs if r.item_id == "fresh")
    with pytest.raises(DuplicateIdError):
        engine.add_item("fresh", "again")


def test_forget_user(model_dir):
    engine = RecommendationEngine.load(model_dir)
    assert engine.forget_user("u0001") is True
    assert not engine.has_user("u0001")
    with pytest.raises(UnknownIdError, match="forgotten"):
        engine.recommend_user("u0001", 5)
    assert engine.forget_user("u0001") is False


def test_loaded_engine_matches_the_fitted_one(model_dir, demo):
    dataset, _ = demo
    model = InterestLens.load(model_dir)
    fresh = RecommendationEngine.from_model(model)
    loaded = RecommendationEngine.load(model_dir)
    for user in dataset.interactions["user_id"].unique()[:5]:
        assert [r.item_id for r in fresh.recommend_user(user, 10)] == [
            r.item_id for r in loaded.recommend_user(user, 10)
        ]


def test_precompute_gives_the_same_lists(model_dir, demo):
    dataset, _ = demo
    lazy = RecommendationEngine.load(model_dir)
    eager = RecommendationEngine.load(model_dir)
    eager.precompute()
    for user in dataset.interactions["user_id"].unique()[:10]:
        assert [r.item_id for r in lazy.recommend_user(user, 10)] == [
            r.item_id for r in eager.recommend_user(user, 10)
        ]


def test_clusters_listing(engine):
    clusters = engine.clusters()
    assert len(clusters) == 4
    assert sum(c.size for c in clusters) <= 150
    first = engine.cluster(clusters[0].cluster_id)
    assert first.keywords and first.representative_items
    with pytest.raises(UnknownIdError, match="no cluster 99"):
        engine.cluster(99)


# --- CLI --------------------------------------------------------------------------------------


def test_cli_recommend_all(model_dir, tmp_path, capsys):
    output = tmp_path / "recs.csv"
    code = main(["recommend", "--model", str(model_dir), "--all", "-k", "3", "--output",
                 str(output), "--quiet"])  # fmt: skip
    assert code == 0
    table = pd.read_csv(output, dtype={"user_id": str, "item_id": str})
    assert list(table.columns) == CSV_COLUMNS
    assert table["user_id"].nunique() == 150
    assert set(table["rank"]) == {1, 2, 3}
    assert "Wrote 450 recommendations for 150 users" in capsys.readouterr().out


def test_cli_recommend_users_candidates_and_unknown(model_dir, tmp_path, capsys):
    users = tmp_path / "users.txt"
    users.write_text("u0001\n\nghost\nu0002\n")
    candidates = tmp_path / "items.txt"
    candidates.write_text("\n".join(f"i{n:04d}" for n in range(1, 40)))
    output = tmp_path / "recs.csv"
    args = ["recommend", "--model", str(model_dir), "--users", str(users), "-k", "4",
            "--candidates", str(candidates), "--output", str(output), "--quiet"]  # fmt: skip
    assert main(args) == 2
    assert "1 user id not in the model: 'ghost'" in capsys.readouterr().err
    assert not output.exists()
    assert main([*args, "--unknown", "popular"]) == 0
    assert "1 unknown users got popular items" in capsys.readouterr().out
    table = pd.read_csv(output, dtype={"user_id": str, "item_id": str})
    assert list(table["user_id"].unique()) == ["u0001", "ghost", "u0002"]
    assert set(table["item_id"]) <= {f"i{n:04d}" for n in range(1, 40)}


def test_cli_recommend_needs_users_or_all(model_dir, tmp_path, capsys):
    output = tmp_path / "recs.csv"
    assert main(["recommend", "--model", str(model_dir), "--output", str(output)]) == 2
    assert "give either --users FILE or --all" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    code = main(["recommend", "--model", str(model_dir), "--users", str(empty), "--output",
                 str(output)])  # fmt: skip
    assert code == 2
    assert "holds no ids" in capsys.readouterr().err


def test_cli_evaluate_writes_tables_and_the_report_shows_them(model_dir, demo, tmp_path, capsys):
    dataset, _ = demo
    data = tmp_path / "data"
    data.mkdir()
    dataset.interactions.to_csv(data / "interactions.csv", index=False)
    dataset.items.to_csv(data / "items.csv", index=False)
    dataset.users.to_csv(data / "users.csv", index=False)
    copy = tmp_path / "model"
    import shutil

    shutil.copytree(model_dir, copy)
    code = main(["evaluate", "--interactions", str(data / "interactions.csv"), "--items",
                 str(data / "items.csv"), "--users", str(data / "users.csv"), "--encoder",
                 "hashing", "--no-cache", "--out", str(tmp_path / "eval"), "--model", str(copy),
                 "--quiet"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "cold items: interestlens NDCG@10" in captured.out
    result = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    models = {row["model"] for row in result["segments"]["warm"]["table"]}
    assert models == {"interestlens", "MostPop", "ItemKNN", "EASE", "ALS", "ContentKNN"}
    assert (copy / "evaluation.json").exists()
    # written in place, and recorded so that the model still verifies
    listed = json.loads((copy / "checksums.json").read_text())["files"]
    assert {"evaluation.json", "evaluation.md", "evaluation.csv"} <= set(listed)
    assert main(["report", "--model", str(copy), "--output", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert "EASE" in page and "ContentKNN" in page


# --- the engine's parts, seen from outside ----------------------------------------------------


def test_cache_k_changes_the_kept_lists_and_user_labels_are_read_only(model_dir, demo):
    dataset, _ = demo
    engine = RecommendationEngine.load(model_dir)
    user = dataset.interactions["user_id"].iloc[0]
    assert engine.n_cached_lists == 0
    first = engine.recommend_user(user, 8)
    assert engine.n_cached_lists == 1
    engine.cache_k = 3
    assert engine.cache_k == 3 and engine.n_cached_lists == 0
    # past the 3 kept items the list is ranked anew: the same 8 items
    assert [r.item_id for r in engine.recommend_user(user, 8)] == [r.item_id for r in first]
    with pytest.raises(ValueError, match="read-only"):
        engine.user_labels[0] = 5
    engine.forget_user(user)
    assert engine.user_labels[engine.user_ids.get(user)] == -1


def test_the_lens_places_histories_and_names_clusters_for_the_engine(model_dir):
    model = InterestLens.load(model_dir)
    items = ["i0001", "i0002", "i0003"]
    indices = model.item_ids_.indices(pd.Series(items, dtype=object))
    placed = model.transform(pd.DataFrame({"items": [items]}))[0]
    np.testing.assert_allclose(model.interest_vector(indices), placed, rtol=1e-6)
    labels, probability, source = model.user_clusters()
    table = model.cluster_table()
    assert labels.tolist() == table["cluster"].tolist()
    assert source.tolist() == table["source"].tolist()
    assert probability is None or probability.shape == labels.shape
    assert model.cluster_label(int(labels[0])) == table["label"].iloc[0]
    assert model.cluster_label(-1) == "no signal"
    assert {e.cluster_id for e in model.cluster_explanations()} == set(labels[labels >= 0])
    labels[0] = 99  # a copy: the model keeps its own
    assert model.user_clusters()[0][0] != 99


def test_placing_a_history_refuses_what_it_cannot_place(model_dir):
    model = InterestLens.load(model_dir)
    with pytest.raises(ParameterError, match="item index 120 is outside the 120 item vectors"):
        model.interest_vector(np.array([0, 120]))
    with pytest.raises(ParameterError, match="item index -1 is outside"):
        model.interest_vector(np.array([-1]))
    with pytest.raises(ParameterError, match="2 ratings for 1 items"):
        model.interest_vector(np.array([3]), ratings=np.array([4.0, 5.0]))
    assert not model.interest_vector(np.zeros(0, dtype=np.int64)).any()  # nothing: zero vector
    assert model.cluster_label(12345) == "cluster 12345"
    with pytest.raises(NotFittedError, match="not fitted"):
        InterestLens().interest_vector(np.array([0]))


def test_many_users_table_serves_users_made_by_events(model_dir, demo):
    _, truth = demo
    engine = RecommendationEngine.load(model_dir)
    theme = truth.theme_names[3]
    items = [i for i, t in truth.item_theme.items() if t == theme][:3]
    engine.add_events("newcomer", items, [5.0] * 3, [None] * 3)
    table, missing = engine.recommend_users(["newcomer", "u0001"], 4)
    assert missing == []
    newcomer = table[table["user_id"] == "newcomer"]
    assert list(newcomer["item_id"]) == [r.item_id for r in engine.recommend_user("newcomer", 4)]
    assert not set(newcomer["item_id"]) & set(items)
