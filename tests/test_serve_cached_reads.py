"""Cached known-user lists answered before FastAPI's dependencies (serve/cached_reads.py): the
same bytes and headers as the route, only for requests whose answer is a cache hit, and the
route's own answer (errors included) for everything else."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from interestlens.serve import create_app
from interestlens.serve.cached_reads import CachedReads
from interestlens.serve.deps import get_settings
from test_serve_api import KEY, assert_error, service_settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from interestlens.serve.testing import build_demo_model

    return build_demo_model(tmp_path_factory.getbasetemp() / "serve-demo" / "model")


@pytest.fixture()
def answered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the middleware answered itself."""
    paths: list[str] = []
    original = CachedReads._cached

    def spied(self, scope):
        body = original(self, scope)
        if body is not None:
            paths.append(scope["path"] + "?" + scope["query_string"].decode())
        return body

    monkeypatch.setattr(CachedReads, "_cached", spied)
    return paths


@pytest.fixture()
def app(model_dir, tmp_path):
    return create_app(model_dir, service_settings(tmp_path))


def _route_only(app) -> None:
    """Any overridden dependency sends every request to the route."""
    app.dependency_overrides[get_settings] = lambda: app.state.settings


@pytest.mark.parametrize("query", ["", "?k=10", "?k=3", "?k=1000"])
def test_a_hit_is_the_routes_bytes_and_headers(app, answered, query):
    path = f"/users/u0003/recommendations{query}"
    with TestClient(app) as client:
        first = client.get(path)  # ranked by the route, its body cached
        assert answered == []
        fast = client.get(path)
        assert answered == [path if "?" in path else path + "?"]
        _route_only(app)
        slow = client.get(path)
    assert fast.status_code == slow.status_code == first.status_code == 200
    assert fast.content == slow.content == first.content
    assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
    assert fast.headers["content-length"] == slow.headers["content-length"]
    assert len(answered) == 1  # the route-only request was not answered here


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("k=0", 422),
        ("k=1001", 422),
        ("k=ten", 422),
        ("k=05", 200),  # a number pydantic reads, but not the plain form: the route answers
        ("k=5&k=6", 200),
        ("k=5&extra=1", 200),
        ("candidates=i0001,i0002", 200),
    ],
)
def test_anything_but_a_plain_k_goes_to_the_route(app, answered, query, status):
    with TestClient(app) as client:
        client.get("/users/u0001/recommendations?k=5")
        client.get("/users/u0001/recommendations")
        response = client.get(f"/users/u0001/recommendations?{query}")
    assert response.status_code == status, response.text
    assert not [path for path in answered if query in path]


@pytest.mark.parametrize(
    ("user_id", "status"),
    [("nobody", 404), ("%20u0001", 200), ("x" * 257, 422), ("a%01b", 422), ("%20%20", 422)],
)
def test_ids_the_route_would_change_or_refuse_go_to_it(app, answered, user_id, status):
    with TestClient(app) as client:
        client.get("/users/u0001/recommendations")
        response = client.get(f"/users/{user_id}/recommendations")
        again = client.get(f"/users/{user_id}/recommendations")
    assert response.status_code == again.status_code == status
    assert answered == []


def test_other_methods_and_paths_go_to_the_route(app, answered):
    with TestClient(app) as client:
        client.get("/users/u0001/recommendations")
        assert client.head("/users/u0001/recommendations").status_code in (200, 405)
        slash = client.get("/users/u0001/recommendations/", follow_redirects=False)
        assert slash.status_code in (307, 404)
        assert client.get("/users/u0001/cluster").status_code == 200
    assert answered == []


def test_an_event_is_seen_by_the_next_read(app, answered):
    with TestClient(app) as client:
        path = "/users/u0002/recommendations"
        before = [i["item_id"] for i in client.get(path).json()["items"]]
        assert [i["item_id"] for i in client.get(path).json()["items"]] == before
        assert answered == [path + "?"]
        events = [{"user_id": "u0002", "item_id": item} for item in before[:3]]
        assert client.post("/events/batch", json={"events": events}, headers=KEY).is_success
        after = [i["item_id"] for i in client.get(path).json()["items"]]
    assert not set(before[:3]) & set(after)
    assert answered == [path + "?"]  # the read after the event was ranked by the route


def test_reads_that_need_a_key_are_answered_here_only_with_it(model_dir, tmp_path, answered):
    settings = service_settings(tmp_path, read_requires_key=True)
    path = "/users/u0001/recommendations"
    with TestClient(create_app(model_dir, settings)) as client:
        assert client.get(path, headers=KEY).status_code == 200
        assert_error(client.get(path), 401, "MissingApiKeyError")
        assert_error(client.get(path, headers={"X-API-Key": "wrong"}), 401, "MissingApiKeyError")
        assert answered == []
        assert client.get(path, headers=KEY).status_code == 200
    assert answered == [path + "?"]


@pytest.mark.parametrize(
    ("sent", "right"),
    [
        ([b"cl\xe9"], True),  # what Starlette decodes (latin-1) to the configured key
        ([b"cl\xc3\xa9"], False),  # its UTF-8 bytes: the route refuses them too
        ([b"clE"], False),
        ([], False),
        ([b"cl\xe9", b"cl\xe9"], False),  # two key headers: left to the route
    ],
)
def test_the_key_is_checked_by_the_routes_own_rule(sent, right):
    from interestlens.config import load_settings
    from interestlens.serve.auth import check_key
    from interestlens.serve.cached_reads import _right_key

    settings = load_settings(environ={}, overrides={"serve.api_key": "clé"})
    scope = {"headers": [(b"host", b"x"), *[(b"x-api-key", value) for value in sent]]}
    assert _right_key(scope, settings) is right
    if len(sent) == 1:  # the route's answer for the same header
        try:
            check_key(settings, sent[0].decode("latin-1"))
            accepted = True
        except Exception:
            accepted = False
        assert accepted is right
