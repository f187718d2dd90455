"""The interest-cluster recommender (:class:`InterestRecommender`) and its parts.

Modules: ``model`` (the recommender), ``core`` (fitted state and component scores),
``clusters`` (interest clusters and their item lifts), ``text`` (dense and lexical text
vectors), ``coldstart`` (text-to-behaviour mappings for cold items), ``history`` (ratings,
recency), ``blend`` (normalisation, blend, weight search, MMR), ``tuning`` and ``search``
(validation carved from training data, and the search on it), ``reasons`` (``explain``),
``settings`` (defaults and checks), ``persist`` (save and load, no pickle), ``online``
(``add_items``, ``score_histories``, ``most_similar_item``).
"""

from interestlens.recommend.interest.core import COMPONENTS, REFERENCES
from interestlens.recommend.interest.model import InterestRecommender
from interestlens.recommend.interest.settings import ANCHORS, DEFAULT_WEIGHTS, REGIME_REFERENCES
from interestlens.recommend.interest.tuning import (
    COLD_ITEMS,
    COLD_TEXT,
    COLD_USERS,
    PROTOCOLS,
    REGIMES,
    WARM,
)

__all__ = [
    "ANCHORS",
    "COLD_ITEMS",
    "COLD_TEXT",
    "COLD_USERS",
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "PROTOCOLS",
    "REFERENCES",
    "REGIMES",
    "REGIME_REFERENCES",
    "WARM",
    "InterestRecommender",
]
