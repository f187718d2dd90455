"""The service's side of interests over time: adaptive centroids kept in step with the events
store, stable ids on reload, and what a refit takes over from the served model.

* :func:`restore_adaptive`: the fitted centroids plus every stored update of this fit, applied in
  order (so a restart resumes exactly where the last process stopped);
* :func:`follow_events`: after events are stored and applied, move the centroids of the users'
  clusters and store the updates;
* :func:`align_on_reload`: a reloaded model that does not descend from the served one gets the
  served ids (in memory; refit or ``fit --previous`` records them in the directory);
* :func:`previous_for_refit`: the model being refitted as identity matching sees it, with its
  adaptive centroids (where its clusters had moved to by the time of the refit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from interestlens.cluster.identity import (
    ClusterSnapshot,
    fit_id_of,
    snapshot_of,
)
from interestlens.config import DriftConfig
from interestlens.timeline.adaptive import AdaptiveCentroids, CentroidUpdate, adaptive_from_settings


class AdaptiveClusterOut(BaseModel):
    cluster: int
    moved_since_fit: float = Field(description="1 - cosine between the centroid and the fitted one")
    mass: float = Field(description="members' weight, halving every adaptive_half_life_days")
    received: int = Field(description="users placed in the cluster since the fit")
    poor_fits: int = Field(description="of those, users it describes badly")
    candidate_new_interest: bool


class AdaptiveOut(BaseModel):
    enabled: bool
    fit_id: str | None = None
    clusters: list[AdaptiveClusterOut]


@dataclass
class AdaptiveModel:
    """Adaptive centroids of one fitted model (``fit_id``)."""

    fit_id: str
    centroids: AdaptiveCentroids

    def summary(self) -> dict[str, Any]:
        return {"fit_id": self.fit_id, "clusters": self.centroids.summary()}


def _fitted_adaptive(model: Any, labels: np.ndarray, config: DriftConfig) -> AdaptiveCentroids:
    n = len(model.clusters_.user_labels)
    return adaptive_from_settings(config).fit(model.user_vectors_[:n], labels[:n])


def restore_adaptive(engine: Any, store: Any, config: DriftConfig) -> AdaptiveModel | None:
    """Adaptive centroids for a freshly loaded engine, with the stored updates applied."""
    if not config.adaptive:
        return None
    model = engine.model
    fit_id = fit_id_of(model.clusters_)
    centroids = _fitted_adaptive(model, np.asarray(model.clusters_.user_labels), config)
    for row in store.adaptive_entries(fit_id):
        centroids.apply(CentroidUpdate.from_row(row))
    return AdaptiveModel(fit_id=fit_id, centroids=centroids)


def follow_events(
    adaptive: AdaptiveModel,
    engine: Any,
    store: Any,
    user_ids: Sequence[str],
    timestamp: float,
    last_seq: int,
) -> list[CentroidUpdate]:
    """Move the centroids of ``user_ids``' clusters (one mini-batch at the events' latest
    ``timestamp``) and store the updates, tagged with the last event's ``last_seq``."""
    vectors, clusters = [], []
    for user_id in user_ids:
        if not engine.has_user(user_id):
            continue
        cluster = engine.user_cluster(user_id).cluster
        if cluster < 0:
            continue
        vectors.append(engine.interest_vector(user_id))
        clusters.append(cluster)
    if not vectors:
        return []
    updates = adaptive.centroids.update(np.vstack(vectors), clusters, timestamp)
    store.append_adaptive(adaptive.fit_id, last_seq, [u.to_row() for u in updates])
    return updates


def align_on_reload(
    engine: Any, served_engine: Any | None, adaptive: AdaptiveModel | None, config: DriftConfig
) -> Any:
    """``engine`` with the served model's cluster ids, unless its lineage already descends
    from the served model (or it is the same fit); a new engine is built when ids change."""
    if served_engine is None:
        return engine
    model, served = engine.model, served_engine.model
    served_id = fit_id_of(served.clusters_)
    lineage = model.clusters_.lineage or {}
    if fit_id_of(model.clusters_) == served_id or lineage.get("parent_fit_id") == served_id:
        return engine
    previous = _served_snapshot(served_engine, adaptive)
    model.align_to(previous, config)
    return type(engine)(model, encoder=engine._base_encoder, model_dir=engine.model_dir)


def _served_snapshot(engine: Any, adaptive: AdaptiveModel | None) -> ClusterSnapshot:
    n = len(engine.model.clusters_.user_labels)
    return snapshot_of(
        engine.model,
        labels=np.asarray(engine.user_labels[:n]),
        centroids=None if adaptive is None else adaptive.centroids.centroids_,
    )


def previous_for_refit(model: Any, store: Any | None, config: DriftConfig) -> ClusterSnapshot:
    """The model being refitted, with its adaptive centroids when the store has updates."""
    if store is None or not config.adaptive:
        return snapshot_of(model)
    labels = np.asarray(model.clusters_.user_labels)
    centroids = _fitted_adaptive(model, labels, config)
    rows = store.adaptive_entries(fit_id_of(model.clusters_))
    for row in rows:
        centroids.apply(CentroidUpdate.from_row(row))
    return snapshot_of(model, centroids=centroids.centroids_ if rows else None)


__all__ = [
    "AdaptiveModel",
    "align_on_reload",
    "follow_events",
    "previous_for_refit",
    "restore_adaptive",
]
