"""Path and query parameters, and the request limits that depend on settings (k, list
lengths, text length): checked in the endpoints so that one OpenAPI schema serves every
configuration. The fixed rules (id format, JSON shape, types) live in :mod:`.schemas`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Path, Query

from interestlens.config import Settings
from interestlens.serve.errors import InvalidRequestError
from interestlens.serve.schemas import MAX_ID_CHARS, check_id

UserIdPath = Annotated[
    str,
    Path(min_length=1, max_length=MAX_ID_CHARS, description="A user id.", examples=["u0001"]),
]
ClusterIdPath = Annotated[int, Path(description="A cluster id from /clusters.")]
KQuery = Annotated[
    int | None,
    Query(ge=1, description="List length (default recommend.k, at most serve.max_k)."),
]
CandidatesQuery = Annotated[
    str | None,
    Query(
        max_length=10_000_000,
        description="Comma-separated item ids to rank instead of every item.",
        examples=["i0001,i0002"],
    ),
]


def checked_id(value: str, what: str) -> str:
    """``value`` with surrounding spaces removed, or a 422 naming ``what``."""
    try:
        return check_id(value)
    except ValueError as exc:
        raise InvalidRequestError(
            f"{what} {value[:80]!r} is not a valid id: {exc}",
            expected=f"1 to {MAX_ID_CHARS} printable characters",
            fix="send the id as stored in the data",
        ) from None


def checked_k(k: int | None, settings: Settings) -> int:
    """The list length: ``k``, or ``recommend.k`` (capped at ``serve.max_k``) when absent."""
    if k is None:
        return min(settings.recommend.k, settings.serve.max_k)
    if not 1 <= k <= settings.serve.max_k:
        raise InvalidRequestError(
            f"k={k}",
            expected=f"1 <= k <= {settings.serve.max_k} (serve.max_k)",
            fix=f"ask for at most {settings.serve.max_k} items",
        )
    return k


def check_list(values: Sequence[object], what: str, settings: Settings) -> None:
    limit = settings.serve.max_list_items
    if len(values) > limit:
        raise InvalidRequestError(
            f"{len(values)} {what}",
            expected=f"at most {limit} (serve.max_list_items)",
            fix="send fewer ids per request",
        )


def check_text(text: str, what: str, settings: Settings) -> None:
    limit = settings.serve.max_text_chars
    if len(text) > limit:
        raise InvalidRequestError(
            f"{what} has {len(text)} characters",
            expected=f"at most {limit} (serve.max_text_chars)",
            fix="send a shorter text (the encoder reads only the first few hundred words anyway)",
        )


def parse_candidates(raw: str | None, settings: Settings) -> list[str] | None:
    """The ``candidates`` query parameter as a list of checked ids (None when absent)."""
    if raw is None:
        return None
    candidates = raw.split(",")
    check_list(candidates, "candidates", settings)
    return [checked_id(candidate, "candidate") for candidate in candidates]
