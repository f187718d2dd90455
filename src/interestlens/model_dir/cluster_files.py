"""The clustering's files in a model directory: the fitted clusterer's state, the
:class:`ClusteringResult` (``clustering/``), the explanations and the per-user arrays of the
:class:`InterestClusters`.

``clustering/`` holds::

    result.json                  everything but the arrays (method, k, scores, stability, ...)
    labels.npy                   int64 (n,)
    centroids.npy                float32 (k, d), input space
    probabilities.npy            float32 (n, k), soft methods only
    model.json, model.*.npy      the fitted clusterer: its state tree as one JSON file plus one
                                 ``.npy`` per array, named by its path in the tree
                                 (``model.clusterer.cluster_centers.npy``)

The components only give and take their state (``state()``/``from_state``, ``get_state()``,
:func:`interestlens.cluster.clusterer_from_state`); everything here is written atomically and
read with ``allow_pickle=False``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from interestlens.cluster import ClusteringResult, clusterer_from_state
from interestlens.cluster.base import ClustererState
from interestlens.cluster.interest_clusters import (
    OPTIONAL_ARRAYS,
    REQUIRED_ARRAYS,
    InterestClusters,
)
from interestlens.cluster.result import ARRAYS as RESULT_ARRAYS
from interestlens.errors import InterestLensError, ModelFormatError
from interestlens.explain import ClusterExplanation
from interestlens.persist import read_json, read_npy, write_json, write_npy

CLUSTERER_STATE_FORMAT = 1


# --- the fitted clusterer --------------------------------------------------------------------


def write_clusterer_state(
    directory: str | Path, state: ClustererState, *, prefix: str = "model"
) -> Path:
    """Write ``state`` as ``<prefix>.json`` plus ``<prefix>.<path>.npy`` files in ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tree = _to_tree(state, prefix, directory)
    write_json(directory / f"{prefix}.json", {"format": CLUSTERER_STATE_FORMAT, "state": tree})
    return directory / f"{prefix}.json"


def read_clusterer_state(directory: str | Path, *, prefix: str = "model") -> ClustererState:
    """The state :func:`write_clusterer_state` wrote (arrays read with ``allow_pickle=False``;
    :func:`interestlens.cluster.clusterer_from_state` rebuilds the clusterer)."""
    directory = Path(directory)
    document = read_json(directory / f"{prefix}.json")
    if not isinstance(document, dict) or document.get("format") != CLUSTERER_STATE_FORMAT:
        raise ModelFormatError(
            f"{directory / f'{prefix}.json'} has format {_format_of(document)!r}",
            expected=f"a clusterer state of format {CLUSTERER_STATE_FORMAT}",
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


def _format_of(document: Any) -> Any:
    return document.get("format") if isinstance(document, dict) else type(document).__name__


# --- the clustering result -------------------------------------------------------------------


def write_clustering(directory: str | Path, result: ClusteringResult) -> Path:
    """``result`` (and its clusterer, when it has one) as the directory ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta, arrays = result.state()
    for name in RESULT_ARRAYS:
        if name in arrays:
            write_npy(directory / f"{name}.npy", arrays[name])
        else:
            (directory / f"{name}.npy").unlink(missing_ok=True)
    if result.clusterer is not None:
        write_clusterer_state(directory, result.clusterer.get_state(), prefix="model")
    # Written last: its presence marks a complete save.
    write_json(directory / "result.json", meta)
    return directory


def read_clustering(directory: str | Path) -> ClusteringResult:
    """The result :func:`write_clustering` wrote, with a clusterer that ``predict`` s."""
    directory = Path(directory)
    meta = read_json(directory / "result.json")
    arrays: dict[str, np.ndarray | None] = {}
    for name in RESULT_ARRAYS:
        path = directory / f"{name}.npy"
        present = path.exists() or name != "probabilities"
        arrays[name] = read_npy(path, allow_nan=True) if present else None
    # a foreign or damaged result.json fails here, before the clusterer's files are read
    result = ClusteringResult.from_state(meta, arrays)
    if (directory / "model.json").exists():
        clusterer = clusterer_from_state(read_clusterer_state(directory, prefix="model"))
        result = dataclasses.replace(result, clusterer=clusterer)
    return result


# --- the explanations ------------------------------------------------------------------------


def write_explanations(path: str | Path, explanations: Sequence[ClusterExplanation]) -> Path:
    """Explanations as one JSON list (atomically)."""
    return write_json(path, [explanation.to_dict() for explanation in explanations])


def read_explanations(path: str | Path) -> list[ClusterExplanation]:
    data = read_json(path)
    if not isinstance(data, list):
        raise ModelFormatError(
            f"{path} holds a JSON {type(data).__name__}",
            expected="a JSON list of cluster explanations",
            fix="write the file with interestlens.model_dir.write_explanations",
        )
    return [ClusterExplanation.from_dict(row) for row in data]


# --- the interest clusters -------------------------------------------------------------------


def write_interest_clusters(directory: Path, clusters: InterestClusters) -> None:
    """The clustering (``clustering/``), the per-user arrays, the explanations and the
    summary of ``clusters`` in the model directory ``directory``."""
    write_clustering(directory / "clustering", clusters.result)
    meta, arrays = clusters.state()
    for name in (*REQUIRED_ARRAYS, *OPTIONAL_ARRAYS):
        if name in arrays:
            write_npy(directory / f"{name}.npy", arrays[name])
    write_explanations(directory / "explanations.json", clusters.explanations)
    if meta.get("lineage") is not None:
        write_json(directory / "cluster_lineage.json", meta["lineage"])
    write_json(
        directory / "clusters_summary.json",
        {"unclustered": meta["unclustered"], "truth_metrics": meta["truth_metrics"]},
    )


def read_interest_clusters(directory: Path) -> InterestClusters | None:
    """The :class:`InterestClusters` :func:`write_interest_clusters` wrote in ``directory``;
    None where it holds no clustering."""
    if not (directory / "clustering" / "result.json").exists():
        return None
    summary = read_json(directory / "clusters_summary.json")
    try:
        result = read_clustering(directory / "clustering")
    except (TypeError, KeyError, ValueError, IndexError) as exc:
        if isinstance(exc, InterestLensError):
            raise
        # the saved state does not match this version's clusterers
        raise ModelFormatError(
            f"{directory / 'clustering'} cannot be restored ({type(exc).__name__}: {exc})",
            expected="a clustering saved by this version of interestlens",
            fix="fit the model again with this version",
        ) from exc
    # NaN: users without any signal have no place on the map, nor a confidence
    arrays = {
        name: read_npy(directory / f"{name}.npy", allow_nan=name != "user_clusters")
        for name in (*REQUIRED_ARRAYS, *OPTIONAL_ARRAYS)
        if name in REQUIRED_ARRAYS or (directory / f"{name}.npy").exists()
    }
    lineage_path = directory / "cluster_lineage.json"
    meta = {
        "unclustered": summary.get("unclustered", 0),
        "truth_metrics": summary.get("truth_metrics"),
        "lineage": read_json(lineage_path) if lineage_path.exists() else None,
    }
    return InterestClusters.from_state(
        meta,
        arrays,
        result=result,
        explanations=read_explanations(directory / "explanations.json"),
    )
