"""A clusterer that picks its own k with :func:`interestlens.cluster.select_k.scan_k`."""

from __future__ import annotations

from typing import Any

import numpy as np

from interestlens.cluster.base import ClustererState, check_fitted, check_matrix
from interestlens.cluster.params import ParamsMixin, clone
from interestlens.cluster.select_k import SILHOUETTE_SAMPLE_SIZE, KSelection, scan_k

#: rows above which k is scanned on a sample (AutoKClusterer.scan_sample_size)
SCAN_SAMPLE_SIZE = 50_000


class AutoKClusterer(ParamsMixin):
    """Fits ``estimator`` (anything with an ``n_clusters`` setting) for each k in
    [k_min, k_max] and keeps the one :data:`~interestlens.cluster.select_k.RULE` chooses.

    After ``fit``: ``selection_`` (every score), ``chosen_`` (the fitted clusterer for the
    chosen k); ``labels_``, ``centroids_``, ``predict`` … are the chosen clusterer's.
    Agglomerative estimators build their tree once and cut it for each k.

    Above ``scan_sample_size`` rows the k are scanned on a seeded sample of that many rows and
    only the chosen k is fitted on every row: the scan fits k_max - k_min + 1 models, which on
    a million users took longer than everything else in ``fit``. None scans on every row.
    """

    kind = "auto-k"

    def __init__(
        self,
        estimator: Any,
        *,
        k_min: int = 2,
        k_max: int = 20,
        n_se: float = 1.0,
        silhouette_sample_size: int | None = SILHOUETTE_SAMPLE_SIZE,
        random_state: int | None = 0,
        show_progress: bool = False,
        scan_sample_size: int | None = SCAN_SAMPLE_SIZE,
    ):
        self.estimator = estimator
        self.k_min = k_min
        self.k_max = k_max
        self.n_se = n_se
        self.silhouette_sample_size = silhouette_sample_size
        self.random_state = random_state
        self.show_progress = show_progress
        self.scan_sample_size = scan_sample_size

    def fit(self, X: np.ndarray) -> AutoKClusterer:
        X = check_matrix(X)
        everything = X
        sampled = self.scan_sample_size is not None and len(X) > self.scan_sample_size
        if sampled:
            rows = np.random.default_rng(self.random_state).choice(
                len(X), size=int(self.scan_sample_size), replace=False
            )
            X = X[np.sort(rows)]
        if hasattr(self.estimator, "cut"):
            # Scan checks the k range before anything is fitted, so build the tree lazily.
            tree: list[Any] = []

            def fit_for_k(k: int) -> Any:
                if not tree:
                    tree.append(clone(self.estimator, n_clusters=k).fit(X))
                    return tree[0]
                return tree[0].cut(X, k)
        else:

            def fit_for_k(k: int) -> Any:
                return clone(self.estimator, n_clusters=k).fit(X)

        self.selection_, self.chosen_ = scan_k(
            X,
            fit_for_k,
            self.k_min,
            self.k_max,
            n_se=self.n_se,
            silhouette_sample_size=self.silhouette_sample_size,
            random_state=self.random_state,
            show_progress=self.show_progress,
        )
        if sampled:
            self.chosen_ = clone(self.estimator, n_clusters=self.chosen_.n_clusters_).fit(
                everything
            )
        self._take_chosen()
        return self

    def _take_chosen(self) -> None:
        chosen = self.chosen_
        self.labels_ = chosen.labels_
        self.n_clusters_ = chosen.n_clusters_
        self.centroids_ = chosen.centroids_
        self.n_features_in_ = chosen.n_features_in_
        for name in ("noise_share_", "probabilities_", "bic_", "inertia_"):
            if hasattr(chosen, name):
                setattr(self, name, getattr(chosen, name))

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_fitted(self, "chosen_")
        return self.chosen_.predict(X)

    @property
    def predict_proba(self):  # type: ignore[no-untyped-def]
        check_fitted(self, "chosen_")
        if not hasattr(self.chosen_, "predict_proba"):
            raise AttributeError(f"{type(self.chosen_).__name__} has no predict_proba")
        return self.chosen_.predict_proba

    def get_state(self) -> ClustererState:
        check_fitted(self, "chosen_")
        return ClustererState(
            kind=self.kind,
            params={
                "k_min": self.k_min,
                "k_max": self.k_max,
                "n_se": self.n_se,
                "silhouette_sample_size": self.silhouette_sample_size,
                "random_state": self.random_state,
                "scan_sample_size": self.scan_sample_size,
                "selection_": self.selection_.to_dict(),
            },
            children={"chosen": self.chosen_.get_state()},
        )

    @classmethod
    def from_chosen(cls, chosen: Any, params: dict[str, Any]) -> AutoKClusterer:
        settings = {k: v for k, v in params.items() if not k.endswith("_")}
        model = cls(clone(chosen), **settings)
        model.chosen_ = chosen
        model.selection_ = KSelection.from_dict(params["selection_"])
        model._take_chosen()
        return model
