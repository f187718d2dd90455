"""interestlens: user interest clusters and recommendations from what users and items say.

The stages, one module or package each, each importing only those before it: ``data``
(readers into the canonical model), ``text`` (texts from columns), ``embed`` (encoders and the
embedding cache), ``represent`` (user interest vectors), ``cluster``, ``explain``, ``recommend``;
:class:`InterestLens` runs them in order and :class:`RecommendationEngine` answers with the
fitted model in external ids (docs/architecture.md). Test doubles of every stage are in
:mod:`interestlens.testing`.
"""

from interestlens.config import Settings, load_settings
from interestlens.data import Dataset, IdMap, load_amazon, load_dataset, load_movielens
from interestlens.data.synthetic import make_demo_dataset
from interestlens.engine import Recommendation, RecommendationEngine
from interestlens.errors import InterestLensError
from interestlens.pipeline import InterestLens

__version__ = "0.1.0"

__all__ = [
    "Dataset",
    "IdMap",
    "InterestLens",
    "InterestLensError",
    "Recommendation",
    "RecommendationEngine",
    "Settings",
    "__version__",
    "load_amazon",
    "load_dataset",
    "load_movielens",
    "load_settings",
    "make_demo_dataset",
]
