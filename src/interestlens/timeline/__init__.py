"""Interests over time: stable cluster ids across refits (:mod:`.identity`), the timeline of
cluster shares and transitions (:mod:`.periods`), drift findings (:mod:`.drift`), the service's
adaptive centroids (:mod:`.adaptive`) and the report's over-time section (:mod:`.report`)."""

from interestlens.timeline.identity import (
    ClusterSnapshot,
    IdentityMatch,
    align_model,
    align_to_previous,
    match_clusters,
    snapshot_of,
)

__all__ = [
    "ClusterSnapshot",
    "IdentityMatch",
    "align_model",
    "align_to_previous",
    "match_clusters",
    "snapshot_of",
]
