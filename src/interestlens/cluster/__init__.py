"""Cluster stage: user interest vectors (float32 ``(n, d)``) in, interest clusters out.

Entry points: :func:`fit_clustering` (config or clusterer in, :class:`ClusteringResult` out,
with k selection, stability, metrics and timings), :func:`make_clusterer` and
:func:`cluster_interests` (users' :class:`InterestClusters`: placement, confidence, map).
Every clusterer follows the :class:`Clusterer` protocol; :class:`NearestCentroidClusterer` is
the test double.
"""

from interestlens.cluster.auto import AutoKClusterer
from interestlens.cluster.base import (
    NOISE,
    Clusterer,
    ClustererState,
    NearestCentroidClusterer,
    SoftClusterer,
)
from interestlens.cluster.density import DBSCANClusterer, HDBSCANClusterer
from interestlens.cluster.factory import (
    effective_reduce,
    fit_clustering,
    make_clusterer,
    make_estimator,
    unfitted_copy,
)
from interestlens.cluster.hierarchical import AgglomerativeClusterer
from interestlens.cluster.interest_clusters import (
    InterestClusters,
    cluster_confidence,
    cluster_interests,
)
from interestlens.cluster.kmeans import KMeansClusterer, MiniBatchKMeansClusterer
from interestlens.cluster.metrics import clustering_metrics, pairwise_scores, purity
from interestlens.cluster.mixture import GaussianMixtureClusterer
from interestlens.cluster.multi_interest import (
    Interest,
    interest_membership,
    split_interests_by_user,
    split_user_interests,
)
from interestlens.cluster.params import clone
from interestlens.cluster.reduce import PCAReducer, ReducedClusterer, UMAPReducer
from interestlens.cluster.result import ClusteringResult
from interestlens.cluster.select_k import RULE, KSelection, choose_k, internal_scores, scan_k
from interestlens.cluster.stability import StabilityReport, stability
from interestlens.cluster.state import clusterer_from_state, load_state, save_state

__all__ = [
    "NOISE",
    "RULE",
    "AgglomerativeClusterer",
    "AutoKClusterer",
    "Clusterer",
    "ClustererState",
    "ClusteringResult",
    "DBSCANClusterer",
    "GaussianMixtureClusterer",
    "HDBSCANClusterer",
    "Interest",
    "InterestClusters",
    "KMeansClusterer",
    "KSelection",
    "MiniBatchKMeansClusterer",
    "NearestCentroidClusterer",
    "PCAReducer",
    "ReducedClusterer",
    "SoftClusterer",
    "StabilityReport",
    "UMAPReducer",
    "choose_k",
    "clone",
    "cluster_confidence",
    "cluster_interests",
    "clusterer_from_state",
    "clustering_metrics",
    "effective_reduce",
    "fit_clustering",
    "interest_membership",
    "internal_scores",
    "load_state",
    "make_clusterer",
    "make_estimator",
    "pairwise_scores",
    "purity",
    "save_state",
    "scan_k",
    "split_interests_by_user",
    "split_user_interests",
    "stability",
    "unfitted_copy",
]
