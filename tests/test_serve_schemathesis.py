"""Property-based requests generated from the service's own OpenAPI schema (schemathesis):
valid and invalid paths, queries and bodies for every operation — never a 5xx, every body
(2xx included) valid against the schema documented for its status, and every error a JSON body
in the project's shape.

Ids drawn at random are almost never known to the model, so a generated request would nearly
always end in a 404 and its 2xx body would go unchecked. A third run of positive cases is
therefore steered: their ids, k and texts are drawn from what the model knows (:func:`steer`),
and the test asserts that every operation answered 2xx bodies that passed the schema check.

The operations are driven from one test (hypothesis ``@given`` per operation and generation
mode) rather than ``schemathesis.pytest``, whose pytest plugin does not yet run on pytest 9.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="needs schemathesis (pip install)")

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
)

from interestlens.persist import read_json  # noqa: E402
from interestlens.serve import create_app  # noqa: E402
from interestlens.serve.routes import recommendations  # noqa: E402
from interestlens.serve.testing import TEST_API_KEY, build_demo_model, demo_settings  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EXAMPLES_PER_OPERATION = 15
BODY_CHECKS = [response_schema_conformance, content_type_conformance]
TEXTS = ["budget retirement savings", "space opera with robots", "trail running shoes"]


@dataclass(frozen=True)
class KnownIds:
    """Ids the served model knows, for steering generated requests towards a 2xx."""

    users: list[str]
    items: list[str]
    clusters: list[int]
    model_dir: str

    @classmethod
    def of(cls, model_dir: Path, api: Any) -> KnownIds:
        answer = api["/clusters"]["GET"].Case().call(headers={"X-API-Key": TEST_API_KEY})
        return cls(
            users=[str(u) for u in read_json(model_dir / "user_ids.json")],
            items=[str(i) for i in read_json(model_dir / "item_ids.json")],
            clusters=[c["cluster_id"] for c in answer.json()["clusters"]],
            model_dir=str(model_dir),
        )


def _event(draw: Any, known: KnownIds) -> dict[str, Any]:
    return {
        "user_id": draw(st.sampled_from(known.users) | st.from_regex(r"\Asteered-[a-z0-9]{1,8}\Z")),
        "item_id": draw(st.sampled_from(known.items)),
        "rating": draw(st.none() | st.sampled_from([1, 3.5, 5])),
    }


def _item_ids(draw: Any, known: KnownIds, min_size: int = 0) -> list[str]:
    return draw(st.lists(st.sampled_from(known.items), min_size=min_size, max_size=5))


def steer(label: str, case: Any, draw: Any, known: KnownIds) -> None:
    """Replace ``case``'s generated ids, k and body by values the model accepts."""
    params = case.path_parameters or {}
    if "user_id" in params:
        params["user_id"] = draw(st.sampled_from(known.users))
    if "cluster_id" in params:
        params["cluster_id"] = draw(st.sampled_from(known.clusters))
    query = case.query or {}
    if "k" in query:
        query["k"] = draw(st.integers(1, 20))
    if "candidates" in query:
        query["candidates"] = ",".join(_item_ids(draw, known, min_size=1))
    if label == "POST /recommendations":
        history = _item_ids(draw, known)
        case.body = {
            "text": draw(st.sampled_from(TEXTS) if not history else st.none() | st.just(TEXTS[0])),
            "history": history,
            "k": draw(st.none() | st.integers(1, 20)),
            "candidates": draw(st.none() | st.lists(st.sampled_from(known.items), min_size=1)),
        }
    elif label == "POST /events":
        case.body = _event(draw, known)
    elif label == "POST /events/batch":
        case.body = {"events": [_event(draw, known) for _ in range(draw(st.integers(1, 4)))]}
    elif label == "POST /items":
        item_id = draw(st.from_regex(r"\Asteered-item-[a-z0-9]{1,12}\Z"))
        text = draw(st.sampled_from(TEXTS))
        fields = {"title": item_id, "description": text}
        case.body = draw(
            st.sampled_from(
                [{"item_id": item_id, "text": text}, {"item_id": item_id, "fields": fields}]
            )
        )
    elif label == "POST /admin/reload":
        case.body = draw(st.sampled_from([{}, {"model_dir": known.model_dir}]))


