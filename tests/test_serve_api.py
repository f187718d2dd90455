"""The HTTP service through FastAPI's TestClient: every endpoint, its errors (401/403/404/409/
413/422, each a JSON body saying what is wrong), durability across restarts and reloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from interestlens.config import Settings
from interestlens.serve import EventStore, create_app
from interestlens.serve.testing import TEST_API_KEY, build_demo_model, demo_settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KEY = {"X-API-Key": TEST_API_KEY}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    # one demo model per test session, shared by the test_serve_* files
    return build_demo_model(tmp_path_factory.getbasetemp() / "serve-demo" / "model")


def service_settings(tmp_path: Path, **serve: object) -> Settings:
    overrides = {"serve.events_db": str(tmp_path / "events.sqlite"), "serve.api_key": TEST_API_KEY}
    overrides.update({f"serve.{key}": value for key, value in serve.items()})
    return demo_settings(tmp_path / "cache", **overrides)


@pytest.fixture()
def client(model_dir, tmp_path):
    with TestClient(create_app(model_dir, service_settings(tmp_path))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def reader(model_dir, tmp_path_factory):
    """A client for read-only tests (one app for the module)."""
    path = tmp_path_factory.mktemp("reader")
    with TestClient(create_app(model_dir, service_settings(path))) as test_client:
        yield test_client


def assert_error(response, status: int, error_type: str, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["type"] == error_type
    assert error["problem"] and error["fix"]
    for word in words:
        assert word in error["message"], error["message"]
    return error


def seen_by(model_dir: Path, user_id: str) -> set[str]:
    import pandas as pd

    from interestlens.persist import read_json

    items = read_json(model_dir / "item_ids.json")
    users = read_json(model_dir / "user_ids.json")
    frame = pd.read_parquet(model_dir / "interactions.parquet")
    rows = frame[frame["user_index"] == users.index(user_id)]
    return {items[i] for i in rows["item_index"]}


# --- reads -----------------------------------------------------------------------------------


def test_health_names_the_model_and_the_log(reader, model_dir):
    body = reader.get("/health").json()
    assert body["status"] == "ok"
    assert body["model_dir"] == str(model_dir.resolve())
    assert (body["n_users"], body["n_items"]) == (150, 120)
    assert body["log"] == {"events": 0, "items": 0, "forgotten": 0}


def test_known_user_gets_k_unseen_items_with_rank_cluster_and_reason(reader, model_dir):
    response = reader.get("/users/u0001/recommendations", params={"k": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == "u0001" and body["k"] == 5
    items = body["items"]
    assert [item["rank"] for item in items] == [1, 2, 3, 4, 5]
    assert set(items[0]) == {"item_id", "score", "rank", "cluster", "cluster_label", "reason"}
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    assert not {item["item_id"] for item in items} & seen_by(model_dir, "u0001")
    cluster = reader.get("/users/u0001/cluster").json()
    assert all(item["cluster"] == cluster["cluster"] for item in items)
    assert all(item["reason"] for item in items)


def test_default_k_and_candidates(reader):
    assert len(reader.get("/users/u0001/recommendations").json()["items"]) == 10
    full = [i["item_id"] for i in reader.get("/users/u0001/recommendations?k=20").json()["items"]]
    chosen = [full[7], full[2], full[15]]
    response = reader.get(
        "/users/u0001/recommendations", params={"k": 10, "candidates": ",".join(chosen)}
    )
    assert [i["item_id"] for i in response.json()["items"]] == [full[2], full[7], full[15]]


def test_unknown_user_is_404_with_the_error_shape(reader):
    error = assert_error(
        reader.get("/users/nobody/recommendations"), 404, "UnknownIdError", "nobody"
    )
    assert set(error) >= {"type", "problem", "expected", "fix"}
    assert_error(reader.get("/users/nobody/cluster"), 404, "UnknownIdError", "nobody")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("k=0", ["query.k", "greater than or equal to 1"]),
        ("k=1001", ["k=1001", "serve.max_k"]),
        ("k=ten", ["query.k", "integer"]),
        ("candidates=i0001,,i0002", ["candidate", "empty"]),
    ],
)
def test_bad_query_is_422(reader, query, words):
    response = reader.get(f"/users/u0001/recommendations?{query}")
    assert_error(response, 422, "InvalidRequestError", *words)


def test_unknown_candidate_is_404(reader):
    response = reader.get("/users/u0001/recommendations?candidates=i0001,nope")
    assert_error(response, 404, "UnknownIdError", "nope")


@pytest.mark.parametrize(
    ("user_id", "words"),
    [("x" * 257, ["256"]), ("a%01b", ["printable"]), ("%20%20", ["empty"])],
)
def test_malformed_user_ids_are_422(reader, user_id, words):
    response = reader.get(f"/users/{user_id}/recommendations")
    assert_error(response, 422, "InvalidRequestError", *words)


def test_cold_start_from_text_history_or_both(reader, model_dir):
    by_text = reader.post("/recommendations", json={"text": "budget retirement savings", "k": 4})
    assert by_text.status_code == 200, by_text.text
    body = by_text.json()
    assert body["user_id"] is None and len(body["items"]) == 4
    history = sorted(seen_by(model_dir, "u0001"))[:3]
    by_history = reader.post("/recommendations", json={"history": history, "k": 5}).json()
    assert not {i["item_id"] for i in by_history["items"]} & set(history)
    both = reader.post("/recommendations", json={"text": "budget", "history": history})
    assert both.status_code == 200 and len(both.json()["items"]) == 10
    restricted = reader.post(
        "/recommendations", json={"text": "budget", "candidates": ["i0003", "i0004"]}
    ).json()
    assert {i["item_id"] for i in restricted["items"]} == {"i0003", "i0004"}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, ["non-empty 'text'"]),
        ({"text": "   "}, ["non-empty 'text'"]),
        ({"text": "x", "k": 0}, ["body.k"]),
        ({"text": "x", "k": 5000}, ["serve.max_k"]),
        ({"text": 5}, ["body.text", "string"]),
        ({"text": "x", "colour": "red"}, ["body.colour", "Extra inputs"]),
        ({"history": "i0001"}, ["body.history", "list"]),
        ({"history": [""]}, ["body.history.0"]),
        (["text"], ["body", "dictionary"]),
    ],
)
def test_cold_start_bad_bodies_are_422(reader, body, words):
    response = reader.post("/recommendations", json=body)
    assert_error(response, 422, "InvalidRequestError", *words)


def test_cold_start_unknown_history_item_is_404(reader):
    response = reader.post("/recommendations", json={"history": ["i0001", "ghost"]})
    assert_error(response, 404, "UnknownIdError", "ghost")


def test_broken_json_is_422(reader):
    response = reader.post(
        "/recommendations", content=b'{"text": "x",', headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "InvalidRequestError", "JSON")


def test_clusters_list_and_one_cluster(reader):
    clusters = reader.get("/clusters").json()["clusters"]
    assert len(clusters) == 4
    assert sum(c["size"] for c in clusters) <= 150
    first = clusters[0]
    assert set(first) == {"cluster_id", "label", "size", "keywords", "representative_items"}
    assert first["keywords"] and first["representative_items"]
    assert reader.get(f"/clusters/{first['cluster_id']}").json() == first
    assert_error(reader.get("/clusters/99"), 404, "UnknownIdError", "99")
    assert_error(reader.get("/clusters/abc"), 422, "InvalidRequestError", "cluster_id")


def test_unknown_route_and_method_are_json(reader):
    assert_error(reader.get("/nowhere"), 404, "RouteNotFoundError", "/nowhere")
    assert_error(reader.put("/clusters"), 405, "RouteNotFoundError", "PUT")


def test_openapi_documents_every_endpoint(reader):
    paths = reader.get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/health",
        "/users/{user_id}/recommendations",
        "/recommendations",
        "/users/{user_id}/cluster",
        "/clusters",
        "/clusters/{cluster_id}",
        "/events",
        "/events/batch",
        "/items",
        "/users/{user_id}",
        "/admin/reload",
        "/adaptive",
    }
    assert reader.get("/docs").status_code == 200


# --- authentication --------------------------------------------------------------------------


def test_mutations_need_the_key(client):
    event = {"user_id": "u0001", "item_id": "i0001"}
    assert_error(client.post("/events", json=event), 401, "MissingApiKeyError", "X-API-Key")
    wrong = client.post("/events", json=event, headers={"X-API-Key": "wrong"})
    assert_error(wrong, 401, "MissingApiKeyError", "does not hold")
    non_ascii = client.post("/events", json=event, headers={"X-API-Key": "clé".encode("latin-1")})
    assert non_ascii.status_code == 401
    for call in (
        lambda: client.post("/items", json={"item_id": "n", "text": "t"}),
        lambda: client.delete("/users/u0001"),
        lambda: client.post("/admin/reload"),
        lambda: client.post("/events/batch", json={"events": [event]}),
    ):
        assert call().status_code == 401
    # reads stay open by default
    assert client.get("/users/u0001/recommendations").status_code == 200


def test_without_a_configured_key_mutations_are_403_and_say_how(model_dir, tmp_path):
    settings = service_settings(tmp_path, api_key=None)
    with TestClient(create_app(model_dir, settings)) as client:
        response = client.post("/events", json={"user_id": "u1", "item_id": "i0001"}, headers=KEY)
        assert_error(response, 403, "NoApiKeyConfiguredError", "INTERESTLENS_SERVE__API_KEY")


def test_reads_can_require_the_key(model_dir, tmp_path):
    settings = service_settings(tmp_path, read_requires_key=True)
    with TestClient(create_app(model_dir, settings)) as client:
        assert client.get("/users/u0001/recommendations").status_code == 401
        assert client.get("/clusters").status_code == 401
        assert client.get("/users/u0001/recommendations", headers=KEY).status_code == 200
        assert client.get("/health").status_code == 200


# --- limits ----------------------------------------------------------------------------------


def test_body_over_the_limit_is_413(model_dir, tmp_path):
    settings = service_settings(tmp_path, max_body_bytes=2048)
    with TestClient(create_app(model_dir, settings)) as client:
        big = {"text": "word " * 1000}
        response = client.post("/recommendations", json=big)
        assert_error(response, 413, "PayloadTooLargeError", "serve.max_body_bytes")

        def chunks():
            for _ in range(10):
                yield b" " * 1000

        chunked = client.post(
            "/recommendations", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_error(chunked, 413, "PayloadTooLargeError", "chunked")
        small = client.post("/recommendations", json={"text": "budget"})
        assert small.status_code == 200


def test_text_and_list_limits_are_422(model_dir, tmp_path):
    settings = service_settings(tmp_path, max_text_chars=50, max_list_items=3)
    with TestClient(create_app(model_dir, settings)) as client:
        long_text = client.post("/recommendations", json={"text": "x" * 51})
        assert_error(long_text, 422, "InvalidRequestError", "51 characters", "max_text_chars")
        history = client.post("/recommendations", json={"history": ["i0001"] * 4})
        assert_error(history, 422, "InvalidRequestError", "4 history items")
        candidates = client.get("/users/u0001/recommendations?candidates=a,b,c,d")
        assert_error(candidates, 422, "InvalidRequestError", "4 candidates")
        item = client.post("/items", json={"item_id": "n1", "text": "y" * 51}, headers=KEY)
        assert_error(item, 422, "InvalidRequestError", "max_text_chars")


# --- events, items, forgetting, reload -------------------------------------------------------


def test_event_is_stored_then_changes_the_user(client, tmp_path):
    before = client.get("/users/newcomer/recommendations")
    assert before.status_code == 404
    response = client.post(
        "/events",
        json={"user_id": "newcomer", "item_id": "i0001", "rating": 5, "timestamp": 1.7e9},
        headers=KEY,
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"stored": 1, "seq": [1]}
    with EventStore(tmp_path / "events.sqlite") as store:
        [entry] = store.events_of("newcomer")
    assert (entry.item_id, entry.rating, entry.timestamp) == ("i0001", 5.0, 1.7e9)
    after = client.get("/users/newcomer/recommendations?k=5")
    assert after.status_code == 200
    assert "i0001" not in {i["item_id"] for i in after.json()["items"]}
    assert client.get("/users/newcomer/cluster").json()["cluster"] >= 0


def test_events_change_a_known_users_list(client, model_dir):
    before = [i["item_id"] for i in client.get("/users/u0002/recommendations").json()["items"]]
    events = [{"user_id": "u0002", "item_id": item} for item in before[:3]]
    response = client.post("/events/batch", json={"events": events}, headers=KEY)
    assert response.status_code == 201 and response.json()["stored"] == 3
    after = [i["item_id"] for i in client.get("/users/u0002/recommendations").json()["items"]]
    assert not set(before[:3]) & set(after)


def test_bad_events_store_nothing(client, tmp_path):
    cases = [
        ({"user_id": "u0001", "item_id": "ghost"}, 404, "UnknownIdError"),
        ({"user_id": "", "item_id": "i0001"}, 422, "InvalidRequestError"),
        ({"user_id": "u\x00", "item_id": "i0001"}, 422, "InvalidRequestError"),
        ({"user_id": "u0001"}, 422, "InvalidRequestError"),
        ({"user_id": "u0001", "item_id": "i0001", "rating": "high"}, 422, "InvalidRequestError"),
    ]
    for body, status, error_type in cases:
        assert_error(client.post("/events", json=body, headers=KEY), status, error_type)
    nan = client.post(
        "/events",
        content=b'{"user_id": "u0001", "item_id": "i0001", "rating": NaN}',
        headers={**KEY, "content-type": "application/json"},
    )
    assert_error(nan, 422, "InvalidRequestError", "finite")
    batch = client.post(
        "/events/batch",
        json={"events": [{"user_id": "u1", "item_id": "i0001"}, {"user_id": "u1", "item_id": "x"}]},
        headers=KEY,
    )
    assert_error(batch, 404, "UnknownIdError", "nothing was stored")
    assert_error(
        client.post("/events/batch", json={"events": []}, headers=KEY), 422, "InvalidRequestError"
    )
    with EventStore(tmp_path / "events.sqlite") as store:
        assert store.counts()["events"] == 0
    assert client.get("/users/u1/recommendations").status_code == 404


def test_new_item_is_recommendable_at_once(client):
    response = client.post(
        "/items",
        json={"item_id": "new-book", "text": "A retirement budget planner for frugal savers"},
        headers=KEY,
    )
    assert response.status_code == 201, response.text
    recs = client.post(
        "/recommendations",
        json={"text": "retirement budget", "candidates": ["new-book", "i0001"], "k": 2},
    ).json()
    assert "new-book" in {i["item_id"] for i in recs["items"]}
    event = client.post("/events", json={"user_id": "u0003", "item_id": "new-book"}, headers=KEY)
    assert event.status_code == 201
    duplicate = client.post("/items", json={"item_id": "new-book", "text": "again"}, headers=KEY)
    assert_error(duplicate, 409, "DuplicateIdError", "new-book")
    existing = client.post("/items", json={"item_id": "i0001", "text": "again"}, headers=KEY)
    assert_error(existing, 409, "DuplicateIdError", "i0001")


def test_new_item_from_fields_uses_the_model_text_settings(client, tmp_path):
    response = client.post(
        "/items",
        json={"item_id": "f1", "fields": {"title": "Dune", "description": "Desert planet"}},
        headers=KEY,
    )
    assert response.status_code == 201, response.text
    with EventStore(tmp_path / "events.sqlite") as store:
        [entry] = [e for e in store.entries() if e.kind == "item"]
    assert "Dune" in entry.text and "Desert planet" in entry.text
    assert entry.title == "Dune"
    for body in ({"item_id": "f2"}, {"item_id": "f2", "text": "a", "fields": {"title": "b"}}):
        assert_error(client.post("/items", json=body, headers=KEY), 422, "InvalidRequestError")


def test_forget_user_deletes_events_and_the_user(client, tmp_path):
    assert client.get("/users/u0004/recommendations").status_code == 200  # cached answer
    client.post("/events", json={"user_id": "u0004", "item_id": "i0009"}, headers=KEY)
    response = client.delete("/users/u0004", headers=KEY)
    assert response.status_code == 200
    assert response.json() == {"user_id": "u0004", "forgotten": True, "events_deleted": 1}
    assert_error(client.get("/users/u0004/recommendations"), 404, "UnknownIdError")
    with EventStore(tmp_path / "events.sqlite") as store:
        assert store.events_of("u0004") == []
    assert_error(client.delete("/users/u0004", headers=KEY), 404, "UnknownIdError")
    assert_error(client.delete("/users/nobody", headers=KEY), 404, "UnknownIdError")


def test_restart_and_reload_replay_the_log(model_dir, tmp_path):
    settings = service_settings(tmp_path)
    with TestClient(create_app(model_dir, settings)) as client:
        client.post("/items", json={"item_id": "late", "text": "budget planner"}, headers=KEY)
        client.post("/events", json={"user_id": "fresh", "item_id": "late"}, headers=KEY)
        client.post("/events", json={"user_id": "fresh", "item_id": "i0005"}, headers=KEY)
        client.delete("/users/u0006", headers=KEY)
        expected = client.get("/users/fresh/recommendations").json()
        reload = client.post("/admin/reload", headers=KEY)
        assert reload.status_code == 200, reload.text
        assert reload.json()["replayed"] == {
            "events": 2,
            "items": 1,
            "forgotten": 1,
            "already_in_model": 0,
            "failed": 0,
        }
        assert client.get("/users/fresh/recommendations").json() == expected
        assert client.get("/users/u0006/cluster").status_code == 404
        assert client.get("/health").json()["reloads"] == 1
    with TestClient(create_app(model_dir, settings)) as restarted:
        assert restarted.get("/users/fresh/recommendations").json() == expected
        assert restarted.get("/users/u0006/cluster").status_code == 404
        assert restarted.get("/health").json()["log"] == {"events": 2, "items": 1, "forgotten": 1}


def test_reload_of_a_bad_directory_keeps_the_old_model(client, model_dir, tmp_path):
    # under the models root (default: the folder holding the served model)
    inside = str(model_dir.parent / "nope")
    response = client.post("/admin/reload", json={"model_dir": inside}, headers=KEY)
    assert_error(response, 409, "ModelFormatError", "does not exist")
    # outside it: refused without saying whether the path exists
    for outside in (str(tmp_path / "nope"), str(tmp_path), "/etc", "../../etc"):
        response = client.post("/admin/reload", json={"model_dir": outside}, headers=KEY)
        error = assert_error(response, 403, "ReloadRefusedError", "not under the models root")
        assert "exist" not in error["message"]
    assert client.get("/users/u0001/recommendations").status_code == 200
    assert_error(
        client.post("/admin/reload", json={"model_dir": ""}, headers=KEY),
        422,
        "InvalidRequestError",
    )


def test_cached_answers_follow_new_items(client):
    # k above the item count: every unseen item, so a new item must appear once added
    before = client.get("/users/u0008/recommendations?k=200").json()["items"]
    assert "brand-new" not in {i["item_id"] for i in before}
    client.post(
        "/items", json={"item_id": "brand-new", "text": "budget retirement planner"}, headers=KEY
    )
    after = client.get("/users/u0008/recommendations?k=200").json()["items"]
    assert {i["item_id"] for i in after} == {i["item_id"] for i in before} | {"brand-new"}


def test_response_cache_never_keeps_an_answer_older_than_a_mutation():
    from interestlens.serve.response_cache import ResponseCache

    cache = ResponseCache(max_entries=3)
    token = cache.token("a")
    cache.invalidate_user("a")  # an event arrived while the answer was being computed
    cache.put("a", 10, b"old", token)
    assert cache.get("a", 10) is None
    cache.put("a", 10, b"new", cache.token("a"))
    assert cache.get("a", 10) == b"new"
    token = cache.token("b")
    cache.clear()  # a new item
    cache.put("b", 10, b"old", token)
    assert cache.get("b", 10) is None and len(cache) == 0
    for user in "cdef":
        cache.put(user, 10, b"x", cache.token(user))
    assert len(cache) <= 3
