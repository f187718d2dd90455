"""Several worker processes on one events store (``serve.workers``): each applies what the
others stored before its next request, never its own posts twice, and follows a reload. Two
:class:`Service` objects in one process stand for two workers (same store, same run id), so
each step is deterministic; one test runs the real thing, ``python -m interestlens.serve``
with two uvicorn workers."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from interestlens.config import Settings
from interestlens.errors import ConfigError, ModelFormatError, ParameterError
from interestlens.serve import create_app
from interestlens.serve.server import run_server
from interestlens.serve.service import Service
from interestlens.serve.store import Event, StorageUnavailableError
from interestlens.serve.testing import (
    TEST_API_KEY,
    ServerProcess,
    build_demo_model,
    demo_settings,
)
from interestlens.serve.workers import WORKER_CONFIG, create_worker_app, worker_environment

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RUN = "run-under-test"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_demo_model(tmp_path_factory.getbasetemp() / "workers-demo" / "model")


def worker_settings(tmp_path: Path) -> Settings:
    return demo_settings(
        tmp_path / "cache",
        **{
            "serve.events_db": str(tmp_path / "events.sqlite"),
            "serve.workers": 2,
            "drift.adaptive": False,
        },
    )


def workers(model_dir: Path, settings: Settings, n: int = 2) -> list[Service]:
    started = []
    for _ in range(n):
        service = Service(model_dir, settings, run_id=RUN)
        service.start()
        started.append(service)
    return started


def history_of(service: Service, user_id: str) -> list[int]:
    engine = service.engine
    return engine.histories.history(engine.user_ids.get(user_id))[0].tolist()


def test_what_one_worker_stores_the_other_applies_once(model_dir, tmp_path):
    a, b = workers(model_dir, worker_settings(tmp_path))
    try:
        before = history_of(b, "u0001")
        a.add_events([Event("u0001", "i0100", 4.0, 1.8e9), Event("newcomer", "i0005")])
        assert history_of(b, "u0001") == before  # not yet: b has not looked
        assert b.follow_log() == 2
        item = a.engine.item_ids.get("i0100")
        assert history_of(b, "u0001") == [*before, item]
        assert b.engine.has_user("newcomer")
        # a applied its own events when it stored them: following the log adds nothing
        assert a.follow_log() == 0
        assert history_of(a, "u0001") == history_of(b, "u0001")
        # nothing new: the check is one PRAGMA, no replay
        assert not b.log_changed() and b.follow_log() == 0

        b.add_item("late", "retirement budget planner for frugal savers", "Late Book")
        b.forget_user("u0006")
        assert a.follow_log() == 2
        assert a.engine.has_item("late") and not a.engine.has_user("u0006")
        # both now rank the same lists for the same user
        ids_a = [r.item_id for r in a.engine.recommend_user("u0001", 10)]
        ids_b = [r.item_id for r in b.engine.recommend_user("u0001", 10)]
        assert ids_a == ids_b and "i0100" not in ids_a
    finally:
        a.close()
        b.close()


def test_interleaved_posts_of_two_workers_are_each_applied_once(model_dir, tmp_path):
    a, b = workers(model_dir, worker_settings(tmp_path))
    try:
        a.add_events([Event("u0002", "i0011")])
        b.add_events([Event("u0002", "i0012")])  # b has not followed a's post yet
        a.add_events([Event("u0002", "i0013")])
        for service in (a, b):
            service.follow_log()
        expected = [a.engine.item_ids.get(i) for i in ("i0011", "i0012", "i0013")]
        for service in (a, b):
            history = history_of(service, "u0002")
            assert sorted(history[-3:]) == sorted(expected)
            assert len(history) == len(set(history))  # none applied twice
    finally:
        a.close()
        b.close()


def test_a_reload_reaches_every_worker_and_a_restarted_one(model_dir, tmp_path):
    settings = worker_settings(tmp_path)
    second = Path(shutil.copytree(model_dir, model_dir.parent / f"second-{tmp_path.name}"))
    a, b = workers(model_dir, settings)
    try:
        a.reload(str(second))
        assert a.model_dir == second.resolve()
        b.follow_log()  # starts the reload on its own thread; requests keep the old model
        deadline = time.monotonic() + 60
        while b.reloads == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b.model_dir == second.resolve() and b.reloads == 1
        # a worker started after the reload (say uvicorn replaced a crashed one) serves it too
        (c,) = workers(model_dir, settings, n=1)
        assert c.model_dir == second.resolve()
        c.close()
        # another run of the service starts from the directory it is given
        fresh = Service(model_dir, settings, run_id="another-run")
        fresh.start()
        assert fresh.model_dir == model_dir.resolve()
        fresh.close()
    finally:
        a.close()
        b.close()


def test_a_worker_restarted_after_its_reload_target_was_deleted_says_so(model_dir, tmp_path):
    settings = worker_settings(tmp_path)
    second = Path(shutil.copytree(model_dir, model_dir.parent / f"gone-{tmp_path.name}"))
    (a,) = workers(model_dir, settings, n=1)
    try:
        a.reload(str(second))
        shutil.rmtree(second)
        # the first worker still serves the model it loaded; a new one cannot join it, and
        # must not quietly serve another model
        restarted = Service(model_dir, settings, run_id=RUN)
        with pytest.raises(ModelFormatError, match="no longer exists") as caught:
            restarted.start()
        restarted.close()
        assert str(second.resolve()) in str(caught.value)
        assert "restart the whole server" in str(caught.value)
    finally:
        a.close()


def test_several_workers_refuse_centroids_that_follow_the_events(model_dir, tmp_path):
    settings = demo_settings(tmp_path / "cache", **{"serve.workers": 2})
    assert settings.drift.adaptive  # the default
    with pytest.raises(ParameterError, match=r"serve.workers=2 with drift.adaptive"):
        run_server(model_dir, settings)
    with pytest.raises(ConfigError, match="serve.workers"):
        demo_settings(tmp_path / "cache", **{"serve.workers": 0})


def test_a_worker_app_needs_the_variable_the_parent_writes(model_dir, tmp_path, monkeypatch):
    monkeypatch.delenv(WORKER_CONFIG, raising=False)
    with pytest.raises(ConfigError, match=WORKER_CONFIG):
        create_worker_app()
    settings = worker_settings(tmp_path)
    monkeypatch.setenv(WORKER_CONFIG, worker_environment(model_dir, settings)[WORKER_CONFIG])
    app = create_worker_app()
    assert app.state.settings == settings and app.state.run_id


def test_two_uvicorn_workers_serve_one_consistent_model(model_dir, tmp_path):
    env = {
        "INTERESTLENS_SERVE__API_KEY": TEST_API_KEY,
        "INTERESTLENS_SERVE__EVENTS_DB": str(tmp_path / "events.sqlite"),
        "INTERESTLENS_SERVE__WORKERS": "2",
        "INTERESTLENS_DRIFT__ADAPTIVE": "false",
        "INTERESTLENS_ENCODER__CACHE": "false",
    }
    with ServerProcess(model_dir, env=env, log_path=tmp_path / "server.log") as server:
        # the server answers once one worker is up; the other may still be loading the model
        assert len(answering_workers(server.url, until=2)) == 2, "one worker never answered"
        with httpx.Client(base_url=server.url, headers={"X-API-Key": TEST_API_KEY}) as client:
            top = client.get("/users/u0003/recommendations?k=1").json()["items"][0]["item_id"]
            posted = client.post("/events", json={"user_id": "u0003", "item_id": top})
            assert posted.status_code == 201
        lists: dict[int, list[str]] = {}
        deadline = time.monotonic() + 60
        while len(lists) < 2 and time.monotonic() < deadline:
            # a new connection each time: the kernel hands it to either worker
            with httpx.Client(base_url=server.url) as client:
                pid = client.get("/health").json()["worker"]["pid"]
                recs = client.get("/users/u0003/recommendations?k=20").json()["items"]
            lists.setdefault(pid, [r["item_id"] for r in recs])
    assert len(lists) == 2, "the reads after the write all went to one worker"
    # whichever worker answered, the event posted to one of them is in the history the list
    # was ranked from: the item that topped the list is not recommended back, and both lists
    # are the same
    first, second = lists.values()
    assert top not in first and first == second and len(first) == 20


def answering_workers(url: str, *, until: int, seconds: float = 90.0) -> set[int]:
    """The worker pids seen on fresh connections, polled until ``until`` of them answered."""
    pids: set[int] = set()
    deadline = time.monotonic() + seconds
    while len(pids) < until and time.monotonic() < deadline:
        with httpx.Client(base_url=url) as client:
            health = client.get("/health").json()
        assert health["worker"]["workers"] == until
        pids.add(health["worker"]["pid"])
        time.sleep(0.02)
    return pids


def test_a_damaged_worker_variable_is_a_configuration_error(monkeypatch):
    for raw in ("{not json", '{"settings": {"serve": {"workers": "many"}}}', "[]"):
        monkeypatch.setenv(WORKER_CONFIG, raw)
        with pytest.raises(ConfigError, match="not a worker configuration"):
            create_worker_app()


def test_a_store_that_cannot_be_read_answers_503_not_500(model_dir, tmp_path):
    settings = worker_settings(tmp_path)
    with TestClient(create_app(model_dir, settings, run_id=RUN)) as client:
        assert client.get("/health").status_code == 200
        service = client.app.state.service
        service.store.close()  # as if the file's storage went away under the worker
        with pytest.raises(StorageUnavailableError, match="cannot be read now"):
            service.follow_log()
        response = client.get("/users/u0001/recommendations?k=5")
        assert response.status_code == 503
        assert response.json()["error"]["type"] == "StorageUnavailableError"


@pytest.mark.parametrize(
    ("cores", "workers", "threads", "expected"),
    [(8, 2, None, 4), (8, 3, None, 2), (2, 4, None, 1), (8, 1, None, None), (8, 2, 6, 6)],
)
def test_several_workers_share_the_cores_for_ranking(
    monkeypatch, cores, workers, threads, expected
):
    from interestlens.serve import server

    monkeypatch.setattr(server, "default_threads", lambda: cores)
    settings = Settings.model_validate(
        {"serve": {"workers": workers}, "recommend": {"threads": threads}}
    )
    assert server.share_scoring_threads(settings).recommend.threads == expected
    assert settings.recommend.threads == threads  # the settings given are left as they were
