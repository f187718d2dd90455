"""Drift findings: how far the interest landscape moved between two models, or between a model
and new interactions.

Measured per cluster id (ids are aligned first, see :mod:`.identity`):

* **share** before and after, and the population stability index (PSI) of the shares,
  ``sum((a - e) * ln(a / e))`` (0 for identical shares; 0.1 moderate, 0.25 large);
* **centroid movement**: ``1 - cosine`` between the cluster's centroids;
* **keyword change**: ``1 - Jaccard`` of the top keywords (two models only);
* **low-confidence placements**: the share of new users (not in the old model) whose similarity
  to the centroid of the old cluster they are placed in is below that cluster's own members'
  ``low_confidence_quantile``;
* **trend**: grown / faded (share, with split-off clusters counted with their parent, changed by
  ``share_change_ratio``), born, dissolved, split, merged.

Each measure has a threshold in :class:`~interestlens.config.DriftConfig`; ``crossed`` lists
those crossed, and ``interestlens drift`` exits with code 1 when the list is not empty.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from interestlens.cluster.identity import (
    BORN,
    DISSOLVED,
    MERGED,
    SPLIT,
    centroids_by_cluster,
    fit_id_of,
)
from interestlens.config import DriftConfig
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID
from interestlens.errors import DataError
from interestlens.represent import WeightedMeanInterests
from interestlens.timeline.periods import PERIODS, period_keys

#: shares are floored at this before the PSI's logarithm (an empty bin would be infinite)
PSI_FLOOR = 1e-4


def population_stability_index(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI between two share vectors over the same bins (each normalised to sum 1)."""
    expected = np.clip(np.asarray(expected, dtype=np.float64), PSI_FLOOR, None)
    actual = np.clip(np.asarray(actual, dtype=np.float64), PSI_FLOOR, None)
    expected, actual = expected / expected.sum(), actual / actual.sum()
    return float(np.sum((actual - expected) * np.log(actual / expected)))


@dataclass
class DriftFindings:
    """What ``interestlens drift`` prints and writes (JSON)."""

    model: str
    against: str
    kind: str  # "model" or "data"
    psi: float
    clusters: list[dict[str, Any]]
    new_users: int
    low_confidence_share: float | None
    periods: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    crossed: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def named(self, trend: str) -> list[str]:
        return [f"{c['cluster']}: {c['label']}" for c in self.clusters if c["trend"] == trend]


def _shares(labels: np.ndarray) -> dict[int, float]:
    labels = labels[labels >= 0]
    if len(labels) == 0:
        return {}
    ids, counts = np.unique(labels, return_counts=True)
    return {int(i): float(c) / len(labels) for i, c in zip(ids, counts, strict=True)}


def _low_confidence(
    old: Any, vectors: np.ndarray, quantile: float
) -> tuple[np.ndarray, np.ndarray]:
    """Placement by the old model and whether each placement is low-confidence."""
    labels = np.asarray(old.clusters_.user_labels)
    centroids = centroids_by_cluster(old.user_vectors_, labels)
    bars = {}
    normalised = old.user_vectors_ / np.maximum(
        np.linalg.norm(old.user_vectors_, axis=1, keepdims=True), 1e-12
    )
    for cluster, centroid in centroids.items():
        own = normalised[labels == cluster] @ centroid
        bars[cluster] = float(np.quantile(own, quantile))
    placed = old.clusters_.predict(vectors.astype(np.float32))
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    low = np.array(
        [
            c not in centroids or float(unit[i] @ centroids[c]) < bars[c]
            for i, c in enumerate(placed)
        ],
        dtype=bool,
    )
    return placed, low


def _trend(old_share: float | None, family_share: float | None, ratio: float) -> str:
    if old_share is None:
        return BORN
    if family_share is None or family_share == 0:
        return DISSOLVED
    if family_share >= old_share * ratio:
        return "grown"
    if family_share * ratio <= old_share:
        return "faded"
    return "steady"


