"""Settings of :class:`InterestRecommender`: defaults, checks and candidate lists."""

from __future__ import annotations

from typing import Any

import numpy as np

from interestlens.errors import ParameterError
from interestlens.recommend.interest.components import COMPONENTS, REFERENCES, CoreSettings
from interestlens.recommend.interest.tuning import (
    COLD_ITEMS,
    COLD_TEXT,
    COLD_USERS,
    PROTOCOLS,
    REGIMES,
    WARM,
)

#: blend weights where a regime is neither tuned nor given: rounded from the weights chosen on
#: validation by benchmarks/recommend_benchmark.py (MovieLens, Amazon; results/recommend.md)
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    WARM: {
        "collaborative": 1.0,
        "factors": 0.5,
        "affinity": 0.5,
        "semantic": 0.3,
        "lexical": 0.1,
        "popularity": 0.1,
        "trend": 0.1,
    },
    COLD_USERS: {
        "collaborative": 1.0,
        "factors": 0.1,
        "affinity": 0.2,
        "semantic": 0.2,
        "lexical": 0.3,
        "popularity": 1.0,
        "trend": 0.5,
    },
    COLD_ITEMS: {
        "collaborative": 1.0,
        "factors": 1.0,
        "affinity": 0.3,
        "semantic": 0.5,
        "lexical": 0.5,
        "popularity": 1.0,
        "trend": 0.0,
    },
}
# text-only new users: until tuned on this data's text-only users, as the new users with
# history (their text becomes a pseudo-history)
DEFAULT_WEIGHTS[COLD_TEXT] = dict(DEFAULT_WEIGHTS[COLD_USERS])
#: below this many interactions (and always for cold items), ``validation_repeats=None``
#: averages 3 validation carves
SMALL_DATA = 50_000
#: the weight that stays at 1 while the others are searched
ANCHORS = {
    WARM: "collaborative",
    COLD_USERS: "collaborative",
    COLD_TEXT: "popularity",
    COLD_ITEMS: "popularity",
}
#: the plain baselines each regime's blend must beat on validation (else it falls back to the
#: best of them): EASE alone for known users; popularity, attribute popularity (with user
#: attributes) and EASE on the few interactions for new users; popularity, attribute popularity
#: and TF-IDF kNN on their words for text-only users; TF-IDF kNN for new items
REGIME_REFERENCES: dict[str, tuple[str, ...]] = {
    WARM: ("ease", "popularity"),
    COLD_USERS: ("ease", "popularity", "attribute_popularity", "content"),
    COLD_TEXT: ("popularity", "attribute_popularity", "content"),
    COLD_ITEMS: ("content",),
}


