"""The FastAPI application: ``create_app(model_dir, settings)``.

Nothing is loaded at import time: the lifespan opens the events store, loads the model, replays
the log and (``serve.precompute``) ranks every known user's list. Reads of known users are
``async def`` endpoints that only slice a precomputed list, so they run on the event loop with
no thread hop; endpoints that embed text, write to SQLite or load models are plain ``def`` and
run in the thread pool, where they cannot stall the loop.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query
from fastapi import Path as PathParam
from starlette.responses import Response

from interestlens.config import Settings
from interestlens.embed.base import Encoder
from interestlens.engine import Recommendation
from interestlens.model_dir import package_version
from interestlens.serve.auth import read_access, require_key
from interestlens.serve.deps import get_service, get_settings
from interestlens.serve.errors import BodySizeLimit, InvalidRequestError, install_error_handlers
from interestlens.serve.jsonio import json_response
from interestlens.serve.schemas import (
    MAX_ID_CHARS,
    ClusterOut,
    ClustersOut,
    ColdStartRequest,
    ErrorOut,
    EventAck,
    EventIn,
    EventsIn,
    ForgetOut,
    HealthOut,
    ItemAck,
    ItemIn,
    RecommendationsOut,
    ReloadIn,
    ReloadOut,
    UserClusterOut,
    check_id,
)
from interestlens.serve.service import Service
from interestlens.serve.store import Event
from interestlens.timeline.service import AdaptiveOut

DESCRIPTION = """Recommendations, interest clusters and online updates from an interestlens model.

