"""Stability: refit on resampled rows with other seeds; agreement between the runs.

Each run draws rows (see ``sample``), fits a fresh clusterer with its own seed, and keeps the
labels of the rows it drew. For every pair of runs, the adjusted Rand index (ARI) is computed on
the rows both drew (a row drawn twice counts once). ``mean_ari`` near 1 means the partition is
reproducible; near 0, that it is an artefact of one seed or sample.

``sample="subsample"`` (default) draws ``fraction`` of the rows without replacement, as in
Ben-Hur, Elisseeff & Guyon (2002). ``"bootstrap"`` draws n rows with replacement; duplicated
rows inflate local density, which distorts density and linkage methods. ``"none"`` refits on
all rows and varies only the seed. Noise (``-1``) counts as one more label.

When the full-data labels are given, ``mean_ari_vs_full`` compares each run with them too.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.metrics import adjusted_rand_score

from interestlens.cluster.base import check_matrix
from interestlens.errors import ParameterError

Sampling = Literal["subsample", "bootstrap", "none"]


@dataclass
class StabilityReport:
    mean_ari: float | None
    std_ari: float | None
    pairwise_ari: list[float]
    mean_ari_vs_full: float | None
    ari_vs_full: list[float]
    n_runs: int
    sample: str
    fraction: float
    seeds: list[int]
    n_clusters_per_run: list[int]
    failed_runs: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StabilityReport:
        return cls(**data)


def stability(
    X: np.ndarray,
    make_clusterer: Callable[[int], Any],
    *,
    n_runs: int = 5,
    sample: Sampling = "subsample",
    fraction: float = 0.8,
    random_state: int | None = 0,
    reference_labels: np.ndarray | None = None,
    show_progress: bool = False,
    max_rows: int | None = None,
) -> StabilityReport:
    """Refit ``make_clusterer(seed)`` ``n_runs`` times on resampled rows of ``X``.

    ``max_rows`` caps a subsample's size (``fraction`` of a million rows would make each run
    as costly as the fit itself).

    A run whose fit raises :class:`ParameterError` (e.g. a density method finding no cluster in
    its sample) is listed in ``failed_runs`` with its message and left out of the means.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    X = check_matrix(X)
    if n_runs < 2:
        raise ParameterError(
            f"stability n_runs={n_runs}",
            expected="n_runs >= 2 (pairs of runs are compared), or 0 to skip stability",
            fix="set cluster.stability_runs to 0 or to 2 or more",
        )
    if sample not in ("subsample", "bootstrap", "none"):
        raise ParameterError(
            f"sample={sample!r}",
            expected="'subsample', 'bootstrap' or 'none'",
            fix="pass one of those",
        )
    if sample == "subsample" and not 0.0 < fraction <= 1.0:
        raise ParameterError(
            f"fraction={fraction}", expected="0 < fraction <= 1", fix="pass e.g. fraction=0.8"
        )
    n = len(X)
    rng = np.random.default_rng(random_state)
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=n_runs)]
    runs: list[tuple[np.ndarray, np.ndarray]] = []  # (unique row indices, their labels)
    failed: list[dict[str, Any]] = []
    n_clusters: list[int] = []
    for run, seed in enumerate(tqdm(seeds, desc="stability", disable=not show_progress)):
        draw = np.random.default_rng(seed)
        if sample == "subsample":
            size = max(2, round(fraction * n))
            size = size if max_rows is None else max(2, min(size, int(max_rows)))
            rows = np.sort(draw.choice(n, size=size, replace=False))
        elif sample == "bootstrap":
            rows = np.sort(draw.integers(0, n, size=n))
        else:
            rows = np.arange(n)
        try:
            model = make_clusterer(seed).fit(X[rows])
        except ParameterError as error:
            failed.append({"run": run, "seed": seed, "error": str(error)})
            continue
        unique_rows, first = np.unique(rows, return_index=True)
        runs.append((unique_rows, np.asarray(model.labels_)[first]))
        n_clusters.append(int(model.n_clusters_))

    pairwise = []
    for (rows_a, labels_a), (rows_b, labels_b) in itertools.combinations(runs, 2):
        _, in_a, in_b = np.intersect1d(rows_a, rows_b, assume_unique=True, return_indices=True)
        if len(in_a) >= 2:
            pairwise.append(float(adjusted_rand_score(labels_a[in_a], labels_b[in_b])))
    vs_full = []
    if reference_labels is not None:
        reference = np.asarray(reference_labels)
        vs_full = [float(adjusted_rand_score(reference[rows], labels)) for rows, labels in runs]
    return StabilityReport(
        mean_ari=float(np.mean(pairwise)) if pairwise else None,
        std_ari=float(np.std(pairwise)) if pairwise else None,
        pairwise_ari=pairwise,
        mean_ari_vs_full=float(np.mean(vs_full)) if vs_full else None,
        ari_vs_full=vs_full,
        n_runs=n_runs,
        sample=sample,
        fraction=fraction if sample == "subsample" else 1.0,
        seeds=seeds,
        n_clusters_per_run=n_clusters,
        failed_runs=failed,
        seconds=round(time.perf_counter() - started, 4),
    )
