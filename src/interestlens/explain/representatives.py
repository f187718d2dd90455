"""Items and users that stand for a cluster: central items, over-represented items, medoid users.

Items must have support: enough distinct members who interacted with them,
``max(min_support, ceil(min_support_share * cluster size))`` (:func:`support_threshold`).

- Central items: among the supported items, the ``pool`` the most members interacted with,
  closest to the centroid first: recognisable items typical of the cluster, not obscure ones
  that happen to lie near its centre.
- Over-represented items: supported items ranked by their lift shrunk toward 1,
  ``(observed + lift_prior) / (expected + lift_prior)`` (a Gamma-Poisson posterior mean), so that
  an item two members saw and nobody else does not beat one most members saw.
- Medoid users: members closest to the centroid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from interestlens.errors import ParameterError
from interestlens.explain.explanation import CentralItem, MedoidUser, OverRepresentedItem


class ClusterRepresentatives(BaseEstimator):
    """Picks the items and users that stand for a cluster (see the module docstring).

    ``top_items`` central and over-represented items, ``top_users`` medoid users; items need
    the support of :func:`support_threshold` (``min_support``, ``min_support_share``);
    central items come from the ``central_pool`` best-supported (None: all); over-represented
    items are ranked by lift shrunk with ``lift_prior`` pseudo-interactions (0: raw lift).
    """

    def __init__(
        self,
        top_items: int = 5,
        top_users: int = 5,
        min_support: int = 2,
        min_support_share: float = 0.02,
        central_pool: int | None = 50,
        lift_prior: float = 5.0,
    ):
        self.top_items = top_items
        self.top_users = top_users
        self.min_support = min_support
        self.min_support_share = min_support_share
        self.central_pool = central_pool
        self.lift_prior = lift_prior

    def check(self) -> None:
        """Raise a :class:`ParameterError` naming the first unusable setting."""
        for name, value, low in (
            ("top_items", self.top_items, 0),
            ("top_users", self.top_users, 0),
            ("min_support", self.min_support, 1),
        ):
            if not isinstance(value, int | np.integer) or value < low:
                raise ParameterError(f"{name}={value!r}", expected=f"an integer >= {low}")
        pool = self.central_pool
        if pool is not None and (not isinstance(pool, int | np.integer) or pool < 1):
            raise ParameterError(
                f"central_pool={pool!r}", expected="an integer >= 1, or None for no cut"
            )
        if not number_ok(self.min_support_share, upper=1.0):
            raise ParameterError(
                f"min_support_share={self.min_support_share!r}", expected="a number in [0, 1]"
            )
        if not number_ok(self.lift_prior):
            raise ParameterError(f"lift_prior={self.lift_prior!r}", expected="a number >= 0")

    def support(self, size: int) -> int:
        """Members an item needs in a cluster of ``size``."""
        return support_threshold(size, self.min_support, self.min_support_share)

    def central_items(
        self,
        stats: ClusterItemStats,
        cluster: int,
        centroid: np.ndarray,
        item_vectors: np.ndarray,
        item_ids: Sequence[str],
        title_of: Callable[[int], str],
        support: int,
    ) -> list[CentralItem]:
        return central_items(
            stats,
            cluster,
            centroid,
            item_vectors,
            item_ids,
            title_of,
            self.top_items,
            min_members=support,
            pool=self.central_pool,
        )

    def over_represented_items(
        self,
        stats: ClusterItemStats,
        cluster: int,
        item_ids: Sequence[str],
        title_of: Callable[[int], str],
        support: int,
    ) -> list[OverRepresentedItem]:
        return over_represented_items(
            stats, cluster, item_ids, title_of, self.top_items, support, self.lift_prior
        )

    def medoid_users(
        self,
        members: np.ndarray,
        user_vectors: np.ndarray,
        centroid: np.ndarray,
        user_ids: Sequence[str],
    ) -> list[MedoidUser]:
        return medoid_users(members, user_vectors, centroid, user_ids, self.top_users)


def number_ok(value: object, upper: float | None = None) -> bool:
    """A finite real number >= 0 (and <= ``upper``); booleans are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return False
    return bool(np.isfinite(value) and value >= 0 and (upper is None or value <= upper))


