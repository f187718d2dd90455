"""What the engine answers with (:class:`Recommendation`, :class:`ClusterSummary`,
:class:`UserCluster`) and the events it holds in memory (:class:`Event`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: the columns of a recommendation as a table row (:meth:`Recommendation.as_row`)
ROW_COLUMNS = ("rank", "item_id", "score", "cluster", "cluster_label", "reason")


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    rank: int
    cluster: int
    cluster_label: str
    reason: str

    def as_row(self) -> dict[str, Any]:
        """``rank, item_id, score, cluster, cluster_label, reason`` (the CSV's order)."""
        return {name: getattr(self, name) for name in ROW_COLUMNS}


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


@dataclass(frozen=True)
class Event:
    """One interaction received after fitting (an item index, its rating, its time)."""

    item: int
    rating: float | None
    timestamp: float
