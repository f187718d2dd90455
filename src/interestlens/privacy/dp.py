"""Differentially private cluster sizes and centroids: noisy counts and noisy sums of
L2-clipped user vectors.

One user changes one cluster's count by 1 (L1 sensitivity 1: the Laplace mechanism with
budget ``epsilon * count_share``) and one cluster's sum by a vector of norm at most ``clip``
(L2 sensitivity ``clip``: the analytic Gaussian mechanism of Balle & Wang, ICML 2018, with the
rest of the budget and ``delta``). By basic composition the release is (epsilon, delta)-DP
with respect to adding or removing one user, *for a given partition*.

:func:`release_clusters` releases the statistics of a partition the caller gives (the model's
clustering, itself computed without noise: see docs/privacy.md for what that means).
:func:`dp_kmeans` is end-to-end: Lloyd iterations that assign users to the previous *released*
centroids, start from centres computed on public data (item vectors), and split the budget
over the iterations.

diffprivlib's k-means would be the library choice, but diffprivlib 0.6.6 does not import with
scikit-learn 1.9 (it needs ``sklearn.tree._tree.DOUBLE``), so the two mechanisms are here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from interestlens.errors import ModelFormatError, ParameterError
from interestlens.persist import read_json, read_npy, write_json, write_npy

if TYPE_CHECKING:
    from interestlens.cluster.interest_clusters import InterestClusters
    from interestlens.config import PrivacyConfig

RELEASE_FILE = "privacy_release.json"
CENTROIDS_FILE = "privacy_centroids.npy"


def check_budget(epsilon: float, delta: float, clip: float) -> None:
    """ParameterError unless epsilon > 0, 0 < delta < 1 and clip > 0, all finite."""
    for name, value, rule in (
        ("epsilon", epsilon, "a finite number > 0 (smaller = more private, noisier)"),
        ("delta", delta, "a number in (0, 1), well below 1 / number of users"),
        ("clip", clip, "a finite L2 norm > 0 (user vectors are unit length: 1.0)"),
    ):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        valid = math.isfinite(number) and number > 0 and (name != "delta" or number < 1)
        if not valid:
            raise ParameterError(
                f"{name}={value!r}",
                expected=rule,
                fix=f"set privacy.{name} to {rule.split(' (')[0]}",
            )


def gaussian_sigma(epsilon: float, delta: float, sensitivity: float) -> float:
    """Smallest noise scale of the Gaussian mechanism that is (epsilon, delta)-DP for this L2
    sensitivity (the analytic calibration; unlike sqrt(2 ln(1.25/δ))/ε it holds for ε >= 1)."""
    check_budget(epsilon, delta, sensitivity)

    def privacy_loss(log_sigma: float) -> float:
        sigma = math.exp(log_sigma)
        a = sensitivity / (2 * sigma)
        b = epsilon * sigma / sensitivity
        return float(norm.cdf(a - b) - math.exp(epsilon + norm.logcdf(-a - b)) - delta)

    low, high = math.log(sensitivity) - 30, math.log(sensitivity) + 30
    return math.exp(brentq(privacy_loss, low, high, xtol=1e-12))


def clip_rows(vectors: np.ndarray, clip: float) -> np.ndarray:
    """Each row scaled down to L2 norm <= clip (rows already shorter are unchanged)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    scale = np.minimum(1.0, clip / np.maximum(norms, 1e-12))
    return vectors * scale


