"""Recommendations for every user: MLlib ALS + per-cluster candidate lists.

* ALS (implicit feedback, confidence ``1 + alpha * weight``, weight = the rating share as in
  the represent stage) learns user and item factors on the executors.
* Each cluster's candidate list: its ``spark.candidates_per_cluster`` items of highest lift
  (the cluster's share of an item, shrunk towards the global share by
  ``recommend``'s affinity shrinkage, over the global share — the formula of
  :mod:`interestlens.recommend.interest.cluster_affinity`), topped up with the most popular items.
  Only (cluster, item) pairs with at least ``spark.min_group_size`` members count.
* Every user's list in one ``mapInPandas`` pass: the lists and their items' factors are
  broadcast (clusters × candidates, small), the user's own factors and seen items come with
  the user's row; score = ``als_weight`` × z(ALS) + ``affinity_weight`` × z(lift), z-scored
  over the user's candidates; seen items are excluded.

Output: ``user_id, rank, item_id, score, cluster, cluster_label, reason`` — the columns and
order of the ``recommend`` CSV contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from interestlens.config import Settings
from interestlens.data.schema import RATING, USER_ID
from interestlens.spark.cluster import CLUSTER
from interestlens.spark.explain import ClusterItemStats
from interestlens.spark.frames import ITEM_INDEX, USER_INDEX

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

COLUMNS = ["user_id", "rank", "item_id", "score", "cluster", "cluster_label", "reason"]
#: the recommender's default shrinkage of cluster shares (interactions)
CLUSTER_SHRINKAGE = 50.0


@dataclass
class Candidates:
    """Per cluster (index = cluster; the last row serves users without a cluster): candidate
    item indices and their log lift, padded with -1."""

    items: np.ndarray  # (k + 1, n) int64
    lift: np.ndarray  # (k + 1, n) float32


def fit_als(
    interactions: DataFrame, settings: Settings, *, n_items: int, max_rating: float | None
) -> tuple[DataFrame, np.ndarray]:
    """User factors (``user_index, features``) stay distributed; item factors come back as an
    ``(n_items, rank)`` array (zeros for items nobody touched)."""
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F

    config = settings.spark
    weight = F.lit(1.0)
    if max_rating:
        weight = F.coalesce(F.greatest(F.col(RATING) / F.lit(max_rating), F.lit(0.05)), F.lit(1.0))
    data = (
        interactions.select(
            F.col(USER_INDEX).cast("int").alias("user"),
            F.col(ITEM_INDEX).cast("int").alias("item"),
            weight.cast("float").alias("weight"),
        )
        .groupBy("user", "item")
        .agg(F.sum("weight").alias("weight"))
    )
    als = ALS(
        rank=config.als_rank,
        maxIter=config.als_iterations,
        regParam=config.als_reg,
        alpha=config.als_alpha,
        implicitPrefs=True,
        userCol="user",
        itemCol="item",
        ratingCol="weight",
        seed=settings.seed,
        coldStartStrategy="drop",
    )
    model = als.fit(data)
    items = model.itemFactors.toPandas()
    factors = np.zeros((n_items, config.als_rank), dtype=np.float32)
    if len(items):
        factors[items["id"].to_numpy()] = np.stack(items["features"].map(np.asarray))
    users = model.userFactors.select(F.col("id").cast("long").alias(USER_INDEX), "features")
    return users, factors


def candidate_lists(stats: ClusterItemStats, k: int, n: int) -> Candidates:
    pairs = stats.pairs
    total = max(float(stats.item_weights.sum()), 1e-12)
    floor = 0.1 / max(total, 1.0)
    global_share = stats.item_weights / total
    popular = np.argsort(-stats.item_weights, kind="stable")
    popular = popular[stats.item_weights[popular] > 0][:n]
    n_slots = max(n, len(popular))
    items = np.full((k + 1, n_slots), -1, dtype=np.int64)
    lift = np.zeros((k + 1, n_slots), dtype=np.float32)
    for c in range(k + 1):
        rows = pairs[pairs[CLUSTER] == c]
        cluster_total = float(rows["weight"].sum())
        chosen = np.zeros(0, dtype=np.int64)
        values = np.zeros(0)
        if len(rows):
            index = rows[ITEM_INDEX].to_numpy()
            share = (rows["weight"].to_numpy() + CLUSTER_SHRINKAGE * global_share[index]) / (
                cluster_total + CLUSTER_SHRINKAGE
            )
            values = np.log(share + floor) - np.log(global_share[index] + floor)
            order = np.argsort(-values, kind="stable")[:n]
            chosen, values = index[order], values[order]
        extra = popular[~np.isin(popular, chosen)][: n_slots - len(chosen)]
        picked = np.concatenate([chosen, extra])
        items[c, : len(picked)] = picked
        lift[c, : len(chosen)] = values
    return Candidates(items, lift)


def recommend_all(
    users: DataFrame,
    user_ids: DataFrame,
    user_factors: DataFrame,
    interactions: DataFrame,
    *,
    candidates: Candidates,
    item_factors: np.ndarray,
    item_ids: list[str],
    labels: list[str],
    settings: Settings,
    k: int,
) -> DataFrame:
    """Top-``k`` unseen candidates of every user, in the ``recommend`` contract's columns."""
    from pyspark.sql import functions as F

    config = settings.spark
    used = np.unique(candidates.items[candidates.items >= 0])
    shared = users.sparkSession.sparkContext.broadcast(
        {
            "items": candidates.items,
            "lift": candidates.lift,
            "factors": item_factors,
            "ids": {int(i): item_ids[int(i)] for i in used},
            "labels": list(labels),
            "weights": (config.als_weight, config.affinity_weight),
        }
    )
    seen = interactions.groupBy(USER_INDEX).agg(F.collect_set(ITEM_INDEX).alias("seen"))
    rows = (
        users.select(USER_INDEX, CLUSTER)
        .join(user_ids, USER_INDEX)
        .join(user_factors, USER_INDEX, "left")
        .join(seen, USER_INDEX, "left")
    )

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        state = shared.value
        for batch in batches:
            yield _rank_batch(batch, state, k)

    schema = (
        "user_id string, rank int, item_id string, score float, cluster long, "
        "cluster_label string, reason string"
    )
    return rows.mapInPandas(run, schema)


