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
