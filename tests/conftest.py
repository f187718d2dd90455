"""Shared test setup, and which tests the fast lane leaves out.

Two lanes (README, "The commands"):

- ``make test`` runs ``pytest -m "not slow" -n 2 --dist loadfile``: the fast lane, under a
  minute on a 2-core laptop (two worker processes; a module's tests stay on one worker).
- ``make test-all`` (and CI, ``.ci/run``) runs every test, with ``RUN_UMAP_TESTS=1`` and
  ``RUN_FUZZ_TESTS=1``.

A test is ``slow`` when it carries ``@pytest.mark.slow``, ``realdata`` or ``fuzz``, or when it is
named in :data:`SLOW_MODULES`, :data:`SLOW_TESTS` or :data:`SLOW_CASES` below, each with the
reason. The lists keep the choice in one place; ``tests/test_lanes.py`` checks that every name
in them still exists. A new test that takes more than a second or so, or needs a live server, a
browser, a JVM, a language model or real data, belongs here (or gets ``@pytest.mark.slow``).
"""

from __future__ import annotations

import os

import pytest

#: whole modules outside the fast lane (file name -> why)
SLOW_MODULES: dict[str, str] = {
    "test_serve_live.py": "a real uvicorn server: SIGKILL and reloads under load",
    "test_serve_schemathesis.py": "schemathesis generates requests from the OpenAPI schema",
    "test_spark_pipeline.py": "PySpark in local mode: a JVM and a Spark fit (minutes)",
    "test_drift.py": "its fixture fits the 900-user drifting demo twice",
    "test_timeline.py": "its fixture fits the 600-user drifting demo",
    "test_readers_real.py": "reads the real data sets in ../shared/data",
    "test_onnx_encoder.py": (
        "imports torch to build and export a tiny transformer (the ONNX backend is optional; "
        "the default encoder backend is torch)"
    ),
    "test_distilled_encoder.py": (
        "imports torch to build and distil a tiny transformer, and distils all-MiniLM-L6-v2 "
        "(~1 minute; the static backend is optional)"
    ),
}

#: single tests outside the fast lane ("file::function" -> why); parametrized ones by function
SLOW_TESTS: dict[str, str] = {
    "test_serve_workers.py::test_two_uvicorn_workers_serve_one_consistent_model": (
        "a real uvicorn server with two worker processes"
    ),
    "test_pipeline_cli.py::test_cli_demo_then_fit_from_its_files": (
        "the whole demo (600 users) with recommender tuning; test_default_configuration.py "
        "keeps the default configuration, tuning on, in the fast lane on a tiny demo"
    ),
    "test_report_browser.py::test_report_renders_in_chromium_without_console_errors": (
        "headless Chromium renders the report"
    ),
    "test_cache.py::test_a_writer_killed_mid_write_leaves_whole_entries_only": (
        "starts a writer process and kills it mid-write"
    ),
    "test_privacy_forget.py::test_fit_forget_refit_and_audit_finds_nothing": (
        "fits, serves, forgets, refits and audits twice"
    ),
    "test_privacy_forget.py::test_delete_endpoint_then_forget_completes_the_erasure": (
        "fits, serves, forgets and refits"
    ),
    "test_serve_store.py::test_refit_folds_items_events_and_forgetting_once": (
        "two refits through the CLI"
    ),
    "test_serve_store.py::test_refit_without_a_store_refits_the_model_data": (
        "a refit through the CLI (the store's own tests stay in the fast lane)"
    ),
    "test_adaptive_service.py::test_refit_folds_the_adaptive_centroids_in_and_keeps_ids": (
        "a refit through the CLI"
    ),
}

#: parametrized cases outside the fast lane ("file::function" -> case-id prefixes, and why)
SLOW_CASES: dict[str, tuple[tuple[str, ...], str]] = {
    "test_reliability.py::test_case": (
        ("machine: ", "fuzz: "),
        "processes killed with -9, concurrent writers, a real server, Hypothesis/schemathesis",
    ),
}


def _slow_reason(item: pytest.Item) -> str | None:
    module = item.path.name
    function = f"{module}::{getattr(item, 'originalname', item.name)}"
    if module in SLOW_MODULES:
        return SLOW_MODULES[module]
    if function in SLOW_TESTS:
        return SLOW_TESTS[function]
    if function in SLOW_CASES:
        prefixes, why = SLOW_CASES[function]
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.id.startswith(prefixes):
            return why
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marked = any(item.get_closest_marker(name) for name in ("slow", "realdata", "fuzz"))
        if marked or _slow_reason(item) is not None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _no_interestlens_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads INTERESTLENS_* variables as settings: tests must not see the caller's."""
    for name in list(os.environ):
        if name.startswith("INTERESTLENS_"):
            monkeypatch.delenv(name)
    # the recommender's validation search takes most of a fit on the demo data; CLI tests use
    # the documented default weights unless a test turns tuning back on
    # (test_default_configuration.py and the demo test do)
    monkeypatch.setenv("INTERESTLENS_RECOMMEND__TUNE", "false")


# One BLAS/OpenMP thread for every test (and the processes tests start): the inputs are tiny, so
# thread start-up and OpenMP barriers cost more than they save; on 2 shared cores they made the
# clustering tests ~10x slower, and the fast lane used 3.5x the CPU time of one thread
# (test_interest_clusters + test_pipeline_cli: 35 CPU-s vs 10 CPU-s, load ~3).
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


@pytest.fixture(scope="session", autouse=True)
def _one_thread_for_tiny_inputs():
    """The libraries loaded before conftest read the variables above too late: limit them."""
    import faiss
    from threadpoolctl import threadpool_limits

    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    faiss.omp_set_num_threads(previous)


@pytest.fixture(scope="module")
def one_thread(_one_thread_for_tiny_inputs):
    """Kept for the modules that ask for it: every test now runs with one thread."""
    yield
