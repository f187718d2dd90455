"""Optional dimension reduction before clustering, as a wrapper that ``predict`` goes through too.

``ReducedClusterer(reducer, clusterer)`` fits the reducer on X, clusters the reduced rows, and
maps new rows through the same fitted reducer before ``predict``. Its ``centroids_`` are member
means in the *input* space, so they stay comparable with item vectors.

PCA (scikit-learn) is linear, so a saved model keeps its mean and components and a restored one
projects exactly as the fitted one did. UMAP (``umap-learn``, optional) is not: its ``transform``
needs the whole fitted object, which only pickle could save. A restored UMAP-reduced model
therefore predicts by the nearest input-space centroid (cosine) instead; ``exact_restore`` in its
saved state says so.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from sklearn.decomposition import PCA

from interestlens.cluster.base import (
    ClustererState,
    check_features,
    check_fitted,
    check_matrix,
    member_means,
)
from interestlens.cluster.params import ParamsMixin
from interestlens.errors import ConfigError, ParameterError


class Reducer(Protocol):
    def fit_transform(self, X: np.ndarray) -> np.ndarray: ...

    def transform(self, X: np.ndarray) -> np.ndarray: ...

    def get_state(self) -> ClustererState: ...


class PCAReducer(ParamsMixin):
    """PCA to ``n_components`` (at most ``min(n_samples, n_features)``; ``n_components_`` says)."""

    kind = "pca"

    def __init__(self, n_components: int = 32, *, random_state: int | None = None):
        self.n_components = n_components
        self.random_state = random_state

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        X = check_matrix(X, min_rows=2)
        if self.n_components < 1:
            raise ParameterError(
                f"n_components={self.n_components}",
                expected="n_components >= 1",
                fix="pass a positive number of dimensions",
            )
        # PCA cannot return more components than rows or columns.
        self.n_components_ = min(self.n_components, *X.shape)
        model = PCA(n_components=self.n_components_, random_state=self.random_state).fit(X)
        self.mean_ = model.mean_.astype(np.float32)
        self.components_ = model.components_.astype(np.float32)
        self.explained_variance_ratio_ = model.explained_variance_ratio_.astype(np.float32)
        self.n_features_in_ = X.shape[1]
        return self.transform(X)

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_fitted(self, "components_")
        X = check_matrix(X)
        check_features(X, self.n_features_in_, owner="PCAReducer")
        # Same projection as sklearn's PCA.transform without whitening, kept here so that a
        # restored reducer needs only these two arrays.
        return np.ascontiguousarray((X - self.mean_) @ self.components_.T, dtype=np.float32)

    def get_state(self) -> ClustererState:
        check_fitted(self, "components_")
        return ClustererState(
            kind=self.kind,
            params=self.get_params(),
            arrays={
                "mean": self.mean_,
                "components": self.components_,
                "explained_variance_ratio": self.explained_variance_ratio_,
            },
        )

    @classmethod
    def from_state(cls, state: ClustererState) -> PCAReducer:
        reducer = cls(**state.params)
        reducer.mean_ = np.asarray(state.arrays["mean"], dtype=np.float32)
        reducer.components_ = np.asarray(state.arrays["components"], dtype=np.float32)
        reducer.explained_variance_ratio_ = np.asarray(
            state.arrays["explained_variance_ratio"], dtype=np.float32
        )
        reducer.n_components_ = len(reducer.components_)
        reducer.n_features_in_ = reducer.components_.shape[1]
        return reducer


class UMAPReducer(ParamsMixin):
    """UMAP (``umap-learn``) to ``n_components``; ``min_dist=0`` packs clusters tightly.

    Needs the optional ``umap-learn`` package (``pip install 'interestlens[umap]'``).
    """

    kind = "umap"

    def __init__(
        self,
        n_components: int = 10,
        *,
        n_neighbors: int = 15,
        min_dist: float = 0.0,
        metric: str = "cosine",
        random_state: int | None = None,
    ):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.random_state = random_state

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        X = check_matrix(X, min_rows=2)
        umap = import_umap()
        if len(X) <= self.n_components + 1:
            raise ParameterError(
                f"n_samples={len(X)} should be > n_components+1={self.n_components + 1} for UMAP",
                expected="more rows than UMAP dimensions",
                fix="pass more users or a smaller n_components",
            )
        self.model_ = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=min(self.n_neighbors, len(X) - 1),
            min_dist=self.min_dist,
            metric=self.metric,
            random_state=self.random_state,
            # A seeded UMAP runs on one thread anyway; saying so silences its warning.
            n_jobs=1 if self.random_state is not None else -1,
        )
        self.n_features_in_ = X.shape[1]
        return np.asarray(self.model_.fit_transform(X), dtype=np.float32)

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_fitted(self, "model_")
        X = check_matrix(X)
        check_features(X, self.n_features_in_, owner="UMAPReducer")
        return np.asarray(self.model_.transform(X), dtype=np.float32)

    def get_state(self) -> ClustererState:
        check_fitted(self, "model_")
        return ClustererState(kind=self.kind, params=self.get_params())


def import_umap() -> Any:
    try:
        import umap
    except ImportError:
        raise ConfigError(
            "reduce='umap' needs the umap-learn package, which is not installed",
            expected="umap-learn importable in this environment",
            fix="pip install 'interestlens[umap]' (or umap-learn), or use reduce='pca'",
        ) from None
    return umap


def make_reducer(kind: str, n_components: int, *, random_state: int | None) -> Reducer:
    if kind == "pca":
        return PCAReducer(n_components, random_state=random_state)
    if kind == "umap":
        return UMAPReducer(n_components, random_state=random_state)
    raise ConfigError(
        f"reduce={kind!r}",
        expected="'none', 'pca' or 'umap'",
        fix="set cluster.reduce to one of those",
    )


class ReducedClusterer(ParamsMixin):
    """Reduce, then cluster; ``predict`` reduces new rows with the same fitted reducer."""

    kind = "reduced"

    def __init__(self, reducer: Reducer, clusterer: Any):
        self.reducer = reducer
        self.clusterer = clusterer

    def fit(self, X: np.ndarray) -> ReducedClusterer:
        X = check_matrix(X)
        reduced = self.reducer.fit_transform(X)
        self.clusterer.fit(reduced)
        # The training rows in the reduced space, for scoring; not saved with the model.
        self.embedding_ = reduced
        self._take_fitted(X)
        return self

    def _take_fitted(self, X: np.ndarray) -> None:
        inner = self.clusterer
        self.labels_ = inner.labels_
        self.n_clusters_ = inner.n_clusters_
        self.n_features_in_ = X.shape[1]
        self.centroids_ = member_means(X, self.labels_, self.n_clusters_)
        for name in ("noise_share_", "probabilities_"):
            if hasattr(inner, name):
                setattr(self, name, getattr(inner, name))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The rows in the reduced space the clusters live in."""
        check_fitted(self)
        X = check_matrix(X)
        check_features(X, self.n_features_in_, owner="ReducedClusterer")
        return self.reducer.transform(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.clusterer.predict(self.transform(X))

    @property
    def predict_proba(self):  # type: ignore[no-untyped-def]
        # A property so that hasattr(model, "predict_proba") is true only for soft clusterers.
        if not hasattr(self.clusterer, "predict_proba"):
            raise AttributeError(f"{type(self.clusterer).__name__} has no predict_proba")
        return lambda X: self.clusterer.predict_proba(self.transform(X))

    def get_state(self) -> ClustererState:
        check_fitted(self)
        reducer_state = self.reducer.get_state()
        exact = reducer_state.kind == "pca"
        return ClustererState(
            kind=self.kind,
            params={"exact_restore": exact, "n_features_in_": self.n_features_in_},
            arrays={"centroids": self.centroids_, "labels": self.labels_},
            children={"reducer": reducer_state, "clusterer": self.clusterer.get_state()},
        )
