"""Clustering at scale: k on a sample, centroids by MLlib k-means, one assignment pass.

1. ``sample_vectors``: a seeded sample of at most ``spark.sample_size`` users with a signal
   comes to the driver; :func:`interestlens.cluster.fit_clustering` runs on it exactly as the
   single-machine path does (the k scan and its rule, :mod:`interestlens.cluster.select_k`),
   and a 2-D PCA for the report's map is fitted on it.
2. ``mllib_centroids``: MLlib ``KMeans`` (k-means|| seeding) with that k on every user's
   vector, on the executors (``spark.centroids = "sample"`` keeps the sample's centroids).
3. ``assign``: every user labelled in one ``mapInPandas`` pass against the broadcast
   centroids (the single-machine nearest-centre code), with the map position and the cosine
   to the own centroid (for medoid users). Nothing per-user comes back to the driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from interestlens.cluster import ClusteringResult, fit_clustering
from interestlens.config import Settings
from interestlens.errors import ParameterError
from interestlens.spark.embed import VECTOR
from interestlens.spark.frames import USER_INDEX
from interestlens.spark.represent import SOURCE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

CLUSTER = "cluster"
SIMILARITY = "similarity"
MAP_X, MAP_Y = "map_x", "map_y"


@dataclass
class SampleFit:
    """What the driver learned from the sample: the clustering (k, scores), the map axes."""

    result: ClusteringResult
    sample_size: int
    n_signal: int
    map_mean: np.ndarray
    map_axes: np.ndarray


def sample_vectors(
    users: DataFrame, sample_size: int, seed: int, *, behaviour_only: bool = False
) -> tuple[np.ndarray, int]:
    """Vectors of a seeded sample of at most ``sample_size`` users with a signal, and how many
    users it was drawn from. ``behaviour_only`` (``cluster.fit_on_behaviour``): drawn from the
    users with a history when there are any, so that users known only by text (placed through
    the text bridge) are assigned to the clusters, not clusters of their own."""
    from pyspark.sql import functions as F

    signal = users.filter(F.col(SOURCE) != "none")
    n_signal = signal.count()
    if n_signal == 0:
        raise ParameterError(
            "no user has an interaction or a text",
            expected="users with at least one interaction or a non-empty text",
            fix="check the interactions and users tables",
        )
    if behaviour_only:
        behaviour = signal.filter(F.col(SOURCE) != "text")
        n_behaviour = behaviour.count()
        if n_behaviour:
            signal, n_signal = behaviour, n_behaviour
    fraction = min(1.0, 1.1 * sample_size / n_signal)
    picked = signal if fraction >= 1.0 else signal.sample(fraction=fraction, seed=seed)
    rows = picked.orderBy(USER_INDEX).limit(sample_size).select(VECTOR).toPandas()
    return np.stack([np.asarray(v, dtype=np.float32) for v in rows[VECTOR]]), n_signal


def fit_sample(vectors: np.ndarray, settings: Settings, n_signal: int) -> SampleFit:
    """The single-machine clustering of the sample (stability runs off: they refit the whole
    scan) and the 2-D PCA axes."""
    from sklearn.decomposition import PCA

    config = settings.cluster
    k = config.k
    if k is not None and k >= n_signal:
        raise ParameterError(
            f"n_samples={n_signal} should be >= n_clusters={k}",
            expected="fewer clusters than users with a signal",
            fix="lower cluster.k, or leave it unset to choose k automatically",
        )
    if config.method not in ("kmeans", "minibatch-kmeans"):
        raise ParameterError(
            f"cluster.method={config.method!r} with the Spark engine",
            expected="'kmeans' or 'minibatch-kmeans' (MLlib k-means on the executors)",
            fix="set cluster.method = 'kmeans'",
        )
    sample_config = config.model_copy(
        update={"stability_runs": 0, "k_max": _k_max(config, vectors)}
    )
    result = fit_clustering(vectors, sample_config, settings.seed)
    pca = PCA(n_components=2, random_state=settings.seed).fit(vectors)
    return SampleFit(
        result=result,
        sample_size=len(vectors),
        n_signal=n_signal,
        map_mean=pca.mean_.astype(np.float32),
        map_axes=pca.components_.astype(np.float32),
    )


def _k_max(config: Any, vectors: np.ndarray) -> int:
    # the scan needs more rows than its largest k; a tiny sample scans what it can
    return max(config.k_min, min(config.k_max, len(vectors) - 1))


def mllib_centroids(
    users: DataFrame, k: int, seed: int, max_iter: int = 50, *, behaviour_only: bool = False
) -> np.ndarray:
    """MLlib k-means (k-means|| seeding) on every user with a signal (``behaviour_only``: with
    a history, when there are any, as :func:`sample_vectors`): (k, d) centres."""
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    signal = users.filter(F.col(SOURCE) != "none")
    if behaviour_only:
        behaviour = signal.filter(F.col(SOURCE) != "text")
        if behaviour.limit(1).count():
            signal = behaviour
    features = signal.select(array_to_vector(VECTOR).alias("features"))
    model = KMeans(k=k, seed=seed, maxIter=max_iter, initMode="k-means||", tol=1e-4).fit(features)
    return np.asarray(model.clusterCenters(), dtype=np.float32)


def assign(users: DataFrame, centroids: np.ndarray, sample: SampleFit) -> DataFrame:
    """``users`` + ``cluster`` (-1 without a signal), ``similarity`` (cosine to the own
    centroid), ``map_x, map_y``; one pass, centroids and map axes broadcast."""
    from pyspark.sql.types import StructType

    spark = users.sparkSession
    shared = spark.sparkContext.broadcast((centroids, sample.map_mean, sample.map_axes))

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from interestlens.cluster.base import nearest
        from interestlens.embed.base import l2_normalise

        centres, mean, axes = shared.value
        unit_centres = l2_normalise(centres)
        for batch in batches:
            vectors = np.stack([np.asarray(v, dtype=np.float32) for v in batch[VECTOR]])
            signal = batch[SOURCE].to_numpy() != "none"
            labels = np.full(len(batch), -1, dtype=np.int64)
            similarity = np.full(len(batch), np.nan, dtype=np.float32)
            position = np.full((len(batch), 2), np.nan, dtype=np.float32)
            if signal.any():
                labels[signal] = nearest(vectors[signal], centres)
                own = unit_centres[labels[signal]]
                similarity[signal] = np.einsum("ij,ij->i", l2_normalise(vectors[signal]), own)
                position[signal] = (vectors[signal] - mean) @ axes.T
            yield batch.assign(
                **{CLUSTER: labels, SIMILARITY: similarity, MAP_X: position[:, 0]},
                **{MAP_Y: position[:, 1]},
            )

    schema = (
        StructType(list(users.schema.fields))
        .add(CLUSTER, "long")
        .add(SIMILARITY, "float")
        .add(MAP_X, "float")
        .add(MAP_Y, "float")
    )
    return users.mapInPandas(run, schema)
