"""The search for one regime's blend: validation carves, their components, and the weights.

For each of ``repeats`` carves (:func:`.tuning.carve`), an :class:`InterestCore` is fitted on
the carve's training part and the query users' components are z-scored once; every weight
vector tried is then a cheap weighted sum and one NDCG@10 per validation user, pooled over
the carves. ``half_life`` (warm regime, with times) is chosen first with the anchor alone,
then the weights by :func:`.blend.coordinate_ascent`, then ``n_clusters`` among the
candidates at those weights (the winner's weights are refined once more). A half-life or a
cluster count other than the first candidate is taken only for a significant paired gain over
it (``z``), like every weight.

Last, the blend must beat the plain baselines it contains. Each reference of the regime
(:data:`.core.REFERENCES` available there: EASE alone for known users, popularity for new
users, TF-IDF kNN where there is item text) is scored alone on the same validation users; the
blend is kept only when it is better than the best of them by ``reference_z`` paired standard
errors on validation its weights were not searched on (a two-way cross-fit over halves of the
validation users; for new items over halves of the held-out items, with the error clustered by
item: :func:`_compare_references`). Otherwise the regime *is* that reference
(its weight 1, every other weight 0, no recency), and the record says so (``fallback``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg.blas import saxpy

from interestlens.recommend.interest.blend import (
    SIGNIFICANCE_Z,
    coordinate_ascent,
    paired_standard_error,
    significantly_better,
    standardise,
)
from interestlens.recommend.interest.components import (
    COMPONENTS,
    REFERENCES,
    CoreSettings,
    InterestCore,
    Query,
)
from interestlens.recommend.interest.history import latest, recency
from interestlens.recommend.interest.text_space import TextSpace
from interestlens.recommend.interest.tuning import (
    COLD_ITEMS,
    COLD_TEXT,
    COLD_USERS,
    Carve,
    ValidationScorer,
    carve,
)

VALIDATION_K = 10
#: the blend must beat the best plain reference by this many paired standard errors (one-sided
#: 95 %): a blend that is only as good as a baseline it contains is not worth its complexity
REFERENCE_Z = 1.645


@dataclass(frozen=True)
class SearchSpace:
    """What one regime's search may change, and what it holds fixed."""

    names: list[str]  # components available (no text: no semantic/lexical; no times: no trend)
    anchor: str  # stays at weight 1; the search starts from it alone
    cluster_options: list[int]
    half_lives: list[float | None]
    cold_weights: Mapping[str, float]  # blend of cold-item columns outside the cold-item regime
    references: list[str] = ()  # type: ignore[assignment]  # plain baselines the blend must beat


@dataclass(frozen=True)
class CarveSettings:
    fraction: float
    history_per_user: int
    max_users: int
    repeats: int
    seed: int
    protocol: str = "temporal"


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
        attributes = None
        if self.core.user_attributes is not None:
            rows = part.query_rows()
            attributes = self.core.user_attributes.iloc[rows].reset_index(drop=True)
        if part.regime == COLD_USERS:
            return Query(part.history, attributes=attributes)
        if part.regime == COLD_TEXT:
            query = Query(part.history, part.text_dense, part.text_lexical, attributes=attributes)
            return self.core.with_pseudo_history(query)
        times = part.times[part.users] if part.times is not None else None
        return Query(
            recency(part.history, times, half_life),
            reference_time=latest(times),
            attributes=attributes,
        )

    def set_components(self, half_life: float | None, k: int, names: Sequence[str]) -> None:
        self.query = self.query_for(half_life)
        raw = self.core.components(self.query, k, names)
        self.components = {name: standardise(values, self.warm) for name, values in raw.items()}

    def affinity(self, k: int) -> np.ndarray:
        assert self.query is not None
        raw = self.core.components(self.query, k, ["affinity"])["affinity"]
        return standardise(raw, self.warm)

    def add_references(self, k: int, names: Sequence[str]) -> None:
        assert self.query is not None
        missing = [name for name in names if name not in self.components]
        raw = self.core.components(self.query, k, missing)
        for name, values in raw.items():
            self.components[name] = standardise(values, self.warm)


