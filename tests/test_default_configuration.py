"""The default configuration end to end, recommender tuning included, in the fast lane.

``conftest.py`` turns tuning off for every other test (it takes most of a fit on the demo data);
this module keeps the shipped default (``recommend.tune = true``) covered on a tiny demo dataset:
fit → save → load → recommend, with known answers from the generator's hidden truth.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pytest

from interestlens import InterestLens, load_settings, make_demo_dataset
from interestlens.engine import RecommendationEngine
from interestlens.report import recommender_tables, write_report

REGIMES = ["warm", "cold_users", "cold_text", "cold_items"]
MODEL_CARD = "Recommender: tuned for temporal hold-out"


@pytest.fixture(scope="module")
def demo():
    return make_demo_dataset(seed=3, n_items=120, n_users=150, n_themes=4)


@pytest.fixture(scope="module")
def fitted(demo, tmp_path_factory) -> tuple[InterestLens, Path]:
    dataset, _ = demo
    # Only the encoder differs from the shipped defaults: MiniLM would load torch for seconds.
    settings = load_settings(
        environ={},
        overrides={
            "encoder.kind": "hashing",
            "encoder.cache": False,
            "encoder.show_progress": False,
        },
    )
    assert settings.recommend.tune is True, "the default configuration tunes the recommender"
    assert settings.recommend.enabled is True
    model = InterestLens(settings).fit(dataset)
    directory = model.save(tmp_path_factory.mktemp("default") / "model")
    return model, directory


def _primary_theme_share(engine: RecommendationEngine, truth, users: list[str]) -> list[float]:
    shares = []
    for user in users:
        recommended = engine.recommend_user(user, k=10)
        assert len(recommended) == 10
        theme = truth.user_primary_theme[user]
        shares.append(np.mean([truth.item_theme[r.item_id] == theme for r in recommended]))
    return shares


def test_default_fit_recommends_from_each_users_interest_theme(demo, fitted):
    dataset, truth = demo
    _, directory = fitted
    engine = RecommendationEngine.load(directory)
    users = dataset.users["user_id"].tolist()[:40]
    shares = _primary_theme_share(engine, truth, users)
    # 4 themes: a random list holds ~25 % of the primary theme; the tuned blend ~85 %
    assert np.mean(shares) >= 0.7, shares
    assert np.median(shares) >= 0.8, shares
    for user in users[:5]:
        seen = set(dataset.interactions.loc[dataset.interactions["user_id"] == user, "item_id"])
        assert not seen & {r.item_id for r in engine.recommend_user(user, k=10)}


def test_default_fit_recommends_for_a_new_person_from_their_text(demo, fitted):
    dataset, truth = demo
    model, _ = fitted
    engine = RecommendationEngine.from_model(model)
    hits = []
    users = dataset.users.loc[dataset.users["bio"].str.len() > 0, ["user_id", "bio"]]
    for user, bio in users.head(20).itertuples(index=False):
        recommended = engine.recommend_new(text=bio, k=10)
        theme = truth.user_primary_theme[user]
        hits.append(np.mean([truth.item_theme[r.item_id] == theme for r in recommended]))
    # hashed words only (no language model): ~70 % of the primary theme, a random list ~25 %
    assert np.mean(hits) >= 0.5, hits


def test_the_model_card_records_what_tuning_chose_and_survives_save_and_load(fitted):
    model, directory = fitted
    card = recommender_tables(model)
    assert list(card) == [MODEL_CARD]
    table = card[MODEL_CARD]
    assert table["regime"].tolist() == REGIMES
    chosen = dict(zip(table["regime"], table["chosen"], strict=True))
    # on this data the blend clearly beats every plain baseline in these regimes (z > 5)
    assert chosen["warm"].startswith("blend (collaborative ")
    assert chosen["cold_text"].startswith("blend (")
    for regime, why in zip(table["regime"], table["why"], strict=True):
        assert "NDCG@10" in why, (regime, why)
    for scores in table["validation NDCG@10"]:
        assert scores.startswith("blend 0.")

    loaded = InterestLens.load(directory)
    assert recommender_tables(loaded)[MODEL_CARD].equals(table)

    page = write_report(loaded, directory.parent / "report.html").read_text(encoding="utf-8")
    assert MODEL_CARD in page
    assert html.escape(table["why"].iloc[0]) in page
