"""The fault and fuzz suite (cases in tests/fault_cases.py, also run by
scripts/reliability_report.py for docs/reliability.md): damaged model directories, absurd
values, malformed requests, reloads outside the models root, disk full and read-only storage,
kill -9 during ingest and save, concurrent writers, Hypothesis and schemathesis fuzzing.
Each case asserts its 4xx / exit 2 with a message, no 5xx, no traceback, and that nothing
acknowledged is lost.

The fuzz cases run a modest number of examples here; ``RUN_FUZZ_TESTS=1`` (set by .ci/run) adds
a run with ten times as many (marker ``fuzz``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("hypothesis", reason="needs hypothesis (pip install -e '.[test]')")

from fault_cases import Bench, Case, all_cases, fuzz_cases, lost_case
from interestlens.serve.testing import build_demo_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CASES = all_cases()


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    work: Path = tmp_path_factory.mktemp("reliability")
    # a models root of its own: the damaged copies go beside the good model, under it
    good = build_demo_model(work / "models" / "model")
    bench = Bench(good, work)
    yield bench
    bench.close()


def check(case: Case, bench: Bench) -> None:
    outcome = case.run(bench)
    where = f"{case.group}: {case.name}: answered {outcome.answer!r} ({outcome.message[:300]})"
    assert outcome.ok, f"expected {case.expected}; {where}"
    assert outcome.server_errors == 0, where
    assert outcome.tracebacks == 0, where
    assert outcome.lost == 0, where


@pytest.mark.parametrize("case", CASES, ids=[f"{c.group}: {c.name}" for c in CASES])
def test_case(case: Case, bench: Bench) -> None:
    check(case, bench)


def test_nothing_acknowledged_was_lost(bench: Bench) -> None:
    check(lost_case(), bench)


@pytest.mark.fuzz
@pytest.mark.skipif(
    not os.environ.get("RUN_FUZZ_TESTS"), reason="heavy fuzzing: set RUN_FUZZ_TESTS=1 (CI does)"
)
@pytest.mark.parametrize("case", fuzz_cases(10)[:4], ids=lambda c: c.name)
def test_heavy_fuzz(case: Case, bench: Bench) -> None:
    check(case, bench)
