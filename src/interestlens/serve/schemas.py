"""Request and response bodies (pydantic): the OpenAPI schema at /docs is built from these.

Limits that depend on settings (text length, k, list lengths) are checked in the endpoints, so
that one schema serves every configuration; the fixed rules (id format, JSON shape, types) are
here.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator

MAX_ID_CHARS = 256


def check_id(value: str) -> str:
    """Ids are 1-256 printable characters (no control characters, not only spaces), with
    surrounding spaces removed — the rule of the file readers too (``" u1 "`` is ``"u1"``)."""
    value = value.strip() if isinstance(value, str) else value
    if not value:
        raise ValueError("an id must not be empty or only spaces")
    if len(value) > MAX_ID_CHARS:
        raise ValueError(f"an id has at most {MAX_ID_CHARS} characters, got {len(value)}")
    if not value.isprintable():
        raise ValueError("an id must contain printable characters only (no control characters)")
    return value


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Id = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ID_CHARS, examples=["u0001"]),
    AfterValidator(check_id),
]
ItemId = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ID_CHARS, examples=["i0001"]),
    AfterValidator(check_id),
]
#: strict: JSON true/false is never read as a number (``k: true`` is not k = 1); integers
#: are still accepted where a float is expected
FiniteFloat = Annotated[float, Strict(), AfterValidator(_finite)]
StrictK = Annotated[int, Strict(), Field(ge=1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests ----------------------------------------------------------------------------------


class ColdStartRequest(_Body):
    """Someone the model has never seen: a free text, items they liked, or both."""

    text: str | None = Field(
        None, description="What the person says they like.", examples=["space opera, robots"]
    )
    history: list[ItemId] = Field(
        default_factory=list, description="Ids of items the person liked, oldest first."
    )
    k: StrictK | None = Field(None, description="List length (default: recommend.k).")
    candidates: list[ItemId] | None = Field(
        None, description="Rank only these item ids (default: every item)."
    )

    @model_validator(mode="after")
    def _some_signal(self) -> ColdStartRequest:
        if (self.text is None or not self.text.strip()) and not self.history:
            raise ValueError("give a non-empty 'text', a non-empty 'history', or both")
        return self


class EventIn(_Body):
    """One interaction: a user rated, bought, watched or clicked an item."""

    user_id: Id
    item_id: ItemId
    rating: FiniteFloat | None = Field(None, description="Optional rating (e.g. 1-5).")
    timestamp: FiniteFloat | None = Field(
        None, description="Seconds since the epoch (default: none, as in data without times)."
    )


class EventsIn(_Body):
    """Several events, stored in one transaction (all or none)."""

    events: list[EventIn] = Field(min_length=1)


class ItemIn(_Body):
    """A new item: its text as is, or fields turned into text like the model's items were."""

    item_id: ItemId
    text: str | None = Field(None, description="The item's text, used as is.")
    fields: dict[str, str | int | float | bool | None] | None = Field(
        None,
        description="Columns such as title and description, built into text with the model's "
        "text settings (text.item_columns / text.item_template).",
        examples=[{"title": "Dune", "description": "A desert planet"}],
    )
    title: str | None = Field(
        None, max_length=1000, description="Display title (default: fields.title, else the id)."
    )

    @model_validator(mode="after")
    def _text_or_fields(self) -> ItemIn:
        has_text = self.text is not None and bool(self.text.strip())
        has_fields = bool(self.fields)
        if has_text == has_fields:
            raise ValueError("give exactly one of a non-empty 'text' or a non-empty 'fields'")
        return self


class ReloadIn(_Body):
    model_dir: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="Model directory to switch to (default: the one the service serves).",
    )


# --- responses ---------------------------------------------------------------------------------


class RecommendedItem(BaseModel):
    item_id: str
    score: float | None
    rank: int
    cluster: int
    cluster_label: str
    reason: str


class RecommendationsOut(BaseModel):
    user_id: str | None = Field(None, description="The known user, or null for a cold start.")
    k: int
    items: list[RecommendedItem]


class UserClusterOut(BaseModel):
    user_id: str
    cluster: int
    label: str
    probability: float | None
    source: str


class ClusterOut(BaseModel):
    cluster_id: int
    label: str
    size: int
    keywords: list[str]
    representative_items: list[str]


class ClustersOut(BaseModel):
    clusters: list[ClusterOut]


class EventAck(BaseModel):
    stored: int = Field(description="Events committed to the events database.")
    seq: list[int] = Field(description="Their positions in the log.")


class ItemAck(BaseModel):
    item_id: str
    seq: int


class ForgetOut(BaseModel):
    user_id: str
    forgotten: bool = Field(description="Whether the model knew the user.")
    events_deleted: int


class ReloadOut(BaseModel):
    model_dir: str
    replayed: dict[str, int]
    seconds: float
    n_users: int
    n_items: int


class HealthOut(BaseModel):
    status: str
    model_dir: str | None
    model_created_at: str | None
    n_users: int
    n_items: int
    events_db: str
    log: dict[str, int] = Field(description="Entries in the events database by kind.")
    replay: dict[str, Any] = Field(description="What the last start or reload replayed.")
    loaded_at: float
    reloads: int
    worker: dict[str, int] = Field(
        description="The process that answered: its pid, and how many workers serve "
        "(serve.workers)."
    )


class ErrorDetail(BaseModel):
    type: str = Field(description="The error class, e.g. UnknownIdError.")
    problem: str = Field(description="What was received.")
    expected: str | None = Field(description="What was expected.")
    fix: str | None = Field(description="How to fix it.")
    message: str | None = Field(None, description="The three in one sentence.")
    details: list[dict[str, Any]] | None = Field(
        None, description="Per-field problems of an invalid request."
    )


class ErrorOut(BaseModel):
    error: ErrorDetail
