"""Cluster namers; the OpenAI-compatible one against a fake server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest

from interestlens.config import load_settings
from interestlens.errors import ConfigError, InterestLensError
from interestlens.explain import (
    CentralItem,
    ClusterEvidence,
    ClusterExplainer,
    ClusterExplanation,
    Keyword,
    KeywordNamer,
    NamerError,
    OpenAICompatibleNamer,
    OverRepresentedItem,
    StaticNamer,
)
from interestlens.explain.namer import clean_label
from interestlens.pipeline import namer_from_settings


def explanation(terms=("hiking", "trail", "mountain"), cluster_id=0) -> ClusterExplanation:
    return ClusterExplanation(
        cluster_id=cluster_id,
        size=12,
        share=0.3,
        label="",
        keywords=[Keyword(term, 1.0 / (rank + 1)) for rank, term in enumerate(terms)],
        central_items=[CentralItem("i1", "Trail Guide", 0.9, 5)],
        over_represented_items=[
            OverRepresentedItem("i2", "Summit Stories", 3.0, 6, 7, 4, 0.2, 0.05)
        ],
    )


# --- keyword and static namers ---------------------------------------------------------------


def test_keyword_namer_joins_top_keywords():
    assert KeywordNamer().name(explanation()) == "hiking · trail · mountain"
    assert KeywordNamer(n_words=2, separator=" / ").name(explanation()) == "hiking / trail"


def test_keyword_namer_skips_plurals_and_repeated_phrases():
    terms = ("trail", "trails", "hiking", "hiking trail", "mountain", "boots")
    assert KeywordNamer().name(explanation(terms)) == "trail · hiking · mountain"


def test_keyword_namer_falls_back_without_keywords():
    assert KeywordNamer().name(explanation((), cluster_id=4)) == "cluster 4"


def test_static_namer_records_calls():
    namer = StaticNamer({1: "Cooks"}, default="group {cluster_id}")
    assert namer.name(explanation(cluster_id=1)) == "Cooks"
    assert namer.name(explanation(cluster_id=2)) == "group 2"
    assert namer.calls == [1, 2]


def completion(content: str) -> dict:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}


def test_every_namer_names_a_cluster_through_the_same_call():
    # the remote namer talks to a MockTransport: no socket, the request is checked in place
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=completion("Trail Walkers"))

    remote = OpenAICompatibleNamer(
        "http://llm.test/v1", "m", client=httpx.Client(transport=httpx.MockTransport(answer))
    )
    names = [n.name(explanation()) for n in (KeywordNamer(), StaticNamer({0: "Hikers"}), remote)]
    assert names == ["hiking · trail · mountain", "Hikers", "Trail Walkers"]
    assert [str(r.url) for r in seen] == ["http://llm.test/v1/chat/completions"]


def test_the_injected_client_sends_every_request_and_the_timeout():
    timeouts: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        body = json.loads(request.content)
        return httpx.Response(200, json=completion(f"Group of {body['model']}"))

    client = httpx.Client(transport=httpx.MockTransport(answer))
    namer = OpenAICompatibleNamer("http://llm.test/v1", "tiny", timeout=3.5, client=client)
    assert namer.client is client  # stored unchanged
    assert [namer.name(explanation(cluster_id=c)) for c in (0, 1)] == ["Group of tiny"] * 2
    assert [t["read"] for t in timeouts] == [3.5, 3.5]


def test_mock_transport_errors_become_namer_errors():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    for handler, message in (
        (refuse, r"failed: ConnectError: connection refused.*Fix: start the server"),
        (slow, r"no answer within timeout=2s \(ReadTimeout\)"),
    ):
        client = httpx.Client(transport=httpx.MockTransport(handler))
        namer = OpenAICompatibleNamer("http://llm.test/v1", "m", timeout=2, client=client)
        with pytest.raises(NamerError, match=message):
            namer.name(explanation())


def test_the_settings_build_the_remote_namer_with_a_client_of_their_timeout():
    settings = load_settings(
        environ={},
        overrides={
            "explain.namer": "openai",
            "explain.namer_base_url": "http://llm.test/v1",
            "explain.namer_model": "m",
            "explain.namer_timeout": 7.0,
        },
    )
    namer = namer_from_settings(settings)
    assert isinstance(namer, OpenAICompatibleNamer)
    assert (namer.endpoint, namer.model) == ("http://llm.test/v1/chat/completions", "m")
    assert namer.client.timeout.read == 7.0
    assert namer_from_settings(load_settings(environ={})).name(explanation()) == (
        "hiking · trail · mountain"
    )


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ('"Mountain Hikers."', "Mountain Hikers"),
        ("Label: Home Cooks\nBecause they cook.", "Home Cooks"),
        ("<think>they like pasta</think>\n\n**Pasta Lovers**", "Pasta Lovers"),
        ("   ", ""),
    ],
)
def test_clean_label(text, label):
    assert clean_label(text) == label


# --- OpenAI-compatible namer: configuration --------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"base_url": None, "model": "m"}, "namer base_url=None; expected the URL"),
        ({"base_url": "localhost:8000", "model": "m"}, "namer base_url='localhost:8000'"),
        ({"base_url": "http://x/v1", "model": ""}, "namer model=''; expected the name of a chat"),
        ({"base_url": "http://x/v1", "model": "m", "timeout": 0}, "namer timeout=0"),
    ],
)
def test_missing_or_bad_settings_are_config_errors(arguments, message):
    with pytest.raises(ConfigError, match=message):
        OpenAICompatibleNamer(**arguments)


def test_repr_hides_the_api_key():
    namer = OpenAICompatibleNamer("http://x/v1", "m", api_key="sk-secret")
    assert "sk-secret" not in repr(namer)
    assert "***" in repr(namer)


def test_namer_error_is_an_interestlens_runtime_error():
    assert issubclass(NamerError, InterestLensError)
    assert issubclass(NamerError, RuntimeError)


# --- OpenAI-compatible namer: against a fake server ------------------------------------------


@dataclass
class FakeServer:
    url: str
    requests: list[dict] = field(default_factory=list)
    status: int = 200
    body: bytes = b""
    hang: bool = False
    release: threading.Event = field(default_factory=threading.Event)

    def complete_with(self, content: str) -> None:
        completion = {
            "id": "cmpl-1",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
        }
        self.body = json.dumps(completion).encode()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    state = FakeServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            if state.hang:
                # answer nothing until the test ends; the client must give up first
                state.release.wait(5)
                return
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format, *args):  # keep test output clean
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_request_shape_and_label(server):
    server.complete_with('"Mountain Hikers."')
    namer = OpenAICompatibleNamer(server.url + "/", "tiny-llm", api_key="sk-test", timeout=5)
    assert namer.name(explanation()) == "Mountain Hikers"
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    body = request["json"]
    assert body["model"] == "tiny-llm"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "2 to 5 words" in body["messages"][0]["content"]
    prompt = body["messages"][1]["content"]
    assert "hiking, trail, mountain" in prompt
    assert "Trail Guide" in prompt
    assert "Summit Stories" in prompt


def test_no_authorization_header_without_a_key(server):
    server.complete_with("Hikers")
    OpenAICompatibleNamer(server.url, "m").name(explanation())
    assert "Authorization" not in server.requests[0]["headers"]


def test_server_error_is_a_namer_error(server):
    server.status = 500
    server.body = b'{"error": "model not loaded"}'
    namer = OpenAICompatibleNamer(server.url, "m", timeout=5)
    with pytest.raises(NamerError, match=r"answered HTTP 500: .*model not loaded.*Fix: check"):
        namer.name(explanation())


def test_text_that_is_not_json_is_a_namer_error(server):
    server.body = b"<html>hello</html>"
    with pytest.raises(NamerError, match="answered text that is not JSON: '<html>hello</html>'"):
        OpenAICompatibleNamer(server.url, "m", timeout=5).name(explanation())


def test_json_without_choices_is_a_namer_error(server):
    server.body = b'{"result": "Hikers"}'
    with pytest.raises(NamerError, match=r"without choices\[0\]\.message\.content"):
        OpenAICompatibleNamer(server.url, "m", timeout=5).name(explanation())


def test_empty_label_is_a_namer_error(server):
    server.complete_with("  \n ")
    with pytest.raises(NamerError, match="answered an empty label"):
        OpenAICompatibleNamer(server.url, "m", timeout=5).name(explanation())


def test_timeout_is_a_namer_error(server):
    server.hang = True
    with pytest.raises(NamerError, match=r"no answer within timeout=0\.2s"):
        OpenAICompatibleNamer(server.url, "m", timeout=0.2).name(explanation())


def test_connection_refused_is_a_namer_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # nothing listens on the port any more
    namer = OpenAICompatibleNamer(f"http://127.0.0.1:{port}/v1", "m", timeout=2)
    with pytest.raises(NamerError, match=r"failed: ConnectError.*Fix: start the server"):
        namer.name(explanation())


def test_explain_clusters_with_the_remote_namer(server):
    server.complete_with("Weekend Hikers")
    explainer = ClusterExplainer(namer=OpenAICompatibleNamer(server.url, "m", timeout=5))
    result = explainer.explain(
        np.array([0, 0]),
        np.array([[1, 0], [0.8, 0.6]], dtype=np.float32),
        ClusterEvidence(
            user_ids=["a", "b"],
            item_ids=["i0"],
            item_texts=["Hiking trail guide"],
            user_idx=np.array([0, 1]),
            item_idx=np.array([0, 0]),
        ),
    )
    assert [e.label for e in result] == ["Weekend Hikers"]
    # equal scores: alphabetical order
    assert "guide, hiking, trail" in server.requests[0]["json"]["messages"][1]["content"]
