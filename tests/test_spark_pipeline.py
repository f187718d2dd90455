"""The Spark engine in local mode (local[2]) on the demo data: it agrees with the single-machine
path, its model directory loads and serves unchanged, and bad input gets clear errors.

One SparkSession and one Spark fit (through ``interestlens fit --engine spark`` on Parquet
directories) per module. Skipped, with the reason, without PySpark or a Java runtime.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed (extra [spark])")
if shutil.which("java") is None:
    pytest.skip(
        "no Java runtime ('java' not on PATH): Spark needs Java 17+", allow_module_level=True
    )

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from interestlens.cli import main  # noqa: E402
from interestlens.config import Settings, settings_to_dict  # noqa: E402
from interestlens.data.synthetic import make_demo_dataset  # noqa: E402
from interestlens.engine import RecommendationEngine  # noqa: E402
from interestlens.errors import (  # noqa: E402
    DataFileNotFoundError,
    EmptyDataError,
    MissingColumnsError,
    ParameterError,
    UnknownIdError,
)
from interestlens.persist import write_toml  # noqa: E402
from interestlens.pipeline import InterestLens  # noqa: E402
from interestlens.spark.frames import from_dataset, index_data, read_table  # noqa: E402
from interestlens.spark.recommend import COLUMNS  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


def _settings(cache: Path) -> Settings:
    return Settings(
        encoder={"kind": "hashing", "cache_dir": str(cache), "show_progress": False},
        cluster={"k_max": 12, "stability_runs": 0},
        recommend={"tune": False},
        spark={"master": "local[2]", "shuffle_partitions": 2, "als_iterations": 5},
    )


@pytest.fixture(scope="module")
def spark():
    from interestlens.spark.session import spark_session

    session = spark_session(Settings().spark.model_copy(update={"shuffle_partitions": 2}))
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def demo():
    return make_demo_dataset(seed=0)


@pytest.fixture(scope="module")
def fitted(spark, demo, tmp_path_factory):
    """The Spark fit through the CLI on Parquet directories, and the single-machine fit."""
    root = tmp_path_factory.mktemp("spark")
    dataset, _ = demo
    settings = _settings(root / "cache")
    for name, frame in (
        ("interactions", dataset.interactions),
        ("items", dataset.items),
        ("users", dataset.users),
    ):
        folder = root / name
        folder.mkdir()
        half = len(frame) // 2  # two parts, as Spark writes them
        frame.iloc[:half].to_parquet(folder / "part-00000.parquet", index=False)
        frame.iloc[half:].to_parquet(folder / "part-00001.parquet", index=False)
    config = root / "settings.toml"
    write_toml(config, settings_to_dict(settings))
    code = main(
        [
            "fit", "--engine", "spark", "--spark-master", "local[2]", "--quiet",
            "--interactions", str(root / "interactions"), "--items", str(root / "items"),
            "--users", str(root / "users"), "--config", str(config), "--out", str(root / "model"),
        ]
    )  # fmt: skip
    assert code in (0, None)
    single = InterestLens(settings).fit(dataset)
    return root / "model", single, settings


def test_clusters_agree_with_the_single_machine_path(fitted):
    model_dir, single, _ = fitted
    spark_model = InterestLens.load(model_dir)
    assert spark_model.clusters_.result.n_clusters == single.clusters_.result.n_clusters
    ours = dict(zip(spark_model.user_ids_.ids, spark_model.clusters_.user_labels, strict=True))
    theirs = dict(zip(single.user_ids_.ids, single.clusters_.user_labels, strict=True))
    assert set(ours) == set(theirs)
    users = sorted(ours)
    ari = adjusted_rand_score([theirs[u] for u in users], [ours[u] for u in users])
    print(f"ARI Spark vs single machine: {ari:.3f}")
    assert ari >= 0.95


def test_interest_vectors_match_the_single_machine_ones(fitted):
    model_dir, single, _ = fitted
    spark_model = InterestLens.load(model_dir)
    rows = spark_model.user_ids_.indices(single.user_ids_.ids)
    cosine = np.einsum("ij,ij->i", single.user_vectors_, spark_model.user_vectors_[rows])
    assert cosine.min() > 0.999
    assert list(spark_model.representer_.source_[rows]) == list(single.representer_.source_)


def test_every_user_gets_a_parquet_list_with_the_recommend_columns(fitted, demo):
    model_dir, single, _ = fitted
    dataset, _ = demo
    recs = pd.read_parquet(str(model_dir) + ".recommendations.parquet")
    assert list(recs.columns) == COLUMNS
    assert recs["user_id"].nunique() == len(single.user_ids_)
    assert recs.groupby("user_id")["rank"].apply(lambda r: sorted(r) == list(range(1, 11))).all()
    seen = set(zip(dataset.interactions["user_id"], dataset.interactions["item_id"], strict=True))
    assert not any(pair in seen for pair in zip(recs["user_id"], recs["item_id"], strict=True))
    engine = RecommendationEngine.from_model(single)
    users = sorted(recs["user_id"].unique())[:100]
    overlap = np.mean(
        [
            len(
                {r.item_id for r in engine.recommend_user(u, 10)}
                & set(recs.loc[recs["user_id"] == u, "item_id"])
            )
            / 10
            for u in users
        ]
    )
    print(f"overlap@10, Spark batch lists vs the single-machine engine: {overlap:.2f}")
    assert overlap >= 0.3


def test_the_model_directory_loads_and_serves(fitted, tmp_path):
    from fastapi.testclient import TestClient

    from interestlens.model_dir import verify_checksums
    from interestlens.serve import create_app

    model_dir, single, settings = fitted
    assert verify_checksums(model_dir).present  # every file the job wrote, hashed on load
    engine = RecommendationEngine.load(model_dir)
    user = single.user_ids_.ids[0]
    recs = engine.recommend_user(user, 5)
    assert len(recs) == 5 and recs[0].rank == 1 and recs[0].reason
    assert engine.recommend_new(text="hiking boots and a tent", k=3)
    served = settings.model_copy(
        update={"serve": settings.serve.model_copy(update={"events_db": str(tmp_path / "e.db")})}
    )
    with TestClient(create_app(model_dir, served)) as client:
        answer = client.get(f"/users/{user}/recommendations", params={"k": 5})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["items"]) == 5
        assert client.get("/clusters").status_code == 200


def test_recommend_describe_and_report_read_it_unchanged(fitted, tmp_path, capsys):
    model_dir, single, _ = fitted
    users = tmp_path / "users.txt"
    users.write_text("\n".join(single.user_ids_.ids[:3]))
    output = tmp_path / "recs.csv"
    assert main(["recommend", "--model", str(model_dir), "--users", str(users), "-k", "4",
                 "--output", str(output)]) in (0, None)  # fmt: skip
    table = pd.read_csv(output)
    assert list(table.columns) == COLUMNS and len(table) == 12
    loaded = InterestLens.load(model_dir)
    n_clusters = loaded.clusters_.result.n_clusters
    assert main(["describe", "--model", str(model_dir)]) in (0, None)
    assert f"k = {n_clusters} " in capsys.readouterr().out
    report = tmp_path / "report.html"
    assert main(["report", "--model", str(model_dir), "--output", str(report)]) in (0, None)
    page = report.read_text(encoding="utf-8")
    assert f"users in {n_clusters} interest clusters</div>" in page
    assert page.count('class="card"') == n_clusters
    for explanation in loaded.clusters_.explanations:
        assert (
            f"<h3>Cluster {explanation.cluster_id}: {html.escape(explanation.label)}</h3>" in page
        )


# --- bad input ---------------------------------------------------------------------------------


def test_empty_interactions_are_refused(spark, demo):
    dataset, _ = demo
    data = from_dataset(spark, dataset)
    data.interactions = data.interactions.limit(0)
    with pytest.raises(EmptyDataError, match="interactions table has no rows"):
        index_data(data)


def test_a_missing_column_is_named(spark, demo):
    dataset, _ = demo
    data = from_dataset(spark, dataset)
    data.interactions = data.interactions.drop("item_id")
    with pytest.raises(MissingColumnsError, match="no column 'item_id'"):
        index_data(data)


def test_unknown_items_stop_the_fit_or_are_dropped_and_counted(spark, demo):
    dataset, _ = demo
    extra = pd.DataFrame(
        {"user_id": ["u0001"], "item_id": ["nowhere"], "rating": [5.0], "timestamp": [1e9]}
    )
    with_unknown = dataset.interactions.assign(rating=lambda f: f["rating"].astype(float))
    data = from_dataset(spark, dataset)
    data.interactions = data.interactions.unionByName(
        spark.createDataFrame(extra.astype({"timestamp": float}))
    )
    with pytest.raises(
        UnknownIdError, match=r"1 interactions name items not in the items table: 'nowhere'"
    ):
        index_data(data)
    indexed = index_data(data, on_unknown="drop")
    assert data.notes["dropped_unknown_item_interactions"] == 1
    assert indexed.interactions_indexed.count() == len(with_unknown)


def test_more_clusters_than_users_is_refused():
    from interestlens.spark.cluster import fit_sample

    settings = Settings(cluster={"k": 50})
    vectors = np.random.default_rng(0).normal(size=(10, 8)).astype(np.float32)
    with pytest.raises(ParameterError, match="n_samples=10 should be >= n_clusters=50"):
        fit_sample(vectors, settings, n_signal=10)


def test_a_missing_path_and_an_unknown_engine_are_one_line_errors(spark, tmp_path, capsys):
    with pytest.raises(DataFileNotFoundError, match="does not exist"):
        read_table(spark, tmp_path / "nothing.parquet", "interactions")
    code = main(["fit", "--engine", "flink", "--interactions", "x", "--items", "y",
                 "--out", str(tmp_path / "m")])  # fmt: skip
    assert code == 2
    assert "--engine flink" in capsys.readouterr().err


@pytest.fixture(scope="module")
def bio_only_fits(spark, tmp_path_factory):
    """The demo with a fifth of the users known only by a bio, fitted by Spark and by the
    single-machine path with the same settings."""
    from interestlens.spark.job import fit_spark

    dataset, truth = make_demo_dataset(seed=0, n_items=200, n_users=400, bio_only_share=0.2)
    root = tmp_path_factory.mktemp("spark-bio")
    settings = _settings(root / "cache")
    result = fit_spark(spark, from_dataset(spark, dataset), settings, root / "model")
    single = InterestLens(settings).fit(dataset)
    return InterestLens.load(result.model_dir), single, truth


def test_users_known_only_by_text_go_through_the_same_bridge(bio_only_fits):
    spark_model, single, truth = bio_only_fits
    rows = spark_model.user_ids_.indices(single.user_ids_.ids)
    text_only = single.representer_.source_ == "text"
    assert text_only.sum() == len(truth.bio_only_users) == 80
    assert list(spark_model.representer_.source_[rows]) == list(single.representer_.source_)
    cosine = np.einsum("ij,ij->i", single.user_vectors_, spark_model.user_vectors_[rows])
    assert cosine[text_only].min() > 0.999 and cosine.min() > 0.999
    # the same first-clause choice, saved with the bridge, and the same text vectors
    chosen = single.report_.text_bridge
    saved = spark_model.manifest_["fit_report"]["text_bridge"]
    assert saved["lead_clause"] == chosen["lead_clause"] != "not tried"
    assert saved["users"] == chosen["users"]
    assert spark_model.representer_.lead_weight_ == single.representer_.lead_weight_
    assert spark_model.representer_.bridge_.fitted_
    np.testing.assert_allclose(
        spark_model.user_text_vectors_[rows], single.user_text_vectors_, atol=1e-5
    )
    new = pd.DataFrame({"text": ["Five-a-side regular and landscape photographer"]})
    np.testing.assert_allclose(spark_model.transform(new), single.transform(new), atol=1e-5)


def test_the_clusters_are_fitted_on_behaviour_and_text_only_users_assigned(bio_only_fits):
    spark_model, single, truth = bio_only_fits
    assert spark_model.clusters_.result.n_clusters == single.clusters_.result.n_clusters
    labels = dict(zip(spark_model.user_ids_.ids, spark_model.clusters_.user_labels, strict=True))
    bio_only = sorted(truth.bio_only_users)
    # no cluster holds only users known by text
    text_clusters = {labels[u] for u in bio_only}
    behaviour = {labels[u] for u in labels if u not in set(bio_only)}
    assert text_clusters <= behaviour
    ours = [labels[u] for u in sorted(labels)]
    theirs_map = dict(zip(single.user_ids_.ids, single.clusters_.user_labels, strict=True))
    theirs = [theirs_map[u] for u in sorted(labels)]
    assert adjusted_rand_score(theirs, ours) >= 0.95


def test_mllib_centroids_on_behaviour_leave_text_only_users_out(spark):
    from interestlens.spark.cluster import mllib_centroids

    rng = np.random.default_rng(0)
    near = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    rows = [
        (i, list(map(float, near[i % 2] + 0.01 * rng.normal(size=3))), "history") for i in range(40)
    ] + [(100 + i, [0.0, 0.0, 1.0], "text") for i in range(40)]
    users = spark.createDataFrame(rows, "user_index long, vector array<float>, source string")
    everyone = mllib_centroids(users, 2, seed=0)
    behaviour = mllib_centroids(users, 2, seed=0, behaviour_only=True)
    assert np.abs(everyone[:, 2]).max() > 0.4  # a centre pulled towards the text-only users
    assert np.abs(behaviour[:, 2]).max() < 0.05
    assert sorted(np.argmax(behaviour, axis=1).tolist()) == [0, 1]


def test_too_few_users_with_text_and_history_leave_text_only_users_on_their_text(spark):
    from interestlens.pipeline import representer_from_settings
    from interestlens.spark.represent import learn_bridge, place_users

    rng = np.random.default_rng(0)
    rows = []
    for user in range(8):  # 5 with both, 3 known only by text: fewer than the bridge needs
        history = user < 5
        vector = rng.normal(size=4).astype(np.float32)
        rows.append(
            (
                user,
                (vector / np.linalg.norm(vector)).tolist() if history else [0.0] * 4,
                history,
                rng.normal(size=4).astype(np.float32).tolist(),
                True,
            )
        )
    parts = spark.createDataFrame(
        rows,
        "user_index long, history array<float>, has_history boolean, "
        "text_vector array<float>, has_text boolean",
    )
    fitted = learn_bridge(
        parts, None, representer_from_settings(Settings()), dimension=4, sample_size=100, seed=0
    )
    assert fitted.bridge_ is not None and not fitted.bridge_.fitted_
    assert fitted.lead_weight_ == 0.0
    placed = place_users(parts, None, fitted).orderBy("user_index").toPandas()
    assert placed["source"].tolist() == ["blend"] * 5 + ["text"] * 3
    for user in (5, 6, 7):
        text = np.asarray(rows[user][3])
        np.testing.assert_allclose(
            placed.at[user, "vector"], text / np.linalg.norm(text), atol=1e-6
        )
