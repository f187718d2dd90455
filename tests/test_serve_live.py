"""The real server (uvicorn in a subprocess, loopback): acknowledged events survive a SIGKILL,
and reloads under concurrent load fail no request."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from interestlens.serve import EventStore
from interestlens.serve.testing import TEST_API_KEY, ServerProcess, build_demo_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KEY = {"X-API-Key": TEST_API_KEY}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_demo_model(tmp_path_factory.getbasetemp() / "serve-demo" / "model")


def server_env(events_db: Path) -> dict[str, str]:
    return {
        "INTERESTLENS_SERVE__API_KEY": TEST_API_KEY,
        "INTERESTLENS_SERVE__EVENTS_DB": str(events_db),
        "INTERESTLENS_ENCODER__CACHE": "false",
    }


def test_every_acknowledged_event_survives_sigkill(model_dir, tmp_path):
    events_db = tmp_path / "events.sqlite"
    log = tmp_path / "server.log"
    server = ServerProcess(model_dir, env=server_env(events_db), log_path=log).start()
    acknowledged: dict[str, int] = {}  # user id -> seq of its one event
    lock = threading.Lock()
    stop = threading.Event()

    def post(worker: int) -> None:
        with httpx.Client(base_url=server.url, headers=KEY, timeout=5.0) as client:
            n = 0
            while not stop.is_set():
                user = f"crash-{worker}-{n}"
                n += 1
                try:
                    response = client.post(
                        "/events", json={"user_id": user, "item_id": f"i{n % 120 + 1:04d}"}
                    )
                except httpx.HTTPError:
                    return  # the server is gone: this event was never acknowledged
                if response.status_code == 201:
                    with lock:
                        acknowledged[user] = response.json()["seq"][0]

    threads = [threading.Thread(target=post, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill()  # mid-stream: the posting threads are still sending
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(acknowledged) >= 150

    with EventStore(events_db) as store:
        stored = {e.user_id: e.seq for e in store.entries() if e.kind == "event"}
    missing = {user for user in acknowledged if stored.get(user) != acknowledged[user]}
    assert not missing, f"{len(missing)} acknowledged events lost: {sorted(missing)[:5]}"

    with ServerProcess(model_dir, env=server_env(events_db), log_path=log) as restarted:
        health = httpx.get(restarted.url + "/health").json()
        assert health["replay"]["events"] == len(stored) >= len(acknowledged)
        assert health["replay"]["failed"] == 0
        with httpx.Client(base_url=restarted.url, timeout=5.0) as client:
            for user in acknowledged:
                assert client.get(f"/users/{user}/cluster").status_code == 200, user


def test_reloads_under_load_fail_no_request(model_dir, tmp_path):
    events_db = tmp_path / "events.sqlite"
    env = server_env(events_db)
    with ServerProcess(model_dir, env=env, log_path=tmp_path / "server.log") as server:
        stop = threading.Event()
        failures: list[str] = []
        counts = {"reads": 0, "events": 0}
        posted_users: list[str] = []
        lock = threading.Lock()

        def read(worker: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30.0) as client:
                n = 0
                while not stop.is_set():
                    n += 1
                    try:
                        if n % 4 == 0:
                            response = client.post(
                                "/recommendations", json={"text": "budget retirement", "k": 5}
                            )
                        else:
                            user = f"u{(worker * 37 + n) % 150 + 1:04d}"
                            response = client.get(f"/users/{user}/recommendations?k=5")
                        ok = response.status_code == 200 and len(response.json()["items"]) == 5
                    except httpx.HTTPError as exc:
                        ok, response = False, exc
                    with lock:
                        counts["reads"] += 1
                        if not ok:
                            failures.append(repr(response))

        def write() -> None:
            with httpx.Client(base_url=server.url, headers=KEY, timeout=30.0) as client:
                n = 0
                while not stop.is_set():
                    user = f"reload-{n}"
                    n += 1
                    try:
                        response = client.post(
                            "/events", json={"user_id": user, "item_id": "i0001"}
                        )
                        ok = response.status_code == 201
                    except httpx.HTTPError as exc:
                        ok, response = False, exc
                    with lock:
                        counts["events"] += 1
                        if ok:
                            posted_users.append(user)
                        else:
                            failures.append(repr(response))

        threads = [threading.Thread(target=read, args=(w,)) for w in range(6)]
        threads.append(threading.Thread(target=write))
        for thread in threads:
            thread.start()
        reloads = []
        with httpx.Client(base_url=server.url, headers=KEY, timeout=60.0) as admin:
            for _ in range(3):
                time.sleep(0.3)
                reloads.append(admin.post("/admin/reload"))
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

        assert [r.status_code for r in reloads] == [200, 200, 200]
        assert not failures, failures[:5]
        assert counts["reads"] > 50 and counts["events"] > 5
        health = httpx.get(server.url + "/health").json()
        assert health["reloads"] == 3
        # events posted while a reload was loading were replayed into the new model
        with httpx.Client(base_url=server.url, timeout=5.0) as client:
            for user in posted_users:
                assert client.get(f"/users/{user}/cluster").status_code == 200, user