def exercise(
    operation: Any,
    mode: Any,
    failures: list[str],
    calls: list[tuple[str, int]],
    steered_to: KnownIds | None = None,
) -> None:
    """Run ``operation``'s generated cases (with and without the key); ``failures`` gets each
    5xx, off-schema body or unshaped error, ``calls`` each (operation, status). With
    ``steered_to``, every case is steered to ids the model knows."""
    label = operation.label

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any, data: Any) -> None:
        if steered_to is not None:
            steer(label, case, data.draw, steered_to)
        for headers in ({"X-API-Key": TEST_API_KEY}, {}):
            response = case.call(headers=headers)
            calls.append((label, response.status_code))
            where = f"{label} ({mode.value}) {case.path_parameters} {case.query} {case.body!r:.200}"
            try:
                # the body, 2xx or error, matches the documented schema of its status
                # (RecommendationsOut, ErrorOut, ...) and the declared content type
                case.validate_response(response, checks=BODY_CHECKS)
            except FailureGroup as exc:
                failures.append(f"{response.status_code} body off-schema on {where}: {exc!s:.300}")
            if response.status_code >= 500:
                failures.append(f"{response.status_code} on {where}: {response.text[:300]}")
            elif response.status_code >= 400:
                error = response.json().get("error", {})
                if not {"type", "problem", "expected", "fix"} <= set(error):
                    failures.append(f"error without the project's shape on {where}")

    try:
        run()
    except Unsatisfiable:
        # an operation without parameters or body has no invalid variant to generate
        assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label


def successes(calls: list[tuple[str, int]]) -> Counter[str]:
    """2xx answers per operation (each one's body passed the schema check, or is a failure)."""
    return Counter(label for label, status in calls if 200 <= status < 300)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_demo_model(tmp_path_factory.getbasetemp() / "serve-demo" / "model")


@pytest.fixture(scope="module")
def app(model_dir, tmp_path_factory):
    work: Path = tmp_path_factory.mktemp("schemathesis")
    service_settings = demo_settings(
        work / "cache",
        **{
            "serve.events_db": str(work / "events.sqlite"),
            "serve.api_key": TEST_API_KEY,
            "serve.max_body_bytes": 20_000,
        },
    )
    app = create_app(model_dir, service_settings)
    # the lifespan loads the model into app.state; schemathesis' ASGI client then reuses it
    with TestClient(app):
        yield app


@pytest.fixture(scope="module")
def api(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_server_errors_and_every_body_on_schema(api, model_dir):
    failures: list[str] = []
    calls: list[tuple[str, int]] = []
    known = KnownIds.of(model_dir, api)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 12  # GET /adaptive (interests over time) is the 12th
    for operation in operations:
        for mode in schemathesis.GenerationMode:
            exercise(operation, mode, failures, calls)
        exercise(operation, schemathesis.GenerationMode.POSITIVE, failures, calls, known)
    assert not failures, "\n".join(failures[:10])
    statuses = [status for _, status in calls]
    assert len(calls) > 12 * 3 * 5
    assert any(400 <= code < 500 for code in statuses)
    # every operation answered 2xx bodies, and each was checked against its schema
    ok = successes(calls)
    assert {op.label for op in operations} == set(ok), ok
    assert min(ok.values()) >= 3, ok


def test_an_off_schema_2xx_body_is_caught(api, monkeypatch):
    """The check is not vacuous: a recommendation list whose ``k`` is a string fails it."""

    def off_schema(user_id, k, recs):
        return recommendations.json_response({"user_id": user_id, "k": str(k), "items": []})

    monkeypatch.setattr(recommendations, "recommendations_body", off_schema)
    case = api["/recommendations"]["POST"].Case(body={"text": TEXTS[0], "k": 3})
    response = case.call()
    assert response.status_code == 200 and response.json()["k"] == "3"
    with pytest.raises(FailureGroup, match="k"):
        case.validate_response(response, checks=BODY_CHECKS)
