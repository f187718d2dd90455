"""The outcome of :func:`interestlens.cluster.fit_clustering`, and its state.

:mod:`interestlens.model_dir` writes a result as a directory::

    result.json                  everything but the arrays (method, k, scores, stability, ...)
    labels.npy                   int64 (n,)
    centroids.npy                float32 (k, d), input space
    probabilities.npy            float32 (n, k), soft methods only
    model.json, model.*.npy      the fitted clusterer (interestlens.cluster.state)

Nothing is pickled; :func:`interestlens.model_dir.read_clustering` restores a clusterer that
``predict`` s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interestlens.errors import ModelFormatError, NotFittedError

RESULT_FORMAT = 1
ARRAYS = ("labels", "centroids", "probabilities")


@dataclass
class ClusteringResult:
    """Labels, centroids and every diagnostic of one clustering run.

    ``k_source`` says where ``n_clusters`` came from: ``"fixed"`` (config.k), ``"auto"`` (the
    k scan, scores in ``k_selection``) or ``"density"`` (found by HDBSCAN/DBSCAN).
    ``scores`` are internal scores of the final labels in the space the clusters were found in;
    ``metrics`` compare with known labels when those were given. ``timings`` are seconds.
    """

    method: str
    labels: np.ndarray
    centroids: np.ndarray
    n_clusters: int
    k_source: str
    probabilities: np.ndarray | None = None
    k_selection: dict[str, Any] | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    stability: dict[str, Any] | None = None
    noise_share: float | None = None
    metrics: dict[str, Any] | None = None
    reduce: str = "none"
    seed: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    clusterer: Any = field(default=None, repr=False, compare=False)

    @property
    def chosen_k(self) -> int:
        return self.n_clusters

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Nearest cluster of each new row (never -1), through the fitted or restored clusterer."""
        if self.clusterer is None:
            raise NotFittedError(
                "this ClusteringResult carries no clusterer",
                expected="a result from fit_clustering or model_dir.read_clustering",
                fix="load the result from its saved directory, which restores the clusterer",
            )
        return self.clusterer.predict(X)

    def to_dict(self, *, include_arrays: bool = True) -> dict[str, Any]:
        """JSON-ready; arrays become nested lists unless ``include_arrays=False``."""
        data: dict[str, Any] = {
            "format": RESULT_FORMAT,
            "method": self.method,
            "n_clusters": self.n_clusters,
            "k_source": self.k_source,
            "k_selection": self.k_selection,
            "scores": self.scores,
            "stability": self.stability,
            "noise_share": self.noise_share,
            "metrics": self.metrics,
            "reduce": self.reduce,
            "seed": self.seed,
            "config": self.config,
            "timings": self.timings,
            "n_samples": len(self.labels),
            "n_features": int(self.centroids.shape[1]),
        }
        if include_arrays:
            for name in ARRAYS:
                value = getattr(self, name)
                data[name] = None if value is None else value.tolist()
        return data

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], arrays: dict[str, np.ndarray | None] | None = None
    ) -> ClusteringResult:
        """Inverse of :meth:`to_dict`; ``arrays`` supplies arrays left out of ``data``."""
        if data.get("format") != RESULT_FORMAT:
            raise ModelFormatError(
                f"clustering result has format {data.get('format')!r}",
                expected=f"format {RESULT_FORMAT}",
                fix="fit the clustering again with this version of interestlens",
            )
        arrays = arrays or {}
        loaded: dict[str, np.ndarray | None] = {}
        for name, dtype in zip(ARRAYS, (np.int64, np.float32, np.float32), strict=True):
            value = arrays.get(name, data.get(name))
            loaded[name] = None if value is None else np.asarray(value, dtype=dtype)
        if loaded["labels"] is None or loaded["centroids"] is None:
            raise ModelFormatError(
                "clustering result has no labels or no centroids",
                expected="both arrays, inline or in labels.npy / centroids.npy",
                fix="fit the clustering again",
            )
        return cls(
            method=data["method"],
            labels=loaded["labels"],
            centroids=loaded["centroids"],
            probabilities=loaded["probabilities"],
            n_clusters=int(data["n_clusters"]),
            k_source=data["k_source"],
            k_selection=data.get("k_selection"),
            scores=data.get("scores") or {},
            stability=data.get("stability"),
            noise_share=data.get("noise_share"),
            metrics=data.get("metrics"),
            reduce=data.get("reduce", "none"),
            seed=int(data.get("seed", 0)),
            config=data.get("config") or {},
            timings=data.get("timings") or {},
        )

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """``(meta, arrays)``: :meth:`to_dict` without the arrays, and the arrays (labels,
        centroids, probabilities where the method has them). The clusterer's own state is
        ``clusterer.get_state()``; :mod:`interestlens.model_dir` writes both."""
        arrays = {name: getattr(self, name) for name in ARRAYS if getattr(self, name) is not None}
        return self.to_dict(include_arrays=False), arrays

    @classmethod
    def from_state(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray | None], clusterer: Any = None
    ) -> ClusteringResult:
        """The result :meth:`state` described, predicting through ``clusterer`` (rebuilt by
        :func:`interestlens.cluster.clusterer_from_state`) when one is given."""
        result = cls.from_dict(meta, {name: arrays.get(name) for name in ARRAYS})
        result.clusterer = clusterer
        return result
