"""The API key: required by mutating endpoints, and by reads when ``serve.read_requires_key``."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Security
from fastapi.security import APIKeyHeader

from interestlens.config import Settings
from interestlens.serve.deps import SettingsDep
from interestlens.serve.errors import MissingApiKeyError, NoApiKeyConfiguredError

API_KEY_HEADER = "X-API-Key"

_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="The key set by serve.api_key (INTERESTLENS_SERVE__API_KEY).",
)


def check_key(settings: Settings, given: str | None) -> None:
    configured = settings.serve.api_key
    if not configured:
        raise NoApiKeyConfiguredError(
            "this endpoint changes data but the service has no API key configured",
            expected="serve.api_key to be set",
            fix="start the service with INTERESTLENS_SERVE__API_KEY=<a long random key> (or "
            "api_key under [serve] in the --config TOML) and send it in the X-API-Key header",
        )
    if given is None:
        raise MissingApiKeyError(
            f"no {API_KEY_HEADER} header",
            expected=f"the service's API key in the {API_KEY_HEADER} header",
            fix=f"send -H '{API_KEY_HEADER}: <key>'",
        )
    # bytes: compare_digest refuses non-ASCII str, and a header may hold anything
    if not hmac.compare_digest(given.encode("utf-8"), configured.encode("utf-8")):
        raise MissingApiKeyError(
            f"the {API_KEY_HEADER} header does not hold the service's key",
            expected="the key set by serve.api_key",
            fix="send the configured key",
        )


KeyHeader = Annotated[str | None, Security(_header)]


async def require_key(settings: SettingsDep, key: KeyHeader) -> None:
    """Dependency of mutating endpoints (async: no thread hop on the hot path)."""
    check_key(settings, key)


async def read_access(settings: SettingsDep, key: KeyHeader) -> None:
    """Dependency of reads: a key only when ``serve.read_requires_key`` is on."""
    if settings.serve.read_requires_key:
        check_key(settings, key)
