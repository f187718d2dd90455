"""``GET /health``: liveness and what is served."""

from __future__ import annotations

import os

from fastapi import APIRouter
from starlette.responses import Response

from interestlens.serve.deps import ServiceDep
from interestlens.serve.jsonio import json_response
from interestlens.serve.schemas import HealthOut

router = APIRouter(tags=["service"])


@router.get("/health", response_model=HealthOut)
def health(service: ServiceDep) -> Response:
    """Liveness and what is served: model, sizes, events log (read on the store's own read
    connection: never waits for a write's fsync)."""
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
            "replay": {**service.last_replay.to_dict(), "problems": service.last_replay.problems},
            "loaded_at": service.loaded_at,
            "reloads": service.reloads,
            "worker": {"pid": os.getpid(), "workers": service.settings.serve.workers},
        }
    )