@dataclass
class ClusterRelease:
    """Noisy sizes and centroids of clusters, with the budget that produced them."""

    cluster_ids: np.ndarray  # int64 (k,)
    sizes: np.ndarray  # int64 (k,) noisy counts, rounded, >= 0
    centroids: np.ndarray  # float32 (k, d) noisy sum / max(noisy count, 1)
    epsilon: float
    delta: float
    clip: float
    count_epsilon: float
    sum_epsilon: float
    count_scale: float  # Laplace scale of the counts
    sum_sigma: float  # Gaussian standard deviation of each coordinate of the sums
    mechanism: str = "laplace counts + analytic gaussian sums of clipped vectors"
    #: dimensions of the public basis the sums were taken in (None: the vectors' own)
    dimensions: int | None = None

    def size_of(self, cluster_id: int) -> int | None:
        found = np.flatnonzero(self.cluster_ids == int(cluster_id))
        return int(self.sizes[found[0]]) if len(found) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mechanism": self.mechanism,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "clip": self.clip,
            "count_epsilon": self.count_epsilon,
            "sum_epsilon": self.sum_epsilon,
            "count_scale": self.count_scale,
            "sum_sigma": self.sum_sigma,
            "dimensions": self.dimensions,
            "cluster_ids": [int(c) for c in self.cluster_ids],
            "sizes": [int(s) for s in self.sizes],
        }

    def describe(self) -> str:
        return (
            f"(ε = {self.epsilon:g}, δ = {self.delta:g})-differentially private: sizes with "
            f"Laplace noise (scale {self.count_scale:.2f}), centroids from sums of user vectors "
            f"clipped to L2 norm {self.clip:g} with Gaussian noise (σ = {self.sum_sigma:.2f})"
            + (
                ""
                if self.dimensions is None
                else f", in {self.dimensions} public dimensions (item vectors' principal axes)"
            )
        )

    def save(self, directory: Path) -> None:
        write_json(directory / RELEASE_FILE, self.to_dict())
        write_npy(directory / CENTROIDS_FILE, self.centroids.astype(np.float32))

    @classmethod
    def load(cls, directory: Path) -> ClusterRelease | None:
        path = directory / RELEASE_FILE
        if not path.exists():
            return None
        data = read_json(path)
        try:
            release = cls(
                cluster_ids=np.asarray(data["cluster_ids"], dtype=np.int64),
                sizes=np.asarray(data["sizes"], dtype=np.int64),
                centroids=read_npy(directory / CENTROIDS_FILE),
                **{
                    key: float(data[key])
                    for key in (
                        "epsilon",
                        "delta",
                        "clip",
                        "count_epsilon",
                        "sum_epsilon",
                        "count_scale",
                        "sum_sigma",
                    )
                },
                mechanism=str(data["mechanism"]),
                dimensions=data.get("dimensions"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(
                f"{path} cannot be read ({type(exc).__name__}: {exc})",
                expected="the release 'interestlens fit' wrote with privacy.epsilon set",
                fix="fit the model again",
            ) from None
        if release.centroids.shape[0] != len(release.cluster_ids):
            raise ModelFormatError(
                f"{directory / CENTROIDS_FILE} has {release.centroids.shape[0]} rows for "
                f"{len(release.cluster_ids)} clusters",
                expected="one centroid per released cluster",
                fix="fit the model again",
            )
        return release


def release_clusters(
    vectors: np.ndarray,
    labels: np.ndarray,
    *,
    epsilon: float,
    delta: float,
    clip: float = 1.0,
    count_share: float = 0.5,
    cluster_ids: np.ndarray | None = None,
    basis: np.ndarray | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> ClusterRelease:
    """(epsilon, delta)-DP sizes and centroids of the clusters in ``labels`` (-1 = no cluster,
    left out). ``cluster_ids`` fixes which clusters are released (default: those in labels;
    pass every id of the clustering, or the set of ids itself discloses which are empty).

    ``basis`` (d, r) with orthonormal columns, computed from public data (see
    :func:`public_basis`): the sums are taken, clipped and noised in its r dimensions and the
    centroids mapped back. The noise's norm grows with the square root of the dimension, so
    384-d sums of a few dozen users drown in it; 16 public dimensions keep the structure."""
    check_budget(epsilon, delta, clip)
    if not 0 < count_share < 1:
        raise ParameterError(
            f"count_share={count_share!r}",
            expected="a share of the budget in (0, 1) for the counts",
            fix="leave it at 0.5",
        )
    vectors = np.asarray(vectors)
    labels = np.asarray(labels)
    if vectors.ndim != 2 or len(vectors) != len(labels):
        raise ParameterError(
            f"vectors of shape {vectors.shape} and {len(labels)} labels",
            expected="a 2-d array with one row per label",
            fix="pass the user vectors and their cluster labels",
        )
    rng = np.random.default_rng(random_state)
    ids = (
        np.unique(labels[labels >= 0]) if cluster_ids is None else np.asarray(cluster_ids)
    ).astype(np.int64)
    count_epsilon = epsilon * count_share
    sum_epsilon = epsilon - count_epsilon
    count_scale = 1.0 / count_epsilon
    sigma = gaussian_sigma(sum_epsilon, delta, clip)
    projected = vectors if basis is None else np.asarray(vectors, np.float64) @ basis
    clipped = clip_rows(projected, clip)  # an orthonormal projection never lengthens a vector
    counts = np.array([np.sum(labels == c) for c in ids], dtype=np.float64)
    sums = np.stack([clipped[labels == c].sum(axis=0) for c in ids]) if len(ids) else clipped[:0]
    noisy_counts = counts + rng.laplace(0.0, count_scale, size=counts.shape)
    noisy_sums = sums + rng.normal(0.0, sigma, size=sums.shape)
    centroids = noisy_sums / np.maximum(noisy_counts, 1.0)[:, None]
    if basis is not None:
        centroids = centroids @ basis.T  # post-processing: back to the vectors' space
    return ClusterRelease(
        cluster_ids=ids,
        sizes=np.maximum(np.rint(noisy_counts), 0).astype(np.int64),
        centroids=centroids.astype(np.float32),
        epsilon=float(epsilon),
        delta=float(delta),
        clip=float(clip),
        count_epsilon=count_epsilon,
        sum_epsilon=sum_epsilon,
        count_scale=count_scale,
        sum_sigma=sigma,
        dimensions=None if basis is None else int(basis.shape[1]),
    )


def public_basis(item_vectors: np.ndarray, n_components: int) -> np.ndarray:
    """(d, r) orthonormal columns spanning the item vectors' mean direction and their top
    principal axes. Items are catalogue data, not personal data, so the basis costs no budget."""
    items = np.asarray(item_vectors, dtype=np.float64)
    if n_components < 1 or len(items) < 2:
        raise ParameterError(
            f"n_components={n_components} from {len(items)} item vectors",
            expected="n_components >= 1 and at least 2 items",
            fix="set privacy.dimensions to a small positive number such as 16",
        )
    mean = items.mean(axis=0)
    _, _, axes = np.linalg.svd(items - mean, full_matrices=False)
    stacked = np.vstack([mean, axes[: min(n_components, len(axes)) - 1]]).T
    basis, _ = np.linalg.qr(stacked)
    return basis


def nearest_centroid(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Cluster of each row: the centroid of highest cosine similarity."""
    unit = centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    return np.argmax(np.asarray(vectors, dtype=np.float64) @ unit.T, axis=1).astype(np.int64)


def dp_kmeans(
    vectors: np.ndarray,
    initial_centroids: np.ndarray,
    *,
    epsilon: float,
    delta: float,
    clip: float = 1.0,
    iterations: int = 3,
    basis: np.ndarray | None = None,
    random_state: int | None = 0,
) -> tuple[np.ndarray, ClusterRelease]:
    """End-to-end DP k-means (DP-Lloyd): each iteration assigns users to the previous released
    centroids and releases new ones with ``epsilon / iterations`` and ``delta / iterations``.
    ``initial_centroids`` must not depend on the users (for example k-means of item vectors).
    Returns the final assignment (post-processing of the release) and the last release."""
    check_budget(epsilon, delta, clip)
    if iterations < 1:
        raise ParameterError(
            f"iterations={iterations}", expected=">= 1", fix="use 1 to 5 iterations"
        )
    rng = np.random.default_rng(random_state)
    centroids = np.asarray(initial_centroids, dtype=np.float64)
    ids = np.arange(len(centroids))
    release = None
    for _ in range(iterations):
        labels = nearest_centroid(vectors, centroids)
        release = release_clusters(
            vectors,
            labels,
            epsilon=epsilon / iterations,
            delta=delta / iterations,
            clip=clip,
            cluster_ids=ids,
            basis=basis,
            random_state=rng,
        )
        centroids = release.centroids.astype(np.float64)
    assert release is not None
    release.epsilon, release.delta = float(epsilon), float(delta)
    release.mechanism = f"DP-Lloyd, {iterations} iterations of: " + release.mechanism
    return nearest_centroid(vectors, centroids), release


def release_model_clusters(
    config: PrivacyConfig,
    user_vectors: np.ndarray,
    clusters: InterestClusters,
    item_vectors: np.ndarray | None = None,
) -> ClusterRelease | None:
    """The release a fitted model shows (None when ``privacy.epsilon`` is unset). Its noise
    comes from the operating system's entropy, never from ``settings.seed``: noise that anyone
    can regenerate from the seed saved in config.toml would protect nothing."""
    if config.epsilon is None:
        return None
    ids = np.array(sorted(int(e.cluster_id) for e in clusters.explanations), dtype=np.int64)
    return release_clusters(
        user_vectors,
        clusters.user_labels,
        epsilon=config.epsilon,
        delta=config.delta,
        clip=config.clip,
        cluster_ids=ids,
        basis=None
        if item_vectors is None or not config.dimensions
        else public_basis(item_vectors, config.dimensions),
        random_state=None,
    )
