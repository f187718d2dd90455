"""Large synthetic interaction data for scaling measurements, made with array operations only.

The demo generator (:mod:`.generator`) writes readable catalogues one user at a time; this one
makes a million users in seconds. Its structure is simple but not random, so that a
recommender has something to find:

* items belong to ``n_groups`` groups (round robin over a seeded permutation); within a group
  and overall, item popularity follows a Zipf law with exponent ``skew`` (a few items get most
  interactions, as in shops);
* each user has one group; each of their ``per_user`` draws comes from that group with
  probability ``in_group`` (Zipf inside the group), else from the whole catalogue (Zipf over
  all items). Each user gets 1.6 × ``per_user`` draws; repeated (user, item) draws are dropped
  and the first ``per_user`` distinct ones kept (a user can end with fewer, rarely);
* titles are ``"<group word> item <n>"``, so a text encoder sees the groups too; timestamps
  increase per user.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from interestlens.data.schema import ITEM_ID, TIMESTAMP, USER_ID, Dataset
from interestlens.errors import ParameterError

_START = 1_672_531_200
_DAY = 86_400


def _zipf_sampler(n: int, skew: float, rng: np.random.Generator):
    weights = 1.0 / np.arange(1, n + 1) ** skew
    cumulative = np.cumsum(weights / weights.sum())

    def draw(size: int) -> np.ndarray:
        return np.minimum(np.searchsorted(cumulative, rng.random(size)), n - 1)

    return draw


def scaling_dataset(
    n_users: int,
    n_items: int,
    *,
    per_user: int = 20,
    n_groups: int = 50,
    in_group: float = 0.7,
    skew: float = 1.0,
    seed: int = 0,
) -> Dataset:
    """``n_users`` users with about ``per_user`` interactions each over ``n_items`` items."""
    users, items, times, item_group = scaling_interactions(
        n_users,
        n_items,
        per_user=per_user,
        n_groups=n_groups,
        in_group=in_group,
        skew=skew,
        seed=seed,
    )
    interactions = pd.DataFrame(
        {
            USER_ID: pd.Series(users).map("u{}".format),
            ITEM_ID: pd.Series(items).map("i{}".format),
            TIMESTAMP: times,
        }
    )
    words = np.array([f"group{g}" for g in range(n_groups)], dtype=object)
    titles = words[item_group] + " item " + np.arange(n_items).astype(str).astype(object)
    catalogue = pd.DataFrame({ITEM_ID: [f"i{i}" for i in range(n_items)], "title": titles})
    return Dataset(
        interactions=interactions,
        items=catalogue,
        name=f"scaling-{n_users}x{n_items}",
        notes={"seed": seed, "per_user": per_user},
    )


def scaling_interactions(
    n_users: int,
    n_items: int,
    *,
    per_user: int = 20,
    n_groups: int = 50,
    in_group: float = 0.7,
    skew: float = 1.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The interactions of :func:`scaling_dataset` as index arrays: ``users``, ``items``,
    ``times`` (int64 epoch seconds; rows in time order per user) and each item's group."""
    if n_users < 1 or n_items < 2 or per_user < 1 or not 1 <= n_groups <= n_items:
        raise ParameterError(
            f"n_users={n_users}, n_items={n_items}, per_user={per_user}, n_groups={n_groups}",
            expected="n_users >= 1, n_items >= 2, per_user >= 1 and 1 <= n_groups <= n_items",
            fix="pass e.g. n_users=100_000, n_items=10_000",
        )
    if not 0 <= in_group <= 1 or skew < 0:
        raise ParameterError(
            f"in_group={in_group}, skew={skew}",
            expected="in_group in [0, 1] and skew >= 0",
            fix="keep the defaults in_group=0.7, skew=1.0",
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_items)  # popularity rank -> item
    item_group = np.empty(n_items, dtype=np.int64)
    item_group[order] = np.arange(n_items) % n_groups
    group_size = n_items // n_groups
    # the r-th most popular item of group g is order[g + r * n_groups]
    draw_global = _zipf_sampler(n_items, skew, rng)
    draw_rank = _zipf_sampler(max(group_size, 1), skew, rng)

    user_group = rng.integers(0, n_groups, size=n_users)
    draws = int(np.ceil(per_user * 1.6))
    users = np.repeat(np.arange(n_users, dtype=np.int64), draws)
    total = len(users)
    inside = rng.random(total) < in_group
    items = order[draw_global(total)]
    ranks = draw_rank(int(inside.sum()))
    items[inside] = order[user_group[users[inside]] + ranks * n_groups]

    pairs = users * n_items + items
    _, first = np.unique(pairs, return_index=True)
    first.sort()  # keep each user's draws in order
    users, items = users[first], items[first]
    position = np.arange(len(users)) - np.searchsorted(users, users)
    kept = position < per_user
    users, items, position = users[kept], items[kept], position[kept]
    times = _START + (position * 3 + rng.integers(0, 3, size=len(users))) * _DAY

    return users, items, times.astype(np.int64), item_group
