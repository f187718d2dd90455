"""Interests over time: the timeline of cluster shares and transitions (:mod:`.periods`), drift
findings (:mod:`.drift`) and the service's adaptive centroids (:mod:`.adaptive`). Stable cluster
ids across refits are the cluster stage's (:mod:`interestlens.cluster.identity`, re-exported
here); the report's over-time section is :mod:`interestlens.report.over_time`."""

from interestlens.cluster.identity import (
    ClusterSnapshot,
    IdentityMatch,
    aligned_clusters,
    aligned_to_previous,
    match_clusters,
    snapshot_of,
)

__all__ = [
    "ClusterSnapshot",
    "IdentityMatch",
    "aligned_clusters",
    "aligned_to_previous",
    "match_clusters",
    "snapshot_of",
]