def _cluster_rows(
    old: Any,
    old_shares: dict[int, float],
    new_shares: dict[int, float],
    new_centroids: dict[int, np.ndarray],
    events: list[dict[str, Any]],
    config: DriftConfig,
    new_keywords: dict[int, list[str]] | None,
    new_names: dict[int, str],
) -> list[dict[str, Any]]:
    old_centroids = centroids_by_cluster(old.user_vectors_, old.clusters_.user_labels)
    old_names = {e.cluster_id: e.label for e in old.clusters_.explanations}
    old_keywords = {e.cluster_id: [k.term for k in e.keywords] for e in old.clusters_.explanations}
    children: dict[int, list[int]] = {}
    for event in events:
        if event["kind"] == SPLIT:
            children.setdefault(event["from"], []).append(event["id"])
    split_ids = {e["id"]: e["from"] for e in events if e["kind"] == SPLIT}
    merged = {e["id"]: e["into"] for e in events if e["kind"] == MERGED}
    rows = []
    for cluster in sorted(set(old_shares) | set(new_shares)):
        before, after = old_shares.get(cluster), new_shares.get(cluster)
        family = None
        if after is not None or children.get(cluster):
            family = (after or 0.0) + sum(new_shares.get(c, 0.0) for c in children.get(cluster, []))
        trend = _trend(before, family, config.share_change_ratio)
        if cluster in split_ids:
            trend = SPLIT
        elif cluster in merged and after is None:
            trend = MERGED
        elif children.get(cluster) and trend not in ("grown", "faded"):
            trend = "split into " + ", ".join(str(c) for c in [cluster, *children[cluster]])
        shift = None
        if cluster in old_centroids and cluster in new_centroids:
            shift = round(1.0 - float(old_centroids[cluster] @ new_centroids[cluster]), 4)
        keyword_change = None
        if new_keywords is not None and cluster in old_keywords and cluster in new_keywords:
            a, b = set(old_keywords[cluster]), set(new_keywords[cluster])
            # a cluster too small for keywords on both sides has not changed its words
            keyword_change = round(1.0 - len(a & b) / len(a | b), 4) if a | b else 0.0
        rows.append(
            {
                "cluster": cluster,
                "label": new_names.get(cluster) or old_names.get(cluster, f"cluster {cluster}"),
                "share_before": None if before is None else round(before, 4),
                "share_after": None if after is None else round(after, 4),
                "share_after_with_splits": None if family is None else round(family, 4),
                "trend": trend,
                "centroid_shift": shift,
                "keyword_change": keyword_change,
                "split_from": split_ids.get(cluster),
                "split_into": children.get(cluster, []),
                "merged_into": merged.get(cluster),
            }
        )
    return rows


def _crossed(findings: DriftFindings, config: DriftConfig) -> list[str]:
    crossed = []
    if findings.psi > config.psi_threshold:
        crossed.append(f"PSI of cluster shares {findings.psi:.3f} > {config.psi_threshold}")
    for row in findings.clusters:
        shift = row["centroid_shift"]
        if shift is not None and shift > config.centroid_shift_threshold:
            crossed.append(
                f"cluster {row['cluster']} centroid moved {shift:.3f} > "
                f"{config.centroid_shift_threshold}"
            )
        change = row["keyword_change"]
        if change is not None and change > config.keyword_change_threshold:
            crossed.append(
                f"cluster {row['cluster']} keywords changed {change:.2f} > "
                f"{config.keyword_change_threshold}"
            )
        if row["trend"] not in ("steady",):
            crossed.append(f"cluster {row['cluster']} ({row['label']}): {row['trend']}")
    share = findings.low_confidence_share
    if share is not None and share > config.low_confidence_share_threshold:
        crossed.append(
            f"{share:.1%} of new users placed with low confidence > "
            f"{config.low_confidence_share_threshold:.0%}"
        )
    for period in findings.periods:
        if period["psi"] > config.psi_threshold:
            crossed.append(f"period {period['period']}: PSI {period['psi']:.3f}")
    return crossed


def _thresholds(config: DriftConfig) -> dict[str, float]:
    return {
        "psi": config.psi_threshold,
        "centroid_shift": config.centroid_shift_threshold,
        "keyword_change": config.keyword_change_threshold,
        "share_change_ratio": config.share_change_ratio,
        "low_confidence_share": config.low_confidence_share_threshold,
    }


