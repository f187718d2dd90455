"""Shared test setup."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_interestlens_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads INTERESTLENS_* variables as settings: tests must not see the caller's."""
    for name in list(os.environ):
        if name.startswith("INTERESTLENS_"):
            monkeypatch.delenv(name)
    # the recommender's validation search takes most of a fit on the demo data; CLI tests use
    # the documented default weights unless a test turns tuning back on (the demo test does)
    monkeypatch.setenv("INTERESTLENS_RECOMMEND__TUNE", "false")


@pytest.fixture(scope="module")
def one_thread():
    """One BLAS/OpenMP thread for modules with tiny inputs: thread start-up and OpenMP barriers
    cost more than they save there, and made the clustering tests ~10x slower on 2 shared cores."""
    import faiss
    from threadpoolctl import threadpool_limits

    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    faiss.omp_set_num_threads(previous)
