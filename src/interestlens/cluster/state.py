"""Saving and restoring fitted clusterers without pickle.

A :class:`~interestlens.cluster.base.ClustererState` tree is written as one JSON file (kinds,
settings, nested children) plus one ``.npy`` per array, named by its path in the tree
(``model.clusterer.cluster_centers.npy``). :func:`clusterer_from_state` rebuilds the clusterer:
k-means and agglomerative from their centres, Gaussian mixtures from weights, means,
covariances and precision factors, density methods from their exemplars, PCA from its mean and
components. A UMAP-reduced model cannot be rebuilt exactly (see
:mod:`interestlens.cluster.reduce`); it comes back as a nearest-centroid clusterer on its
input-space centroids.
"""

from __future__ import annotations

import re
from pathlib import Path
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
from interestlens.persist import read_json, read_npy, write_json, write_npy

STATE_FORMAT = 1

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


def save_state(state: ClustererState, directory: str | Path, *, prefix: str = "model") -> Path:
    """Write ``state`` as ``<prefix>.json`` plus ``<prefix>.<path>.npy`` files in ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tree = _to_tree(state, prefix, directory)
    write_json(directory / f"{prefix}.json", {"format": STATE_FORMAT, "state": tree})
    return directory / f"{prefix}.json"


def load_state(directory: str | Path, *, prefix: str = "model") -> ClustererState:
    directory = Path(directory)
    document = read_json(directory / f"{prefix}.json")
    if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
        raise ModelFormatError(
            f"{directory / f'{prefix}.json'} has format {_format_of(document)!r}",
            expected=f"a clusterer state of format {STATE_FORMAT}",
            fix="fit and save the model again with this version of interestlens",
        )
    return _from_tree(document["state"], directory)


def _to_tree(state: ClustererState, path: str, directory: Path) -> dict[str, Any]:
    arrays = {}
    for name, array in state.arrays.items():
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ValueError(f"array name {name!r} is not a plain identifier")
        file_name = f"{path}.{name}.npy"
        write_npy(directory / file_name, np.asarray(array))
        arrays[name] = file_name
    return {
        "kind": state.kind,
        "params": state.params,
        "arrays": arrays,
        "children": {
            name: _to_tree(child, f"{path}.{name}", directory)
            for name, child in state.children.items()
        },
    }


def _from_tree(tree: dict[str, Any], directory: Path) -> ClustererState:
    try:
        return ClustererState(
            kind=tree["kind"],
            params=tree["params"],
            arrays={
                name: read_npy(directory / file, finite=False)
                for name, file in tree["arrays"].items()
            },
            children={
                name: _from_tree(child, directory) for name, child in tree["children"].items()
            },
        )
    except (KeyError, TypeError) as error:
        raise ModelFormatError(
            f"the clusterer state in {directory} lacks an entry ({error!r})",
            expected="kind, params, arrays and children at every level",
            fix="fit and save the model again",
        ) from None


def _child(state: ClustererState, name: str) -> ClustererState:
    if name not in state.children:
        raise ModelFormatError(
            f"saved {state.kind!r} clusterer has no {name!r} part",
            expected=f"a {name!r} child state",
            fix="fit and save the model again",
        )
    return state.children[name]


def _format_of(document: Any) -> Any:
    return document.get("format") if isinstance(document, dict) else type(document).__name__
