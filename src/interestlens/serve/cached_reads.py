"""The service's hot path: a known user's default list answered from the response cache before
FastAPI resolves a single dependency (:class:`CachedReads`).

A cached read is one dictionary lookup, yet FastAPI spends most of such a request resolving
the route's dependencies and parameters (about 150 of the ~190 µs the app took per cached
request on MovieLens, measured in process). This pure ASGI middleware answers exactly the
requests whose answer is a cache hit, with the bytes the route would send; every other request,
and every miss, goes on to the route, which stays the one place that validates, scores and is
documented (OpenAPI).

A request is answered here only when all of these hold, and otherwise passes through unchanged:

* ``GET /users/{user_id}/recommendations`` with no query string or only ``k=<digits>``, ``k``
  within ``serve.max_k``;
* ``user_id`` is a valid id as the route reads it (unchanged by its stripping);
* reads need no key (``serve.read_requires_key`` off), or the request carries the right one;
* the service is started, and no other worker committed anything it has not applied yet
  (the route's dependency would first replay that);
* no dependency is overridden (``app.dependency_overrides``: tests that swap the settings or
  the service reach the route);
* the response cache holds the list for this user and ``k``;
* nothing fails on the way (a store that cannot be read, say): the route then meets the same
  and answers with the service's error.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from interestlens.config import Settings
from interestlens.errors import InterestLensError
from interestlens.serve.auth import API_KEY_HEADER, check_key
from interestlens.serve.schemas import check_id

_PLAIN_K = re.compile(rb"k=([1-9][0-9]{0,8})")
_KEY_HEADER = API_KEY_HEADER.lower().encode("latin-1")


class CachedReads:
    """Pure ASGI middleware: cached known-user lists served without the framework's
    per-request work (see the module's docstring for when). ``service_app`` is the FastAPI
    application whose state holds the settings and the started service."""

    def __init__(self, app: ASGIApp, service_app: Any):
        self.app = app
        self.service_app = service_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = None
        if scope["type"] == "http":
            try:
                body = self._cached(scope)
            except Exception:
                # the store cannot be read, say: the route meets the same and answers it with
                # the service's error (a 503), where a raise here would be a 500
                body = None
        if body is None:
            await self.app(scope, receive, send)
            return
        # the response the route returns for a hit, so the bytes and headers are its own
        await Response(body, media_type="application/json")(scope, receive, send)

    def _cached(self, scope: Scope) -> bytes | None:
        if scope["method"] != "GET":
            return None
        parts = scope["path"].split("/")
        if len(parts) != 4 or parts[1] != "users" or parts[3] != "recommendations":
            return None
        state = self.service_app.state
        service = getattr(state, "service", None)
        if service is None or service.served is None or self.service_app.dependency_overrides:
            return None
        settings = state.settings
        k = _plain_k(scope["query_string"], settings.recommend.k, settings.serve.max_k)
        if k is None:
            return None
        user_id = parts[2]
        try:
            if check_id(user_id) != user_id:
                return None
        except ValueError:
            return None
        if settings.serve.read_requires_key and not _right_key(scope, settings):
            return None
        if service.follows_log and service.log_changed():
            return None
        served = service.served_now()
        return served.responses.get(service.user_key(user_id), k)


def _plain_k(query: bytes, default: int, max_k: int) -> int | None:
    """The list length of a query that is empty or exactly ``k=<digits>`` (None: anything
    else, or out of range, for the route to answer)."""
    if not query:
        return min(default, max_k)
    match = _PLAIN_K.fullmatch(query)
    if match is None:
        return None
    k = int(match.group(1))
    return k if k <= max_k else None


def _right_key(scope: Scope, settings: Settings) -> bool:
    """Whether the one key header holds the service's key, by the route's own rule
    (:func:`~interestlens.serve.auth.check_key` on the header as Starlette decodes it)."""
    given = [value for name, value in scope["headers"] if name == _KEY_HEADER]
    if len(given) != 1:
        return False
    try:
        check_key(settings, given[0].decode("latin-1"))
    except InterestLensError:
        return False
    return True
