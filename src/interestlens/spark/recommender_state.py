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

The recommender takes these parts through :meth:`InterestRecommender.fit_with_factors` and is
saved like any other (:func:`interestlens.model_dir.write_recommender`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from interestlens.config import Settings
from interestlens.embed.base import Encoder
from interestlens.embed.memo import MemoEncoder
from interestlens.recommend.interest import COLD_ITEMS, REGIMES, InterestRecommender
from interestlens.recommend.interest.settings import DEFAULT_WEIGHTS

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
        cosine_neighbours=config.cosine_neighbours,
        n_factors=item_factors.shape[1],
        rating_power=config.rating_power,
        mmr_lambda=config.mmr_lambda,
        random_state=settings.seed,
    )
    model.fit_with_factors(
        values,
        item_factors=item_factors,
        user_clusters=user_labels,
        cluster_weights=cluster_weights,
        item_texts=item_texts,
        timestamps=times,
        note="Spark engine: default weights, ALS factors as the anchor",
    )
    return model.set_encoder(encoder)
