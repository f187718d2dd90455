"""The models the evaluate job compares: the baselines and interestlens's recommender."""

from __future__ import annotations

from typing import Any

import scipy.sparse as sp

from interestlens.config import Settings
from interestlens.embed.base import Encoder
from interestlens.evaluate.job.constants import ATTRIBUTE_POP
from interestlens.recommend import ALS, EASE, ContentKNN, ItemKNN, MostPop
from interestlens.recommend.attribute_popularity import AttributePopularity
from interestlens.recommend.interest import InterestRecommender


def baseline_models(ease_l2: float, seed: int = 0) -> dict[str, Any]:
    """Unfitted baselines by name (:data:`BASELINES` order, then the attribute baseline),
    EASE with ``ease_l2``."""
    return {
        "MostPop": MostPop(),
        "ItemKNN": ItemKNN(n_neighbors=100),
        "EASE": EASE(l2=ease_l2),
        "ALS": ALS(factors=64, regularization=0.05, iterations=15, random_state=seed),
        "ContentKNN": ContentKNN(),
        ATTRIBUTE_POP: AttributePopularity(),
    }


def interest_model(
    settings: Settings,
    encoder: Encoder,
    regime: str | tuple[str, ...],
    times: sp.csr_matrix | None,
    *,
    chosen_by: InterestRecommender | None = None,
    protocol: str | None = None,
    texts_from_interactions: bool = False,
) -> InterestRecommender:
    """InterestRecommender as ``settings.recommend`` describes it; only ``regime`` is tuned
    (each split serves one regime, or several: the cold-user split serves the fold-in and the
    text-only users), on validation parts carved from its training matrix.
    ``chosen_by``: a model fitted on the same matrix whose chosen settings are reused (no
    second tuning). ``protocol``: the evaluation's hold-out protocol, which the model's
    validation follows (default ``settings.recommend.validation``).
    ``texts_from_interactions``: the users' texts are those of their interactions (reviews,
    tags), so a text-only validation would read its targets; ``user_text_reveals_items``
    then defaults to true, as ``fit`` does for such data."""
    config = settings.recommend
    params: dict[str, Any] = dict(
        tune=((regime,) if isinstance(regime, str) else regime) if config.tune else False,
        n_clusters=tuple(config.n_clusters),
        ease_l2=config.ease_l2,
        rating_power=config.rating_power,
        mmr_lambda=config.mmr_lambda,
        validation=config.validation,
        reference_z=config.reference_z,
        interaction_times=times,
        random_state=settings.seed,
    )
    params["ease_neighbours"] = config.ease_neighbours or None
    params["ease_max_items"] = config.ease_max_items
    params["cosine_neighbours"] = config.cosine_neighbours
    if protocol is not None:
        params["validation"] = protocol
    reveals = config.user_text_reveals_items
    params["user_text_reveals_items"] = texts_from_interactions if reveals is None else reveals
    if chosen_by is not None:
        params.update(
            tune=False,
            weights=chosen_by.weights_,
            n_clusters=chosen_by.n_clusters_,
            half_life=chosen_by.half_life_,
        )
    return InterestRecommender(encoder, **params)


def chosen_settings(model: InterestRecommender, regime: str) -> dict[str, Any]:
    """What a fitted ``model`` chose for ``regime`` (blend weights, clusters, half-life)."""
    tuning = model.tuning_.get(regime) or {}
    return {
        "regime": regime,
        "tuned": bool(tuning) and "skipped" not in tuning and "reused" not in tuning,
        "tuning_note": tuning.get("skipped") or (tuning["why"] if "reused" in tuning else ""),
        "weights": dict(model.weights_[regime]),
        "n_clusters": int(model.n_clusters_),
        "half_life": model.half_life_,
        "validation_ndcg@10": tuning.get("score"),
    }
