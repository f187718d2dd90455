"""The real server (uvicorn, loopback): acknowledged events survive a SIGKILL (a subprocess),
and a reload fails no request: one in flight while the model is swapped, events posted while
the new model loads (a thread, whose encoder holds the request or the reload at a known point:
no timing)."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from interestlens.config import load_settings
from interestlens.embed import HashingEncoder, make_encoder
from interestlens.errors import InterestLensError
from interestlens.serve import EventStore, create_app
from interestlens.serve.testing import (
    TEST_API_KEY,
    GatedEncoder,
    ServerProcess,
    ThreadedServer,
    build_demo_model,
    demo_settings,
)

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


@pytest.fixture
def gated_server(model_dir, tmp_path):
    """Start the real server (uvicorn, in a thread) whose encoder holds one chosen text."""
    with contextlib.ExitStack() as stack:

        def start(text: str) -> tuple[ThreadedServer, GatedEncoder]:
            saved = load_settings(model_dir / "config.toml", environ={})
            gate = GatedEncoder(make_encoder(saved.encoder, seed=saved.seed), text)
            stack.callback(gate.release)  # never leave a request held after the test
            settings = demo_settings(
                tmp_path / "cache",
                **{
                    "serve.api_key": TEST_API_KEY,
                    "serve.events_db": str(tmp_path / "events.sqlite"),
                },
            )
            server = ThreadedServer(create_app(model_dir, settings, encoder=gate))
            stack.enter_context(server)
            return server, gate

        yield start


def in_thread(call, *args, **kwargs) -> tuple[threading.Thread, dict]:
    """Run ``call`` in a thread; its result lands in the returned dict under "result"."""
    out: dict = {}

    def run() -> None:
        out["result"] = call(*args, **kwargs)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_reload_while_a_read_is_in_flight_fails_neither(gated_server):
    """A cold start is held inside the old model's encoder; the reload swaps models meanwhile,
    reads of known users go to the new model, and the held read then finishes on the old one."""
    server, gate = gated_server("held: a read in flight")
    with httpx.Client(base_url=server.url, headers=KEY, timeout=60.0) as client:
        gate.arm()
        reader, read = in_thread(client.post, "/recommendations", json={"text": gate.text, "k": 5})
        gate.wait_entered()
        reload = client.post("/admin/reload")
        held_through_reload = reader.is_alive()
        during = [client.get(f"/users/u{n:04d}/recommendations?k=5") for n in range(1, 21)]
        health = client.get("/health").json()
        gate.release()
        reader.join(timeout=60)
        # cold starts share one scoring thread: this one waited for the held read
        cold = client.post("/recommendations", json={"history": ["i0001"], "k": 5})

    assert reload.status_code == 200, reload.text
    assert held_through_reload, "the read was not in flight while the model was swapped"
    assert read["result"].status_code == 200, read["result"].text
    assert len(read["result"].json()["items"]) == 5
    assert [r.status_code for r in during] == [200] * 20
    assert all(len(r.json()["items"]) == 5 for r in during)
    assert cold.status_code == 200 and len(cold.json()["items"]) == 5
    assert health["reloads"] == 1


def test_events_posted_while_a_reload_loads_are_replayed_into_the_new_model(gated_server):
    """The reload is held while the new model replays the log (at a posted item's text);
    events posted and reads made meanwhile succeed, and the events reach the new model."""
    text = "held: the reload replays this item"
    server, gate = gated_server(text)
    users = [f"during-reload-{n}" for n in range(10)]
    with httpx.Client(base_url=server.url, headers=KEY, timeout=60.0) as client:
        assert client.post("/items", json={"item_id": "gate-item", "text": text}).status_code == 201
        gate.arm()
        reloading, reload = in_thread(client.post, "/admin/reload")
        gate.wait_entered()  # the new model is loading: it has read the log up to the item
        posted = [client.post("/events", json={"user_id": u, "item_id": "i0001"}) for u in users]
        reads = [client.get(f"/users/u{n:04d}/recommendations?k=5") for n in range(1, 11)]
        cold = client.post("/recommendations", json={"text": "budget retirement", "k": 5})
        held_through_posts = reloading.is_alive()
        gate.release()
        reloading.join(timeout=60)
        clusters = [client.get(f"/users/{u}/cluster") for u in users]
        health = client.get("/health").json()

    assert [r.status_code for r in posted] == [201] * 10
    assert [r.status_code for r in reads] == [200] * 10
    assert cold.status_code == 200 and len(cold.json()["items"]) == 5
    assert held_through_posts, "the reload was not loading while the events were posted"
    assert reload["result"].status_code == 200, reload["result"].text
    # replayed: the item before the gate, the ten events after it (under the swap's lock)
    assert reload["result"].json()["replayed"]["items"] == 1
    assert reload["result"].json()["replayed"]["events"] == 10
    assert [r.status_code for r in clusters] == [200] * 10
    assert health["reloads"] == 1
    assert health["log"] == {"events": 10, "items": 1, "forgotten": 0}


def test_the_gate_holds_only_the_armed_call_and_never_forever():
    inner = HashingEncoder(dimension=8)
    gate = GatedEncoder(inner, "held", timeout=0.2)
    np.testing.assert_array_equal(gate.encode(["held"]), inner.encode(["held"]))  # not armed
    gate.arm()
    with pytest.raises(TimeoutError, match="not released within 0.2 s"):
        gate.encode(["other", "held"])
    assert gate.entered.is_set()
    np.testing.assert_array_equal(gate.encode(["held"]), inner.encode(["held"]))  # disarmed
    with pytest.raises(TimeoutError, match="no encode of 'held' reached the gate"):
        GatedEncoder(inner, "held").wait_entered(timeout=0.01)


def test_a_threaded_server_whose_app_cannot_start_says_so(tmp_path):
    settings = demo_settings(tmp_path / "cache", **{"serve.events_db": str(tmp_path / "e.db")})
    server = ThreadedServer(create_app(tmp_path / "no-model", settings))
    with pytest.raises(InterestLensError, match=r"stopped while starting \(exit code 3\)"):
        server.start()
