"""Recommendations by external id: the layer the CLI's ``recommend`` and the HTTP service share.

:class:`RecommendationEngine` wraps a fitted :class:`~interestlens.pipeline.InterestLens` (its
interest clusters, explanations and :class:`~interestlens.recommend.InterestRecommender`) and
answers in ids, with a cluster and a reason per recommended item:

* known users: the recommender's warm scores (users known only from their text are scored from
  it, as new users would be); each user's best ``recommend.cache_k`` items are kept after the
  first request (or :meth:`~RecommendationEngine.precompute`), so later requests only slice;
* new people: text and/or a few item ids, scored as cold users;
* online changes, in memory: events (a known user's history grows, an unknown user id becomes a
  user), new items (embedded and recommendable at once), forgetting a user. The HTTP service
  makes them durable and replays them when it starts or reloads.

The ``cluster`` of a recommendation is the user's interest cluster from ``interestlens
clusters`` (the labelled, explained one); the reason names it when the item is over-represented
there, and the rated item that does most for the recommended one (worded by
:func:`interestlens.recommend.interest.reasons.reason_texts`, as the recommender's own
``explain``).

The engine is composed (see :mod:`interestlens.engine.recommendation_engine`): a catalogue,
histories, cluster assignments, a placer, a ranker, a reason writer, a bulk ranker and an
online updater, each owning its state.
"""

from interestlens.engine.online_updates import accepted_ratings
from interestlens.engine.ranker import PRECOMPUTE_BATCH
from interestlens.engine.reason_writer import REASON_SHRINKAGE
from interestlens.engine.recommendation_engine import RecommendationEngine
from interestlens.engine.records import ClusterSummary, Recommendation, UserCluster
from interestlens.recommend.interest.reasons import REASON_LIFT

__all__ = [
    "PRECOMPUTE_BATCH",
    "REASON_LIFT",
    "REASON_SHRINKAGE",
    "ClusterSummary",
    "Recommendation",
    "RecommendationEngine",
    "UserCluster",
    "accepted_ratings",
]
