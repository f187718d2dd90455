"""Clusters through the pipeline: known demo themes, the clusters CSV, soft membership."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from interestlens import Dataset, InterestLens, load_settings, make_demo_dataset
from interestlens.cli import main


@pytest.fixture(scope="module")
def demo():
    return make_demo_dataset(seed=2, n_items=150, n_users=240, n_themes=4)


def settings(**extra):
    return load_settings(
        environ={},
        overrides={
            "recommend.tune": False,
            "encoder.kind": "hashing",
            "encoder.cache": False,
            "encoder.show_progress": False,
            "cluster.k_max": 8,
            "cluster.stability_runs": 2,
            **extra,
        },
    )


def test_automatic_k_recovers_known_themes(demo):
    dataset, truth = demo
    model = InterestLens(settings()).fit(dataset, labels_true=truth.user_primary_theme)
    result = model.clusters_.result
    assert result.n_clusters == 4 and result.k_source == "auto"
    assert model.clusters_.truth_metrics["adjusted_rand"] >= 0.9
    assert result.stability["mean_ari"] >= 0.8
    assert len(model.clusters_.explanations) == 4
    # every cluster's label is made of its keywords
    for explanation in model.clusters_.explanations:
        assert explanation.label.split(" · ")[0] in [k.term for k in explanation.keywords]


def test_text_only_and_silent_users_in_clusters_csv(tmp_path: Path, demo, capsys):
    dataset, _ = demo
    extra = pd.DataFrame(
        {"user_id": ["reader", "ghost"], "bio": ["epic fantasy novels and audiobooks", ""]}
    )
    users = pd.concat([dataset.users, extra], ignore_index=True)
    dataset = Dataset(dataset.interactions, dataset.items, users, name="demo+")
    InterestLens(settings()).fit(dataset).save(tmp_path / "m")
    assert (
        main(["clusters", "--model", str(tmp_path / "m"), "--output", str(tmp_path / "c.csv")]) == 0
    )
    table = pd.read_csv(tmp_path / "c.csv", dtype={"user_id": str})
    assert list(table.columns[:2]) == ["user_id", "cluster"]
    assert len(table) == dataset.interactions["user_id"].nunique() + 2
    rows = table.set_index("user_id")
    assert rows.loc["reader", "cluster"] >= 0 and rows.loc["reader", "source"] == "text"
    assert rows.loc["ghost", "cluster"] == -1 and rows.loc["ghost", "source"] == "none"
    assert "1 not clustered" in capsys.readouterr().out


def test_gmm_gives_membership_probabilities(demo):
    dataset, _ = demo
    model = InterestLens(settings(**{"cluster.method": "gmm", "cluster.k": 4})).fit(dataset)
    table = model.cluster_table()
    assert "probability" in table.columns
    assert table["probability"].between(0, 1).all()
    np.testing.assert_allclose(model.clusters_.membership.sum(axis=1), 1, atol=1e-4)


def test_multi_interest_membership_is_soft(demo):
    dataset, _ = demo
    model = InterestLens(settings(**{"cluster.multi_interest": True, "cluster.k": 4})).fit(dataset)
    membership = model.clusters_.membership
    assert membership.shape == (len(model.user_ids_), 4)
    np.testing.assert_allclose(membership.sum(axis=1), 1, atol=1e-4)
    # users with several themes spread over more than one cluster
    assert (np.sort(membership, axis=1)[:, -2] > 0.05).mean() > 0.2


def test_report_and_describe_commands(tmp_path: Path, demo, capsys):
    dataset, _ = demo
    InterestLens(settings()).fit(dataset).save(tmp_path / "m")
    assert (
        main(["report", "--model", str(tmp_path / "m"), "--output", str(tmp_path / "r.html")]) == 0
    )
    page = (tmp_path / "r.html").read_text(encoding="utf-8")  # content, not size: plotly is 3 MB
    assert "users in 4 interest clusters</div>" in page and page.count('class="card"') == 4
    assert main(["describe", "--model", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "k = 4 (auto)" in out and "keywords:" in out