def _zscore(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / (spread if spread > 1e-12 else 1.0)


def _rank_batch(batch: pd.DataFrame, state: dict, k: int) -> pd.DataFrame:
    items_by_cluster, lift_by_cluster = state["items"], state["lift"]
    factors, ids, labels = state["factors"], state["ids"], state["labels"]
    als_weight, affinity_weight = state["weights"]
    out: dict[str, list] = {name: [] for name in COLUMNS}
    no_cluster = len(items_by_cluster) - 1
    for user_id, cluster, user_factors, seen in zip(
        batch[USER_ID], batch[CLUSTER], batch["features"], batch["seen"], strict=True
    ):
        row = int(cluster) if cluster >= 0 else no_cluster
        valid = items_by_cluster[row] >= 0
        items, lift = items_by_cluster[row][valid], lift_by_cluster[row][valid]
        if seen is not None and len(seen):
            keep = ~np.isin(items, np.asarray(seen, dtype=np.int64))
            items, lift = items[keep], lift[keep]
        if len(items) == 0:
            continue
        score = affinity_weight * _zscore(lift)
        if user_factors is not None:
            score = score + als_weight * _zscore(factors[items] @ np.asarray(user_factors))
        order = np.argsort(-score, kind="stable")[:k]
        label = labels[int(cluster)] if cluster >= 0 else "no cluster"
        for rank, j in enumerate(order, start=1):
            out["user_id"].append(user_id)
            out["rank"].append(rank)
            out["item_id"].append(ids[int(items[j])])
            out["score"].append(float(score[j]))
            out["cluster"].append(int(cluster))
            out["cluster_label"].append(label)
            out["reason"].append(
                f"popular among {label}" if lift[j] > 0 else "liked by people with similar taste"
            )
    return pd.DataFrame(out, columns=COLUMNS)
