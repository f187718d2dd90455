"""The fast lane's lists in conftest.py name tests that exist: a renamed test must not slip
into (or silently out of) ``make test`` unnoticed."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import SLOW_CASES, SLOW_MODULES, SLOW_TESTS
from fault_cases import all_cases

TESTS = Path(__file__).parent


def _defines(module: str, function: str) -> bool:
    source = (TESTS / module).read_text(encoding="utf-8")
    return re.search(rf"^def {re.escape(function)}\(", source, flags=re.MULTILINE) is not None


def test_every_slow_module_exists():
    missing = [name for name in SLOW_MODULES if not (TESTS / name).is_file()]
    assert missing == []


def test_every_slow_test_exists():
    missing = [name for name in [*SLOW_TESTS, *SLOW_CASES] if not _defines(*name.split("::"))]
    assert missing == []


def test_every_slow_case_prefix_matches_a_reliability_case():
    ids = [f"{case.group}: {case.name}" for case in all_cases()]
    prefixes, _ = SLOW_CASES["test_reliability.py::test_case"]
    for prefix in prefixes:
        assert any(case_id.startswith(prefix) for case_id in ids), prefix
    # and the fast lane keeps cases of the other groups
    assert sum(not case_id.startswith(prefixes) for case_id in ids) >= 50
