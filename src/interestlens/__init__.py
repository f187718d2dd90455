"""interestlens: user interest clusters and recommendations from what users and items say.

The stages, one module or package each: ``data`` (readers into the canonical model), ``text``
(texts from columns), ``embed`` (encoders and the embedding cache), ``represent`` (user interest
vectors), ``cluster``, ``explain``, ``report``; ``pipeline.InterestLens`` runs them in order.
"""

from interestlens.config import Settings, load_settings
from interestlens.data import Dataset, IdMap, load_amazon, load_dataset, load_movielens
from interestlens.data.synthetic import make_demo_dataset
from interestlens.errors import InterestLensError
from interestlens.pipeline import InterestLens

__version__ = "0.1.0"

__all__ = [
    "Dataset",
    "IdMap",
    "InterestLens",
    "InterestLensError",
    "Settings",
    "__version__",
    "load_amazon",
    "load_dataset",
    "load_movielens",
    "load_settings",
    "make_demo_dataset",
]
