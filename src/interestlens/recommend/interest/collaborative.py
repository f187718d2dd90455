"""The collaborative component's model: EASE where the catalogue is small enough for its
``n × n`` inverse, item-item cosine with top-k neighbours above that.

Measured on synthetic data with 20 interactions per user (benchmarks/scaling_benchmark.py
``--components``, ``benchmarks/results/scaling_components.md``): EASE takes 30-40 s and 1.4 GB
at 10k active items on a lightly loaded core and grows with the cube of the items (the
recommender fits it once per validation carve as well); item cosine takes ~4 s there, grows
with the interactions (1M users × 100k items: 140 s, 2.6 GiB on the loaded machine) and is
2 % lower in NDCG@10 than EASE with 256 weights per item, 4 % lower than with 512 (the default;
``benchmarks/results/scaling.md``, 100k users × 10k items).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from interestlens.errors import ModelFormatError
from interestlens.recommend.ease import EASE
from interestlens.recommend.item_cosine import ItemCosine

#: above this many items with interactions, EASE gives way to item cosine
EASE_MAX_ITEMS = 10_000
#: neighbours per item of the cosine model (``cosine_neighbours``'s default)
COSINE_NEIGHBOURS = 256
#: the name each model is saved under (``recommender.json``: ``collaborative``)
KINDS: dict[str, type[EASE] | type[ItemCosine]] = {"ease": EASE, "item_cosine": ItemCosine}

CollaborativeModel = EASE | ItemCosine


def fit_collaborative(
    binary: sp.csr_matrix,
    *,
    l2: float,
    neighbours: int,
    max_ease_items: int,
    cosine_neighbours: int = COSINE_NEIGHBOURS,
) -> CollaborativeModel | None:
    """The fitted collaborative model of a binary interaction matrix (None without any).

    ``neighbours``: EASE weights kept per item (0: every weight); ``cosine_neighbours``: the
    cosine model's neighbours per item; ``max_ease_items``: the most items with interactions
    EASE is used for (0: always the cosine model).
    """
    n_active = int(np.count_nonzero(binary.getnnz(axis=0)))
    if n_active == 0:
        return None
    if n_active <= max_ease_items:
        ease = EASE(l2=l2).fit(binary)
        return ease.prune(neighbours) if neighbours else ease
    return ItemCosine(n_neighbours=cosine_neighbours).fit(binary)


def kind_of(model: CollaborativeModel) -> str:
    return next(name for name, cls in KINDS.items() if type(model) is cls)


def collaborative_from_weights(
    kind: str,
    active_items: np.ndarray,
    weights: np.ndarray | sp.csr_matrix,
    n_items: int,
    *,
    l2: float,
    source: str,
) -> CollaborativeModel:
    """The model of ``kind`` with saved weights over ``active_items``; ``source`` names where
    the kind came from, for the error."""
    if kind not in KINDS:
        raise ModelFormatError(
            f"{source} names the collaborative model {kind!r}",
            expected=f"one of {sorted(KINDS)}",
            fix="fit the model again and save it (interestlens.model_dir.write_recommender)",
        )
    model = EASE(l2=l2) if kind == "ease" else ItemCosine()
    return model.set_weights(active_items, weights, n_items)
