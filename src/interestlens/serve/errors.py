"""Every error the service returns: a 4xx JSON body ``{"error": {type, problem, expected, fix}}``.

Errors raised by the library (:class:`~interestlens.errors.InterestLensError`) keep their class
name, problem, expectation and fix; FastAPI's request validation errors are rewritten into the
same shape; anything unexpected becomes a 500 with a JSON body (and is logged with its traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interestlens.errors import (
    DataError,
    DuplicateIdError,
    InterestLensError,
    InvalidValueError,
    ModelFormatError,
    UnknownIdError,
)
from interestlens.serve.jsonio import dumps, json_response
from interestlens.serve.schemas import ErrorOut

logger = logging.getLogger("interestlens.serve")


class ServiceError(InterestLensError):
    """An error of the HTTP layer itself; ``status_code`` is the HTTP status it answers with."""

    status_code = 400


class MissingApiKeyError(ServiceError):
    """The request lacks the X-API-Key header, or its key is wrong."""

    status_code = 401


class NoApiKeyConfiguredError(ServiceError):
    """A mutating endpoint was called but the service has no API key configured."""

    status_code = 403


class PayloadTooLargeError(ServiceError):
    """The request body exceeds ``serve.max_body_bytes``."""

    status_code = 413


class RouteNotFoundError(ServiceError):
    """No endpoint answers this path (or this method on it)."""

    status_code = 404


class InvalidRequestError(ServiceError, InvalidValueError):
    """The request's path, query or JSON body does not have the documented shape."""

    status_code = 422


#: the error statuses the endpoints document in the OpenAPI schema, each with the error body
DOCUMENTED_ERRORS: dict[int, str] = {
    401: "Missing or wrong X-API-Key.",
    403: "No API key configured for mutations.",
    404: "Unknown user, item or cluster.",
    413: "Body larger than serve.max_body_bytes.",
    422: "Invalid path, query or body.",
}


def error_responses(*codes: int, conflict: str | None = None) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of an endpoint that may answer ``codes`` (and 409 when ``conflict``
    says why): each with the :class:`ErrorOut` body."""
    documented: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut, "description": DOCUMENTED_ERRORS[code]} for code in codes
    }
    if conflict is not None:
        documented[409] = {"model": ErrorOut, "description": conflict}
    return documented


def status_for(error: InterestLensError) -> int:
    """The 4xx status an error answers with."""
    status = getattr(error, "status_code", None)
    if isinstance(status, int):  # the service's own errors; storage: 507 disk full, 503
        return status
    if isinstance(error, UnknownIdError):
        return 404
    if isinstance(error, DuplicateIdError):
        return 409
    if isinstance(error, ModelFormatError):
        return 409
    if isinstance(error, DataError | ValueError):
        return 422
    return 400


def error_body(error: InterestLensError, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type(error).__name__,
        "problem": error.problem,
        "expected": error.expected,
        "fix": error.fix,
        "message": str(error),
    }
    body.update(extra)
    return {"error": body}


def error_response(error: InterestLensError, **extra: Any) -> Response:
    headers = {"WWW-Authenticate": "X-API-Key"} if isinstance(error, MissingApiKeyError) else None
    return json_response(error_body(error, **extra), status_code=status_for(error), headers=headers)


def _location(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc) or "request"


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validation_error(errors: Sequence[dict[str, Any]]) -> tuple[InvalidRequestError, list[dict]]:
    """One readable error (and a per-field list) from pydantic's validation errors."""
    details = []
    problems = []
    for err in errors:
        where = _location(err.get("loc", ()))
        message = str(err.get("msg", "invalid"))
        detail: dict[str, Any] = {"location": where, "message": message}
        if "input" in err and err.get("type") != "missing":
            shown = _shown(err["input"])
            detail["received"] = shown
            problems.append(f"{where}: {message} (got {shown})")
        else:
            problems.append(f"{where}: {message}")
        details.append(detail)
    shown_problems = problems[:5] + ([f"and {len(problems) - 5} more"] if len(problems) > 5 else [])
    error = InvalidRequestError(
        "invalid request: " + "; ".join(shown_problems),
        expected="the path, query parameters and JSON body described in the OpenAPI schema "
        "at /docs",
        fix="correct the fields named above",
    )
    return error, details


