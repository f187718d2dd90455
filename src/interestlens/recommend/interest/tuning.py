"""Validation parts carved out of the *training* matrix, one per regime the blend serves.

* ``warm``: each user's next ``validation_fraction`` of interactions under the ``temporal``
  protocol (their latest, by time; a seeded random share when times are unknown) or a seeded
  random share under the ``random`` protocol (missing interactions, as random hold-out
  benchmarks hide them), through :func:`interestlens.data.splits.validation_split`;
* ``cold_users``: a seeded share of users leaves the matrix; their first
  ``history_per_user`` interactions are their query, the rest the targets
  (:func:`interestlens.data.splits.cold_user_holdout`);
* ``cold_text``: a seeded share of the users who have their own text leaves the matrix; the
  query is their text alone, the targets everything they did (text-only new users);
* ``cold_items``: a seeded share of items loses every interaction; the users who had them must
  find them among the held-out items (:func:`interestlens.data.splits.cold_item_holdout`).

Everything here sees only the matrix given to ``fit``: never a test split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.data.schema import ITEM_ID, TIMESTAMP, USER_ID
from interestlens.data.splits import cold_item_holdout, cold_user_holdout, validation_split
from interestlens.recommend.ranking_metrics import ndcg_from_hits

WARM = "warm"
COLD_USERS = "cold_users"
COLD_TEXT = "cold_text"
COLD_ITEMS = "cold_items"
REGIMES: tuple[str, ...] = (WARM, COLD_USERS, COLD_TEXT, COLD_ITEMS)
PROTOCOLS: tuple[str, ...] = ("temporal", "random")
_WEIGHT = "weight"


@dataclass
class Carve:
    """A validation part: ``train`` (same shape as the full matrix) and the query users.

    ``users`` index rows of ``train`` (warm, cold items) or are positions of new users
    (cold users, whose query is ``history``); ``relevant`` holds their targets.
    """

    regime: str
    train: sp.csr_matrix
    times: sp.csr_matrix | None
    users: np.ndarray
    history: sp.csr_matrix
    relevant: sp.csr_matrix
    candidates: np.ndarray | None = None
    #: the query users' own text (cold_text: their whole query)
    text_dense: np.ndarray | None = None
    text_lexical: sp.csr_matrix | None = None
    #: the query users' rows in the full matrix (for their attributes); None: ``users``
    rows: np.ndarray | None = None

    def query_rows(self) -> np.ndarray:
        return self.users if self.rows is None else self.rows

    def summary(self) -> dict[str, int]:
        return {
            "train_interactions": int(self.train.nnz),
            "query_users": len(self.users),
            "targets": int(self.relevant.nnz),
            "candidates": -1 if self.candidates is None else len(self.candidates),
        }


def _frame(weights: sp.csr_matrix, times: sp.csr_matrix | None) -> pd.DataFrame:
    coo = weights.tocoo()
    frame = pd.DataFrame({USER_ID: coo.row, ITEM_ID: coo.col, _WEIGHT: coo.data})
    if times is not None:
        frame[TIMESTAMP] = np.asarray(times[coo.row, coo.col]).ravel()
    return frame


def _matrix(frame: pd.DataFrame, shape: tuple[int, int], column: str) -> sp.csr_matrix:
    values = frame[column].to_numpy(dtype=np.float64) if column else np.ones(len(frame))
    matrix = sp.csr_matrix(
        (values, (frame[USER_ID].to_numpy(), frame[ITEM_ID].to_numpy())), shape=shape
    )
    matrix.sort_indices()
    return sp.csr_matrix(matrix, dtype=np.float64 if column == TIMESTAMP else np.float32)


def _sample(users: np.ndarray, limit: int, seed: int) -> np.ndarray:
    if len(users) <= limit:
        return users
    return np.sort(np.random.default_rng(seed).choice(users, size=limit, replace=False))


def carve(
    regime: str,
    weights: sp.csr_matrix,
    times: sp.csr_matrix | None,
    *,
    fraction: float,
    history_per_user: int,
    max_users: int,
    seed: int,
    protocol: str = "temporal",
    user_text: tuple[np.ndarray, sp.csr_matrix] | None = None,
) -> Carve | str:
    """The validation part of ``regime``, or a sentence saying why there is none.

    ``protocol``: how the warm part hides interactions (``temporal`` or ``random``);
    ``user_text``: the users' own (dense, lexical) text vectors, needed by ``cold_text``.
    """
    frame = _frame(weights, times)
    shape = weights.shape
    with_times = times is not None
    if regime == WARM:
        counts = frame[USER_ID].value_counts()
        if (counts > 1).sum() == 0:
            return "no user has two interactions to split"
        method = "temporal" if with_times and protocol == "temporal" else "random"
        split = validation_split(frame, method, fraction=fraction, seed=seed)
        train = _matrix(split.train, shape, _WEIGHT)
        relevant = _matrix(split.test, shape, "")
        users = _sample(np.flatnonzero(relevant.getnnz(axis=1) > 0), max_users, seed)
        return Carve(
            regime,
            train,
            _matrix(split.train, shape, TIMESTAMP) if with_times else None,
            users,
            train[users],
            relevant[users],
        )
    if regime == COLD_USERS:
        counts = frame[USER_ID].value_counts()
        history = max(0, min(history_per_user, int(counts.max()) - 1))
        eligible = int((counts > history).sum())
        if eligible < 4:
            return f"only {eligible} users have more than {history} interactions"
        share = max(fraction, 1.0 / eligible)
        split = cold_user_holdout(frame, share, seed=seed, history_per_user=history)
        cold = np.unique(split.test[USER_ID].to_numpy())
        cold = _sample(cold, max_users, seed)
        position = {user: i for i, user in enumerate(cold)}
        test = split.test[split.test[USER_ID].isin(position)]
        fold_in = (
            split.history[split.history[USER_ID].isin(position)]
            if split.history is not None
            else frame.iloc[:0]
        )
        renumber = {USER_ID: lambda f: f[USER_ID].map(position)}
        new_shape = (len(cold), shape[1])
        return Carve(
            regime,
            _matrix(split.train, shape, _WEIGHT),
            _matrix(split.train, shape, TIMESTAMP) if with_times else None,
            np.arange(len(cold)),
            _matrix(fold_in.assign(**renumber), new_shape, _WEIGHT),
            _matrix(test.assign(**renumber), new_shape, ""),
            rows=np.asarray(cold),
        )
    if regime == COLD_TEXT:
        return _text_only_carve(weights, times, user_text, fraction, max_users, seed)
    if regime == COLD_ITEMS:
        n_items = frame[ITEM_ID].nunique()
        if n_items < 4:
            return f"only {n_items} items have interactions"
        split = cold_item_holdout(frame, max(fraction, 1.0 / n_items), seed=seed)
        train = _matrix(split.train, shape, _WEIGHT)
        relevant = _matrix(split.test, shape, "")
        known = (train.getnnz(axis=1) > 0) & (relevant.getnnz(axis=1) > 0)
        users = _sample(np.flatnonzero(known), max_users, seed)
        if len(users) == 0:
            return "no user keeps a training interaction besides the held-out items"
        return Carve(
            regime,
            train,
            _matrix(split.train, shape, TIMESTAMP) if with_times else None,
            users,
            train[users],
            relevant[users],
            np.unique(split.test[ITEM_ID].to_numpy()),
        )
    raise ValueError(regime)


#: fewer text-only validation users than this say too little to tune on
MIN_TEXT_USERS = 20


def _text_only_carve(
    weights: sp.csr_matrix,
    times: sp.csr_matrix | None,
    user_text: tuple[np.ndarray, sp.csr_matrix] | None,
    fraction: float,
    max_users: int,
    seed: int,
) -> Carve | str:
    if user_text is None:
        return "the users have no text of their own"
    dense, lexical = user_text
    has_text = (np.linalg.norm(dense, axis=1) > 0) | (lexical.getnnz(axis=1) > 0)
    eligible = np.flatnonzero(has_text & (weights.getnnz(axis=1) > 0))
    count = min(max(round(len(eligible) * fraction), MIN_TEXT_USERS), len(eligible))
    if count < MIN_TEXT_USERS:
        return (
            f"only {len(eligible)} users have both their own text and interactions "
            f"(at least {MIN_TEXT_USERS} are needed)"
        )
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(eligible, size=count, replace=False))
    chosen = _sample(chosen, max_users, seed)
    keep = np.ones(weights.shape[0], dtype=np.float32)
    keep[chosen] = 0.0
    mask = sp.diags(keep)
    train = sp.csr_matrix(mask @ weights, dtype=np.float32)
    train.eliminate_zeros()
    train_times = None
    if times is not None:
        train_times = sp.csr_matrix(mask @ times, dtype=np.float64)
        train_times.eliminate_zeros()
    n_items = weights.shape[1]
    return Carve(
        COLD_TEXT,
        train,
        train_times,
        np.arange(len(chosen)),
        sp.csr_matrix((len(chosen), n_items), dtype=np.float32),
        sp.csr_matrix(weights[chosen] > 0, dtype=np.float32),
        text_dense=dense[chosen],
        text_lexical=sp.csr_matrix(lexical[chosen]),
        rows=chosen,
    )


class ValidationScorer:
    """Per-user NDCG@k of score matrices on one validation part, fast enough to call hundreds of
    times: exclusions, candidates and ideal gains are prepared once.

    Where the part ranks among ``candidates`` only (new items), the score matrices it is given
    hold those columns only (``columns``): the other items could never be recommended, so
    neither blending nor ranking spends time on them. Ties are broken as served lists break
    them (:func:`interestlens.recommend.top_items.top_k`: the lower item index first).
    """

    def __init__(self, part: Carve, k: int):
        n_users, n_items = part.relevant.shape
        self.columns = part.candidates
        width = n_items if self.columns is None else len(self.columns)
        self.k = min(k, width)
        blocked = np.zeros((n_users, n_items), dtype=bool)
        history = part.history.tocoo()
        blocked[history.row, history.col] = True
        relevant = (part.relevant.toarray() > 0) & ~blocked
        if self.columns is not None:
            blocked, relevant = blocked[:, self.columns], relevant[:, self.columns]
        n_relevant = relevant.sum(axis=1)
        self.users = n_relevant > 0
        # only users with a target are ranked: their rows are kept, the others' never looked at
        self.blocked = blocked[self.users]
        self.relevant = relevant[self.users]
        self.n_relevant = n_relevant[self.users]

    def rows(self, rows: slice) -> ValidationScorer:
        """The same scorer for a subset of the validation users (``rows`` of the score
        matrices it will be given)."""
        subset = object.__new__(ValidationScorer)
        subset.columns, subset.k = self.columns, self.k
        subset.users = self.users[rows]
        kept = np.flatnonzero(self.users)  # rows of the arrays below, in score-matrix rows
        selected = np.zeros(len(self.users), dtype=bool)
        selected[rows] = True
        take = selected[kept]
        subset.blocked = self.blocked[take]
        subset.relevant = self.relevant[take]
        subset.n_relevant = self.n_relevant[take]
        return subset

    def among(self, positions: np.ndarray) -> ValidationScorer:
        """The same users ranking only the candidates at ``positions`` (of ``columns``), those
        with a target among them: one half of a cross-fit over new items."""
        if self.columns is None:
            raise ValueError("among() needs a scorer that ranks among candidates")
        subset = object.__new__(ValidationScorer)
        subset.columns = self.columns[positions]
        subset.k = min(self.k, len(positions))
        relevant = self.relevant[:, positions]
        n_relevant = relevant.sum(axis=1)
        keep = n_relevant > 0
        subset.users = self.users.copy()
        subset.users[np.flatnonzero(self.users)[~keep]] = False
        subset.blocked = self.blocked[:, positions][keep]
        subset.relevant = relevant[keep]
        subset.n_relevant = n_relevant[keep]
        return subset

    def targets(self, n_items: int) -> sp.csr_matrix:
        """Which items each scored user's NDCG is about: one row per value ``__call__``
        returns, ``1 / n_relevant`` on each of the user's targets, ``n_items`` columns (the
        full matrix's). Users who share a held-out item are not independent draws of items."""
        relevant = sp.coo_matrix(self.relevant)
        columns = relevant.col if self.columns is None else self.columns[relevant.col]
        weights = 1.0 / np.maximum(self.n_relevant[relevant.row], 1)
        return sp.csr_matrix(
            (weights, (relevant.row, columns)), shape=(len(self.n_relevant), n_items)
        )

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """NDCG@k of each validation user with a target (``scores``: all query users, over
        ``columns`` where the part has candidates), ranked as :func:`top_k` ranks: ties go to
        the lower item index.

        Only the k largest values of a row are found (a partition of values, half the cost of
        partitioning indices); each target's rank is then the number of scores above it, and
        where its score ties another one near the cut-off, the tied items before it.
        """
        if not self.users.any():
            return np.zeros(0)
        # a copy, partitioned in place below (a plain copy is faster than a masked one)
        block = scores.copy() if self.users.all() else scores[self.users]
        row, column = self._target_cells()
        value = block[row, column]  # targets are never set aside
        np.putmask(block, self.blocked, -np.inf)
        width, k = block.shape[1], self.k
        block.partition(width - k, axis=1)
        top = block[:, width - k :]  # each row's k largest values, in no order
        threshold = top.min(axis=1)
        # only targets at or above their row's k-th value can be in the top k
        inside = np.flatnonzero(value >= threshold[row])
        user, target = row[inside], value[inside]
        above = top[user]
        position = (above > target[:, None]).sum(axis=1)
        # a target whose score another item shares is placed among its ties by item index;
        # the row says whether it has one (at the cut-off the tie may lie outside the top k)
        maybe = np.flatnonzero(
            ((above == target[:, None]).sum(axis=1) > 1) | (target == threshold[user])
        )
        if len(maybe):
            shared = (block[user[maybe]] == target[maybe, None]).sum(axis=1) > 1
            original = np.flatnonzero(self.users)
            for entry in maybe[shared]:
                line = np.where(self.blocked[user[entry]], -np.inf, scores[original[user[entry]]])
                before = np.count_nonzero(line[: column[inside[entry]]] == target[entry])
                position[entry] = np.count_nonzero(line > target[entry]) + before
        hit = (position < k) & np.isfinite(target)
        hits = np.zeros((len(block), k), dtype=bool)
        hits[user[hit], position[hit]] = True
        return ndcg_from_hits(hits, self.n_relevant)

    def _target_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of every target in the score block (found once per scorer)."""
        cells = getattr(self, "_cells", None)
        if cells is None:
            cells = np.nonzero(self.relevant)
            self._cells = cells
        return cells
