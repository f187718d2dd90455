"""What a person sees with privacy on: the report, ``describe``, ``/clusters`` and the CSVs show
no group under ``privacy.min_group_size`` and no user id (raw or pseudonymous), and the DP
budget is stated."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from interestlens.cli import main
from interestlens.data.synthetic import make_demo_dataset
from interestlens.engine import RecommendationEngine
from interestlens.persist import read_json
from interestlens.pipeline import InterestLens
from interestlens.privacy import WITHHELD_LABEL, Pseudonymizer
from interestlens.report import write_report
from interestlens.serve import create_app
from interestlens.serve.testing import TEST_API_KEY, demo_settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KEY = "report-test-key-0123456789"
MIN_GROUP = 10
HEX_ID = re.compile(r"\b[0-9a-f]{64}\b")
RAW_ID = re.compile(r"(?<![\\\w])u\d{4}\b")  # u0001..u0150, not a JavaScript "\u0001"


def private_settings(root: Path, **extra: object):
    return demo_settings(
        root / "cache",
        **{
            # k = 6 with one k-means init on this data gives a cluster of 2 users (and one of
            # 10): the threshold bites
            "cluster.k": 6,
            "cluster.n_init": 1,
            "privacy.pseudonymize": True,
            "privacy.key": KEY,
            "privacy.min_group_size": MIN_GROUP,
            "serve.events_db": str(root / "events.sqlite"),
            "serve.api_key": TEST_API_KEY,
            **extra,
        },
    )


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("private")
    settings = private_settings(root)
    dataset, _ = make_demo_dataset(seed=0, n_items=120, n_users=150, n_themes=4)
    model = InterestLens(settings).fit(dataset)
    return root, settings, model, model.save(root / "model")


def test_fixture_has_a_small_cluster(fitted):
    _, _, model, _ = fitted
    sizes = sorted(e.size for e in model.clusters_.explanations)
    assert sizes[0] < MIN_GROUP <= sizes[1]


def test_report_shows_no_small_group_and_no_user_id(fitted, tmp_path):
    _, _, model, model_dir = fitted
    html = write_report(InterestLens.load(model_dir), tmp_path / "report.html").read_text()
    small = [e for e in model.clusters_.explanations if e.size < MIN_GROUP]
    shown = [e for e in model.clusters_.explanations if e.size >= MIN_GROUP]
    for explanation in small:
        assert f"Cluster {explanation.cluster_id}: " not in html
        assert explanation.label not in html
    for explanation in shown:
        assert f"Cluster {explanation.cluster_id}: {explanation.label}" in html
    # plotly's script holds hex ids of its own: look for the model's pseudonyms themselves
    assert not any(p in html for p in read_json(model_dir / "user_ids.json"))
    assert not RAW_ID.search(html)
    assert "small groups withheld" in html and "pseudonymized (HMAC-SHA256)" in html
    assert "withheld (privacy on)" in html  # medoids: the central items stand for a cluster
    assert 'id="interest-map"' not in html  # no point per person


def test_describe_shows_no_small_group_and_no_user_id(fitted, capsys):
    _, _, model, model_dir = fitted
    assert main(["describe", "--model", str(model_dir)]) == 0
    text = capsys.readouterr().out
    assert "medoid users" not in text and not HEX_ID.search(text) and not RAW_ID.search(text)
    shown = re.findall(r"Cluster (\d+):", text)
    sizes = {e.cluster_id: e.size for e in model.clusters_.explanations}
    assert shown and all(sizes[int(c)] >= MIN_GROUP for c in shown)
    assert "small groups withheld: 1" in text


def test_clusters_endpoint_hides_small_groups_and_user_ids(fitted):
    _, settings, model, model_dir = fitted
    sizes = {e.cluster_id: e.size for e in model.clusters_.explanations}
    small = [c for c, size in sizes.items() if size < MIN_GROUP]
    with TestClient(create_app(model_dir, settings)) as client:
        body = client.get("/clusters").json()["clusters"]
        assert {c["cluster_id"] for c in body} == {c for c, s in sizes.items() if s >= MIN_GROUP}
        assert all(c["size"] >= MIN_GROUP for c in body)
        assert not HEX_ID.search(str(body)) and not RAW_ID.search(str(body))
        response = client.get(f"/clusters/{small[0]}")
        assert response.status_code == 404
        assert "withheld" in response.json()["error"]["message"]
        # a member of the small group: their cluster has no name, nor do their reasons
        pseudonyms = read_json(model_dir / "user_ids.json")
        labels = model.clusters_.user_labels
        member = next(i for i, c in enumerate(labels) if c == small[0])
        raw = next(
            u
            for u in (f"u{n:04d}" for n in range(1, 151))
            if Pseudonymizer(KEY).pseudonym(u) == pseudonyms[member]
        )
        assert client.get(f"/users/{raw}/cluster").json()["label"] == WITHHELD_LABEL
        recs = client.get(f"/users/{raw}/recommendations?k=5").json()["items"]
        small_label = model.clusters_.label_of(small[0])
        assert all(small_label not in r["reason"] for r in recs)


def test_csv_outputs_hold_pseudonyms_unless_raw_ids_are_asked_for(
    fitted, tmp_path, capsys, monkeypatch
):
    _, _, _, model_dir = fitted
    monkeypatch.setenv("INTERESTLENS_PRIVACY__KEY", KEY)
    users = tmp_path / "users.txt"
    users.write_text("u0001\nu0002\n", encoding="utf-8")
    assert main(["recommend", "--model", str(model_dir), "--users", str(users), "-k", "3",
                 "--output", str(tmp_path / "recs.csv"), "-q"]) == 0  # fmt: skip
    table = pd.read_csv(tmp_path / "recs.csv")
    assert set(table["user_id"]) == {Pseudonymizer(KEY).pseudonym(u) for u in ("u0001", "u0002")}
    assert main(["recommend", "--model", str(model_dir), "--users", str(users), "-k", "3",
                 "--output", str(tmp_path / "raw.csv"), "-q", "--raw-ids"]) == 0  # fmt: skip
    assert set(pd.read_csv(tmp_path / "raw.csv")["user_id"]) == {"u0001", "u0002"}
    assert main(["clusters", "--model", str(model_dir), "--output", str(tmp_path / "c.csv")]) == 0
    assert not RAW_ID.search((tmp_path / "c.csv").read_text())
    capsys.readouterr()
    monkeypatch.delenv("INTERESTLENS_PRIVACY__KEY")
    assert main(["recommend", "--model", str(model_dir), "--users", str(users),
                 "--output", str(tmp_path / "x.csv")]) == 2  # fmt: skip
    assert "privacy.key is not set" in capsys.readouterr().err


def test_engine_accepts_raw_ids_with_the_key(fitted):
    _, _, _, model_dir = fitted
    engine = RecommendationEngine.load(model_dir, pseudonymizer=Pseudonymizer(KEY))
    assert engine.has_user("u0001") and engine.recommend_user("u0001", 3)
    plain = RecommendationEngine.load(model_dir)
    assert not plain.has_user("u0001")  # without the key only pseudonyms are known


def test_dp_release_is_saved_stated_and_used_for_sizes(tmp_path):
    settings = private_settings(tmp_path, **{"privacy.epsilon": 2.0, "cluster.k": 4})
    dataset, _ = make_demo_dataset(seed=0, n_items=120, n_users=150, n_themes=4)
    model_dir = InterestLens(settings).fit(dataset).save(tmp_path / "model")
    release = read_json(model_dir / "privacy_release.json")
    assert release["epsilon"] == 2.0 and release["delta"] == 1e-5 and release["clip"] == 1.0
    assert release["dimensions"] == 16
    assert (model_dir / "privacy_centroids.npy").exists()
    model = InterestLens.load(model_dir)
    assert model.privacy_release_.sizes.tolist() == release["sizes"]
    html = write_report(model, tmp_path / "report.html").read_text()
    assert "ε = 2, δ = 1e-05, clip = 1" in html
    for size in release["sizes"]:
        assert f"{size} users (" in html  # the cards show the released (noisy) sizes
    with TestClient(create_app(model_dir, settings)) as client:
        body = client.get("/clusters").json()["clusters"]
    assert sorted(c["size"] for c in body) == sorted(s for s in release["sizes"] if s >= 10)
