"""JSON bytes for responses, written by orjson (several times faster than the stdlib; a score
that is not a number, which JSON cannot hold, becomes null)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)


def json_response(
    obj: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        content=dumps(obj), status_code=status_code, headers=headers, media_type="application/json"
    )
