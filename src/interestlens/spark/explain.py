"""Cluster explanations from aggregations: nothing per user reaches the driver.

One aggregation gives, per (cluster, item), the interactions, their rating weight and the
number of distinct members; pairs with fewer than ``spark.min_group_size`` members are
dropped on the executors, so every count, share and keyword the driver sees rests on at least
that many users. Clusters smaller than that are reported without size, keywords or items.

On the driver (catalogue-sized): keywords are the single-machine log-odds scores
(:func:`interestlens.explain.keywords.keyword_scores`) of ``cluster × item`` member counts
times the items' term counts (the explain stage's vectorizer); central items are the best
supported items closest to the centroid; over-represented items are ranked by the smoothed
lift of :mod:`interestlens.explain.representatives`. Medoid users come from a per-cluster
top-n window over the cosine computed in the assignment pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.config import Settings
from interestlens.data.schema import RATING, USER_ID
from interestlens.embed.base import l2_normalise
from interestlens.explain import ClusterExplanation
from interestlens.explain.explanation import (
    CentralItem,
    MedoidUser,
    OverRepresentedItem,
)
from interestlens.explain.keywords import default_vectorizer, keyword_scores, top_terms
from interestlens.pipeline import namer_from_settings
from interestlens.spark.cluster import CLUSTER, SIMILARITY
from interestlens.spark.frames import ITEM_INDEX, USER_INDEX
from interestlens.spark.represent import SOURCE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SUPPRESSED_LABEL = "small cluster (statistics suppressed)"


@dataclass
class ClusterItemStats:
    """Aggregates the driver keeps: per (cluster, item) with enough members, per item, per
    cluster. ``pairs``: ``cluster, item_index, count, weight, members``."""

    pairs: pd.DataFrame
    item_totals: np.ndarray  # interactions per item, everyone
    item_weights: np.ndarray  # rating-weighted interactions per item
    clusters: pd.DataFrame  # cluster, size, n_with_text, n_with_history, n_interactions, rating


def aggregate(
    users: DataFrame,
    interactions: DataFrame,
    *,
    n_items: int,
    min_group: int,
    max_rating: float | None,
) -> ClusterItemStats:
    from pyspark.sql import functions as F

    weight = F.lit(1.0)
    if max_rating:
        weight = F.coalesce(F.greatest(F.col(RATING) / F.lit(max_rating), F.lit(0.05)), F.lit(1.0))
    labelled = interactions.join(users.select(USER_INDEX, CLUSTER), USER_INDEX).withColumn(
        "w", weight
    )
    pairs = (
        labelled.filter(F.col(CLUSTER) >= 0)
        .groupBy(CLUSTER, ITEM_INDEX)
        .agg(
            F.count("*").alias("count"),
            F.sum("w").alias("weight"),
            F.countDistinct(USER_INDEX).alias("members"),
        )
        .filter(F.col("members") >= min_group)
        .toPandas()
    )
    per_item = labelled.groupBy(ITEM_INDEX).agg(F.count("*").alias("n"), F.sum("w").alias("w"))
    per_item = per_item.toPandas()
    totals = np.zeros(n_items, dtype=np.int64)
    weights = np.zeros(n_items, dtype=np.float64)
    totals[per_item[ITEM_INDEX].to_numpy()] = per_item["n"].to_numpy()
    weights[per_item[ITEM_INDEX].to_numpy()] = per_item["w"].to_numpy()
    sizes = users.groupBy(CLUSTER).agg(
        F.count("*").alias("size"),
        F.sum(F.col(SOURCE).isin("text", "blend").cast("int")).alias("n_with_text"),
        F.sum(F.col(SOURCE).isin("history", "blend").cast("int")).alias("n_with_history"),
    )
    activity = labelled.groupBy(CLUSTER).agg(
        F.count("*").alias("n_interactions"), F.avg(RATING).alias("mean_rating")
    )
    clusters = sizes.join(activity, CLUSTER, "left").fillna({"n_interactions": 0}).toPandas()
    return ClusterItemStats(pairs, totals, weights, clusters.sort_values(CLUSTER))


def medoids(users: DataFrame, user_ids: DataFrame, top: int) -> pd.DataFrame:
    """``cluster, user_id, similarity``: each cluster's ``top`` users closest to its centroid."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    window = Window.partitionBy(CLUSTER).orderBy(F.desc(SIMILARITY), F.asc(USER_INDEX))
    best = (
        users.filter(F.col(CLUSTER) >= 0)
        .select(USER_INDEX, CLUSTER, SIMILARITY)
        .withColumn("rank", F.row_number().over(window))
        .filter(F.col("rank") <= top)
        .join(user_ids, USER_INDEX)
    )
    return (
        best.select(CLUSTER, USER_ID, SIMILARITY, "rank").toPandas().sort_values([CLUSTER, "rank"])
    )


