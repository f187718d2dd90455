"""Recommenders in index space: a shared contract, baselines and a test double.

Every model follows :class:`Recommender`: ``fit(csr_matrix, item_texts=, user_texts=)``,
``score(user_indices)``, ``recommend(user_indices, k, exclude_seen=, candidates=)`` and
``score_new(history, texts)`` for users unknown at fit time.
"""

from interestlens.recommend.als import ALS
from interestlens.recommend.attribute_popularity import AttributePopularity
from interestlens.recommend.base import (
    HISTORY,
    TEXT,
    BaseRecommender,
    Recommender,
    as_interaction_matrix,
    top_k,
)
from interestlens.recommend.content import ContentKNN
from interestlens.recommend.ease import EASE, LambdaSearch
from interestlens.recommend.interest import InterestRecommender
from interestlens.recommend.itemknn import ItemKNN
from interestlens.recommend.matrix import WEIGHTINGS, interaction_matrix
from interestlens.recommend.popularity import MostPop, RandomScores
from interestlens.recommend.testing import FixedScores

__all__ = [
    "ALS",
    "EASE",
    "HISTORY",
    "TEXT",
    "WEIGHTINGS",
    "AttributePopularity",
    "BaseRecommender",
    "ContentKNN",
    "FixedScores",
    "InterestRecommender",
    "ItemKNN",
    "LambdaSearch",
    "MostPop",
    "RandomScores",
    "Recommender",
    "as_interaction_matrix",
    "interaction_matrix",
    "top_k",
]
