"""The interest-cluster recommender (:class:`InterestRecommender`) and its parts.

Modules: ``recommender`` (fitting, scoring, serving, ``state``/``from_state``), ``components``
(fitted state and component scores), ``cluster_affinity`` (interest clusters and their item
lifts), ``text_space`` (dense and lexical text vectors), ``coldstart`` (text-to-behaviour
mappings for cold items), ``collaborative`` (EASE or item cosine), ``history`` (ratings,
recency, histories given at query time), ``blend`` (normalisation, blend, weight search, MMR),
``tuning`` and ``search`` (validation carved from training data, and the search on it),
``reasons`` (``explain``), ``settings`` (defaults and checks), ``state_format`` (what
``state()`` holds) and ``storage`` (a state as files of a model directory, no pickle).
"""

from interestlens.recommend.interest.components import COMPONENTS, REFERENCES
from interestlens.recommend.interest.recommender import InterestRecommender
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
