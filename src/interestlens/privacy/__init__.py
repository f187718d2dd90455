"""Privacy by construction: pseudonymous artifacts, checkable forgetting, k-anonymous
statistics and differentially private cluster releases (see docs/privacy.md).

* :mod:`~interestlens.privacy.keys` — HMAC-SHA256 pseudonyms, the key check, datasets renamed;
* :mod:`~interestlens.privacy.kanon` — what clusters may be shown (small groups withheld);
* :mod:`~interestlens.privacy.dp` — noisy counts and clipped noisy sums, DP k-means;

The jobs that act on a saved model and its events store (``forget``, ``audit``,
``rotate-key``) live in :mod:`interestlens.privacy_jobs`, above the service they refit through.
"""

from interestlens.privacy.dp import (
    ClusterRelease,
    dp_kmeans,
    gaussian_sigma,
    public_basis,
    release_clusters,
    release_model_clusters,
)
from interestlens.privacy.kanon import (
    WITHHELD_LABEL,
    privacy_facts,
    shown_explanations,
    withheld_clusters,
)
from interestlens.privacy.keys import (
    PrivacyKeyError,
    Pseudonymizer,
    PseudonymousIdMap,
    manifest_record,
    model_pseudonymizer,
    pseudonymize_dataset,
    pseudonymizer_for,
)

__all__ = [
    "WITHHELD_LABEL",
    "ClusterRelease",
    "PrivacyKeyError",
    "Pseudonymizer",
    "PseudonymousIdMap",
    "dp_kmeans",
    "gaussian_sigma",
    "manifest_record",
    "model_pseudonymizer",
    "privacy_facts",
    "pseudonymize_dataset",
    "pseudonymizer_for",
    "public_basis",
    "release_clusters",
    "release_model_clusters",
    "shown_explanations",
    "withheld_clusters",
]