def explain(
    stats: ClusterItemStats,
    medoid_users: pd.DataFrame,
    *,
    centroids: np.ndarray,
    item_ids: list[str],
    item_texts: list[str],
    item_titles: list[str] | None,
    item_vectors: np.ndarray,
    settings: Settings,
    n_users: int,
    extra_stop_words: list[str],
) -> list[ClusterExplanation]:
    """One explanation per cluster (0..k-1), statistics under the group size suppressed."""
    config = settings.explain
    min_group = settings.spark.min_group_size
    k = len(centroids)
    n_items = len(item_ids)
    titles = item_titles if item_titles is not None else [t.split("\n")[0][:80] for t in item_texts]
    pairs = stats.pairs
    members = sp.csr_matrix(
        (pairs["members"].to_numpy(float), (pairs[CLUSTER], pairs[ITEM_INDEX])), shape=(k, n_items)
    )
    counts = sp.csr_matrix(
        (pairs["count"].to_numpy(float), (pairs[CLUSTER], pairs[ITEM_INDEX])), shape=(k, n_items)
    )
    vectorizer = default_vectorizer([*config.extra_stop_words, *extra_stop_words])
    try:
        item_terms = vectorizer.fit_transform(item_texts)
        weights = keyword_scores(
            members @ item_terms, config.keyword_scoring, config.keyword_prior_size
        )
        keywords = top_terms(
            sp.csr_matrix(weights), vectorizer.get_feature_names_out(), config.top_keywords
        )
    except ValueError:  # no vocabulary at all in the item texts
        keywords = [[] for _ in range(k)]
    unit_items = l2_normalise(item_vectors)
    unit_centroids = l2_normalise(centroids)
    total = max(float(stats.item_totals.sum()), 1.0)
    global_share = stats.item_totals / total
    by_cluster = stats.clusters.set_index(CLUSTER)
    namer = namer_from_settings(settings)
    support = max(config.min_support, min_group)
    explanations: list[ClusterExplanation] = []
    for c in range(k):
        row = by_cluster.loc[c] if c in by_cluster.index else None
        size = int(row["size"]) if row is not None else 0
        if size < min_group:
            explanations.append(
                ClusterExplanation(cluster_id=c, size=0, share=0.0, label=SUPPRESSED_LABEL)
            )
            continue
        member_row = members.getrow(c).toarray().ravel()
        count_row = counts.getrow(c).toarray().ravel()
        cluster_total = max(float(row["n_interactions"]), 1.0)
        supported = np.flatnonzero(member_row >= support)
        central: list[CentralItem] = []
        over: list[OverRepresentedItem] = []
        if len(supported):
            pool = supported[np.argsort(-member_row[supported], kind="stable")]
            pool = pool[: config.central_pool] if config.central_pool else pool
            cosine = unit_items[pool] @ unit_centroids[c]
            for i in pool[np.argsort(-cosine, kind="stable")][: config.top_items]:
                central.append(
                    CentralItem(
                        item_ids[i],
                        str(titles[i]),
                        float(unit_items[i] @ unit_centroids[c]),
                        int(member_row[i]),
                    )
                )
            share = count_row[supported] / cluster_total
            lift = share / np.maximum(global_share[supported], 1e-12)
            expected = global_share[supported] * cluster_total
            smoothed = (count_row[supported] + config.lift_prior) / (expected + config.lift_prior)
            for j in np.argsort(-smoothed, kind="stable")[: config.top_items]:
                if smoothed[j] <= 1.0:
                    break
                i = supported[j]
                over.append(
                    OverRepresentedItem(
                        item_id=item_ids[i],
                        title=str(titles[i]),
                        lift=float(lift[j]),
                        cluster_count=int(count_row[i]),
                        total_count=int(stats.item_totals[i]),
                        n_members=int(member_row[i]),
                        cluster_share=float(share[j]),
                        global_share=float(global_share[i]),
                        smoothed_lift=float(smoothed[j]),
                    )
                )
        medoid_rows = medoid_users[medoid_users[CLUSTER] == c]
        mean_rating = row["mean_rating"]
        explanation = ClusterExplanation(
            cluster_id=c,
            size=size,
            share=size / max(n_users, 1),
            label="",
            keywords=keywords[c] if c < len(keywords) else [],
            central_items=central,
            over_represented_items=over,
            medoid_users=[
                MedoidUser(str(u), float(s))
                for u, s in zip(medoid_rows[USER_ID], medoid_rows[SIMILARITY], strict=True)
            ],
            mean_rating=None if pd.isna(mean_rating) else float(mean_rating),
            n_with_text=int(row["n_with_text"]),
            n_with_history=int(row["n_with_history"]),
            n_interactions=int(row["n_interactions"]),
        )
        explanation.label = namer.name(explanation)
        explanations.append(explanation)
    return explanations