def _weighted_sum(vector: np.ndarray, stack: np.ndarray) -> np.ndarray:
    """``tensordot(vector, stack, axes=1)`` for a C-contiguous float32 ``stack``, one BLAS
    ``saxpy`` per non-zero weight: the search tries weights one at a time, so most are zero,
    and this was 3.5 times faster than numpy's multiply-add or ``tensordot`` on MovieLens."""
    out = np.zeros(stack.shape[1] * stack.shape[2], dtype=np.float32)
    if out.size == 0:  # BLAS refuses empty vectors
        return out.reshape(stack.shape[1:])
    for weight, values in zip(vector, stack, strict=True):
        if weight:
            out = saxpy(values.reshape(-1), out, a=float(weight))
    return out.reshape(stack.shape[1:])


def _stack(folds: list[_Fold]) -> list[np.ndarray]:
    """Each fold's components as one (component, user, item) array, in ``components`` order."""
    return [np.stack(list(fold.components.values())) for fold in folds]


def _item_half(n_items: int, half: int, seed: int) -> np.ndarray:
    """Positions of one seeded half of ``n_items`` held-out items (``half`` 0 or 1)."""
    order = np.random.default_rng(seed).permutation(n_items)
    return np.sort(order[half::2])


class _Objective:
    """Per-user validation NDCG, over all folds, of the blend with the given weights.

    ``half`` (0 or 1) scores one half of each fold, the two halves of a cross-fit: every other
    validation user (rows ``half::2``), or for new items a seeded half of the held-out items
    (:func:`_item_half`). ``stacked`` (:func:`_stack`) lets several objectives share one copy
    of the components.
    """

    def __init__(
        self,
        folds: list[_Fold],
        regime: str,
        cold_weights: Mapping[str, float],
        half: int | None = None,
        stacked: list[np.ndarray] | None = None,
        seed: int = 0,
    ):
        rows = slice(None) if half is None else slice(half, None, 2)
        if stacked is None:
            stacked = _stack(folds)
        self._stacks: list[tuple[Any, ...]] = []
        self._n_items = folds[0].part.relevant.shape[1] if folds else 0
        for number, (fold, whole) in enumerate(zip(folds, stacked, strict=True)):
            names = list(fold.components)
            cold = fold.core.cold_items
            if regime == COLD_ITEMS:
                # new items are ranked among themselves (the scorer's columns, cold items of
                # the fold's core): only their columns are blended, all with the weights searched
                scorer = fold.scorer
                if half is not None:
                    scorer = scorer.among(_item_half(len(scorer.columns), half, seed + number))
                cold_stack = np.ascontiguousarray(whole[:, :, scorer.columns])
                self._stacks.append((names, None, cold_stack, None, None, scorer))
                continue
            scorer = fold.scorer if half is None else fold.scorer.rows(rows)
            # a half is copied: the weighted sums need each component's rows in one block
            stack = whole if half is None else np.ascontiguousarray(whole[:, rows])
            fixed = np.array([cold_weights.get(n, 0.0) for n in names], dtype=np.float32)
            cold_stack = np.ascontiguousarray(stack[:, :, cold]) if len(cold) else None
            self._stacks.append((names, stack, cold_stack, cold, fixed, scorer))

    def __call__(self, weights: Mapping[str, float]) -> np.ndarray:
        scores = []
        for names, stack, cold_stack, cold_position, fixed, scorer in self._stacks:
            vector = np.array([weights.get(name, 0.0) for name in names], dtype=np.float32)
            if stack is None:  # new items among themselves
                scores.append(scorer(_weighted_sum(vector, cold_stack)))
                continue
            blended = _weighted_sum(vector, stack)
            if cold_stack is not None:
                blended[:, cold_position] = _weighted_sum(fixed, cold_stack)
            scores.append(scorer(blended))
        return np.concatenate(scores)

    def targets(self) -> sp.csr_matrix:
        """The items each value of ``__call__`` is about (:meth:`ValidationScorer.targets`)."""
        return sp.csr_matrix(
            sp.vstack([stack[-1].targets(self._n_items) for stack in self._stacks])
        )