Errors are JSON: `{"error": {"type", "problem", "expected", "fix", "message"}}` with a 4xx status.
Mutating endpoints need the `X-API-Key` header (`serve.api_key`); reads need it only when
`serve.read_requires_key` is on. See docs/service.md.
"""

_ERRORS = {
    401: {"model": ErrorOut, "description": "Missing or wrong X-API-Key."},
    403: {"model": ErrorOut, "description": "No API key configured for mutations."},
    404: {"model": ErrorOut, "description": "Unknown user, item or cluster."},
    413: {"model": ErrorOut, "description": "Body larger than serve.max_body_bytes."},
    422: {"model": ErrorOut, "description": "Invalid path, query or body."},
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: _ERRORS[code] for code in codes}


UserIdPath = Annotated[
    str, PathParam(min_length=1, max_length=MAX_ID_CHARS, description="A user id.")
]
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


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[Service, Depends(get_service)]


# --- checks that depend on settings ------------------------------------------------------------


def _invalid(problem: str, expected: str, fix: str) -> InvalidRequestError:
    return InvalidRequestError(problem, expected=expected, fix=fix)


def checked_id(value: str, what: str) -> str:
    try:
        return check_id(value)
    except ValueError as exc:
        raise _invalid(
            f"{what} {value[:80]!r} is not a valid id: {exc}",
            f"1 to {MAX_ID_CHARS} printable characters",
            "send the id as stored in the data",
        ) from None


def checked_k(k: int | None, settings: Settings) -> int:
    if k is None:
        return min(settings.recommend.k, settings.serve.max_k)
    if not 1 <= k <= settings.serve.max_k:
        raise _invalid(
            f"k={k}",
            f"1 <= k <= {settings.serve.max_k} (serve.max_k)",
            f"ask for at most {settings.serve.max_k} items",
        )
    return k


def checked_list(values: Sequence[str], what: str, settings: Settings) -> None:
    limit = settings.serve.max_list_items
    if len(values) > limit:
        raise _invalid(
            f"{len(values)} {what}",
            f"at most {limit} (serve.max_list_items)",
            "send fewer ids per request",
        )


def checked_text(text: str, what: str, settings: Settings) -> None:
    limit = settings.serve.max_text_chars
    if len(text) > limit:
        raise _invalid(
            f"{what} has {len(text)} characters",
            f"at most {limit} (serve.max_text_chars)",
            "send a shorter text (the encoder reads only the first few hundred words anyway)",
        )


def parse_candidates(raw: str | None, settings: Settings) -> list[str] | None:
    if raw is None:
        return None
    candidates = raw.split(",")
    checked_list(candidates, "candidates", settings)
    for candidate in candidates:
        checked_id(candidate, "candidate")
    return candidates


def recommendations_body(user_id: str | None, k: int, recs: list[Recommendation]) -> Response:
    return json_response(
        {
            "user_id": user_id,
            "k": k,
            "items": [
                {
                    "item_id": r.item_id,
                    "score": r.score,
                    "rank": r.rank,
                    "cluster": r.cluster,
                    "cluster_label": r.cluster_label,
                    "reason": r.reason,
                }
                for r in recs
            ],
        }
    )


def _cluster_dict(summary: Any) -> dict[str, Any]:
    return {
        "cluster_id": summary.cluster_id,
        "label": summary.label,
        "size": summary.size,
        "keywords": list(summary.keywords),
        "representative_items": list(summary.representative_items),
    }


# --- the application ---------------------------------------------------------------------------


def create_app(
    model_dir: str | Path,
    settings: Settings | None = None,
    *,
    encoder: Encoder | None = None,
) -> FastAPI:
    """The service for ``model_dir``. ``encoder`` replaces the model's saved encoder (tests)."""
    settings = settings if settings is not None else Settings()
    model_path = Path(model_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = Service(model_path, settings, encoder=encoder)
        try:
            service.start()
            app.state.service = service
            yield
        finally:
            service.close()

    app = FastAPI(
        title="interestlens",
        version=package_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.serve.max_body_bytes)

    @app.get("/health", response_model=HealthOut, tags=["service"])
    async def health(service: ServiceDep) -> Response:
        """Liveness and what is served: model, sizes, events log."""
        engine = service.engine
        return json_response(
            {
                "status": "ok",
                "model_dir": str(service.model_dir),
                "model_created_at": engine.manifest.get("created_at"),
                "n_users": len(engine.user_ids),
                "n_items": engine.n_items,
                "events_db": str(service.store.path),
                "log": service.store.counts(),
                "replay": {
                    **service.last_replay.to_dict(),
                    "problems": service.last_replay.problems,
                },
                "loaded_at": service.loaded_at,
                "reloads": service.reloads,
            }
        )

    @app.get(
        "/users/{user_id}/recommendations",
        response_model=RecommendationsOut,
        responses=_errors(401, 404, 422),
        dependencies=[Depends(read_access)],
        tags=["recommendations"],
    )
    async def user_recommendations(
        user_id: UserIdPath,
        service: ServiceDep,
        settings: SettingsDep,
        k: KQuery = None,
        candidates: CandidatesQuery = None,
    ) -> Response:
        """The k best unseen items for a known user, each with its cluster and a reason."""
        k = checked_k(k, settings)
        served = service.served
        key = service.user_key(user_id)  # the pseudonym, when the model holds pseudonyms
        if candidates is None:
            cached = served.responses.get(key, k)
            if cached is not None:
                return Response(cached, media_type="application/json")
        checked_id(user_id, "user_id")
        wanted = parse_candidates(candidates, settings)
        token = served.responses.token(key)
        recs = served.engine.recommend_user(key, k, wanted)
        response = recommendations_body(user_id, k, recs)
        if wanted is None:
            served.responses.put(key, k, response.body, token)
        return response

    @app.post(
        "/recommendations",
        response_model=RecommendationsOut,
        responses=_errors(401, 404, 413, 422),
        dependencies=[Depends(read_access)],
        tags=["recommendations"],
    )
    async def cold_start_recommendations(
        body: ColdStartRequest, service: ServiceDep, settings: SettingsDep
    ) -> Response:
        """Cold start: recommendations for someone the model has never seen, from a text, a
        few liked item ids, or both."""
        k = checked_k(body.k, settings)
        if body.text is not None:
            checked_text(body.text, "text", settings)
        checked_list(body.history, "history items", settings)
        if body.candidates is not None:
            checked_list(body.candidates, "candidates", settings)
        engine = service.engine
        recs = await service.run_scoring(
            partial(
                engine.recommend_new,
                text=body.text,
                history=body.history,
                k=k,
                candidates=body.candidates,
            )
        )
        return recommendations_body(None, k, recs)

    @app.get(
        "/users/{user_id}/cluster",
        response_model=UserClusterOut,
        responses=_errors(401, 404, 422),
        dependencies=[Depends(read_access)],
        tags=["clusters"],
    )
    async def user_cluster(user_id: UserIdPath, service: ServiceDep) -> Response:
        """The user's interest cluster (updated online by events)."""
        checked_id(user_id, "user_id")
        found = service.engine.user_cluster(service.user_key(user_id))
        return json_response(
            {
                "user_id": user_id,
                "cluster": found.cluster,
                "label": found.label,
                "probability": found.probability,
                "source": found.source,
            }
        )

    @app.get(
        "/clusters",
        response_model=ClustersOut,
        responses=_errors(401),
        dependencies=[Depends(read_access)],
        tags=["clusters"],
    )
    async def clusters(service: ServiceDep) -> Response:
        """Every cluster: label, size, keywords, representative items."""
        return json_response({"clusters": [_cluster_dict(c) for c in service.engine.clusters()]})

    @app.get(
        "/adaptive",
        response_model=AdaptiveOut,
        responses=_errors(401),
        dependencies=[Depends(read_access)],
        tags=["clusters"],
    )
    async def adaptive(service: ServiceDep) -> Response:
        """The adaptive centroids since the fit: how far each moved, the users it received,
        those that fit badly, and the clusters flagged as candidate new interests."""
        state = service.adaptive
        if state is None:
            return json_response({"enabled": False, "clusters": []})
        return json_response({"enabled": True, **state.summary()})

    @app.get(
        "/clusters/{cluster_id}",
        response_model=ClusterOut,
        responses=_errors(401, 404, 422),
        dependencies=[Depends(read_access)],
        tags=["clusters"],
    )
    async def cluster(
        cluster_id: Annotated[int, PathParam(description="A cluster id from /clusters.")],
        service: ServiceDep,
    ) -> Response:
        """One cluster: label, size, keywords, representative items."""
        return json_response(_cluster_dict(service.engine.cluster(cluster_id)))

    @app.post(
        "/events",
        status_code=201,
        response_model=EventAck,
        responses=_errors(401, 403, 404, 413, 422),
        dependencies=[Depends(require_key)],
        tags=["updates"],
    )
    def post_event(body: EventIn, service: ServiceDep) -> Response:
        """Record one interaction. 201 means committed to the events database (WAL,
        synchronous=FULL); the user's list and cluster change at once, without a refit."""
        event = Event(body.user_id, body.item_id, body.rating, body.timestamp)
        seqs = service.add_events([event])
        return json_response({"stored": len(seqs), "seq": seqs}, status_code=201)

    @app.post(
        "/events/batch",
        status_code=201,
        response_model=EventAck,
        responses=_errors(401, 403, 404, 413, 422),
        dependencies=[Depends(require_key)],
        tags=["updates"],
    )
    def post_events(body: EventsIn, service: ServiceDep, settings: SettingsDep) -> Response:
        """Record several interactions in one transaction: all are stored, or none."""
        checked_list(body.events, "events", settings)
        events = [Event(e.user_id, e.item_id, e.rating, e.timestamp) for e in body.events]
        seqs = service.add_events(events)
        return json_response({"stored": len(seqs), "seq": seqs}, status_code=201)

    @app.post(
        "/items",
        status_code=201,
        response_model=ItemAck,
        responses={
            **_errors(401, 403, 413, 422),
            409: {"model": ErrorOut, "description": "The item id exists."},
        },
        dependencies=[Depends(require_key)],
        tags=["updates"],
    )
    def post_item(body: ItemIn, service: ServiceDep, settings: SettingsDep) -> Response:
        """Add an item: embedded now and recommendable at once; stored for replays and refits."""
        if body.text is not None:
            checked_text(body.text, "text", settings)
            text = body.text
        else:
            fields = body.fields or {}
            for name, value in fields.items():
                checked_text(str(name) + str(value), f"field {str(name)[:80]!r}", settings)
            text = service.item_text(body.item_id, fields)
            checked_text(text, "the text built from fields", settings)
        title = body.title
        if title is None and body.fields and body.fields.get("title") is not None:
            title = str(body.fields["title"])
        seq = service.add_item(body.item_id, text, title)
        return json_response({"item_id": body.item_id, "seq": seq}, status_code=201)

    @app.delete(
        "/users/{user_id}",
        response_model=ForgetOut,
        responses=_errors(401, 403, 404, 422),
        dependencies=[Depends(require_key)],
        tags=["updates"],
    )
    def forget_user(user_id: UserIdPath, service: ServiceDep) -> Response:
        """Forget a user: their events are deleted from the store, their list, vector and
        cluster from the model; a later refit leaves their fitted interactions out."""
        checked_id(user_id, "user_id")
        forgotten, deleted = service.forget_user(user_id)
        return json_response(
            {"user_id": user_id, "forgotten": forgotten, "events_deleted": deleted}
        )

    @app.post(
        "/admin/reload",
        response_model=ReloadOut,
        responses={
            **_errors(401, 403, 413, 422),
            409: {"model": ErrorOut, "description": "The model could not be loaded."},
        },
        dependencies=[Depends(require_key)],
        tags=["service"],
    )
    def reload(service: ServiceDep, body: ReloadIn | None = None) -> Response:
        """Switch to a (newly fitted) model: load it, replay the events log into it, then swap
        one reference. Requests in flight finish on the old model; none fails."""
        target = None
        if body is not None and body.model_dir is not None:
            target = Path(body.model_dir)
        started = time.perf_counter()
        result = service.reload(target)
        result["seconds"] = round(time.perf_counter() - started, 3)
        return json_response(result)

    return app
