"""JSON bytes for responses: orjson when installed (several times faster), else the stdlib."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.responses import Response

try:
    import orjson
except ImportError:  # optional speed-up: the stdlib encoder gives the same JSON
    orjson = None


def _finite(obj: Any) -> Any:
    # JSON has no NaN/Infinity: a score that is not a number is sent as null
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(value) for value in obj]
    return obj


def dumps(obj: Any) -> bytes:
    if orjson is not None:
        # orjson writes NaN/Infinity as null already
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
    return json.dumps(_finite(obj), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(
    obj: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        content=dumps(obj), status_code=status_code, headers=headers, media_type="application/json"
    )
