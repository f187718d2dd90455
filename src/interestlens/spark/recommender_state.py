"""The recommender a Spark-fitted model directory holds, assembled from Spark's results.

The single-machine :class:`InterestRecommender` fits EASE (an items × items inverse: not at 10 M
items), PureSVD and a validation-tuned blend on one machine. The Spark model keeps the same
saved format and scoring code, with parts that come from the executors:

* ``factors``: MLlib ALS item factors (instead of PureSVD); items without interactions get
  factors from their text by the single-machine cold-item mapping (catalogue-sized);
* ``affinity``: the Spark clusters; their item shares come from the (cluster, item)
  aggregation with at least ``spark.min_group_size`` members; centroids in the recommender's
  interest space are the mean of a seeded sample of users;
* ``semantic``/``lexical``: the item text space (item vectors from Spark, TF-IDF on the
  catalogue), ``popularity``, ``trend`` as usual;
* no ``collaborative`` (EASE) component, no tuning: the weights are :data:`SPARK_WEIGHTS`
  (the defaults, with ALS factors as the anchor). Users' own texts are not stored per user:
  a known user without history is scored from their text at request time.

This sets the fitted attributes of a new recommender from outside (its parts come from Spark,
not from ``fit``; left so in issue 10) and then saves it with its own :meth:`save`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from interestlens.config import Settings
from interestlens.embed.base import Encoder, l2_normalise
from interestlens.embed.memo import MemoEncoder
from interestlens.recommend.interest import COLD_ITEMS, REGIMES, InterestRecommender
from interestlens.recommend.interest.cluster_affinity import ClusterAffinity
from interestlens.recommend.interest.coldstart import fit_cold_item_mapping
from interestlens.recommend.interest.components import InterestCore, Query
from interestlens.recommend.interest.history import aligned_times, rating_weights
from interestlens.recommend.interest.reasons import item_names
from interestlens.recommend.interest.settings import DEFAULT_WEIGHTS, check_settings
from interestlens.recommend.interest.text_space import TextSpace

#: every regime's default weights without EASE; ALS factors anchor the user regimes
SPARK_WEIGHTS: dict[str, dict[str, float]] = {
    regime: {
        **DEFAULT_WEIGHTS[regime],
        "collaborative": 0.0,
        **({} if regime == COLD_ITEMS else {"factors": 1.0}),
    }
    for regime in REGIMES
}


def build_recommender(
    *,
    settings: Settings,
    encoder: Encoder,
    values: sp.csr_matrix,
    times: sp.csr_matrix | None,
    item_texts: list[str],
    item_vectors: np.ndarray,
    item_factors: np.ndarray,
    user_labels: np.ndarray,
    k: int,
    cluster_weights: sp.csr_matrix,
) -> InterestRecommender:
    """``values``/``times``: the users × items history (as ``history_matrices`` builds it);
    ``cluster_weights``: (k, n_items) rating-weighted interactions per cluster (suppressed
    pairs absent)."""
    config = settings.recommend
    memo = MemoEncoder(encoder, size=None)
    filled = [i for i, text in enumerate(item_texts) if text.strip()]
    memo.remember([item_texts[i] for i in filled], item_vectors[filled])
    model = InterestRecommender(
        memo,
        weights=SPARK_WEIGHTS,
        tune=False,
        n_clusters=(k,),
        ease_l2=config.ease_l2,
        ease_neighbours=config.ease_neighbours or None,
        n_factors=item_factors.shape[1],
        rating_power=config.rating_power,
        mmr_lambda=config.mmr_lambda,
        random_state=settings.seed,
    )
    core_settings = check_settings(model)
    n_users, n_items = values.shape
    model.interactions_ = values
    model.n_users_, model.n_items_ = n_users, n_items
    model.max_value_ = float(values.data.max()) if values.nnz else 1.0
    model.times_ = aligned_times(values, times)
    model.weighted_ = rating_weights(values, model.max_value_, model.rating_power)
    model.text_ = None
    if any(text.strip() for text in item_texts):
        model.text_ = TextSpace(memo, random_state=settings.seed).fit(item_texts)
    model.item_names_ = item_names(item_texts, n_items)
    model.user_text_ = None
    # the pipeline's clusters score the affinity component, as fit does when given them
    model.user_clusters_ = np.asarray(user_labels, dtype=np.int64)
    model.user_attributes_ = None
    model.weights_ = {regime: dict(w) for regime, w in SPARK_WEIGHTS.items()}
    model.n_clusters_ = k
    model.half_life_ = None
    model.tuning_ = {
        regime: {"skipped": "Spark engine: default weights, ALS factors as the anchor"}
        for regime in REGIMES
    }
    model.core_ = _core(model, core_settings, item_factors, user_labels, k, cluster_weights)
    model.clusters_ = model.core_.clusters[k]
    model.cluster_labels_ = model.clusters_.labels
    return model.set_encoder(encoder)


def _core(model, settings, item_factors, user_labels, k, cluster_weights) -> InterestCore:  # type: ignore[no-untyped-def]
    core = InterestCore(settings, model.text_, model.user_clusters_, None)
    core.attributes = None
    binary = sp.csr_matrix(model.weighted_ > 0, dtype=np.float32)
    counts = np.asarray(binary.sum(axis=0)).ravel()
    core.warm = counts > 0
    core.cold_items = np.flatnonzero(~core.warm)
    core.popularity = np.log1p(counts).astype(np.float32)
    core.ease = None
    core.factors = np.ascontiguousarray(item_factors, dtype=np.float32)
    core.cold_mapping = None
    if model.text_ is not None and core.warm.any():
        core.cold_mapping = fit_cold_item_mapping(
            model.text_.joint_,
            model.text_.richness_,
            core.warm,
            core.factors,
            core.popularity,
            n_neighbours=settings.text_neighbours,
        )
        core.factors[core.cold_items] = core.cold_mapping.factors
        core.popularity[core.cold_items] = core.cold_mapping.log_popularity
    core.fit_trend(binary, model.times_)
    affinity = _affinity(core, model, user_labels, k, cluster_weights, settings.cluster_shrinkage)
    lift = affinity.lift
    if core.cold_mapping is not None:
        lift[:, core.cold_items] = lift @ core.cold_mapping.neighbours
    core.clusters = {k: affinity}
    core.lifts = {k: lift}
    return core


def _affinity(core, model, user_labels, k, cluster_weights, shrinkage) -> ClusterAffinity:  # type: ignore[no-untyped-def]
    counts = np.asarray(cluster_weights.todense(), dtype=np.float64)
    total = counts.sum()
    floor = 0.1 / max(total, 1.0)
    global_share = counts.sum(axis=0) / max(total, 1e-12)
    cluster_total = counts.sum(axis=1, keepdims=True)
    share = (counts + shrinkage * global_share[None, :]) / (cluster_total + shrinkage + 1e-12)
    centroids = _sample_centroids(core, model, user_labels, k)
    labels = np.asarray(user_labels, dtype=np.int64)
    return ClusterAffinity(
        centroids=centroids,
        labels=labels,
        log_share=np.log(share + floor).astype(np.float32),
        log_global=np.log(global_share + floor).astype(np.float32),
        sizes=np.bincount(labels[labels >= 0], minlength=k),
        log_floor=float(np.float32(np.log(floor))),
    )


def _sample_centroids(core, model, user_labels, k, sample_size: int = 20_000) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Cluster centres in the recommender's interest space (semantic + factor profile), from a
    seeded sample of the users with a history."""
    rng = np.random.default_rng(model.random_state)
    with_history = np.flatnonzero((np.diff(model.weighted_.indptr) > 0) & (user_labels >= 0))
    if len(with_history) > sample_size:
        with_history = np.sort(rng.choice(with_history, sample_size, replace=False))
    dimension = (
        model.text_.dense_.shape[1] if model.text_ is not None else 1
    ) + core.factors.shape[1]
    centroids = np.zeros((k, dimension), dtype=np.float32)
    if len(with_history):
        vectors = core.interest_vectors(Query(model.weighted_[with_history]))
        np.add.at(centroids, user_labels[with_history], vectors)
    return l2_normalise(centroids)


def save_recommender(model: InterestRecommender, directory: Path) -> Path:
    return model.save(directory)