def tune_regime(
    regime: str,
    weights: sp.csr_matrix,
    times: sp.csr_matrix | None,
    *,
    settings: CoreSettings,
    text: TextSpace | None,
    space: SearchSpace,
    carving: CarveSettings,
    user_text: tuple[np.ndarray, sp.csr_matrix] | None = None,
    user_clusters: np.ndarray | None = None,
    user_attributes: pd.DataFrame | None = None,
    z: float = SIGNIFICANCE_Z,
    reference_z: float = REFERENCE_Z,
) -> dict[str, Any]:
    """Search ``regime``'s blend; the record holds ``weights``, ``n_clusters``, ``half_life``,
    the scores seen and the reference comparison, or ``skipped`` with the reason."""
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
            protocol=carving.protocol,
            user_text=user_text,
        )
        if isinstance(part, str):
            return {"skipped": part}
        core = InterestCore(settings, text, user_clusters, user_attributes).fit(
            part.train, space.cluster_options, times=part.times
        )
        folds.append(_Fold(part, core))
    names, anchor = space.names, space.anchor
    first_k = space.cluster_options[0]
    start = {name: float(name == anchor) for name in names}
    record: dict[str, Any] = {
        "validation": [fold.part.summary() for fold in folds],
        "repeats": len(folds),
        "metric": f"ndcg@{VALIDATION_K}",
        "anchor": anchor,
        "protocol": carving.protocol,
    }

    def objective() -> Callable[[Mapping[str, float]], np.ndarray]:
        return _Objective(folds, regime, space.cold_weights)

    half_life_scores: dict[str, float] = {}
    per_user: dict[str, np.ndarray] = {}
    for half_life in space.half_lives:
        for fold in folds:
            fold.set_components(half_life, first_k, names)
        per_user[str(half_life)] = objective()(start)
        half_life_scores[str(half_life)] = float(per_user[str(half_life)].mean())
    # recency must earn its place: the first candidate (None, no recency, by default) stays
    # unless another is significantly better on this protocol's validation
    best_half_life = space.half_lives[0]
    for half_life in space.half_lives[1:]:
        if significantly_better(per_user[str(half_life)], per_user[str(best_half_life)], z):
            best_half_life = half_life
    if len(space.half_lives) > 1:
        record["half_life_scores"] = half_life_scores
        for fold in folds:
            fold.set_components(best_half_life, first_k, names)

    found, score, trace = coordinate_ascent(names, objective(), start, anchor=anchor, z=z)
    chosen_k = first_k
    if len(space.cluster_options) > 1 and "affinity" in names:
        # other k are compared at the weights found for the first, and the winner's weights
        # are refined once more: a full search per k would cost k times as much
        cluster_scores = {str(first_k): score}
        best_users = objective()(found)
        affinities = {first_k: [fold.components["affinity"] for fold in folds]}
        for k in space.cluster_options[1:]:
            affinities[k] = [fold.affinity(k) for fold in folds]
            for fold, affinity in zip(folds, affinities[k], strict=True):
                fold.components["affinity"] = affinity
            users_k = objective()(found)
            cluster_scores[str(k)] = float(users_k.mean())
            if significantly_better(users_k, best_users, z):
                chosen_k, best_users = k, users_k
        record["n_clusters_scores"] = cluster_scores
        for fold, affinity in zip(folds, affinities[chosen_k], strict=True):
            fold.components["affinity"] = affinity
        if chosen_k != first_k:
            found, score, more = coordinate_ascent(
                names, objective(), found, anchor=anchor, passes=1, z=z
            )
            trace += more
    chosen_half_life = best_half_life
    if space.references:
        comparison = _compare_references(
            folds,
            regime,
            space,
            chosen_k,
            found,
            reference_z,
            start=start,
            z=z,
            seed=carving.seed,
        )
        record["references"] = comparison
        if comparison["fallback"] is not None:
            everything = dict.fromkeys([*COMPONENTS, *REFERENCES])
            found = {name: float(name == comparison["fallback"]) for name in everything}
            score = comparison["scores"][comparison["fallback"]]
            chosen_half_life = None
    record.update(
        start_score=half_life_scores[str(best_half_life)],
        score=score,
        weights={name: found.get(name, 0.0) for name in dict.fromkeys([*COMPONENTS, *REFERENCES])},
        n_clusters=chosen_k,
        half_life=chosen_half_life,
        evaluations=len(trace) + len(space.half_lives) + len(space.cluster_options) - 1,
    )
    return record


