"""Adaptive centroids: bounded steps, absurd settings refused, and exact replay of the service's
stored updates after a restart."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from interestlens.config import load_settings
from interestlens.errors import ConfigError, ParameterError
from interestlens.serve.service import Service
from interestlens.serve.store import Event
from interestlens.serve.testing import build_demo_model, demo_settings
from interestlens.timeline.adaptive import AdaptiveCentroids

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _fitted(max_step: float = 0.05) -> AdaptiveCentroids:
    rng = np.random.default_rng(0)
    vectors = np.vstack(
        [np.eye(8)[0] + rng.normal(0, 0.1, (50, 8)), np.eye(8)[1] + rng.normal(0, 0.1, (50, 8))]
    )
    labels = np.repeat([0, 1], 50)
    return AdaptiveCentroids(max_step=max_step, candidate_min_users=5).fit(vectors, labels)


def test_one_batch_moves_a_centroid_by_a_bounded_step():
    adaptive = _fitted(max_step=0.05)
    before = adaptive.centroids_[0].astype(np.float64).copy()
    far = np.tile(-np.eye(8)[0] + np.eye(8)[2], (500, 1))  # many users far from the centroid
    (update,) = adaptive.update(far, [0] * 500, timestamp=1.0)
    moved = np.linalg.norm(update.centroid.astype(np.float64) - before)
    assert 0 < moved <= 0.05 / (1 - 2 * 0.05) + 1e-6
    assert np.isclose(np.linalg.norm(update.centroid), 1.0, atol=1e-5)
    # the far users fit badly: 500 of 500 flags the cluster as a candidate new interest
    assert update.poor_fits == 500 and update.flagged
    assert adaptive.summary()[1]["received"] == 0


def test_mass_halves_with_the_half_life():
    adaptive = _fitted()
    vector = np.eye(8)[0][None, :]
    adaptive.update(vector, [0], timestamp=0.0)
    mass = adaptive.mass_[0]
    (update,) = adaptive.update(vector, [0], timestamp=14 * 86_400.0)
    assert update.mass == pytest.approx(mass / 2 + 1)


@pytest.mark.parametrize("half_life", [0, -3, 1e9, float("nan"), float("inf")])
def test_absurd_half_lives_are_refused(half_life):
    with pytest.raises(ParameterError, match="half_life_days"):
        AdaptiveCentroids(half_life_days=half_life).fit(np.eye(3), np.array([0, 0, 1]))
    with pytest.raises(ConfigError):
        load_settings(environ={}, overrides={"drift.adaptive_half_life_days": half_life})


def test_absurd_step_is_refused():
    with pytest.raises(ParameterError, match="max_step"):
        AdaptiveCentroids(max_step=0.9).fit(np.eye(3), np.array([0, 0, 1]))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_demo_model(tmp_path_factory.getbasetemp() / "adaptive-demo" / "model")


def test_service_updates_are_stored_and_replayed_exactly(model_dir, tmp_path):
    settings = demo_settings(
        tmp_path / "cache",
        **{"serve.events_db": str(tmp_path / "events.sqlite"), "serve.precompute": False},
    )
    service = Service(model_dir, settings)
    service.start()
    fitted = {c: v.copy() for c, v in service.adaptive.centroids.centroids_.items()}
    items = service.engine.item_ids.ids
    for step in range(6):
        service.add_events(
            [
                Event(f"new-{step}-{n}", items[(7 * step + n) % len(items)], 5.0, 1e9 + step)
                for n in range(4)
            ]
            + [Event(service.engine.user_ids.ids[step], items[step], 4.0, 1e9 + step)]
        )
    live = service.adaptive.centroids
    assert any(not np.array_equal(live.centroids_[c], fitted[c]) for c in fitted)
    assert sum(live.received_.values()) == 6 * 5  # every event of the six batches
    assert service.engine.user_cluster("new-0-0").cluster >= 0  # placed at once
    state = (
        {c: v.copy() for c, v in live.centroids_.items()},
        dict(live.mass_),
        dict(live.received_),
        set(live.flagged_),
    )
    service.close()

    restarted = Service(model_dir, settings)
    restarted.start()
    again = restarted.adaptive.centroids
    assert all(np.array_equal(again.centroids_[c], state[0][c]) for c in state[0])
    assert again.mass_ == state[1] and again.received_ == state[2] and again.flagged_ == state[3]
    restarted.close()


def test_refit_folds_the_adaptive_centroids_in_and_keeps_ids(model_dir, tmp_path):
    from interestlens.pipeline import InterestLens
    from interestlens.serve import refit_model

    settings = demo_settings(
        tmp_path / "cache",
        **{"serve.events_db": str(tmp_path / "events.sqlite"), "serve.precompute": False},
    )
    service = Service(model_dir, settings)
    service.start()
    items = service.engine.item_ids.ids
    service.add_events([Event("fresh", items[0], 5.0, 1e9), Event("fresh", items[1], 5.0, 1e9)])
    service.close()
    summary = refit_model(model_dir, tmp_path / "refit", settings)
    assert summary.cluster_ids["users_kept_id"] >= 0.95
    old = InterestLens.load(model_dir)
    new = InterestLens.load(tmp_path / "refit")
    labels = dict(zip(old.user_ids_.ids, old.clusters_.user_labels, strict=True))
    kept = [
        labels[u] == c
        for u, c in zip(new.user_ids_.ids, new.clusters_.user_labels, strict=True)
        if u in labels
    ]
    assert np.mean(kept) >= 0.95


def test_the_api_shows_the_adaptive_centroids(model_dir, tmp_path):
    from fastapi.testclient import TestClient

    from interestlens.serve import create_app

    settings = demo_settings(
        tmp_path / "cache",
        **{"serve.events_db": str(tmp_path / "events.sqlite"), "serve.precompute": False},
    )
    with TestClient(create_app(model_dir, settings)) as client:
        body = client.get("/adaptive").json()
    assert body["enabled"] is True
    assert {row["cluster"] for row in body["clusters"]} == set(range(4))
    assert all(row["moved_since_fit"] == 0 for row in body["clusters"])


def test_reload_onto_an_unrelated_fit_keeps_the_served_ids(model_dir, tmp_path):
    import pandas as pd
    from scipy.optimize import linear_sum_assignment

    from interestlens.data.schema import Dataset
    from interestlens.data.synthetic import make_demo_dataset
    from interestlens.pipeline import InterestLens

    settings = demo_settings(
        tmp_path / "cache",
        **{
            "serve.events_db": str(tmp_path / "events.sqlite"),
            "serve.precompute": False,
            # reload loads only under the models root: the folder holding both models
            "serve.models_root": os.path.commonpath([model_dir.resolve(), tmp_path.resolve()]),
        },
    )
    # the same data in another order, fitted without --previous: its own cluster numbering
    dataset, _ = make_demo_dataset(seed=0, n_items=120, n_users=150, n_themes=4)
    reordered = Dataset(
        interactions=dataset.interactions.sample(frac=1.0, random_state=5).reset_index(drop=True),
        items=dataset.items,
        users=dataset.users.iloc[::-1].reset_index(drop=True),
        name="demo",
    )
    other = InterestLens(settings).fit(reordered).save(tmp_path / "other")
    service = Service(model_dir, settings)
    service.start()
    before = {u: service.engine.user_cluster(u).cluster for u in service.engine.user_ids.ids}
    service.reload(other)
    after = {u: service.engine.user_cluster(u).cluster for u in before}
    kept = np.mean([before[u] == after[u] for u in before])
    # the tiny hashing demo clusters a little differently in another row order: the ids kept
    # must be the best one-to-one relabelling there is (Hungarian on the contingency table)
    native = InterestLens.load(other)
    own = dict(zip(native.user_ids_.ids, native.clusters_.user_labels, strict=True))
    table = pd.crosstab(pd.Series([before[u] for u in before]), pd.Series([own[u] for u in before]))
    rows, cols = linear_sum_assignment(-table.to_numpy())
    best = table.to_numpy()[rows, cols].sum() / len(before)
    assert kept == pytest.approx(best)
    assert kept > 0.6
    assert service.engine.model.clusters_.lineage["parent_fit_id"]
    service.close()
