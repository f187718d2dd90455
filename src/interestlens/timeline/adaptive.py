"""Adaptive centroids: between refits, the service's cluster centroids follow incoming events.

Each cluster keeps a centroid (unit vector), a *mass* (its members' weight, halving every
``half_life_days`` of event time) and counters of the users it received since the fit. A batch of
users placed in a cluster moves its centroid toward their mean by the mini-batch k-means rate
``n / (mass + n)``, capped at ``max_step``: one batch never moves a centroid by more than
``max_step / (1 - 2 max_step)`` (Euclidean, between unit vectors), however far its users are.

A user *fits badly* when their similarity to the centroid is below the ``low_fit_quantile`` of
the cluster's own fitted members. A cluster that received at least ``candidate_min_users`` such
users, making up ``candidate_min_share`` of all it received, is flagged as a candidate new
interest: people arrive whom it does not describe, and the next refit will likely split it.

Every update is returned as a :class:`CentroidUpdate` (the state after it, float32) so that the
service can write it to its events store and, on restart, :meth:`AdaptiveCentroids.apply` the
stored updates: the restored state is bit-for-bit the state before the restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from interestlens.cluster.identity import centroids_by_cluster
from interestlens.errors import NotFittedError, ParameterError

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class CentroidUpdate:
    """One cluster's adaptive state after an update (what the events store keeps)."""

    cluster: int
    centroid: np.ndarray  # float32 (d,), unit length
    mass: float
    time: float
    received: int
    poor_fits: int
    flagged: bool

    def to_row(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "centroid": np.asarray(self.centroid, dtype=np.float32).tobytes(),
            "mass": self.mass,
            "time": self.time,
            "received": self.received,
            "poor_fits": self.poor_fits,
            "flagged": int(self.flagged),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CentroidUpdate:
        return cls(
            cluster=int(row["cluster"]),
            centroid=np.frombuffer(row["centroid"], dtype=np.float32).copy(),
            mass=float(row["mass"]),
            time=float(row["time"]),
            received=int(row["received"]),
            poor_fits=int(row["poor_fits"]),
            flagged=bool(row["flagged"]),
        )


class AdaptiveCentroids:
    """Online centroids of a fitted clustering (see the module docstring)."""

    def __init__(
        self,
        half_life_days: float = 14.0,
        max_step: float = 0.05,
        candidate_min_users: int = 20,
        candidate_min_share: float = 0.3,
        low_fit_quantile: float = 0.05,
    ):
        self.half_life_days = half_life_days
        self.max_step = max_step
        self.candidate_min_users = candidate_min_users
        self.candidate_min_share = candidate_min_share
        self.low_fit_quantile = low_fit_quantile

    def _check_params(self) -> None:
        half_life = self.half_life_days
        if not isinstance(half_life, int | float) or not 0.01 <= half_life <= 36_500:
            raise ParameterError(
                f"half_life_days={half_life!r} is out of range",
                expected="a number of days from 0.01 to 36500",
                fix="set drift.adaptive_half_life_days to e.g. 14",
            )
        if not isinstance(self.max_step, int | float) or not 0 < self.max_step <= 0.45:
            raise ParameterError(
                f"max_step={self.max_step!r} is out of range",
                expected="a share of the way to the batch mean in (0, 0.45]",
                fix="set drift.adaptive_max_step to e.g. 0.05",
            )
        if not 0 < self.low_fit_quantile < 1 or not 0 < self.candidate_min_share <= 1:
            raise ParameterError(
                f"low_fit_quantile={self.low_fit_quantile}, "
                f"candidate_min_share={self.candidate_min_share}",
                expected="a quantile in (0, 1) and a share in (0, 1]",
                fix="set drift.low_confidence_quantile and drift.candidate_min_share",
            )

    def fit(self, vectors: np.ndarray, labels: np.ndarray) -> AdaptiveCentroids:
        """Start from the fitted clusters: members' mean, mass = member count."""
        self._check_params()
        labels = np.asarray(labels, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float64)
        centroids = centroids_by_cluster(vectors, labels)
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        self.centroids_ = {c: v.astype(np.float32) for c, v in centroids.items()}
        self.mass_ = {c: float(np.sum(labels == c)) for c in centroids}
        self.bars_ = {
            c: float(np.quantile(unit[labels == c] @ v, self.low_fit_quantile))
            for c, v in centroids.items()
        }
        self.time_: dict[int, float | None] = {c: None for c in centroids}
        self.received_ = {c: 0 for c in centroids}
        self.poor_fits_ = {c: 0 for c in centroids}
        self.flagged_: set[int] = set()
        self.fitted_centroids_ = {c: v.copy() for c, v in self.centroids_.items()}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "centroids_"):
            raise NotFittedError(
                "AdaptiveCentroids is not fitted",
                expected="fit(vectors, labels) first",
                fix="call fit() with the model's user vectors and cluster ids",
            )

    def similarity(self, vector: np.ndarray, cluster: int) -> float:
        self._check_fitted()
        unit = np.asarray(vector, dtype=np.float64)
        unit = unit / max(float(np.linalg.norm(unit)), 1e-12)
        return float(unit @ self.centroids_[cluster].astype(np.float64))

    def update(
        self, vectors: np.ndarray, clusters: Iterable[int], timestamp: float
    ) -> list[CentroidUpdate]:
        """One mini-batch: users (their interest vectors) placed in clusters at ``timestamp``."""
        self._check_fitted()
        if not np.isfinite(timestamp):
            raise ParameterError(
                f"timestamp={timestamp!r} is not finite",
                expected="epoch seconds",
                fix="stamp events with their time",
            )
        vectors = np.asarray(vectors, dtype=np.float64)
        clusters = np.asarray(list(clusters), dtype=np.int64)
        updates = []
        for cluster in sorted(set(clusters.tolist())):
            if cluster not in self.centroids_:
                continue  # not clustered (-1) or a cluster this fit does not have
            batch = vectors[clusters == cluster]
            norms = np.linalg.norm(batch, axis=1)
            batch = batch[norms > 0] / norms[norms > 0, None]
            if len(batch) == 0:
                continue
            centre = self.centroids_[cluster].astype(np.float64)
            poor = int(np.sum(batch @ centre < self.bars_[cluster]))
            mass = self.mass_[cluster]
            last = self.time_[cluster]
            if last is not None and timestamp > last:
                mass *= 0.5 ** ((timestamp - last) / (self.half_life_days * SECONDS_PER_DAY))
            mean = batch.mean(axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-12)
            rate = min(self.max_step, len(batch) / (mass + len(batch)))
            moved = centre + rate * (mean - centre)
            moved /= max(float(np.linalg.norm(moved)), 1e-12)
            received = self.received_[cluster] + len(batch)
            poor_fits = self.poor_fits_[cluster] + poor
            flagged = (
                poor_fits >= self.candidate_min_users
                and poor_fits >= self.candidate_min_share * received
            )
            update = CentroidUpdate(
                cluster=int(cluster),
                centroid=moved.astype(np.float32),
                mass=float(mass + len(batch)),
                time=float(max(timestamp, last) if last is not None else timestamp),
                received=int(received),
                poor_fits=int(poor_fits),
                flagged=bool(flagged),
            )
            self.apply(update)
            updates.append(update)
        return updates

    def apply(self, update: CentroidUpdate) -> None:
        """Set one cluster's state from an update (live, or read back from the store)."""
        self._check_fitted()
        cluster = update.cluster
        self.centroids_[cluster] = np.asarray(update.centroid, dtype=np.float32).copy()
        self.mass_[cluster] = update.mass
        self.time_[cluster] = update.time
        self.received_[cluster] = update.received
        self.poor_fits_[cluster] = update.poor_fits
        if update.flagged:
            self.flagged_.add(cluster)
        else:
            self.flagged_.discard(cluster)

    def summary(self) -> list[dict[str, Any]]:
        """Per cluster: how far it moved since the fit, what it received, whether flagged."""
        self._check_fitted()
        rows = []
        for cluster in sorted(self.centroids_):
            moved = 1.0 - float(
                self.centroids_[cluster].astype(np.float64)
                @ self.fitted_centroids_[cluster].astype(np.float64)
            )
            rows.append(
                {
                    "cluster": cluster,
                    "moved_since_fit": round(moved, 6),
                    "mass": round(self.mass_[cluster], 3),
                    "received": self.received_[cluster],
                    "poor_fits": self.poor_fits_[cluster],
                    "candidate_new_interest": cluster in self.flagged_,
                }
            )
        return rows


def adaptive_from_settings(config: Any) -> AdaptiveCentroids:
    """An :class:`AdaptiveCentroids` with a :class:`~interestlens.config.DriftConfig`'s values."""
    return AdaptiveCentroids(
        half_life_days=config.adaptive_half_life_days,
        max_step=config.adaptive_max_step,
        candidate_min_users=config.candidate_min_users,
        candidate_min_share=config.candidate_min_share,
        low_fit_quantile=config.low_confidence_quantile,
    )
