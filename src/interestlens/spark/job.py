"""The whole Spark job: :func:`fit_spark` runs every stage and writes the model directory and
the batch recommendations, timing each stage."""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.cluster import ClusteringResult
from interestlens.cluster.base import NearestCentroidClusterer
from interestlens.cluster.interest_clusters import InterestClusters
from interestlens.config import Settings
from interestlens.data.schema import ITEM_ID, USER_ID
from interestlens.model_dir import (
    UserStream,
    replace_directory,
    stream_interactions,
    write_bridge,
    write_checksums,
    write_interest_clusters,
    write_item_files,
    write_manifest,
    write_recommender,
    write_settings,
)
from interestlens.pipeline import representer_from_settings
from interestlens.recommend.matrix import history_matrices
from interestlens.represent import BRIDGE_MIN_USERS, bridge_report
from interestlens.spark import cluster as cluster_stage
from interestlens.spark import embed as embed_stage
from interestlens.spark import explain as explain_stage
from interestlens.spark import recommend as recommend_stage
from interestlens.spark.embed import VECTOR
from interestlens.spark.frames import ITEM_INDEX, USER_INDEX, IndexedData, SparkData, index_data
from interestlens.spark.recommender_state import build_recommender
from interestlens.spark.represent import (
    SOURCE,
    TEXT_VECTOR,
    learn_bridge,
    place_users,
    user_parts,
    users_with_both,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def peak_rss_mb() -> float:
    """Peak resident memory of this (driver) process so far, MiB: ``VmHWM`` where /proc has
    it (``ru_maxrss`` survives fork + exec on Linux, so a child started by a big process would
    report its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass
class SparkFitResult:
    """Where things went and what each stage cost (seconds, driver peak RSS after it)."""

    model_dir: Path
    recommendations: str
    n_users: int
    n_items: int
    n_clusters: int
    seconds: dict[str, float] = field(default_factory=dict)
    driver_peak_mb: dict[str, float] = field(default_factory=dict)
    sample_size: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "model_dir": str(self.model_dir)}


class _Stages:
    def __init__(self, report: Callable[[str], None] | None):
        self.seconds: dict[str, float] = {}
        self.peak: dict[str, float] = {}
        self.report = report
        self._name = ""
        self._started = 0.0

    def start(self, name: str) -> None:
        self._name, self._started = name, time.perf_counter()
        if self.report is not None:
            self.report(name)

    def stop(self) -> None:
        self.seconds[self._name] = round(time.perf_counter() - self._started, 3)
        self.peak[self._name] = round(peak_rss_mb(), 1)


def fit_spark(
    spark: SparkSession,
    data: SparkData,
    settings: Settings,
    out: str | Path,
    *,
    report: Callable[[str], None] | None = None,
) -> SparkFitResult:
    """Fit on ``data`` with Spark and write a model directory to ``out`` (same format as
    ``interestlens fit``) and every user's top-``recommend.k`` list as Parquet."""
    from pyspark.sql import functions as F

    stages = _Stages(report)
    partitions = settings.spark.shuffle_partitions
    seed = settings.seed

    stages.start("index")
    indexed = index_data(data, settings.data.on_unknown)
    interactions = indexed.interactions_indexed
    stages.stop()

    stages.start("embed")
    item_texts_df, user_texts_df = _texts(indexed, settings)
    item_vectors = embed_stage.embed_frame(
        item_texts_df, key_col=ITEM_INDEX, encoder=settings.encoder, seed=seed
    ).cache()
    items_local = item_texts_df.join(item_vectors, ITEM_INDEX).orderBy(ITEM_INDEX).toPandas()
    item_matrix = np.stack([np.asarray(v, dtype=np.float32) for v in items_local["vector"]])
    dimension = item_matrix.shape[1]
    user_text_vectors = None
    if user_texts_df is not None:
        user_text_vectors = embed_stage.embed_frame(
            user_texts_df.withColumnRenamed(USER_INDEX, USER_INDEX),
            key_col=USER_INDEX,
            encoder=settings.encoder,
            seed=seed,
        ).cache()
    stages.stop()

    stages.start("represent")
    parts = user_parts(
        interactions,
        item_vectors,
        user_text_vectors,
        settings.interests,
        dimension=dimension,
        has_ratings=data.has_ratings,
        has_timestamps=data.has_timestamps,
        partitions=partitions,
    ).cache()
    leads = None
    if (
        user_texts_df is not None
        and settings.interests.bridge_text
        and settings.interests.lead_clause
        and users_with_both(parts).count() >= BRIDGE_MIN_USERS
    ):
        leads = embed_stage.embed_frame(
            embed_stage.lead_frame(user_texts_df, index_col=USER_INDEX),
            key_col=USER_INDEX,
            encoder=settings.encoder,
            seed=seed,
        ).cache()
    representer = learn_bridge(
        parts,
        leads,
        representer_from_settings(settings),
        dimension=dimension,
        sample_size=settings.spark.sample_size,
        seed=seed,
    )
    placed = place_users(parts, leads, representer).cache()
    placed.count()
    parts.unpersist()
    # the encoded texts and clauses stay cached: were ``placed`` evicted, Spark would rebuild
    # it from them rather than encode every text again
    users = placed.select(USER_INDEX, VECTOR, SOURCE)
    if user_text_vectors is not None:
        # the text vectors the users were placed with (first clause weighed in where chosen)
        user_text_vectors = placed.filter(F.col(TEXT_VECTOR).isNotNull()).select(
            USER_INDEX, F.col(TEXT_VECTOR).alias(VECTOR)
        )
    stages.stop()

    stages.start("cluster")
    vectors, n_signal = cluster_stage.sample_vectors(
        users, settings.spark.sample_size, seed, behaviour_only=settings.cluster.fit_on_behaviour
    )
    sample = cluster_stage.fit_sample(vectors, settings, n_signal)
    k = sample.result.n_clusters
    centroids = np.asarray(sample.result.centroids, dtype=np.float32)
    if settings.spark.centroids == "mllib":
        centroids = cluster_stage.mllib_centroids(
            users, k, seed, behaviour_only=settings.cluster.fit_on_behaviour
        )
    assigned = cluster_stage.assign(users, centroids, sample).cache()
    assigned.count()
    stages.stop()

    stages.start("explain")
    max_rating = None
    if data.has_ratings and settings.interests.use_ratings:
        max_rating = interactions.agg(F.max("rating")).first()[0]
    stats = explain_stage.aggregate(
        assigned,
        interactions,
        n_items=indexed.n_items,
        min_group=settings.spark.min_group_size,
        max_rating=max_rating,
    )
    medoids = explain_stage.medoids(assigned, indexed.user_ids, settings.explain.top_users)
    item_ids = items_local[ITEM_ID].astype(str).tolist()
    item_texts = items_local["text"].fillna("").tolist()
    titles = _titles(indexed)
    text_columns = [c for c in data.items.columns if c != ITEM_ID]
    if data.users is not None:
        text_columns += [c for c in data.users.columns if c != USER_ID]
    explanations = explain_stage.explain(
        stats,
        medoids,
        centroids=centroids,
        item_ids=item_ids,
        item_texts=item_texts,
        item_titles=titles,
        item_vectors=item_matrix,
        settings=settings,
        n_users=indexed.n_users,
        extra_stop_words=text_columns,
    )
    labels = [e.label for e in explanations]
    stages.stop()

    stages.start("recommend")
    user_factors, item_factors = recommend_stage.fit_als(
        interactions, settings, n_items=indexed.n_items, max_rating=max_rating
    )
    candidates = recommend_stage.candidate_lists(stats, k, settings.spark.candidates_per_cluster)
    recommendations = recommend_stage.recommend_all(
        assigned,
        indexed.user_ids,
        user_factors,
        interactions,
        candidates=candidates,
        item_factors=item_factors,
        item_ids=item_ids,
        labels=labels,
        settings=settings,
        k=settings.recommend.k,
    )
    destination = Path(out).expanduser().resolve()
    destination.parent.mkdir(parents=True, exist_ok=True)
    target = settings.spark.recommendations_path or str(destination) + ".recommendations.parquet"
    recommendations.write.mode("overwrite").parquet(target)
    stages.stop()

    stages.start("export")
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        _export(
            staging,
            indexed=indexed,
            assigned=assigned,
            user_texts=user_texts_df,
            user_text_vectors=user_text_vectors,
            settings=settings,
            items_local=items_local,
            item_matrix=item_matrix,
            titles=titles,
            sample=sample,
            centroids=centroids,
            explanations=explanations,
            item_factors=item_factors,
            stats=stats,
            data=data,
            timings=stages.seconds,
            representer=representer,
        )
        write_checksums(staging)
        replace_directory(staging, destination)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    stages.stop()
    return SparkFitResult(
        model_dir=destination,
        recommendations=target,
        n_users=indexed.n_users,
        n_items=indexed.n_items,
        n_clusters=k,
        seconds=stages.seconds,
        driver_peak_mb=stages.peak,
        sample_size=sample.sample_size,
    )


def _texts(indexed: IndexedData, settings: Settings) -> tuple[DataFrame, DataFrame | None]:
    columns, template = embed_stage.text_config(settings.text, "item")
    items = embed_stage.texts_frame(
        indexed.items_indexed,
        id_col=ITEM_ID,
        index_col=ITEM_INDEX,
        columns=columns,
        template=template,
    ).cache()
    users = indexed.data.users
    if users is None or len(users.columns) <= 1:
        return items, None
    columns, template = embed_stage.text_config(settings.text, "user")
    with_index = users.join(indexed.user_ids, USER_ID)
    user_texts = embed_stage.texts_frame(
        with_index, id_col=USER_ID, index_col=USER_INDEX, columns=columns, template=template
    ).cache()
    return items, user_texts


def _titles(indexed: IndexedData) -> list[str] | None:
    if "title" not in indexed.items_indexed.columns:
        return None
    frame = indexed.items_indexed.select(ITEM_INDEX, "title").orderBy(ITEM_INDEX).toPandas()
    return frame["title"].astype(str).tolist()


def _export(staging: Path, **parts: Any) -> None:
    from pyspark.sql import functions as F

    indexed: IndexedData = parts["indexed"]
    settings: Settings = parts["settings"]
    assigned = parts["assigned"]
    dimension = parts["item_matrix"].shape[1]
    spill = staging / ".spark"
    # per-user table, sorted by user_index, written by the executors
    table = assigned.join(indexed.user_ids, USER_INDEX)
    if parts["user_texts"] is not None:
        texts = parts["user_texts"].select(USER_INDEX, "text")
        text_vectors = parts["user_text_vectors"].select(
            USER_INDEX, F.col("vector").alias("text_vector")
        )
        table = table.join(texts, USER_INDEX, "left").join(text_vectors, USER_INDEX, "left")
    else:
        table = table.withColumn("text", F.lit(None).cast("string")).withColumn(
            "text_vector", F.lit(None).cast("array<float>")
        )
    zeros = F.array_repeat(F.lit(0.0).cast("float"), dimension)
    table = table.select(
        USER_INDEX,
        USER_ID,
        F.coalesce("text", F.lit("")).alias("text"),
        SOURCE,
        "vector",
        F.coalesce("text_vector", zeros).alias("text_vector"),
        cluster_stage.CLUSTER,
        cluster_stage.MAP_X,
        cluster_stage.MAP_Y,
    )
    table.orderBy(USER_INDEX).write.parquet(str(spill / "users"))
    indexed.interactions_indexed.orderBy(USER_INDEX, ITEM_INDEX).write.parquet(
        str(spill / "interactions")
    )

    users = UserStream(staging, indexed.n_users, dimension)
    users.write(spill / "users")
    user_idx, item_idx, ratings, timestamps = stream_interactions(spill / "interactions", staging)
    _write_items(staging, parts)
    clusters = _clusters(parts, users)
    write_interest_clusters(staging, clusters)

    data: SparkData = parts["data"]
    use_ratings = data.has_ratings and settings.interests.use_ratings
    values, times = history_matrices(
        user_idx,
        item_idx,
        (indexed.n_users, indexed.n_items),
        ratings=ratings if use_ratings else None,
        timestamps=timestamps if data.has_timestamps else None,
    )
    stats = parts["stats"]
    k = len(parts["centroids"])
    pairs = stats.pairs
    cluster_weights = sp.csr_matrix(
        (pairs["weight"].to_numpy(float), (pairs["cluster"], pairs[ITEM_INDEX])),
        shape=(k, indexed.n_items),
    )
    if settings.recommend.enabled:
        from interestlens.embed import make_encoder

        recommender = build_recommender(
            settings=settings,
            encoder=make_encoder(settings.encoder, seed=settings.seed),
            values=values,
            times=times,
            item_texts=parts["items_local"]["text"].fillna("").tolist(),
            item_vectors=parts["item_matrix"],
            item_factors=parts["item_factors"],
            user_labels=users.labels,
            k=k,
            cluster_weights=cluster_weights,
        )
        write_recommender(staging / "recommender", recommender)
    _manifest(staging, parts, users, ratings if use_ratings else None)
    import shutil

    shutil.rmtree(spill, ignore_errors=True)


def _write_items(staging: Path, parts: dict[str, Any]) -> None:
    items_local: pd.DataFrame = parts["items_local"]
    write_item_files(
        staging,
        items_local[ITEM_ID].astype(str).tolist(),
        parts["item_matrix"],
        items_local["text"].fillna("").tolist(),
        parts["titles"],
    )


def _clusters(parts: dict[str, Any], users: UserStream) -> InterestClusters:
    sample = parts["sample"]
    centroids = parts["centroids"]
    settings: Settings = parts["settings"]
    labels = users.labels
    clustered = labels[labels >= 0]
    restore = NearestCentroidClusterer(centroids).fit(centroids)
    result = ClusteringResult(
        method=settings.cluster.method,
        labels=clustered,
        centroids=centroids,
        n_clusters=len(centroids),
        k_source=sample.result.k_source,
        k_selection=sample.result.k_selection,
        scores={**sample.result.scores, "scored_on": f"a sample of {sample.sample_size} users"},
        reduce="none",
        seed=settings.seed,
        config={
            **settings.cluster.model_dump(mode="json"),
            "engine": "spark",
            "centroids": settings.spark.centroids,
            "sample_size": sample.sample_size,
        },
        timings=sample.result.timings,
        clusterer=restore,
    )
    return InterestClusters(
        result=result,
        user_labels=labels,
        user_map=users.user_map,
        explanations=parts["explanations"],
        membership=None,
        unclustered=int(np.sum(labels < 0)),
        truth_metrics=None,
    )


def _manifest(staging: Path, parts: dict[str, Any], users: UserStream, ratings: Any) -> None:
    from interestlens.spark.embed import encoder_identifier

    settings: Settings = parts["settings"]
    indexed: IndexedData = parts["indexed"]
    data: SparkData = parts["data"]
    representer = parts["representer"]
    if representer.bridge_ is not None:
        write_bridge(staging, *representer.bridge_.state())
    max_rating = float(np.nanmax(ratings)) if ratings is not None and len(ratings) else None
    summary = {
        "name": data.name,
        "interactions": int(indexed.interactions_indexed.count()),
        "items": indexed.n_items,
        "users": indexed.n_users,
        **{f"note_{k}": v for k, v in data.notes.items()},
    }
    write_manifest(
        staging,
        {
            "dataset": data.name,
            "encoder": encoder_identifier(settings.encoder, settings.seed),
            "n_items": indexed.n_items,
            "n_users": indexed.n_users,
            "dimension": int(parts["item_matrix"].shape[1]),
            "represent": {"max_rating": max_rating, "lead_weight": representer.lead_weight_},
            "engine": "spark",
            "fit_report": {
                "dataset": summary,
                "interest_sources": users.sources,
                "users_without_signal": [],
                "seconds": parts["timings"],
                "text_bridge": bridge_report(representer),
            },
        },
    )
    write_settings(staging, settings)