def check_settings(model: Any) -> CoreSettings:
    """Every setting checked (a :class:`ParameterError` names the first bad one)."""
    for name, low in (
        ("n_factors", 1),
        ("top_clusters", 1),
        ("text_neighbours", 1),
        ("pseudo_history", 1),
        ("mmr_pool", 1),
        ("max_validation_users", 1),
        ("ease_max_items", 0),
        ("cosine_neighbours", 1),
    ):
        value = getattr(model, name)
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ParameterError(
                f"{name}={value!r} should be an integer >= {low}",
                expected=f"a {'positive' if low else 'non-negative'} {name}",
                fix=f"keep the default {name}",
            )
    for name, value, ok, rule in (
        ("ease_l2", model.ease_l2, model.ease_l2 > 0, "> 0"),
        ("cluster_shrinkage", model.cluster_shrinkage, model.cluster_shrinkage >= 0, ">= 0"),
        (
            "membership_temperature",
            model.membership_temperature,
            model.membership_temperature > 0,
            "> 0",
        ),
        ("rating_power", model.rating_power, model.rating_power >= 0, ">= 0"),
        ("trend_window", model.trend_window, model.trend_window > 0, "> 0"),
        (
            "validation_repeats",
            model.validation_repeats,
            model.validation_repeats is None or model.validation_repeats >= 1,
            ">= 1 or None",
        ),
        ("text_weight", model.text_weight, 0 <= model.text_weight <= 1, "in [0, 1]"),
        ("mmr_lambda", model.mmr_lambda, 0 <= model.mmr_lambda <= 1, "in [0, 1]"),
        (
            "validation_fraction",
            model.validation_fraction,
            0 < model.validation_fraction < 1,
            "in (0, 1)",
        ),
        (
            "cold_item_fraction",
            model.cold_item_fraction,
            0 < model.cold_item_fraction < 1,
            "in (0, 1)",
        ),
        ("cold_user_history", model.cold_user_history, model.cold_user_history >= 1, ">= 1"),
        ("reference_z", model.reference_z, model.reference_z >= 0, ">= 0"),
    ):
        if not ok:
            raise ParameterError(
                f"{name}={value} should be {rule}",
                expected=f"{name} {rule}",
                fix=f"keep the default {name}",
            )
    neighbours = model.ease_neighbours
    if neighbours is not None and (
        isinstance(neighbours, bool)
        or not isinstance(neighbours, int | np.integer)
        or neighbours < 0
    ):
        raise ParameterError(
            f"ease_neighbours={neighbours!r} should be None or an integer >= 0",
            expected="None or 0 (dense EASE) or how many weights to keep per item",
            fix="pass ease_neighbours=256, or None for the dense matrix",
        )
    if model.validation not in PROTOCOLS:
        raise ParameterError(
            f"validation={model.validation!r}",
            expected=f"one of {list(PROTOCOLS)}: 'temporal' tunes for the next interactions, "
            "'random' for missing ones",
            fix="pass validation='temporal' (the default) or validation='random'",
        )
    cluster_candidates(model)
    half_life_candidates(model)
    return CoreSettings(
        ease_l2=float(model.ease_l2),
        n_factors=int(model.n_factors),
        cluster_shrinkage=float(model.cluster_shrinkage),
        top_clusters=int(model.top_clusters),
        membership_temperature=float(model.membership_temperature),
        text_weight=float(model.text_weight),
        text_neighbours=int(model.text_neighbours),
        trend_window=float(model.trend_window),
        random_state=int(model.random_state),
        ease_neighbours=int(neighbours or 0),
        pseudo_history=int(model.pseudo_history),
        ease_max_items=int(model.ease_max_items),
        cosine_neighbours=int(model.cosine_neighbours),
    )


def cluster_candidates(model: Any) -> list[int]:
    values = [model.n_clusters] if np.isscalar(model.n_clusters) else list(model.n_clusters)
    if not values or any(
        isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1 for v in values
    ):
        raise ParameterError(
            f"n_clusters={model.n_clusters!r}",
            expected="a positive integer or a non-empty list of them (tuned on validation)",
            fix="pass n_clusters=16 or n_clusters=(8, 16, 32)",
        )
    return [int(v) for v in values]


def half_life_candidates(model: Any) -> list[float | None]:
    values = (
        [model.half_life]
        if model.half_life is None or np.isscalar(model.half_life)
        else list(model.half_life)
    )
    if not values or any(v is not None and not v > 0 for v in values):
        raise ParameterError(
            f"half_life={model.half_life!r}",
            expected="None (no recency weighting), a positive number of interactions, "
            "or a non-empty list of those (tuned on validation)",
            fix="pass half_life=10 or half_life=(None, 5, 10, 20)",
        )
    return values


def regimes_to_tune(model: Any) -> list[str]:
    if model.tune is True:
        wanted = list(REGIMES)
    elif model.tune is False:
        wanted = []
    elif isinstance(model.tune, str):
        wanted = [model.tune]
    else:
        wanted = list(model.tune)
    unknown = [regime for regime in wanted if regime not in REGIMES]
    if unknown:
        raise ParameterError(
            f"tune={model.tune!r} names unknown regimes {unknown}",
            expected=f"True, False or some of {list(REGIMES)}",
            fix="pass tune=True to tune every regime",
        )
    given = set(model.weights or {})
    if model.user_text_reveals_items:
        # users' texts are about the items they chose (reviews, tags): a text-only validation
        # would read its own targets
        given.add(COLD_TEXT)
    # weights given by the caller are used as they are
    return [regime for regime in REGIMES if regime in wanted and regime not in given]


def start_weights(model: Any, regime: str) -> dict[str, float]:
    given = (model.weights or {}).get(regime)
    if given is None and regime == COLD_TEXT:
        given = (model.weights or {}).get(COLD_USERS)
    names = list(dict.fromkeys([*COMPONENTS, *REFERENCES]))
    if given is None:
        return {name: DEFAULT_WEIGHTS[regime].get(name, 0.0) for name in names}
    unknown = [name for name in given if name not in names]
    if unknown:
        raise ParameterError(
            f"weights[{regime!r}] names unknown components {unknown}",
            expected=f"some of {names}",
            fix="drop the unknown names",
        )
    return {name: float(given.get(name, 0.0)) for name in names}