#: JSON bodies nested deeper than this are refused by name (Python's parser stops near 1000)
MAX_JSON_DEPTH = 64


async def unreadable_body(request: Request) -> ServiceError:
    """Why FastAPI could not parse the body, said specifically: bytes that are not UTF-8 (with
    their position) or JSON nested too deeply, instead of "error parsing the body"."""
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return InvalidRequestError(
            f"the body is not UTF-8: byte {body[exc.start : exc.start + 1]!r} at position "
            f"{exc.start} cannot be decoded",
            expected="a JSON body encoded as UTF-8",
            fix="send the body as UTF-8 (escape other characters as \\uXXXX)",
        )
    depth = deepest = 0
    for char in text:  # brackets inside strings only make this an over-estimate
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > MAX_JSON_DEPTH:
        return InvalidRequestError(
            f"the JSON body is nested {deepest} levels deep",
            expected=f"at most {MAX_JSON_DEPTH} levels of nested arrays and objects",
            fix="send the flat body documented at /docs",
        )
    return InvalidRequestError(
        "the body cannot be parsed as JSON",
        expected="a JSON body as documented at /docs",
        fix="check the body with a JSON validator",
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InterestLensError)
    async def _library_error(request: Request, exc: InterestLensError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        error, details = validation_error(exc.errors())
        return error_response(error, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            error: ServiceError = RouteNotFoundError(
                f"no endpoint at {request.method} {request.url.path}",
                expected="one of the paths listed at /docs",
                fix="check the path and method",
            )
        elif exc.status_code == 405:
            error = RouteNotFoundError(
                f"{request.method} is not allowed on {request.url.path}",
                expected="a method listed for this path at /docs",
                fix="use the documented method",
            )
            error.status_code = 405
        elif exc.status_code == 400 and "parsing the body" in str(exc.detail):
            error = await unreadable_body(request)
        else:
            error = ServiceError(
                f"{exc.detail}", expected="a request as documented at /docs", fix="see /docs"
            )
            error.status_code = exc.status_code
        return error_response(error)


async def send_json(send: Send, status: int, body: Any, *, close: bool = False) -> None:
    """A JSON response sent straight through ASGI, by a middleware (outside the app's handlers);
    ``close`` ends the keep-alive connection."""
    content = dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


class CatchAll:
    """Pure ASGI middleware, the outermost one: an unexpected exception (from an endpoint or
    another middleware) becomes the JSON 500 here, inside Starlette's ServerErrorMiddleware, so
    it is not re-raised to the server (which would close the keep-alive connection). Logged
    with its traceback."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            logger.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            body = {
                "error": {
                    "type": "InternalServerError",
                    "problem": f"the service failed on {scope.get('method')} {scope.get('path')}",
                    "expected": "a successful answer",
                    "fix": "this is a bug in interestlens: report it with the server log",
                }
            }
            await send_json(send, 500, body)


class BodySizeLimit:
    """Pure ASGI middleware: a body over ``max_bytes`` gets a 413 before the app sees it.

    A declared Content-Length is checked at once; a chunked body is buffered up to the limit
    (so the app never reads a partial body).
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await self._reject(send, f"Content-Length {length[:40]!r} is not a number")
                return
            if declared > self.max_bytes:
                await self._too_large(send, f"a body of {declared} bytes")
                return
            await self.app(scope, receive, send)
            return
        if not chunked:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._too_large(send, f"a chunked body of more than {self.max_bytes} bytes")
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, what: str) -> None:
        error = PayloadTooLargeError(
            what,
            expected=f"at most {self.max_bytes} bytes (serve.max_body_bytes)",
            fix="send a smaller body (split event batches) or raise "
            "INTERESTLENS_SERVE__MAX_BODY_BYTES",
        )
        await self._send(send, error)

    async def _reject(self, send: Send, problem: str) -> None:
        error = InvalidRequestError(
            problem, expected="a valid Content-Length header", fix="send a valid request"
        )
        await self._send(send, error)

    async def _send(self, send: Send, error: ServiceError) -> None:
        # the body was not read: the connection cannot be reused
        await send_json(send, error.status_code, error_body(error), close=True)