@dataclass(frozen=True)
class ClusterItemStats:
    """Who in each cluster touched which item, and how often, in one sorted table.

    Rows are the distinct (cluster, item) pairs sorted by cluster then item; the rows of
    cluster position ``c`` are ``bounds[c]:bounds[c + 1]``.
    """

    n_clusters: int
    n_items: int
    item: np.ndarray
    #: distinct members of the cluster who interacted with the item
    n_members: np.ndarray
    #: the cluster's interactions with the item (repeats counted)
    count: np.ndarray
    bounds: np.ndarray
    #: interactions per item over everyone, noise users included
    item_total: np.ndarray
    n_interactions_total: int

    def rows(self, cluster: int) -> slice:
        return slice(int(self.bounds[cluster]), int(self.bounds[cluster + 1]))

    def item_weights(self, *, by_members: bool) -> sp.csr_matrix:
        """``(n_clusters, n_items)``: members per item, or 1 for each item the cluster touched."""
        cluster = np.repeat(np.arange(self.n_clusters), np.diff(self.bounds))
        values = self.n_members if by_members else np.ones_like(self.n_members)
        return sp.csr_matrix(
            (values.astype(np.float64), (cluster, self.item)),
            shape=(self.n_clusters, self.n_items),
        )


def cluster_item_stats(
    cluster_of_user: np.ndarray,
    n_clusters: int,
    user_idx: np.ndarray,
    item_idx: np.ndarray,
    n_items: int,
) -> ClusterItemStats:
    """Aggregate interactions to (cluster, item); ``cluster_of_user`` is -1 for noise users."""
    n_users = len(cluster_of_user)
    item_total = np.bincount(item_idx, minlength=n_items).astype(np.int64)
    clustered = cluster_of_user[user_idx] >= 0
    # sparse construction sums repeated (user, item) pairs in linear time, no sort of all pairs
    pair_counts = sp.csr_matrix(
        (np.ones(int(clustered.sum())), (user_idx[clustered], item_idx[clustered])),
        shape=(n_users, n_items),
    )
    pair_seen = pair_counts.copy()
    pair_seen.data[:] = 1.0
    members = np.flatnonzero(cluster_of_user >= 0)
    membership = sp.csr_matrix(
        (np.ones(len(members)), (cluster_of_user[members], members)), shape=(n_clusters, n_users)
    )
    count = sp.csr_matrix(membership @ pair_counts)
    n_members = sp.csr_matrix(membership @ pair_seen)
    count.sort_indices()
    n_members.sort_indices()
    if not np.array_equal(count.indices, n_members.indices):
        raise AssertionError("count and member tables of the clusters should share one layout")
    return ClusterItemStats(
        n_clusters=n_clusters,
        n_items=n_items,
        item=count.indices.astype(np.int64),
        n_members=np.rint(n_members.data).astype(np.int64),
        count=np.rint(count.data).astype(np.int64),
        bounds=count.indptr.astype(np.int64),
        item_total=item_total,
        n_interactions_total=len(item_idx),
    )


def support_threshold(size: int, min_support: int, min_support_share: float) -> int:
    """Members an item needs in a cluster of ``size``: ``max(min_support, ceil(share * size))``.

    A fixed count means little in a big cluster (two of 250 members is chance); a share alone
    would let one member carry a small cluster.
    """
    return max(int(min_support), math.ceil(min_support_share * size - 1e-9))


