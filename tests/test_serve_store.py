"""The service's durable log (SQLite, WAL, synchronous=FULL) and ``refit``, which folds the log
into a new model directory that later replays do not count twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from interestlens.errors import DataFileNotFoundError, DuplicateIdError
from interestlens.persist import read_json
from interestlens.serve import EventStore, default_events_path, refit_model
from interestlens.serve.replay import FOLDED_FILE
from interestlens.serve.service import Service
from interestlens.serve.store import Event, StoreError
from interestlens.serve.testing import build_demo_model, demo_settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_demo_model(tmp_path_factory.getbasetemp() / "serve-demo" / "model")


def test_store_is_wal_with_full_sync_and_keeps_its_id(tmp_path):
    path = tmp_path / "log.sqlite"
    with EventStore(path) as store:
        assert store.journal_mode == "wal"
        assert store.synchronous == 2  # FULL
        store_id = store.store_id
    with EventStore(path) as again:
        assert again.store_id == store_id
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_log_order_and_forgetting(tmp_path):
    with EventStore(tmp_path / "log.sqlite") as store:
        seqs = store.append_events([Event("a", "i1", 5.0, 1.0), Event("b", "i2"), Event("a", "i3")])
        assert seqs == [1, 2, 3]
        assert store.append_item("new", "some text", "New") == 4
        with pytest.raises(DuplicateIdError, match="'new' was already posted"):
            store.append_item("new", "other", None)
        assert store.forget_user("a") == 2
        assert [e.item_id for e in store.events_of("a")] == []
        # sequence numbers are never reused, so a refit's watermark stays meaningful
        assert store.append_events([Event("a", "i9")]) == [6]
        kinds = [(e.seq, e.kind) for e in store.entries()]
        assert kinds == [(2, "event"), (4, "item"), (5, "forget"), (6, "event")]
        assert [e.seq for e in store.entries(after=2, upto=5)] == [4, 5]
        assert store.counts() == {"events": 2, "items": 1, "forgotten": 1}
        assert store.last_seq() == 6


def test_store_on_an_unusable_path_says_so(tmp_path):
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(StoreError, match="cannot be opened"):
        EventStore(tmp_path / "dir.sqlite")


def test_default_path_sits_beside_the_model(tmp_path):
    assert default_events_path(tmp_path / "model") == tmp_path / "model.events.sqlite"


def test_refit_folds_items_events_and_forgetting_once(model_dir, tmp_path):
    settings = demo_settings(tmp_path / "cache", **{"serve.events_db": str(tmp_path / "e.sqlite")})
    service = Service(model_dir, settings)
    service.start()
    service.add_item("late", "retirement budget planner for frugal savers", "Late Book")
    service.add_events(
        [
            Event("fresh", "late", 5.0, 1.8e9),
            Event("fresh", "i0005", None, None),
            Event("u0001", "i0100", 4.0, 1.8e9),
        ]
    )
    service.forget_user("u0006")
    service.close()

    out = tmp_path / "refit"
    summary = refit_model(model_dir, out, settings)
    assert (summary.events_folded, summary.new_items, summary.new_users) == (3, 1, 1)
    assert summary.forgotten_users == 1 and summary.interactions_removed > 0
    assert summary.already_folded == 0 and summary.folded_seq == 5  # 1 item, 3 events, 1 forget
    users = read_json(out / "user_ids.json")
    items = read_json(out / "item_ids.json")
    assert "fresh" in users and "u0006" not in users
    assert items[-1] == "late" and read_json(out / "item_titles.json")[-1] == "Late Book"
    frame = pd.read_parquet(out / "interactions.parquet")
    assert len(frame) == summary.n_interactions
    assert (frame["user_index"] == users.index("fresh")).sum() == 2
    assert read_json(out / FOLDED_FILE)["folded_seq"] == 5

    # the service on the refitted model replays only what came after the refit
    service = Service(out, settings)
    service.start()
    assert service.last_replay.to_dict()["already_in_model"] == 5
    assert service.last_replay.events == 0 and service.last_replay.items == 0
    assert service.engine.has_user("fresh") and service.engine.has_item("late")
    service.add_events([Event("fresh", "i0007", 3.0, 1.9e9)])
    service.close()

    again = refit_model(out, tmp_path / "refit2", settings)
    assert (again.already_folded, again.events_folded, again.new_users) == (5, 1, 0)
    frame = pd.read_parquet(tmp_path / "refit2" / "interactions.parquet")
    users = read_json(tmp_path / "refit2" / "user_ids.json")
    assert (frame["user_index"] == users.index("fresh")).sum() == 3


def test_refit_without_a_store_refits_the_model_data(model_dir, tmp_path):
    settings = demo_settings(tmp_path / "cache", **{"serve.events_db": str(tmp_path / "no.sqlite")})
    summary = refit_model(model_dir, tmp_path / "out", settings)
    assert summary.events_db is None and summary.events_folded == 0
    assert summary.n_items == 120 and summary.n_users == 150
    assert not (tmp_path / "out" / FOLDED_FILE).exists()
    with pytest.raises(DataFileNotFoundError, match="does not exist"):
        refit_model(model_dir, tmp_path / "x", settings, events_db=tmp_path / "missing.sqlite")


def test_log_entries_the_model_cannot_take_are_counted_and_named_not_dropped(model_dir, tmp_path):
    """A replay onto a model that lacks an event's item (or already has a posted item) applies
    the user's other events one by one and reports each entry it could not apply."""
    db = tmp_path / "events.sqlite"
    with EventStore(db) as store:
        store.append_events(
            [
                Event("replayed", "i0001"),
                Event("replayed", "ghost-item"),
                Event("replayed", "i0002"),
            ]
        )
        store.append_item("i0003", "an item the model already holds")
    service = Service(model_dir, demo_settings(tmp_path / "cache", **{"serve.events_db": str(db)}))
    try:
        service.start()
        report = service.last_replay
        assert (report.events, report.items, report.failed) == (2, 0, 2)
        assert report.problems[0].startswith("seq 2 (event): ")
        assert "ghost-item" in report.problems[0]
        assert report.problems[1].startswith("seq 4 (item): ")
        assert "i0003" in report.problems[1]
        assert service.engine.has_user("replayed")
    finally:
        service.close()