def _compare_references(
    folds: list[_Fold],
    regime: str,
    space: SearchSpace,
    k: int,
    blend_weights: Mapping[str, float],
    reference_z: float,
    *,
    start: Mapping[str, float],
    z: float,
    seed: int = 0,
) -> dict[str, Any]:
    """The blend against each plain reference alone, per validation user, on the same folds.

    The weights were searched on these very users, so the blend's own score flatters it: a
    blend that only fits the validation noise looks better than a reference that fits nothing.
    The keep-or-fall-back decision is therefore cross-fitted: the weights are searched again on
    one half of the validation and judged on the other half, both ways, so that every score of
    the blend comes from weights that never saw it. The halves are halves of the validation
    users, except for new items, where what generalises or not is the item: there the halves
    are halves of the held-out items, and the standard error is clustered by item (users who
    share a held-out item are one draw, not many). The blend is kept when those held-out scores
    beat the best reference by ``reference_z`` paired standard errors; it then keeps the weights
    searched on all of the validation. ``fallback`` names the reference the regime falls back to
    (None: the blend is kept).
    """
    for fold in folds:
        fold.add_references(k, space.references)
    # the components no longer change here: their stacks are built once for every weighting
    stacked = _stack(folds)
    objective = _Objective(folds, regime, space.cold_weights, stacked=stacked)
    blend_users = objective(blend_weights)
    scores: dict[str, float] = {"blend": float(blend_users.mean())}
    for name in space.references:
        scores[name] = float(objective({name: 1.0}).mean())
    best = max(space.references, key=lambda name: scores[name])

    halves = [_Objective(folds, regime, space.cold_weights, half, stacked, seed) for half in (0, 1)]
    searched = [
        coordinate_ascent(space.names, half, start, anchor=space.anchor, z=z)[0] for half in halves
    ]
    # each half is scored with the weights searched on the other one
    held_out = np.concatenate([halves[0](searched[1]), halves[1](searched[0])])
    reference = np.concatenate([half({best: 1.0}) for half in halves])
    # new-item validation samples items, not users: users who share a held-out item move
    # together, so the error is clustered by item (a user with several targets is shared)
    clusters = (
        sp.vstack([halves[0].targets(), halves[1].targets()]) if regime == COLD_ITEMS else None
    )
    keep = significantly_better(held_out, reference, reference_z, clusters=clusters)
    gain = held_out - reference
    error = paired_standard_error(gain, clusters)
    mean_gain = float(gain.mean()) if gain.size else 0.0
    unseen = (
        "held-out new items its weights were not searched on (standard error clustered by item)"
        if regime == COLD_ITEMS
        else "validation users its weights were not searched on"
    )
    return {
        "scores": scores,
        "best_reference": best,
        "held_out_blend": float(held_out.mean()) if held_out.size else 0.0,
        "held_out_reference": float(reference.mean()) if reference.size else 0.0,
        "cross_fit_over": "items" if regime == COLD_ITEMS else "users",
        "half_weights": [
            {name: weight for name, weight in weights.items() if weight} for weights in searched
        ],
        "gain_over_best": mean_gain,
        "gain_standard_error": error,
        "z": reference_z,
        "fallback": None if keep else best,
        "why": (
            f"the blend beats {best} by {mean_gain:+.4f} NDCG@{VALIDATION_K} on {unseen} "
            f"(> {reference_z} standard errors of {error:.4f})"
            if keep
            else f"the blend does not beat {best} significantly on {unseen} "
            f"({mean_gain:+.4f} NDCG@{VALIDATION_K}, standard error {error:.4f}): falls back "
            f"to {best} alone"
        ),
    }
