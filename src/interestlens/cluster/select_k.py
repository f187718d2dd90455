"""Choosing the number of clusters: fit every k in [k_min, k_max], score each, apply one rule.

Scores kept for every k (:class:`KSelection`, JSON-able, for the model and for plots):

- ``inertia``: within-cluster sum of squared distances to the member means; its knee (``kneed``,
  convex and decreasing) is the *elbow* k;
- ``silhouette``: mean silhouette (Euclidean); above ``silhouette_sample_size`` rows (default
  5,000) it is the mean over a seeded sample, since the exact score is quadratic in n, and
  ``silhouette_se`` is that mean's standard error (0 when every row is scored);
- ``calinski_harabasz`` (higher is better) and ``davies_bouldin`` (lower is better), on all rows;
- ``bic`` for Gaussian mixtures.

The rule (:data:`RULE`): **the k with the highest silhouette; every k whose silhouette is within
``n_se`` (default 1) standard errors of that best one counts as a tie, and ties go to the
smallest k.** Silhouette is the internal index that most often recovers the true partition in
comparative studies (Arbelaitz et al., Pattern Recognition 2013); it is bounded and comparable
across k, unlike inertia (always falls with k) and Calinski–Harabasz (biased by k on
unstructured data). The one-standard-error tie keeps a sampled estimate from picking a larger k
on noise, and the smallest k among ties is the simpler model. A fixed absolute tolerance was
tried first and rejected: on MiniLM vectors of MovieLens films (19,484 rows) silhouettes were
0.02–0.044, so a 0.01 tolerance tied k=2..6 and chose k_min=2; with the standard error
(about 0.0005) the rule picks the silhouette peak, k=4. The elbow, best Calinski–Harabasz,
Davies–Bouldin and BIC k are reported beside the choice, not used by it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_samples,
    silhouette_score,
)

from interestlens.cluster.base import NOISE, check_matrix, member_means, squared_distances
from interestlens.errors import ParameterError

RULE = (
    "highest silhouette; k within `n_se` standard errors of the best (sampled) silhouette are "
    "ties, broken by the smallest k"
)
SILHOUETTE_SAMPLE_SIZE = 5000


@dataclass
class KSelection:
    """Scores of every scanned k and the k that :data:`RULE` chose (``None`` = not defined)."""

    ks: list[int]
    n_clusters_found: list[int]
    inertia: list[float | None]
    silhouette: list[float | None]
    silhouette_se: list[float | None]
    calinski_harabasz: list[float | None]
    davies_bouldin: list[float | None]
    bic: list[float | None] | None
    chosen_k: int
    elbow_k: int | None
    best_k_by: dict[str, int | None]
    rule: str = RULE
    n_se: float = 1.0
    silhouette_sample_size: int | None = None
    seconds_per_k: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KSelection:
        return cls(**data)

    def table(self) -> list[dict[str, Any]]:
        """One row per k, for a DataFrame or a plot."""
        rows = []
        for i, k in enumerate(self.ks):
            row = {
                "k": k,
                "n_clusters_found": self.n_clusters_found[i],
                "inertia": self.inertia[i],
                "silhouette": self.silhouette[i],
                "silhouette_se": self.silhouette_se[i],
                "calinski_harabasz": self.calinski_harabasz[i],
                "davies_bouldin": self.davies_bouldin[i],
            }
            if self.bic is not None:
                row["bic"] = self.bic[i]
            rows.append(row)
        return rows


def internal_scores(
    X: np.ndarray,
    labels: np.ndarray,
    *,
    silhouette_sample_size: int | None = SILHOUETTE_SAMPLE_SIZE,
    random_state: int | None = 0,
) -> dict[str, float | None]:
    """Inertia, silhouette (and its standard error), Calinski–Harabasz, Davies–Bouldin.

    Noise rows (``-1``) are left out. Scores that need at least two clusters (and fewer
    clusters than rows) are ``None`` when that does not hold.
    """
    X = check_matrix(X)
    keep = labels != NOISE
    X, labels = X[keep], labels[keep]
    n_clusters = len(np.unique(labels))
    scores: dict[str, float | None] = {
        "inertia": None,
        "silhouette": None,
        "silhouette_se": None,
        "calinski_harabasz": None,
        "davies_bouldin": None,
    }
    if len(X) == 0:
        return scores
    _, dense = np.unique(labels, return_inverse=True)
    centres = member_means(X, dense, n_clusters)
    scores["inertia"] = float(
        squared_distances(X, centres)[np.arange(len(X)), dense].sum(dtype=np.float64)
    )
    if not 2 <= n_clusters <= len(X) - 1:
        return scores
    scores["silhouette"], scores["silhouette_se"] = _silhouette(
        X, dense, silhouette_sample_size, random_state
    )
    scores["calinski_harabasz"] = float(calinski_harabasz_score(X, dense))
    scores["davies_bouldin"] = float(davies_bouldin_score(X, dense))
    return scores


def _silhouette(
    X: np.ndarray, labels: np.ndarray, sample_size: int | None, random_state: int | None
) -> tuple[float | None, float | None]:
    if sample_size is None or len(X) <= sample_size:
        return float(silhouette_score(X, labels)), 0.0
    rows = np.random.default_rng(random_state).choice(len(X), size=sample_size, replace=False)
    if len(np.unique(labels[rows])) < 2:
        return None, None
    values = silhouette_samples(X[rows], labels[rows])
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def choose_k(
    ks: Sequence[int],
    silhouette: Sequence[float | None],
    silhouette_se: Sequence[float | None] | None = None,
    *,
    n_se: float = 1.0,
) -> int:
    """Apply :data:`RULE`; k whose silhouette is undefined cannot be chosen.

    Without ``silhouette_se`` (or where it is None) the standard error counts as 0.
    """
    errors = list(silhouette_se) if silhouette_se is not None else [None] * len(ks)
    valid = [
        (k, s, e or 0.0) for k, s, e in zip(ks, silhouette, errors, strict=True) if s is not None
    ]
    if not valid:
        raise ParameterError(
            f"no k in {list(ks)} gave at least two clusters to score",
            expected="a k range in which the clusterer finds two or more clusters",
            fix="widen [k_min, k_max], or pass k explicitly",
        )
    _, best, best_se = max(valid, key=lambda item: (item[1], -item[0]))
    return min(k for k, s, _ in valid if s >= best - n_se * best_se)


def elbow_k(ks: Sequence[int], inertia: Sequence[float | None]) -> int | None:
    """The knee of the inertia curve, or ``None`` when it has no knee (or under 3 points)."""
    pairs = [(k, v) for k, v in zip(ks, inertia, strict=True) if v is not None]
    if len(pairs) < 3:
        return None
    # Imported here: kneed pulls in scipy.signal, slow to import and needed only for a scan.
    from kneed import KneeLocator

    locator = KneeLocator(
        [k for k, _ in pairs], [v for _, v in pairs], curve="convex", direction="decreasing"
    )
    return None if locator.knee is None else int(locator.knee)


def scan_k(
    X: np.ndarray,
    fit_for_k: Callable[[int], Any],
    k_min: int,
    k_max: int,
    *,
    n_se: float = 1.0,
    silhouette_sample_size: int | None = SILHOUETTE_SAMPLE_SIZE,
    random_state: int | None = 0,
    show_progress: bool = False,
) -> tuple[KSelection, Any]:
    """Fit ``fit_for_k(k)`` for each k in [k_min, k_max]; return the scores and the chosen fit.

    ``X`` is the matrix the clusterers see (already reduced, if a reduction applies).
    """
    import time

    from tqdm.auto import tqdm

    X = check_matrix(X)
    if k_min < 2 or k_min > k_max:
        raise ParameterError(
            f"k_min={k_min}, k_max={k_max}",
            expected="2 <= k_min <= k_max",
            fix="set cluster.k_min and cluster.k_max accordingly",
        )
    if len(X) <= k_max:
        raise ParameterError(
            f"n_samples={len(X)} should be > k_max={k_max} to scan k (silhouette needs k < n)",
            expected="more users than the largest k scanned",
            fix="lower cluster.k_max, or pass k explicitly",
        )
    ks = list(range(k_min, k_max + 1))
    fitted: dict[int, Any] = {}
    rows: list[dict[str, float | None]] = []
    found: list[int] = []
    bics: list[float | None] = []
    seconds: list[float] = []
    for k in tqdm(ks, desc="scanning k", disable=not show_progress):
        started = time.perf_counter()
        model = fit_for_k(k)
        fitted[k] = model
        found.append(int(model.n_clusters_))
        rows.append(
            internal_scores(
                X,
                model.labels_,
                silhouette_sample_size=silhouette_sample_size,
                random_state=random_state,
            )
        )
        bics.append(getattr(model, "bic_", None))
        seconds.append(round(time.perf_counter() - started, 4))
    column = {name: [_finite(row[name]) for row in rows] for name in rows[0]}
    chosen = choose_k(ks, column["silhouette"], column["silhouette_se"], n_se=n_se)
    selection = KSelection(
        ks=ks,
        n_clusters_found=found,
        inertia=column["inertia"],
        silhouette=column["silhouette"],
        silhouette_se=column["silhouette_se"],
        calinski_harabasz=column["calinski_harabasz"],
        davies_bouldin=column["davies_bouldin"],
        bic=None if all(b is None for b in bics) else bics,
        chosen_k=chosen,
        elbow_k=elbow_k(ks, column["inertia"]),
        best_k_by={
            "silhouette": _best(ks, column["silhouette"], max),
            "calinski_harabasz": _best(ks, column["calinski_harabasz"], max),
            "davies_bouldin": _best(ks, column["davies_bouldin"], min),
            "bic": None if all(b is None for b in bics) else _best(ks, bics, min),
        },
        n_se=n_se,
        silhouette_sample_size=silhouette_sample_size,
        seconds_per_k=seconds,
    )
    return selection, fitted[chosen]


def _finite(value: float | None) -> float | None:
    # JSON has no NaN: an undefined score is None.
    return None if value is None or not math.isfinite(value) else float(value)


def _best(ks: Sequence[int], values: Sequence[float | None], pick: Callable) -> int | None:
    valid = [(v, k) for k, v in zip(ks, values, strict=True) if v is not None]
    if not valid:
        return None
    best = pick(v for v, _ in valid)
    return min(k for v, k in valid if v == best)
