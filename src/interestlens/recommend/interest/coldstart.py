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

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import RidgeCV

RIDGE_ALPHAS: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
_BLOCK = 1024


@dataclass
class ColdItemMapping:
    """``neighbours``: ``(n_items, n_cold)`` column weights over warm items (each sums to 1);
    ``factors`` ``(n_cold, f)`` and ``log_popularity`` ``(n_cold,)`` predicted from text."""

    cold_items: np.ndarray
    neighbours: sp.csr_matrix
    factors: np.ndarray
    log_popularity: np.ndarray
    ridge_alphas: list[float]


def text_neighbours(
    joint: np.ndarray, warm: np.ndarray, queries: np.ndarray, n_neighbours: int
) -> sp.csr_matrix:
    """``(n_items, len(queries))``: each query item's most similar warm items (never itself)."""
    warm_items = np.flatnonzero(warm)
    n_items = len(joint)
    k = max(1, min(n_neighbours, len(warm_items)))
    rows, cols, values = [], [], []
    for start in range(0, len(queries), _BLOCK):
        block = queries[start : start + _BLOCK]
        cosine = joint[block] @ joint[warm_items].T
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
    everyone = np.arange(len(joint))
    neighbours_all = text_neighbours(joint, warm, everyone, n_neighbours)
    neighbour_popularity = np.asarray(neighbours_all.T @ log_popularity).ravel()[:, None]
    features = np.hstack([joint, richness, neighbour_popularity]).astype(np.float64)
    targets = np.hstack([factors, log_popularity[:, None]]).astype(np.float64)
    warm_items = np.flatnonzero(warm)
    predicted: np.ndarray
    if len(warm_items) >= 3:
        ridge = RidgeCV(alphas=RIDGE_ALPHAS, alpha_per_target=True)
        ridge.fit(features[warm_items], targets[warm_items])
        predicted = ridge.predict(features[cold_items]) if len(cold_items) else targets[:0]
        alphas = np.atleast_1d(ridge.alpha_).astype(float).tolist()
    else:
        # too few warm items to fit anything: the neighbours' mean is the whole prior
        predicted = (neighbours_all[:, cold_items].T @ targets) if len(cold_items) else targets[:0]
        alphas = []
    predicted = np.asarray(predicted, dtype=np.float32).reshape(len(cold_items), -1)
    return ColdItemMapping(
        cold_items=cold_items,
        neighbours=sp.csr_matrix(neighbours_all[:, cold_items]),
        factors=predicted[:, : factors.shape[1]],
        log_popularity=np.clip(predicted[:, -1], 0.0, None),
        ridge_alphas=alphas,
    )
