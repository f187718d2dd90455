"""The search for one regime's blend: validation carves, their components, and the weights.

For each of ``repeats`` carves (:func:`.tuning.carve`), an :class:`InterestCore` is fitted on
the carve's training part and the query users' components are z-scored once; every weight
vector tried is then a cheap weighted sum and one NDCG@10 per validation user, pooled over
the carves. ``half_life`` (warm regime, with times) is chosen first with the anchor alone,
then the weights by :func:`.blend.coordinate_ascent`, then ``n_clusters`` among the
candidates at those weights (the winner's weights are refined once more).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from interestlens.recommend.interest.blend import coordinate_ascent, standardise
from interestlens.recommend.interest.core import COMPONENTS, CoreSettings, InterestCore, Query
from interestlens.recommend.interest.history import latest, recency
from interestlens.recommend.interest.text import TextSpace
from interestlens.recommend.interest.tuning import (
    COLD_ITEMS,
    COLD_USERS,
    Carve,
    ValidationScorer,
    carve,
)

VALIDATION_K = 10


@dataclass(frozen=True)
class SearchSpace:
    """What one regime's search may change, and what it holds fixed."""

    names: list[str]  # components available (no text: no semantic/lexical; no times: no trend)
    anchor: str  # stays at weight 1; the search starts from it alone
    cluster_options: list[int]
    half_lives: list[float | None]
    cold_weights: Mapping[str, float]  # blend of cold-item columns outside the cold-item regime


@dataclass(frozen=True)
class CarveSettings:
    fraction: float
    history_per_user: int
    max_users: int
    repeats: int
    seed: int


class _Fold:
    """One validation carve with its fitted core, scorer and z-scored components."""

    def __init__(self, part: Carve, core: InterestCore):
        self.part = part
        self.core = core
        self.scorer = ValidationScorer(part, VALIDATION_K)
        self.warm = np.flatnonzero(core.warm)
        self.components: dict[str, np.ndarray] = {}
        self.query: Query | None = None

    def query_for(self, half_life: float | None) -> Query:
        part = self.part
        if part.regime == COLD_USERS:
            return Query(part.history)
        times = part.times[part.users] if part.times is not None else None
        return Query(recency(part.history, times, half_life), reference_time=latest(times))

    def set_components(self, half_life: float | None, k: int, names: Sequence[str]) -> None:
        self.query = self.query_for(half_life)
        raw = self.core.components(self.query, k, names)
        self.components = {name: standardise(values, self.warm) for name, values in raw.items()}

    def affinity(self, k: int) -> np.ndarray:
        assert self.query is not None
        raw = self.core.components(self.query, k, ["affinity"])["affinity"]
        return standardise(raw, self.warm)


def _objective(
    folds: list[_Fold], regime: str, cold_weights: Mapping[str, float]
) -> Callable[[Mapping[str, float]], np.ndarray]:
    """Per-user validation NDCG, over all folds, of the blend with the given weights."""
    stacks = []
    for fold in folds:
        names = list(fold.components)
        stack = np.stack([fold.components[name] for name in names])
        cold = fold.core.cold_items
        fixed = np.array([cold_weights.get(n, 0.0) for n in names], dtype=np.float32)
        stacks.append((names, stack, stack[:, :, cold] if len(cold) else None, fixed))

    def objective(weights: Mapping[str, float]) -> np.ndarray:
        scores = []
        for fold, (names, stack, cold_stack, fixed) in zip(folds, stacks, strict=True):
            vector = np.array([weights.get(name, 0.0) for name in names], dtype=np.float32)
            if regime == COLD_ITEMS:
                blended = np.zeros(stack.shape[1:], dtype=np.float32)
            else:
                blended = np.tensordot(vector, stack, axes=1)
                vector = fixed
            if cold_stack is not None:
                blended[:, fold.core.cold_items] = np.tensordot(vector, cold_stack, axes=1)
            scores.append(fold.scorer(blended))
        return np.concatenate(scores)

    return objective


def tune_regime(
    regime: str,
    weights: sp.csr_matrix,
    times: sp.csr_matrix | None,
    *,
    settings: CoreSettings,
    text: TextSpace | None,
    space: SearchSpace,
    carving: CarveSettings,
) -> dict[str, Any]:
    """Search ``regime``'s blend; the record holds ``weights``, ``n_clusters``, ``half_life``
    and the scores seen, or ``skipped`` with the reason."""
    folds: list[_Fold] = []
    for repeat in range(carving.repeats):
        part = carve(
            regime,
            weights,
            times,
            fraction=carving.fraction,
            history_per_user=carving.history_per_user,
            max_users=carving.max_users,
            seed=carving.seed + repeat,
        )
        if isinstance(part, str):
            return {"skipped": part}
        core = InterestCore(settings, text).fit(part.train, space.cluster_options, times=part.times)
        folds.append(_Fold(part, core))
    names, anchor = space.names, space.anchor
    first_k = space.cluster_options[0]
    start = {name: float(name == anchor) for name in names}
    record: dict[str, Any] = {
        "validation": [fold.part.summary() for fold in folds],
        "repeats": len(folds),
        "metric": f"ndcg@{VALIDATION_K}",
        "anchor": anchor,
    }

    def objective() -> Callable[[Mapping[str, float]], np.ndarray]:
        return _objective(folds, regime, space.cold_weights)

    half_life_scores: dict[str, float] = {}
    best_half_life, best_start = space.half_lives[0], -np.inf
    for half_life in space.half_lives:
        for fold in folds:
            fold.set_components(half_life, first_k, names)
        score = float(objective()(start).mean())
        half_life_scores[str(half_life)] = score
        if score > best_start + 1e-12:
            best_half_life, best_start = half_life, score
    if len(space.half_lives) > 1:
        record["half_life_scores"] = half_life_scores
        for fold in folds:
            fold.set_components(best_half_life, first_k, names)

    found, score, trace = coordinate_ascent(names, objective(), start, anchor=anchor)
    chosen_k = first_k
    if len(space.cluster_options) > 1:
        # other k are compared at the weights found for the first, and the winner's weights
        # are refined once more: a full search per k would cost k times as much
        cluster_scores = {str(first_k): score}
        affinities = {first_k: [fold.components["affinity"] for fold in folds]}
        for k in space.cluster_options[1:]:
            affinities[k] = [fold.affinity(k) for fold in folds]
            for fold, affinity in zip(folds, affinities[k], strict=True):
                fold.components["affinity"] = affinity
            cluster_scores[str(k)] = float(objective()(found).mean())
        chosen_k = int(max(cluster_scores, key=lambda k: cluster_scores[k]))
        record["n_clusters_scores"] = cluster_scores
        for fold, affinity in zip(folds, affinities[chosen_k], strict=True):
            fold.components["affinity"] = affinity
        if chosen_k != first_k:
            found, score, more = coordinate_ascent(
                names, objective(), found, anchor=anchor, passes=1
            )
            trace += more
    record.update(
        start_score=half_life_scores[str(best_half_life)],
        score=score,
        weights={name: found.get(name, 0.0) for name in COMPONENTS},
        n_clusters=chosen_k,
        half_life=best_half_life,
        evaluations=len(trace) + len(space.half_lives) + len(space.cluster_options) - 1,
    )
    return record
