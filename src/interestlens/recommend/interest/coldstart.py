"""Cold items: behaviour inherited from text, learned on the warm items.

An item nobody interacted with has no collaborative column, no cluster shares and no
popularity. Three mappings, fitted on the warm items, give it all three from its text:

* **text neighbours**: the ``n_neighbours`` warm items most similar in the joint (dense +
  lexical) space, weighted by positive cosine. A cold item's collaborative score for a user is
  the neighbour-weighted mean of the neighbours' scores, and its cluster lifts likewise;
* **ridge regression** from text features (joint vector, text richness, the neighbours' mean
  popularity) to the item's collaborative factors (truncated SVD of the interaction matrix)
  and to its log popularity; ``RidgeCV`` picks the penalty per target by leave-one-out;
* the **popularity prior** of a cold item is that regression's log-popularity prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import RidgeCV

RIDGE_ALPHAS: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
_BLOCK = 1024
#: most warm items the text → factors/popularity ridge is fitted on
RIDGE_SAMPLE = 10_000


@dataclass
class ColdItemMapping:
    """``neighbours``: ``(n_items, n_cold)`` column weights over warm items (each sums to 1);
    ``factors`` ``(n_cold, f)`` and ``log_popularity`` ``(n_cold,)`` predicted from text.

    ``coef`` ``(f + 1, n_features)`` and ``intercept`` ``(f + 1,)``: the ridge regression from
    text features to factors and log popularity (None with fewer than 3 warm items, where the
    neighbours' mean is the prediction); kept to place items added after fitting.
    """

    cold_items: np.ndarray
    neighbours: sp.csr_matrix
    factors: np.ndarray
    log_popularity: np.ndarray
    ridge_alphas: list[float]
    coef: np.ndarray | None = None
    intercept: np.ndarray | None = None

    def add_items(
        self,
        new_items: np.ndarray,
        neighbours: sp.csr_matrix,
        factors: np.ndarray,
        log_popularity: np.ndarray,
    ) -> None:
        """Take items appended to the catalogue as cold items: ``neighbours``
        ``(n_items_after, len(new_items))`` and their predicted ``factors`` and
        ``log_popularity`` (:func:`place_new_items`)."""
        n_new, n_cold = len(new_items), self.neighbours.shape[1]
        grown = sp.vstack([self.neighbours, sp.csr_matrix((n_new, n_cold), dtype=np.float32)])
        self.neighbours = sp.hstack([grown, neighbours], format="csr", dtype=np.float32)
        self.cold_items = np.concatenate([self.cold_items, new_items])
        self.factors = np.vstack([self.factors, factors])
        self.log_popularity = np.concatenate([self.log_popularity, log_popularity])

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray | sp.csr_matrix]]:
        arrays: dict[str, np.ndarray | sp.csr_matrix] = {
            "items": self.cold_items,
            "neighbours": self.neighbours,
            "factors": self.factors,
            "log_popularity": self.log_popularity,
        }
        if self.coef is not None and self.intercept is not None:
            arrays.update(coef=self.coef, intercept=self.intercept)
        return {"ridge_alphas": [float(a) for a in self.ridge_alphas]}, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, Any]) -> ColdItemMapping:
        return cls(
            cold_items=arrays["items"],
            neighbours=sp.csr_matrix(arrays["neighbours"]),
            factors=arrays["factors"],
            log_popularity=arrays["log_popularity"],
            ridge_alphas=[float(a) for a in meta["ridge_alphas"] or []],
            coef=arrays.get("coef"),
            intercept=arrays.get("intercept"),
        )


def text_neighbours(
    joint: np.ndarray, warm: np.ndarray, queries: np.ndarray, n_neighbours: int
) -> sp.csr_matrix:
    """``(n_items, len(queries))``: each query item's most similar warm items (never itself)."""
    warm_items = np.flatnonzero(warm)
    n_items = len(joint)
    k = max(1, min(n_neighbours, len(warm_items)))
    rows, cols, values = [], [], []
    warm_vectors = joint[warm_items].T
    for start in range(0, len(queries), _BLOCK):
        block = queries[start : start + _BLOCK]
        cosine = joint[block] @ warm_vectors
        cosine[block[:, None] == warm_items[None, :]] = -np.inf
        picked = np.argpartition(-cosine, k - 1, axis=1)[:, :k]
        sims = np.take_along_axis(cosine, picked, axis=1)
        valid = np.isfinite(sims)
        weights = np.where(valid, np.clip(sims, 0.0, None), 0.0)
        sums = weights.sum(axis=1, keepdims=True)
        # no positive similarity at all (empty text): every neighbour counts the same
        weights = np.where(sums > 0, weights / np.where(sums > 0, sums, 1.0), valid / k)
        target = np.broadcast_to(np.arange(start, start + len(block))[:, None], picked.shape)
        rows.append(warm_items[picked[valid]])
        cols.append(target[valid])
        values.append(weights[valid])
    if not rows:
        return sp.csr_matrix((n_items, 0), dtype=np.float32)
    return sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, len(queries)),
        dtype=np.float32,
    )


