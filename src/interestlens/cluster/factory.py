"""From a :class:`~interestlens.config.ClusterConfig` to a clusterer, and to a full result.

Reduction: the configuration's ``reduce`` is used whenever it was set (file, environment or
option). Left at its default, it is ``"none"`` for k-means, agglomerative and Gaussian mixtures,
and ``"pca"`` to ``n_components`` for HDBSCAN and DBSCAN: density estimates on 384 raw
dimensions are slow (HDBSCAN's core distances need a nearest-neighbour search that trees cannot
prune in high dimensions) and weak (distances concentrate). PCA rather than UMAP, because it is
deterministic, fast and can be saved without pickle.

k: ``config.k`` fixes it; ``None`` scans [k_min, k_max] (see
:mod:`interestlens.cluster.select_k`). Density methods find their own number of clusters.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np

from interestlens.cluster.auto import AutoKClusterer
from interestlens.cluster.base import check_matrix
from interestlens.cluster.density import DBSCANClusterer, HDBSCANClusterer
from interestlens.cluster.hierarchical import AgglomerativeClusterer
from interestlens.cluster.kmeans import KMeansClusterer, MiniBatchKMeansClusterer
from interestlens.cluster.metrics import clustering_metrics
from interestlens.cluster.mixture import GaussianMixtureClusterer
from interestlens.cluster.params import clone
from interestlens.cluster.reduce import ReducedClusterer, make_reducer
from interestlens.cluster.result import ClusteringResult
from interestlens.cluster.select_k import internal_scores
from interestlens.cluster.stability import stability
from interestlens.config import ClusterConfig
from interestlens.errors import ConfigError, DataError

#: largest subsample a stability run refits on
STABILITY_MAX_ROWS = 50_000

K_METHODS = ("kmeans", "minibatch-kmeans", "agglomerative", "gmm")
DENSITY_METHODS = ("hdbscan", "dbscan")


def effective_reduce(config: ClusterConfig) -> str:
    """The reduction that applies (see the module docstring for the default per method)."""
    if "reduce" in config.model_fields_set or config.method not in DENSITY_METHODS:
        return config.reduce
    return "pca"


def make_estimator(config: ClusterConfig, seed: int, n_clusters: int | None = None) -> Any:
    """The bare clusterer for ``config.method`` (no reduction, no k scan)."""
    k = n_clusters if n_clusters is not None else (config.k or config.k_min)
    method = config.method
    if method == "kmeans":
        return KMeansClusterer(k, n_init=config.n_init, random_state=seed)
    if method == "minibatch-kmeans":
        return MiniBatchKMeansClusterer(k, random_state=seed)
    if method == "agglomerative":
        return AgglomerativeClusterer(k, linkage=config.linkage)
    if method == "gmm":
        return GaussianMixtureClusterer(k, random_state=seed)
    if method == "hdbscan":
        return HDBSCANClusterer(
            config.min_cluster_size, reassign_noise=config.reassign_noise, random_state=seed
        )
    if method == "dbscan":
        return DBSCANClusterer(
            config.eps,
            min_cluster_size=config.min_cluster_size,
            reassign_noise=config.reassign_noise,
            random_state=seed,
        )
    raise ConfigError(
        f"cluster.method={method!r}",
        expected=f"one of {[*K_METHODS, *DENSITY_METHODS]}",
        fix="set cluster.method to one of those",
    )


def make_clusterer(
    config: ClusterConfig, seed: int, *, n_clusters: int | None = None, show_progress: bool = False
) -> Any:
    """The clusterer ``config`` describes: reduction wrapper, k scan when k is None, method.

    ``n_clusters`` overrides ``config.k`` (used to refit with an already chosen k).
    """
    _check_config(config)
    k = n_clusters if n_clusters is not None else config.k
    model: Any = make_estimator(config, seed, k)
    if config.method in K_METHODS and k is None:
        model = AutoKClusterer(
            model,
            k_min=config.k_min,
            k_max=config.k_max,
            random_state=seed,
            show_progress=show_progress,
        )
    reduce = effective_reduce(config)
    if reduce != "none":
        model = ReducedClusterer(
            make_reducer(reduce, config.n_components, random_state=seed), model
        )
    return model


def unfitted_copy(model: Any, *, seed: int | None = None, n_clusters: int | None = None) -> Any:
    """An unfitted copy of ``model`` (wrappers included): ``seed`` replaces every
    ``random_state`` when given; ``n_clusters`` replaces a k scan (:class:`AutoKClusterer`) by
    its estimator with that k fixed. A clusterer without ``get_params`` (a test double) is
    deep-copied as it is."""
    if isinstance(model, AutoKClusterer) and n_clusters is not None:
        return unfitted_copy(model.estimator, seed=seed, n_clusters=n_clusters)
    if isinstance(model, ReducedClusterer):
        return ReducedClusterer(
            unfitted_copy(model.reducer, seed=seed),
            unfitted_copy(model.clusterer, seed=seed, n_clusters=n_clusters),
        )
    if not hasattr(model, "get_params"):
        return copy.deepcopy(model)
    params = model.get_params()
    changes: dict[str, Any] = {}
    if seed is not None and "random_state" in params:
        changes["random_state"] = seed
    if n_clusters is not None and "n_clusters" in params:
        changes["n_clusters"] = n_clusters
    if isinstance(model, AutoKClusterer):
        changes["estimator"] = unfitted_copy(model.estimator, seed=seed)
    return clone(model, **changes)


def fit_clustering(
    X: np.ndarray,
    config: ClusterConfig,
    seed: int,
    labels_true: np.ndarray | None = None,
    *,
    show_progress: bool = False,
    clusterer: Any = None,
) -> ClusteringResult:
    """Fit the clusterer on ``X`` and gather every diagnostic.

    ``clusterer``: any :class:`~interestlens.cluster.base.Clusterer` (an unfitted copy is
    fitted; the given object is left as it is); None: the one ``config`` describes
    (:func:`make_clusterer`). Stability (``config.stability_runs`` >= 2) refits copies with
    the chosen k fixed, on 80% subsamples with other seeds (see
    :mod:`interestlens.cluster.stability`).
    """
    started = time.perf_counter()
    X = check_matrix(X)
    if labels_true is not None and len(np.asarray(labels_true)) != len(X):
        raise DataError(
            f"labels_true has {len(np.asarray(labels_true))} labels for {len(X)} rows",
            expected="one known label per row of X",
            fix="pass labels aligned with X, or none",
        )
    if clusterer is None:
        clusterer = make_clusterer(config, seed, show_progress=show_progress)
    model = unfitted_copy(clusterer)
    model.fit(X)
    fitted = time.perf_counter()

    auto = _find(model, AutoKClusterer)
    method = method_of(model)
    density = method in DENSITY_METHODS
    k_source = "density" if density else "auto" if auto else "fixed"
    space = model.embedding_ if isinstance(model, ReducedClusterer) else X
    scores = internal_scores(space, model.labels_, random_state=seed)
    scored = time.perf_counter()

    stability_report = None
    if config.stability_runs:
        chosen_k = None if density else model.n_clusters_
        stability_report = stability(
            X,
            lambda run_seed: unfitted_copy(clusterer, seed=run_seed, n_clusters=chosen_k),
            n_runs=config.stability_runs,
            random_state=seed,
            reference_labels=model.labels_,
            show_progress=show_progress,
            max_rows=STABILITY_MAX_ROWS,
        ).to_dict()
    stable = time.perf_counter()

    metrics = None if labels_true is None else clustering_metrics(labels_true, model.labels_)
    finished = time.perf_counter()
    probabilities = getattr(model, "probabilities_", None)
    return ClusteringResult(
        method=method,
        labels=np.asarray(model.labels_, dtype=np.int64),
        centroids=np.asarray(model.centroids_, dtype=np.float32),
        probabilities=None if probabilities is None else np.asarray(probabilities, np.float32),
        n_clusters=int(model.n_clusters_),
        k_source=k_source,
        k_selection=auto.selection_.to_dict() if auto else None,
        scores=scores,
        stability=stability_report,
        noise_share=getattr(model, "noise_share_", None),
        metrics=metrics,
        reduce=model.reducer.kind if isinstance(model, ReducedClusterer) else "none",
        seed=seed,
        config=config.model_dump(mode="json"),
        timings={
            "fit": round(fitted - started, 4),
            "scores": round(scored - fitted, 4),
            "stability": round(stable - scored, 4),
            "metrics": round(finished - stable, 4),
            "total": round(finished - started, 4),
        },
        clusterer=model,
    )


def method_of(model: Any) -> str:
    """The clustering method of a (possibly wrapped) clusterer: its innermost ``kind``."""
    while isinstance(model, ReducedClusterer | AutoKClusterer):
        model = model.clusterer if isinstance(model, ReducedClusterer) else model.estimator
    return str(getattr(model, "kind", type(model).__name__))


def _check_config(config: ClusterConfig) -> None:
    if config.method in DENSITY_METHODS and config.k is not None:
        raise ConfigError(
            f"cluster.k={config.k} with cluster.method={config.method!r}",
            expected="no k for density methods, which find the number of clusters themselves",
            fix="unset cluster.k, or use a k-based method (kmeans, agglomerative, gmm)",
        )
    if config.k_min > config.k_max:
        raise ConfigError(
            f"cluster.k_min={config.k_min} should be <= cluster.k_max={config.k_max}",
            expected="k_min <= k_max",
            fix="raise k_max or lower k_min",
        )
    if config.stability_runs == 1:
        raise ConfigError(
            "cluster.stability_runs=1",
            expected="0 (off) or at least 2 runs to compare",
            fix="set cluster.stability_runs to 0 or to 2 or more",
        )


def _find(model: Any, kind: type) -> Any:
    while model is not None:
        if isinstance(model, kind):
            return model
        model = getattr(model, "clusterer", None)
    return None