def compare_models(
    old: Any, new: Any, config: DriftConfig, *, names: tuple[str, str] = ("old", "new")
) -> DriftFindings:
    """Drift between two fitted models; ``new``'s ids are aligned to ``old``'s when its
    lineage does not already descend from it (``new``'s clusters are replaced in memory)."""
    events = list((new.clusters_.lineage or {}).get("events", []))
    if (new.clusters_.lineage or {}).get("parent_fit_id") != fit_id_of(old.clusters_):
        events = new.align_to(old, config).events
    old_shares = _shares(np.asarray(old.clusters_.user_labels))
    new_labels = np.asarray(new.clusters_.user_labels)
    new_shares = _shares(new_labels)
    new_centroids = centroids_by_cluster(new.user_vectors_, new_labels)
    keywords = {e.cluster_id: [k.term for k in e.keywords] for e in new.clusters_.explanations}
    rows = _cluster_rows(
        old,
        old_shares,
        new_shares,
        new_centroids,
        events,
        config,
        keywords,
        {e.cluster_id: e.label for e in new.clusters_.explanations},
    )
    known = set(old.user_ids_.ids)
    fresh = [i for i, u in enumerate(new.user_ids_.ids) if u not in known and new_labels[i] >= 0]
    low_share = None
    if fresh:
        _, low = _low_confidence(old, new.user_vectors_[fresh], config.low_confidence_quantile)
        low_share = round(float(low.mean()), 4)
    findings = DriftFindings(
        model=names[0],
        against=names[1],
        kind="model",
        psi=round(_psi(old_shares, new_shares), 4),
        clusters=rows,
        new_users=len(fresh),
        low_confidence_share=low_share,
        events=[e for e in events if e["kind"] != "kept"],
        thresholds=_thresholds(config),
    )
    findings.crossed = _crossed(findings, config)
    return findings


def _psi(before: dict[int, float], after: dict[int, float]) -> float:
    bins = sorted(set(before) | set(after))
    return population_stability_index(
        [before.get(b, 0.0) for b in bins], [after.get(b, 0.0) for b in bins]
    )


def compare_data(
    old: Any,
    interactions: pd.DataFrame,
    config: DriftConfig,
    *,
    period: str | None = None,
    names: tuple[str, str] = ("old", "data"),
) -> DriftFindings:
    """Drift between a model and new interactions (``user_id, item_id[, rating, timestamp]``)
    on its items: the users' interest vectors from the model's item vectors, placed by it."""
    item_index = {item: i for i, item in enumerate(old.item_ids_.ids)}
    unknown = sorted(set(interactions[ITEM_ID].astype(str)) - set(item_index))
    if unknown:
        raise DataError(
            f"{len(unknown)} item ids in the data are not in the model, e.g. {unknown[:3]}",
            expected="interactions on the model's items",
            fix="refit the model with the new items first, or drop those rows",
        )
    users = interactions[USER_ID].astype(str).to_numpy()
    user_ids, user_idx = np.unique(users, return_inverse=True)
    items = np.array([item_index[i] for i in interactions[ITEM_ID].astype(str)], dtype=np.int64)
    ratings = interactions[RATING].to_numpy(dtype=np.float64) if RATING in interactions else None
    times = (
        interactions[TIMESTAMP].to_numpy(dtype=np.float64) if TIMESTAMP in interactions else None
    )
    settings = old.active_settings
    vectors = (
        WeightedMeanInterests(
            half_life_days=settings.interests.half_life_days,
            use_ratings=settings.interests.use_ratings,
            text_weight=0.0,
        )
        .fit(
            user_idx,
            items,
            old.item_vectors_,
            n_users=len(user_ids),
            ratings=ratings,
            timestamps=times,
        )
        .vectors_
    )
    placed, low = _low_confidence(old, vectors, config.low_confidence_quantile)
    old_shares = _shares(np.asarray(old.clusters_.user_labels))
    new_shares = _shares(placed)
    rows = _cluster_rows(
        old,
        old_shares,
        new_shares,
        centroids_by_cluster(vectors, placed),
        [],
        config,
        None,
        {},
    )
    known = set(old.user_ids_.ids)
    fresh = np.array([u not in known for u in user_ids], dtype=bool)
    periods = []
    if period is not None and times is not None and not np.isnan(times).all():
        keys = period_keys(times, period)
        for key in sorted(set(keys)):
            in_period = np.unique(user_idx[np.asarray(keys == key)])
            shares = _shares(placed[in_period])
            periods.append(
                {
                    "period": str(key),
                    "users": len(in_period),
                    "psi": round(_psi(old_shares, shares), 4),
                }
            )
    findings = DriftFindings(
        model=names[0],
        against=names[1],
        kind="data",
        psi=round(_psi(old_shares, new_shares), 4),
        clusters=rows,
        new_users=int(fresh.sum()),
        low_confidence_share=round(float(low[fresh].mean()), 4) if fresh.any() else None,
        periods=periods,
        thresholds=_thresholds(config),
    )
    findings.crossed = _crossed(findings, config)
    return findings


__all__ = [
    "PERIODS",
    "DriftFindings",
    "compare_data",
    "compare_models",
    "population_stability_index",
]
