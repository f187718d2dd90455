"""Restoring fitted clusterers from their state, without pickle.

A :class:`~interestlens.cluster.base.ClustererState` tree (kinds, settings, arrays, nested
children) is written and read by :mod:`interestlens.model_dir` (one JSON file plus one ``.npy``
per array). :func:`clusterer_from_state` rebuilds the clusterer:
k-means and agglomerative from their centres, Gaussian mixtures from weights, means,
covariances and precision factors, density methods from their exemplars, PCA from its mean and
components. A UMAP-reduced model cannot be rebuilt exactly (see
:mod:`interestlens.cluster.reduce`); it comes back as a nearest-centroid clusterer on its
input-space centroids.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from interestlens.cluster.auto import AutoKClusterer
from interestlens.cluster.base import ClustererState, NearestCentroidClusterer
from interestlens.cluster.density import DBSCANClusterer, HDBSCANClusterer
from interestlens.cluster.hierarchical import AgglomerativeClusterer
from interestlens.cluster.kmeans import KMeansClusterer, MiniBatchKMeansClusterer
from interestlens.cluster.mixture import GaussianMixtureClusterer
from interestlens.cluster.reduce import PCAReducer, ReducedClusterer
from interestlens.errors import ModelFormatError

_LEAF_KINDS: dict[str, Any] = {
    cls.kind: cls
    for cls in (
        KMeansClusterer,
        MiniBatchKMeansClusterer,
        AgglomerativeClusterer,
        GaussianMixtureClusterer,
        HDBSCANClusterer,
        DBSCANClusterer,
    )
}
_LEAF_KINDS["nearest-centroid"] = NearestCentroidClusterer


def clusterer_from_state(state: ClustererState) -> Any:
    """Rebuild a fitted clusterer from its state (see the module docstring)."""
    if state.kind in _LEAF_KINDS:
        return _LEAF_KINDS[state.kind].from_state(state)
    if state.kind == "auto-k":
        chosen = clusterer_from_state(_child(state, "chosen"))
        return AutoKClusterer.from_chosen(chosen, state.params)
    if state.kind == "reduced":
        reducer_state = _child(state, "reducer")
        inner = clusterer_from_state(_child(state, "clusterer"))
        if reducer_state.kind != "pca":
            # Only a linear reducer can be saved without pickle; fall back to the centroids.
            return NearestCentroidClusterer.from_state(
                ClustererState(
                    kind="nearest-centroid",
                    params={"metric": "cosine"},
                    arrays={
                        "centroids": state.arrays["centroids"],
                        "labels": state.arrays["labels"],
                    },
                )
            )
        model = ReducedClusterer(PCAReducer.from_state(reducer_state), inner)
        model.labels_ = np.asarray(state.arrays["labels"], dtype=np.int64)
        model.n_clusters_ = inner.n_clusters_
        model.n_features_in_ = int(state.params["n_features_in_"])
        model.centroids_ = np.asarray(state.arrays["centroids"], dtype=np.float32)
        for name in ("noise_share_", "probabilities_"):
            if hasattr(inner, name):
                setattr(model, name, getattr(inner, name))
        return model
    raise ModelFormatError(
        f"unknown clusterer kind {state.kind!r} in the saved state",
        expected=f"one of {sorted([*_LEAF_KINDS, 'auto-k', 'reduced'])}",
        fix="save the model again with this version of interestlens",
    )


def _child(state: ClustererState, name: str) -> ClustererState:
    if name not in state.children:
        raise ModelFormatError(
            f"saved {state.kind!r} clusterer has no {name!r} part",
            expected=f"a {name!r} child state",
            fix="fit and save the model again",
        )
    return state.children[name]
