"""Per-user normalisation, the weighted blend, MMR re-ranking and the weight search.

Components live on unrelated scales (EASE scores, cosines, log counts), so each is turned
into a per-user z-score before blending, with the mean and spread of the user's scores over the
warm items. The blend is the weighted sum of z-scores, with the regime's weights on warm items
and the cold-item weights on cold items.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from interestlens.recommend.top_items import top_k

#: a weight change must gain this many standard errors (paired over validation users)
SIGNIFICANCE_Z = 1.0
#: values tried for each weight during coordinate ascent (the anchor stays at 1)
WEIGHT_GRID: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


def standardise(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-row z-scores with the mean and spread of the ``reference`` columns (the warm items).

    Every column, cold items included, is put on that scale: a cold item's components are
    predictions in the warm items' units (neighbour means, mapped factors, a popularity prior),
    so they keep their place relative to the warm items instead of getting a spread of their
    own.
    """
    if len(reference) == 0:
        return np.zeros(scores.shape, dtype=np.float32)
    mean, spread = row_scale(scores, reference)
    # in float32 throughout: a float64 users x items temporary made this 2.5x slower
    out = np.subtract(scores, mean.astype(np.float32), dtype=np.float32)
    out /= spread.astype(np.float32)
    return out


def row_scale(scores: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(n, 1)`` float64 mean and spread of each row over the ``reference`` columns (a
    spread of 0 counts as 1), for :func:`standardise` and :func:`blend`; float32 passes over
    ``scores`` only (no float64 copy of a users × items block)."""
    if scores.shape[0] > 1 and scores.strides[0] == 0:
        # the same row for every user (popularity): its statistics once
        mean, spread = row_scale(scores[:1], reference)
        return np.repeat(mean, scores.shape[0], axis=0), np.repeat(spread, scores.shape[0], axis=0)
    part = scores if len(reference) == scores.shape[1] else scores[:, reference]
    mean = part.mean(axis=1, dtype=np.float64, keepdims=True)
    centred = part - mean.astype(np.float32)
    np.square(centred, out=centred)
    spread = np.sqrt(centred.sum(axis=1, dtype=np.float64, keepdims=True) / part.shape[1])
    spread[spread < 1e-12] = 1.0
    return mean, spread


def blend(
    components: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    reference: np.ndarray,
    *,
    cold_items: np.ndarray | None = None,
    cold_weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Weighted sum of the components' z-scores (:func:`standardise` with ``reference``);
    ``cold_items`` columns use ``cold_weights``.

    The z-scores are never built: ``w * (x - mean) / spread`` summed over components is
    ``sum(w / spread * x) - sum(w * mean / spread)``, one scaled add per component and one
    offset per row, which made scoring a batch of users about twice as fast.
    """
    shape = next(iter(components.values())).shape
    out = np.zeros(shape, dtype=np.float32)
    if len(reference) == 0:
        return out
    has_cold = cold_items is not None and len(cold_items) > 0 and cold_weights is not None
    cold = np.zeros((shape[0], len(cold_items) if has_cold else 0), dtype=np.float32)
    offset = np.zeros((shape[0], 1), dtype=np.float64)
    cold_offset = np.zeros((shape[0], 1), dtype=np.float64)
    scaled = np.empty(shape, dtype=np.float32)
    for name, values in components.items():
        weight = float(weights.get(name, 0.0))
        cold_weight = float(cold_weights.get(name, 0.0)) if has_cold else 0.0  # type: ignore[union-attr]
        if not weight and not cold_weight:
            continue
        mean, spread = row_scale(values, reference)
        if weight:
            np.multiply(values, (weight / spread).astype(np.float32), out=scaled)
            out += scaled
            offset += weight * mean / spread
        if cold_weight:
            cold += (cold_weight / spread).astype(np.float32) * values[:, cold_items]
            cold_offset += cold_weight * mean / spread
    out -= offset.astype(np.float32)
    if has_cold:
        out[:, cold_items] = cold - cold_offset.astype(np.float32)
    return out


def coordinate_ascent(
    names: Sequence[str],
    objective: Callable[[dict[str, float]], np.ndarray],
    start: Mapping[str, float],
    *,
    anchor: str,
    grid: Sequence[float] = WEIGHT_GRID,
    passes: int = 2,
    z: float = SIGNIFICANCE_Z,
) -> tuple[dict[str, float], float, list[dict[str, object]]]:
    """Maximise the mean of ``objective`` (one value per validation user) one weight at a time
    over ``grid``; ``anchor`` stays at 1.

    A change is kept only if its paired per-user gain is significant: mean gain above ``z``
    standard errors. Small validation parts are noisy, and chasing their noise picked weights
    that lost on held-out data. Returns the weights, their mean score and every evaluation.
    """
    weights = {name: float(start.get(name, 0.0)) for name in names}
    weights[anchor] = 1.0
    current = objective(weights)
    trace: list[dict[str, object]] = [{"weights": dict(weights), "score": _mean(current)}]
    for _ in range(passes):
        improved = False
        for name in names:
            if name == anchor:
                continue
            for value in grid:
                if value == weights[name]:
                    continue
                trial = {**weights, name: float(value)}
                scores = objective(trial)
                trace.append({"weights": trial, "score": _mean(scores)})
                if significantly_better(scores, current, z):
                    current, weights, improved = scores, trial, True
        if not improved:
            break
    return weights, _mean(current), trace


def _mean(scores: np.ndarray) -> float:
    # a half of a tiny validation part may hold no user with a target
    return float(scores.mean()) if scores.size else 0.0


def significantly_better(
    new: np.ndarray, old: np.ndarray, z: float, *, clusters: sp.spmatrix | None = None
) -> bool:
    """Paired test: is the mean of ``new - old`` more than ``z`` standard errors above 0?

    ``clusters`` (see :func:`paired_standard_error`): which shared unit each pair belongs to.
    """
    gain = np.asarray(new, dtype=np.float64) - np.asarray(old, dtype=np.float64)
    if gain.size == 0 or gain.mean() <= 0:
        return False
    if gain.size < 2:
        return True
    return bool(gain.mean() > z * paired_standard_error(gain, clusters))


def paired_standard_error(gain: np.ndarray, clusters: sp.spmatrix | None = None) -> float:
    """Standard error of ``gain.mean()``.

    Without ``clusters`` the pairs are independent draws. ``clusters`` (pairs x units, each
    row summing to 1) says which units each pair shares, when the units are what was sampled:
    new-item validation draws a few dozen items, and every user who had one of them moves with
    it, so the users are not independent. The error is then the cluster-robust one: each unit's
    share of the residuals, summed, squared, with the small-sample factor G / (G - 1) over the
    G units present.
    """
    gain = np.asarray(gain, dtype=np.float64)
    n = gain.size
    if n < 2:
        return float("nan")
    if clusters is None:
        return float(gain.std(ddof=1) / np.sqrt(n))
    if clusters.shape[0] != n:
        raise ValueError(f"clusters has {clusters.shape[0]} rows; expected one per pair ({n})")
    clusters = sp.csr_matrix(clusters)
    sums = np.asarray(clusters.T @ (gain - gain.mean())).ravel()
    present = int(np.count_nonzero(np.asarray(abs(clusters).sum(axis=0)).ravel()))
    if present < 2:
        return float("nan")
    return float(np.sqrt((sums**2).sum() * present / (present - 1)) / n)


def mmr_rerank(
    scores: np.ndarray,
    k: int,
    item_vectors: np.ndarray,
    *,
    diversity_lambda: float,
    pool: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximal marginal relevance over each row's best ``pool`` items.

    Step by step, pick ``argmax lambda * rel(i) - (1 - lambda) * max_{j picked} cos(i, j)``
    where ``rel`` is the score rescaled to [0, 1] within the pool and negative cosines count
    as 0. Returns the items and the objective at the time each was picked (non-increasing
    along a row); -1 / -inf pad as :func:`top_k` does. ``scores`` must already hold -inf for
    excluded items.
    """
    pool_items, pool_scores = top_k(scores, max(k, pool))
    n_rows = len(scores)
    items = np.full((n_rows, k), -1, dtype=np.int64)
    values = np.full((n_rows, k), -np.inf, dtype=np.float32)
    for row in range(n_rows):
        valid = pool_items[row] >= 0
        candidates = pool_items[row][valid]
        if len(candidates) == 0:
            continue
        relevance = pool_scores[row][valid].astype(np.float64)
        low, high = relevance.min(), relevance.max()
        relevance = (relevance - low) / (high - low) if high > low else np.ones_like(relevance)
        vectors = item_vectors[candidates]
        # a negative cosine is no reason to prefer an item; clipping keeps the values monotone
        similarity = np.clip(vectors @ vectors.T, 0.0, None)
        penalty = np.zeros(len(candidates))
        free = np.ones(len(candidates), dtype=bool)
        for slot in range(min(k, len(candidates))):
            objective = diversity_lambda * relevance - (1.0 - diversity_lambda) * penalty
            objective[~free] = -np.inf
            chosen = int(np.argmax(objective))
            items[row, slot] = candidates[chosen]
            values[row, slot] = objective[chosen]
            free[chosen] = False
            penalty = np.maximum(penalty, similarity[chosen])
    return items, values
