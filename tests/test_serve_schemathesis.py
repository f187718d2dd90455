"""Property-based requests generated from the service's own OpenAPI schema (schemathesis):
valid and invalid paths, queries and bodies for every operation — never a 5xx, and every
error a JSON body in the project's shape.

The operations are driven from one test (hypothesis ``@given`` per operation and generation
mode) rather than ``schemathesis.pytest``, whose pytest plugin does not yet run on pytest 9.
"""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="needs schemathesis (pip install)")

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402

from interestlens.serve import create_app  # noqa: E402
from interestlens.serve.testing import TEST_API_KEY, build_demo_model, demo_settings  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EXAMPLES_PER_OPERATION = 15


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    model_dir = build_demo_model(tmp_path_factory.getbasetemp() / "serve-demo" / "model")
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
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def exercise(operation, mode, failures: list[str], calls: list[int]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case) -> None:
        for headers in ({"X-API-Key": TEST_API_KEY}, {}):
            response = case.call(headers=headers)
            calls.append(response.status_code)
            where = (
                f"{operation.label} ({mode.value}) {case.path_parameters} {case.query} "
                f"{case.body!r:.200}"
            )
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


def test_no_server_errors_on_generated_requests(api):
    failures: list[str] = []
    calls: list[int] = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 12  # GET /adaptive (interests over time) is the 12th
    for operation in operations:
        for mode in schemathesis.GenerationMode:
            exercise(operation, mode, failures, calls)
    assert not failures, "\n".join(failures[:10])
    assert len(calls) > 12 * 2 * 5
    assert any(code < 300 for code in calls) and any(400 <= code < 500 for code in calls)
