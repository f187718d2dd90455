"""What the engine answers with (:class:`Recommendation`, :class:`ClusterSummary`,
:class:`UserCluster`), the events it holds in memory, and a recommendation as a table row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    rank: int
    cluster: int
    cluster_label: str
    reason: str


@dataclass(frozen=True)
class ClusterSummary:
    cluster_id: int
    label: str
    size: int
    keywords: list[str]
    representative_items: list[str]


@dataclass(frozen=True)
class UserCluster:
    user_id: str
    cluster: int
    label: str
    probability: float | None
    source: str


@dataclass
class _Event:
    item: int
    rating: float | None
    timestamp: float


def _by_id(explanation: Any) -> int:
    return int(explanation.cluster_id)


def _row(recommendation: Recommendation) -> dict[str, Any]:
    return {
        "rank": recommendation.rank,
        "item_id": recommendation.item_id,
        "score": recommendation.score,
        "cluster": recommendation.cluster,
        "cluster_label": recommendation.cluster_label,
        "reason": recommendation.reason,
    }
