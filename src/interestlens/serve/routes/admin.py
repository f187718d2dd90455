"""``POST /admin/reload``: switch to a newly fitted model without dropping a request."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from interestlens.serve.auth import require_key
from interestlens.serve.deps import ServiceDep
from interestlens.serve.errors import error_responses
from interestlens.serve.jsonio import json_response
from interestlens.serve.schemas import ReloadIn, ReloadOut

router = APIRouter(tags=["service"], dependencies=[Depends(require_key)])


@router.post(
    "/admin/reload",
    response_model=ReloadOut,
    responses=error_responses(401, 403, 413, 422, conflict="The model could not be loaded."),
)
def reload(service: ServiceDep, body: ReloadIn | None = None) -> Response:
    """Switch to a (newly fitted) model: load it, replay the events log into it, then swap one
    reference. Requests in flight finish on the old model; none fails."""
    return json_response(service.reload(body.model_dir if body is not None else None))
