"""Recommendation lists: for a known user, and for someone new (cold start).

A known user's default list is usually a cached body: the endpoint is ``async`` so that such a
read costs no thread hop, and any scoring it needs runs in the thread pool. A cold start embeds
text: it runs on the service's scoring thread. Neither scores on the event loop.
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from interestlens.engine import Recommendation
from interestlens.serve.auth import read_access
from interestlens.serve.checks import (
    CandidatesQuery,
    KQuery,
    UserIdPath,
    check_list,
    check_text,
    checked_id,
    checked_k,
    parse_candidates,
)
from interestlens.serve.deps import ServiceDep, SettingsDep
from interestlens.serve.errors import error_responses
from interestlens.serve.jsonio import json_response
from interestlens.serve.schemas import ColdStartRequest, RecommendationsOut
from interestlens.serve.service import Served

router = APIRouter(tags=["recommendations"], dependencies=[Depends(read_access)])


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


def ranked_for_user(
    served: Served, user_id: str, key: str, k: int, candidates: list[str] | None
) -> Response:
    """Score ``key``'s list on ``served`` (blocking: call it in the thread pool) and cache the
    default list's body, unless a mutation invalidated the user meanwhile."""
    token = served.responses.token(key)
    response = recommendations_body(user_id, k, served.engine.recommend_user(key, k, candidates))
    if candidates is None:
        served.responses.put(key, k, response.body, token)
    return response


@router.get(
    "/users/{user_id}/recommendations",
    response_model=RecommendationsOut,
    responses=error_responses(401, 404, 422),
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
    user_id = checked_id(user_id, "user_id")
    wanted = parse_candidates(candidates, settings)
    # one engine and cache for the whole request, even if a reload swaps them meanwhile
    served = service.served_now()
    key = service.user_key(user_id)  # the pseudonym, when the model holds pseudonyms
    if wanted is None:
        cached = served.responses.get(key, k)
        if cached is not None:
            return Response(cached, media_type="application/json")
    # a list not ranked yet (after a new item, past cache_k, with candidates) is scored in
    # the thread pool, never on the event loop
    return await run_in_threadpool(ranked_for_user, served, user_id, key, k, wanted)


@router.post(
    "/recommendations",
    response_model=RecommendationsOut,
    responses=error_responses(401, 404, 413, 422),
)
async def cold_start_recommendations(
    body: ColdStartRequest, service: ServiceDep, settings: SettingsDep
) -> Response:
    """Cold start: recommendations for someone the model has never seen, from a text, a few
    liked item ids, or both."""
    k = checked_k(body.k, settings)
    if body.text is not None:
        check_text(body.text, "text", settings)
    check_list(body.history, "history items", settings)
    if body.candidates is not None:
        check_list(body.candidates, "candidates", settings)
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
