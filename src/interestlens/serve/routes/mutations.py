"""What changes the served data: events, new items, forgetting a user. Each needs the API key,
is committed to the events database before the engine applies it, and runs in the thread pool
(plain ``def``: SQLite's fsync and embedding a new item block)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from interestlens.config import Settings
from interestlens.serve.auth import require_key
from interestlens.serve.checks import UserIdPath, check_list, check_text, checked_id
from interestlens.serve.deps import ServiceDep, SettingsDep
from interestlens.serve.errors import error_responses
from interestlens.serve.jsonio import json_response
from interestlens.serve.schemas import EventAck, EventIn, EventsIn, ForgetOut, ItemAck, ItemIn
from interestlens.serve.service import Service
from interestlens.serve.store import Event

router = APIRouter(tags=["updates"], dependencies=[Depends(require_key)])


def as_event(body: EventIn) -> Event:
    return Event(body.user_id, body.item_id, body.rating, body.timestamp)


@router.post(
    "/events",
    status_code=201,
    response_model=EventAck,
    responses=error_responses(401, 403, 404, 413, 422),
)
def post_event(body: EventIn, service: ServiceDep) -> Response:
    """Record one interaction. 201 means committed to the events database (WAL,
    synchronous=FULL); the user's list and cluster change at once, without a refit."""
    seqs = service.add_events([as_event(body)])
    return json_response({"stored": len(seqs), "seq": seqs}, status_code=201)


@router.post(
    "/events/batch",
    status_code=201,
    response_model=EventAck,
    responses=error_responses(401, 403, 404, 413, 422),
)
def post_events(body: EventsIn, service: ServiceDep, settings: SettingsDep) -> Response:
    """Record several interactions in one transaction: all are stored, or none."""
    check_list(body.events, "events", settings)
    seqs = service.add_events([as_event(event) for event in body.events])
    return json_response({"stored": len(seqs), "seq": seqs}, status_code=201)


def item_text(body: ItemIn, service: Service, settings: Settings) -> str:
    """The text to embed: the body's text, or its fields built into text the way the model's
    items were; every part within ``serve.max_text_chars``."""
    if body.text is not None:
        check_text(body.text, "text", settings)
        return body.text
    fields = body.fields or {}
    for name, value in fields.items():
        check_text(str(name) + str(value), f"field {str(name)[:80]!r}", settings)
    text = service.item_text(body.item_id, fields)
    check_text(text, "the text built from fields", settings)
    return text


@router.post(
    "/items",
    status_code=201,
    response_model=ItemAck,
    responses=error_responses(401, 403, 413, 422, conflict="The item id exists."),
)
def post_item(body: ItemIn, service: ServiceDep, settings: SettingsDep) -> Response:
    """Add an item: embedded now and recommendable at once; stored for replays and refits."""
    text = item_text(body, service, settings)
    title = body.title
    if title is None and body.fields and body.fields.get("title") is not None:
        title = str(body.fields["title"])
    seq = service.add_item(body.item_id, text, title)
    return json_response({"item_id": body.item_id, "seq": seq}, status_code=201)


@router.delete(
    "/users/{user_id}",
    response_model=ForgetOut,
    responses=error_responses(401, 403, 404, 422),
)
def forget_user(user_id: UserIdPath, service: ServiceDep) -> Response:
    """Forget a user: their events are deleted from the store, their list, vector and cluster
    from the model; a later refit leaves their fitted interactions out."""
    user_id = checked_id(user_id, "user_id")
    forgotten, deleted = service.forget_user(user_id)
    return json_response({"user_id": user_id, "forgotten": forgotten, "events_deleted": deleted})
