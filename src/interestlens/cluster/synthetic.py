"""Small synthetic interest vectors with known clusters, for tests, examples and benchmarks."""

from __future__ import annotations

import numpy as np


def interest_blobs(
    n_clusters: int = 4,
    n_per_cluster: int = 30,
    dimension: int = 16,
    *,
    spread: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length float32 rows around ``n_clusters`` random directions, and their labels.

    With the default ``spread`` rows of one cluster are about 0.3 apart and cluster centres
    about 1.4 (random directions in 16-d are nearly orthogonal): well separated.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dimension))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(n_clusters), n_per_cluster)
    rows = centres[labels] + spread * rng.standard_normal((len(labels), dimension))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float32), labels.astype(np.int64)


def uniform_directions(n: int = 120, dimension: int = 16, *, seed: int = 0) -> np.ndarray:
    """Unit-length float32 rows spread evenly over the sphere: no cluster structure at all."""
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, dimension))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float32)
