"""K-Means (scikit-learn or faiss Lloyd loop) and scikit-learn's MiniBatch K-Means.

Default backend: scikit-learn. ``benchmarks/bench_kmeans.py`` (results and reasoning in
``benchmarks/results/kmeans.md``) timed both on random L2-normalised 384-d float32 vectors, k=50,
one init, 20 Lloyd iterations, on this project's 2-core machine while other workers kept its load
average at 4-8. Both reached the same objective and spent the same CPU time per iteration, but
faiss's OpenMP threads spin while the other core is busy: like for like, scikit-learn's loop took
62 s at 1M rows and 6.2 s at 100k, faiss 217 s and 28 s (135 s and 11.7 s on one thread).
scikit-learn holds a centred copy of X (+1.4 GB at 1M rows) where faiss needs nothing extra, so
``backend="faiss"`` is the choice when memory is tight or the machine is idle.

Both backends start from the same seeds: k-means++ (scikit-learn's ``kmeans_plusplus``) on a
seeded sample of at most 20,000 rows, on one BLAS thread. scikit-learn's own k-means++ over all
rows took about 370 of its 430 s at 1M rows in the benchmark; faiss alone has only a random
init, which merges well-separated groups more often. scikit-learn's loop stops once centres move
less than ``tol``; faiss always runs ``max_iter`` iterations.

``predict`` is the same for every backend and for a restored model: nearest centre by Euclidean
distance, computed in numpy, so a saved model predicts what the fitted one did.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus
from threadpoolctl import threadpool_limits

from interestlens.cluster.base import (
    ClustererState,
    check_features,
    check_fitted,
    check_matrix,
    check_n_clusters,
    member_means,
    nearest,
    nearest_with_distances,
)
from interestlens.cluster.params import ParamsMixin
from interestlens.errors import ParameterError

KMeansBackend = Literal["faiss", "sklearn"]
DEFAULT_BACKEND: KMeansBackend = "sklearn"
SEEDING_SAMPLE_SIZE = 20000


class _CentreModel(ParamsMixin):
    """Shared predict/state for models that end in a set of centres (all k-means variants)."""

    kind = ""
    cluster_centers_: np.ndarray

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_fitted(self, "cluster_centers_")
        X = check_matrix(X)
        check_features(X, self.cluster_centers_.shape[1], owner=type(self).__name__)
        return nearest(X, self.cluster_centers_)

    def _finish(self, X: np.ndarray, centres: np.ndarray) -> None:
        self.cluster_centers_ = np.ascontiguousarray(centres, dtype=np.float32)
        self.n_clusters_ = len(self.cluster_centers_)
        self.n_features_in_ = X.shape[1]
        self.labels_, distances = nearest_with_distances(X, self.cluster_centers_)
        self.inertia_ = float(distances.sum(dtype=np.float64))
        # Member means: equal to the centres once Lloyd has converged, but not for MiniBatch or
        # a Lloyd run stopped by max_iter.
        self.centroids_ = member_means(X, self.labels_, self.n_clusters_, fallback=centres)

    def get_state(self) -> ClustererState:
        check_fitted(self, "cluster_centers_")
        return ClustererState(
            kind=self.kind,
            params=self.get_params() | {"inertia_": self.inertia_},
            arrays={
                "cluster_centers": self.cluster_centers_,
                "centroids": self.centroids_,
                "labels": self.labels_,
            },
        )

    @classmethod
    def from_state(cls, state: ClustererState):  # type: ignore[no-untyped-def]
        params = {k: v for k, v in state.params.items() if not k.endswith("_")}
        model = cls(**params)
        model.cluster_centers_ = np.asarray(state.arrays["cluster_centers"], dtype=np.float32)
        model.centroids_ = np.asarray(state.arrays["centroids"], dtype=np.float32)
        model.n_clusters_ = len(model.cluster_centers_)
        model.n_features_in_ = model.cluster_centers_.shape[1]
        model.labels_ = np.asarray(state.arrays["labels"], dtype=np.int64)
        model.inertia_ = float(state.params["inertia_"])
        return model


class KMeansClusterer(_CentreModel):
    """Lloyd's K-Means with k-means++ seeding; see the module docstring for the backend choice.

    ``max_iter`` bounds the Lloyd iterations (faiss runs all of them; scikit-learn stops earlier
    once centres move less than ``tol``). ``n_init`` restarts keep the lowest inertia.
    """

    kind = "kmeans"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        backend: KMeansBackend = DEFAULT_BACKEND,
        max_iter: int = 50,
        n_init: int = 1,
        tol: float = 1e-4,
        random_state: int | None = None,
    ):
        self.n_clusters = n_clusters
        self.backend = backend
        self.max_iter = max_iter
        self.n_init = n_init
        self.tol = tol
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> KMeansClusterer:
        X = check_matrix(X)
        check_n_clusters(len(X), self.n_clusters)
        if self.backend not in ("faiss", "sklearn"):
            raise ParameterError(
                f"backend={self.backend!r}",
                expected="'faiss' or 'sklearn'",
                fix=f"pass backend='faiss' or backend='sklearn' (default {DEFAULT_BACKEND!r})",
            )
        if self.max_iter < 1 or self.n_init < 1:
            raise ParameterError(
                f"max_iter={self.max_iter}, n_init={self.n_init}",
                expected="both >= 1",
                fix="pass positive values",
            )
        rng = np.random.default_rng(self.random_state)
        best: tuple[float, np.ndarray, int] | None = None
        for _ in range(self.n_init):
            seed = int(rng.integers(2**31 - 1))
            initial = seed_centres(X, self.n_clusters, seed)
            if self.backend == "sklearn":
                centres, n_iter = self._sklearn_lloyd(X, initial, seed)
            else:
                centres, n_iter = _faiss_lloyd(X, initial, self.max_iter, seed)
            inertia = float(nearest_with_distances(X, centres)[1].sum(dtype=np.float64))
            if best is None or inertia < best[0]:
                best = (inertia, centres, n_iter)
        assert best is not None
        self.n_iter_ = best[2]
        self._finish(X, best[1])
        return self

    def _sklearn_lloyd(
        self, X: np.ndarray, initial: np.ndarray, seed: int
    ) -> tuple[np.ndarray, int]:
        model = KMeans(
            n_clusters=self.n_clusters,
            init=initial,
            n_init=1,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=seed,
        ).fit(X)
        return model.cluster_centers_.astype(np.float32), int(model.n_iter_)


def seed_centres(X: np.ndarray, n_clusters: int, seed: int) -> np.ndarray:
    """k-means++ seeds drawn from a seeded sample of at most ``SEEDING_SAMPLE_SIZE`` rows.

    k-means++ costs about as much as several Lloyd iterations over all rows; on a sample it is
    cheap, and a cluster holding even 0.1% of the users still has ~20 rows there to be picked.
    Its many small matrix products run on one BLAS thread: on a busy 2-core machine, threaded
    OpenBLAS made them ~10x slower (measured 26 s against 2.8 s on 20,000 rows, k=50).
    """
    rng = np.random.default_rng(seed)
    sample = X
    if len(X) > SEEDING_SAMPLE_SIZE:
        sample = X[np.sort(rng.choice(len(X), size=SEEDING_SAMPLE_SIZE, replace=False))]
    with threadpool_limits(limits=1, user_api="blas"):
        centres, _ = kmeans_plusplus(sample, n_clusters, random_state=seed)
    return np.ascontiguousarray(centres, dtype=np.float32)


def _faiss_lloyd(
    X: np.ndarray, initial: np.ndarray, n_iter: int, seed: int
) -> tuple[np.ndarray, int]:
    import faiss

    model = faiss.Kmeans(
        X.shape[1],
        len(initial),
        niter=n_iter,
        nredo=1,
        seed=seed,
        verbose=False,
        # Use every row (faiss subsamples to 256 per centroid by default) and do not warn about
        # small inputs: the callers already checked n_samples >= n_clusters.
        max_points_per_centroid=max(256, len(X)),
        min_points_per_centroid=1,
    )
    model.train(X, init_centroids=initial)
    return np.asarray(model.centroids, dtype=np.float32), n_iter


class MiniBatchKMeansClusterer(_CentreModel):
    """scikit-learn's MiniBatch K-Means: for N in the millions, where full Lloyd passes are slow.

    ``max_iter`` counts passes over the data; early stopping is scikit-learn's own.
    """

    kind = "minibatch-kmeans"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        batch_size: int = 4096,
        max_iter: int = 100,
        n_init: int = 3,
        random_state: int | None = None,
    ):
        self.n_clusters = n_clusters
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> MiniBatchKMeansClusterer:
        X = check_matrix(X)
        check_n_clusters(len(X), self.n_clusters)
        model = MiniBatchKMeans(
            n_clusters=self.n_clusters,
            batch_size=self.batch_size,
            max_iter=self.max_iter,
            n_init=self.n_init,
            random_state=self.random_state,
        ).fit(X)
        self.n_iter_ = int(model.n_iter_)
        self._finish(X, model.cluster_centers_)
        return self
