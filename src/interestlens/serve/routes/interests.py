"""Interest clusters: a user's cluster, every cluster, one cluster, and the adaptive
centroids. Plain ``def`` endpoints: they read the engine, so they run in the thread pool."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from interestlens.serve.auth import read_access
from interestlens.serve.checks import ClusterIdPath, UserIdPath, checked_id
from interestlens.serve.deps import ServiceDep
from interestlens.serve.errors import error_responses
from interestlens.serve.jsonio import json_response
from interestlens.serve.schemas import ClusterOut, ClustersOut, UserClusterOut
from interestlens.timeline.service import AdaptiveOut

router = APIRouter(tags=["clusters"], dependencies=[Depends(read_access)])


def cluster_body(summary: Any) -> dict[str, Any]:
    return {
        "cluster_id": summary.cluster_id,
        "label": summary.label,
        "size": summary.size,
        "keywords": list(summary.keywords),
        "representative_items": list(summary.representative_items),
    }


@router.get(
    "/users/{user_id}/cluster",
    response_model=UserClusterOut,
    responses=error_responses(401, 404, 422),
)
def user_cluster(user_id: UserIdPath, service: ServiceDep) -> Response:
    """The user's interest cluster (updated online by events)."""
    user_id = checked_id(user_id, "user_id")
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


@router.get("/clusters", response_model=ClustersOut, responses=error_responses(401))
def clusters(service: ServiceDep) -> Response:
    """Every cluster: label, size, keywords, representative items."""
    return json_response({"clusters": [cluster_body(c) for c in service.engine.clusters()]})


@router.get("/adaptive", response_model=AdaptiveOut, responses=error_responses(401))
def adaptive(service: ServiceDep) -> Response:
    """The adaptive centroids since the fit: how far each moved, the users it received, those
    that fit badly, and the clusters flagged as candidate new interests."""
    state = service.adaptive
    if state is None:
        return json_response({"enabled": False, "clusters": []})
    return json_response({"enabled": True, **state.summary()})


@router.get(
    "/clusters/{cluster_id}",
    response_model=ClusterOut,
    responses=error_responses(401, 404, 422),
)
def cluster(cluster_id: ClusterIdPath, service: ServiceDep) -> Response:
    """One cluster: label, size, keywords, representative items."""
    return json_response(cluster_body(service.engine.cluster(cluster_id)))
