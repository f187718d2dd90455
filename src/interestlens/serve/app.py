"""The FastAPI application: ``create_app(model_dir, settings)``.

Nothing is loaded at import time or by ``create_app``: the lifespan opens the events store,
loads the model, replays the log and (``serve.precompute``) ranks every known user's list, in
a worker thread. The endpoints live in :mod:`interestlens.serve.routes`, one router per area;
they reach the settings and the service through :mod:`interestlens.serve.deps`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from interestlens.config import Settings
from interestlens.embed.base import Encoder
from interestlens.model_dir import package_version
from interestlens.serve.cached_reads import CachedReads
from interestlens.serve.errors import BodySizeLimit, CatchAll, install_error_handlers
from interestlens.serve.routes import ROUTERS
from interestlens.serve.service import Service

DESCRIPTION = """Recommendations, interest clusters and online updates from an interestlens model.

Errors are JSON: `{"error": {"type", "problem", "expected", "fix", "message"}}` with a 4xx status.
Mutating endpoints need the `X-API-Key` header (`serve.api_key`); reads need it only when
`serve.read_requires_key` is on. See docs/service.md.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the service ``create_app`` described (opening the store and loading the model
    block: a worker thread does both), serve, close it."""
    state = app.state
    service = await run_in_threadpool(
        Service, state.model_dir, state.settings, encoder=state.encoder, run_id=state.run_id
    )
    try:
        await run_in_threadpool(service.start)
        app.state.service = service
        yield
    finally:
        service.close()


def create_app(
    model_dir: str | Path,
    settings: Settings | None = None,
    *,
    encoder: Encoder | None = None,
    run_id: str | None = None,
) -> FastAPI:
    """The service for ``model_dir``. ``encoder`` replaces the model's saved encoder (tests);
    ``run_id`` names the service run a worker process belongs to (:mod:`.workers`)."""
    settings = settings if settings is not None else Settings()
    app = FastAPI(
        title="interestlens",
        version=package_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.model_dir = Path(model_dir)
    app.state.encoder = encoder
    app.state.run_id = run_id
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.serve.max_body_bytes)
    # cached known-user lists skip the framework's per-request work (serve/cached_reads.py)
    app.add_middleware(CachedReads, service_app=app)
    # added last, so outermost: it also answers an unexpected error of the others
    app.add_middleware(CatchAll)
    for router in ROUTERS:
        app.include_router(router)
    return app