def central_items(
    stats: ClusterItemStats,
    cluster: int,
    centroid: np.ndarray,
    item_vectors: np.ndarray,
    item_ids: Sequence[str],
    title_of: Callable[[int], str],
    top: int,
    min_members: int = 1,
    pool: int | None = None,
) -> list[CentralItem]:
    """The cluster's well-known items that sit closest to its (unit) centroid.

    Candidates are the items at least ``min_members`` members interacted with, cut to the
    ``pool`` of them with the most members (ties at the cut kept; None: no cut); they are
    ranked by cosine similarity to the centroid. Ranking every item a member touched would put
    first obscure items that one member saw and that happen to lie near the centre; the pool
    keeps the answer to items the cluster actually shares.
    """
    rows = stats.rows(cluster)
    items, n_members = stats.item[rows], stats.n_members[rows]
    keep = n_members >= min_members
    if pool is not None and np.count_nonzero(keep) > pool:
        cut = np.sort(n_members[keep])[::-1][pool - 1] if pool > 0 else np.inf
        keep &= n_members >= cut
    items, n_members = items[keep], n_members[keep]
    similarity = item_vectors[items] @ centroid
    order = np.lexsort((items, -n_members, -similarity))[:top]
    return [
        CentralItem(
            item_id=str(item_ids[items[i]]),
            title=title_of(int(items[i])),
            similarity=float(similarity[i]),
            n_members=int(n_members[i]),
        )
        for i in order
    ]


def over_represented_items(
    stats: ClusterItemStats,
    cluster: int,
    item_ids: Sequence[str],
    title_of: Callable[[int], str],
    top: int,
    min_support: int,
    lift_prior: float = 0.0,
) -> list[OverRepresentedItem]:
    """Items the cluster interacts with more than everyone does, by smoothed lift.

    ``lift = observed / expected``, where ``observed`` is the cluster's interactions with the
    item and ``expected = item total * cluster interactions / all interactions`` is what the
    cluster would have if the item were as popular in it as everywhere. Items by raw lift are
    led by rarities: an item two members saw and nobody else reaches the largest possible lift.
    So they are ranked by the shrunken lift ``(observed + lift_prior) / (expected + lift_prior)``,
    the posterior mean of the rate ratio when ``observed`` is Poisson(``expected * lift``) and
    ``lift`` has a Gamma(``lift_prior``, ``lift_prior``) prior (mean 1): ``lift_prior``
    interactions' worth of belief that the item is as popular here as anywhere. A few
    interactions barely move it from 1; many reach the raw lift. ``lift_prior=0`` ranks by raw
    lift. Only items at least ``min_support`` members interacted with and whose smoothed lift
    exceeds 1 qualify.
    """
    rows = stats.rows(cluster)
    items, n_members, count = stats.item[rows], stats.n_members[rows], stats.count[rows]
    cluster_total = stats.count[rows].sum()
    keep = n_members >= min_support
    items, n_members, count = items[keep], n_members[keep], count[keep]
    if len(items) == 0:
        return []
    cluster_share = count / cluster_total
    global_share = stats.item_total[items] / stats.n_interactions_total
    lift = cluster_share / global_share
    expected = global_share * cluster_total
    smoothed = (count + lift_prior) / (expected + lift_prior)
    over = np.flatnonzero(smoothed > 1.0)
    order = over[np.lexsort((items[over], -n_members[over], -smoothed[over]))][:top]
    return [
        OverRepresentedItem(
            item_id=str(item_ids[items[i]]),
            title=title_of(int(items[i])),
            lift=float(lift[i]),
            cluster_count=int(count[i]),
            total_count=int(stats.item_total[items[i]]),
            n_members=int(n_members[i]),
            cluster_share=float(cluster_share[i]),
            global_share=float(global_share[i]),
            smoothed_lift=float(smoothed[i]),
        )
        for i in order
    ]


def medoid_users(
    members: np.ndarray,
    user_vectors: np.ndarray,
    centroid: np.ndarray,
    user_ids: Sequence[str],
    top: int,
) -> list[MedoidUser]:
    """Members closest to the (unit) centroid first; ties go to the earlier user."""
    similarity = user_vectors[members] @ centroid
    order = np.lexsort((members, -similarity))[:top]
    return [MedoidUser(str(user_ids[members[i]]), float(similarity[i])) for i in order]