def _features(
    joint: np.ndarray, richness: np.ndarray, neighbours: sp.csr_matrix, log_popularity: np.ndarray
) -> np.ndarray:
    """Ridge inputs of the items whose neighbour columns are given (rows of ``joint`` and
    ``richness`` already selected): joint vector, text richness, neighbours' log popularity."""
    neighbour_popularity = np.asarray(neighbours.T @ log_popularity).ravel()[:, None]
    return np.hstack([joint, richness, neighbour_popularity]).astype(np.float64)


def _predict(
    coef: np.ndarray | None,
    intercept: np.ndarray | None,
    features: np.ndarray,
    neighbours: sp.csr_matrix,
    targets: np.ndarray,
) -> np.ndarray:
    if coef is None or intercept is None:
        # too few warm items to fit anything: the neighbours' mean is the whole prior
        return np.asarray(neighbours.T @ targets)
    return features @ coef.T + intercept


def fit_cold_item_mapping(
    joint: np.ndarray,
    richness: np.ndarray,
    warm: np.ndarray,
    factors: np.ndarray,
    log_popularity: np.ndarray,
    *,
    n_neighbours: int,
) -> ColdItemMapping:
    """Fit the mappings on the warm items and apply them to the cold ones."""
    cold_items = np.flatnonzero(~warm)
    warm_items = np.flatnonzero(warm)
    # the ridge learns from at most RIDGE_SAMPLE warm items, spread evenly over the catalogue:
    # each needs its text neighbours among all warm items, which for every item would be
    # n_items² work (10 minutes at 100k items)
    train_items = warm_items
    if len(warm_items) > RIDGE_SAMPLE:
        train_items = warm_items[np.linspace(0, len(warm_items) - 1, RIDGE_SAMPLE).astype(int)]
    queries = np.union1d(cold_items, train_items)
    neighbours_all = text_neighbours(joint, warm, queries, n_neighbours)
    features = _features(joint[queries], richness[queries], neighbours_all, log_popularity)
    targets = _targets(factors, log_popularity)
    coef = intercept = None
    alphas: list[float] = []
    if len(warm_items) >= 3:
        train = np.searchsorted(queries, train_items)
        ridge = RidgeCV(alphas=RIDGE_ALPHAS, alpha_per_target=True)
        ridge.fit(features[train], targets[train_items])
        coef = np.asarray(ridge.coef_, dtype=np.float64).reshape(targets.shape[1], -1)
        intercept = np.asarray(ridge.intercept_, dtype=np.float64).reshape(targets.shape[1])
        alphas = np.atleast_1d(ridge.alpha_).astype(float).tolist()
    cold = np.searchsorted(queries, cold_items)
    neighbours = sp.csr_matrix(neighbours_all[:, cold])
    predicted = _predict(coef, intercept, features[cold], neighbours, targets)
    predicted = np.asarray(predicted, dtype=np.float32).reshape(len(cold_items), targets.shape[1])
    return ColdItemMapping(
        cold_items=cold_items,
        neighbours=neighbours,
        factors=predicted[:, : factors.shape[1]],
        log_popularity=np.clip(predicted[:, -1], 0.0, None),
        ridge_alphas=alphas,
        coef=coef,
        intercept=intercept,
    )


def _targets(factors: np.ndarray, log_popularity: np.ndarray) -> np.ndarray:
    return np.hstack([factors, log_popularity[:, None]]).astype(np.float64)


def place_new_items(
    mapping: ColdItemMapping,
    joint: np.ndarray,
    richness: np.ndarray,
    warm: np.ndarray,
    factors: np.ndarray,
    log_popularity: np.ndarray,
    new_items: np.ndarray,
    *,
    n_neighbours: int,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Neighbours ``(n_items, len(new_items))``, factors and log popularity of items added
    after fitting, from the fitted mapping (``joint``, ``richness``, ``warm`` cover every item,
    the new ones included; ``factors`` and ``log_popularity`` are exact on the warm items)."""
    neighbours = text_neighbours(joint, warm, new_items, n_neighbours)
    features = _features(joint[new_items], richness[new_items], neighbours, log_popularity)
    targets = _targets(factors, log_popularity)
    predicted = _predict(mapping.coef, mapping.intercept, features, neighbours, targets)
    predicted = np.asarray(predicted, dtype=np.float32).reshape(len(new_items), targets.shape[1])
    return (
        neighbours,
        predicted[:, : factors.shape[1]],
        np.clip(predicted[:, -1], 0.0, None),
    )
