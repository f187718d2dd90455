"""Train/test splits of an interaction table (canonical columns), each with its cold parts.

Every splitter keeps the input's columns and row order within each part and returns a
:class:`Split`. Per-user splitters decide how many of a user's ``n`` interactions go to test,
always leaving at least ``min_train`` in training; users with ``n <= min_train`` stay wholly
in training. Text of users and items is not touched here: cold users and cold items keep
whatever text the caller has for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.data.schema import ITEM_ID, TIMESTAMP, USER_ID
from interestlens.errors import (
    EmptyDataError,
    InvalidValueError,
    MissingColumnsError,
    ParameterError,
)


@dataclass(frozen=True)
class Split:
    """``train`` and ``test`` interactions.

    ``cold_users``: users with test interactions and none in training; ``cold_items``: items
    with test interactions and none in training. ``history``: interactions of cold users that
    a model may read at query time (fold-in) but must not train on; empty unless asked for.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    kind: str
    cold_users: tuple[str, ...] = ()
    cold_items: tuple[str, ...] = ()
    history: pd.DataFrame | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": dict(self.params),
            "train_interactions": len(self.train),
            "test_interactions": len(self.test),
            "history_interactions": 0 if self.history is None else len(self.history),
            "train_users": int(self.train[USER_ID].nunique()),
            "test_users": int(self.test[USER_ID].nunique()),
            "cold_users": len(self.cold_users),
            "cold_items": len(self.cold_items),
        }


def _check_frame(interactions: pd.DataFrame, *, need_time: bool) -> None:
    if not isinstance(interactions, pd.DataFrame):
        raise ParameterError(
            f"interactions is a {type(interactions).__name__}",
            expected="a pandas DataFrame with columns user_id, item_id (rating, timestamp)",
            fix="pass Dataset.interactions",
        )
    needed = [USER_ID, ITEM_ID] + ([TIMESTAMP] if need_time else [])
    missing = [column for column in needed if column not in interactions.columns]
    if missing:
        raise MissingColumnsError(
            f"interactions columns {list(interactions.columns)} lack {missing}",
            expected=f"columns {needed}",
            fix="use the canonical names from interestlens.data.schema"
            + ("; a temporal split needs timestamps" if need_time else ""),
        )
    if interactions.empty:
        raise EmptyDataError(
            "interactions has no rows",
            expected="at least one interaction",
            fix="check the input file and any filters applied before splitting",
        )
    if need_time and interactions[TIMESTAMP].isna().any():
        count = int(interactions[TIMESTAMP].isna().sum())
        raise InvalidValueError(
            f"{count} interactions have no timestamp",
            expected="a timestamp on every row for a temporal split",
            fix="drop rows without timestamp, or use random_holdout",
        )


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ParameterError(
            f"{name}={value} should be in (0, 1)",
            expected="a share strictly between 0 and 1",
            fix=f"pass {name}=0.2 or similar",
        )


def _check_min_train(min_train: int) -> None:
    if isinstance(min_train, bool) or not isinstance(min_train, int) or min_train < 1:
        raise ParameterError(
            f"min_train={min_train!r} should be an integer >= 1",
            expected="the number of interactions each user keeps in training",
            fix="pass min_train=1",
        )


def _per_user_order(interactions: pd.DataFrame, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each row within its user when sorted by ``key`` (stable), and user sizes."""
    codes = pd.factorize(interactions[USER_ID].to_numpy())[0]
    order = np.lexsort((np.arange(len(interactions)), key, codes))
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    sizes_sorted = np.diff(np.r_[starts, len(order)])
    position_sorted = np.arange(len(order)) - np.repeat(starts, sizes_sorted)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = position_sorted
    sizes = np.bincount(codes)[codes]
    return position, sizes


def _holdout_by_position(
    interactions: pd.DataFrame,
    key: np.ndarray,
    n_test: np.ndarray,
    kind: str,
    params: dict[str, Any],
) -> Split:
    position, sizes = _per_user_order(interactions, key)
    is_test = position >= sizes - n_test
    return Split(
        train=interactions.loc[~is_test].reset_index(drop=True),
        test=interactions.loc[is_test].reset_index(drop=True),
        kind=kind,
        params=params,
    )


def _fraction_counts(sizes: np.ndarray, fraction: float, min_train: int) -> np.ndarray:
    # round half up, at least one test interaction, never below min_train in training
    wanted = np.maximum(np.floor(sizes * fraction + 0.5), 1).astype(np.int64)
    return np.where(sizes > min_train, np.minimum(wanted, sizes - min_train), 0)


def temporal_holdout(
    interactions: pd.DataFrame, test_fraction: float = 0.2, *, min_train: int = 1
) -> Split:
    """Each user's latest ``test_fraction`` of interactions (by timestamp) go to test.

    A user's test events are never earlier than their training events; events with equal
    timestamps keep their input order.
    """
    _check_frame(interactions, need_time=True)
    _check_fraction("test_fraction", test_fraction)
    _check_min_train(min_train)
    _, sizes = _per_user_order(interactions, np.zeros(len(interactions)))
    return _holdout_by_position(
        interactions,
        interactions[TIMESTAMP].to_numpy(),
        _fraction_counts(sizes, test_fraction, min_train),
        "temporal",
        {"test_fraction": test_fraction, "min_train": min_train},
    )


def leave_last_n(interactions: pd.DataFrame, n: int = 1, *, min_train: int = 1) -> Split:
    """Each user's last ``n`` interactions (by timestamp if present, else input order)."""
    has_time = (
        TIMESTAMP in interactions.columns if isinstance(interactions, pd.DataFrame) else False
    )
    _check_frame(interactions, need_time=has_time)
    _check_min_train(min_train)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParameterError(
            f"n={n!r} should be an integer >= 1",
            expected="the number of latest interactions per user to hold out",
            fix="pass n=1",
        )
    key = interactions[TIMESTAMP].to_numpy() if has_time else np.zeros(len(interactions))
    _, sizes = _per_user_order(interactions, key)
    n_test = np.where(sizes > min_train, np.minimum(n, sizes - min_train), 0)
    return _holdout_by_position(
        interactions, key, n_test, "leave_last_n", {"n": n, "min_train": min_train}
    )


def random_holdout(
    interactions: pd.DataFrame,
    test_fraction: float = 0.2,
    *,
    seed: int = 0,
    min_train: int = 1,
) -> Split:
    """A seeded random ``test_fraction`` of each user's interactions go to test."""
    _check_frame(interactions, need_time=False)
    _check_fraction("test_fraction", test_fraction)
    _check_min_train(min_train)
    key = np.random.default_rng(seed).random(len(interactions))
    _, sizes = _per_user_order(interactions, key)
    return _holdout_by_position(
        interactions,
        key,
        _fraction_counts(sizes, test_fraction, min_train),
        "random",
        {"test_fraction": test_fraction, "seed": seed, "min_train": min_train},
    )


def _pick(ids: np.ndarray, fraction: float, seed: int, what: str) -> np.ndarray:
    count = int(np.floor(len(ids) * fraction + 0.5))
    if count < 1:
        raise ParameterError(
            f"{what}_fraction={fraction} of {len(ids)} {what}s selects none",
            expected=f"a share that selects at least one {what}",
            fix=f"raise {what}_fraction",
        )
    chosen = np.random.default_rng(seed).choice(len(ids), size=count, replace=False)
    return ids[np.sort(chosen)]


def cold_user_holdout(
    interactions: pd.DataFrame,
    user_fraction: float = 0.1,
    *,
    seed: int = 0,
    history_per_user: int = 0,
    history_order: Literal["earliest", "random"] = "earliest",
) -> Split:
    """A seeded share of users leaves training entirely.

    With ``history_per_user = h > 0`` each cold user's first ``h`` interactions (by timestamp
    if present; ``history_order="random"``: a seeded random ``h``, for a protocol where the
    held-out interactions are missing rather than later ones) go to ``Split.history``
    (readable at query time, never trained on) and the rest to test; only users with more
    than ``h`` interactions can be chosen.
    """
    if history_order not in ("earliest", "random"):
        raise ParameterError(
            f"history_order={history_order!r}",
            expected="'earliest' or 'random'",
            fix="pass history_order='earliest' (the default)",
        )
    _check_frame(interactions, need_time=False)
    _check_fraction("user_fraction", user_fraction)
    if isinstance(history_per_user, bool) or history_per_user < 0:
        raise ParameterError(
            f"history_per_user={history_per_user!r} should be an integer >= 0",
            expected="how many early interactions of each cold user a model may read",
            fix="pass history_per_user=0 for users known only by their text",
        )
    users = interactions[USER_ID].to_numpy()
    counts = pd.Series(users).value_counts(sort=False)
    eligible = counts.index.to_numpy()[counts.to_numpy() > history_per_user]
    cold = _pick(eligible, user_fraction, seed, "user")
    is_cold = np.isin(users, cold)
    history = None
    is_history = np.zeros(len(interactions), dtype=bool)
    if history_per_user:
        has_time = TIMESTAMP in interactions.columns and interactions[TIMESTAMP].notna().all()
        key = interactions[TIMESTAMP].to_numpy() if has_time else np.zeros(len(interactions))
        if history_order == "random":
            # a stream of its own, so that the choice of cold users does not change
            key = np.random.default_rng([seed, 1]).random(len(interactions))
        position, _ = _per_user_order(interactions, key)
        is_history = is_cold & (position < history_per_user)
        history = interactions.loc[is_history].reset_index(drop=True)
    return Split(
        train=interactions.loc[~is_cold].reset_index(drop=True),
        test=interactions.loc[is_cold & ~is_history].reset_index(drop=True),
        kind="cold_users",
        cold_users=tuple(str(user) for user in cold),
        history=history,
        params={
            "user_fraction": user_fraction,
            "seed": seed,
            "history_per_user": history_per_user,
            **({"history_order": history_order} if history_order != "earliest" else {}),
        },
    )


def cold_item_holdout(
    interactions: pd.DataFrame, item_fraction: float = 0.1, *, seed: int = 0
) -> Split:
    """A seeded share of items loses all its interactions to test.

    Users whose every interaction was with a cold item end up with none in training; they are
    listed in ``cold_users``.
    """
    _check_frame(interactions, need_time=False)
    _check_fraction("item_fraction", item_fraction)
    items = interactions[ITEM_ID].to_numpy()
    cold = _pick(pd.unique(items), item_fraction, seed, "item")
    is_cold = np.isin(items, cold)
    train = interactions.loc[~is_cold].reset_index(drop=True)
    test = interactions.loc[is_cold].reset_index(drop=True)
    orphan_users = np.setdiff1d(test[USER_ID].unique(), train[USER_ID].unique())
    return Split(
        train=train,
        test=test,
        kind="cold_items",
        cold_users=tuple(
            str(user) for user in pd.unique(test[USER_ID][test[USER_ID].isin(orphan_users)])
        ),
        cold_items=tuple(str(item) for item in cold),
        params={"item_fraction": item_fraction, "seed": seed},
    )


def validation_split(
    train: Split | pd.DataFrame,
    method: Literal["temporal", "leave_last_n", "random"] = "temporal",
    *,
    fraction: float = 0.2,
    n: int = 1,
    seed: int = 0,
    min_train: int = 1,
) -> Split:
    """Carve a validation part out of training interactions only.

    Pass a :class:`Split` (its ``train`` is used) or a training frame. The result's ``test``
    is the validation part; tune on it, then refit on the whole training part.
    """
    frame = train.train if isinstance(train, Split) else train
    if method == "temporal":
        split = temporal_holdout(frame, fraction, min_train=min_train)
    elif method == "leave_last_n":
        split = leave_last_n(frame, n, min_train=min_train)
    elif method == "random":
        split = random_holdout(frame, fraction, seed=seed, min_train=min_train)
    else:
        raise ParameterError(
            f"method={method!r}",
            expected="'temporal', 'leave_last_n' or 'random'",
            fix="use the same kind of split as the test split",
        )
    return Split(
        train=split.train,
        test=split.test,
        kind=f"validation_{split.kind}",
        params=split.params,
    )


# --- one hold-out protocol for the evaluate job and for tuning --------------------------------

HoldoutProtocol = Literal["temporal", "random"]
HOLDOUT_PROTOCOLS: tuple[str, ...] = ("temporal", "random")
#: the share each protocol holds out by default: the next 20 % of a user's interactions, or a
#: random 25 % of them (the 75/25 split of public benchmark tables)
DEFAULT_HOLDOUT_FRACTION: dict[str, float] = {"temporal": 0.2, "random": 0.25}


@dataclass(frozen=True)
class MatrixHoldout:
    """A hold-out carved from a ``(n_users, n_items)`` matrix: ``train`` and ``held_out`` have
    its shape and split its stored entries (values kept); ``train_times`` are the times of the
    training entries (None when no times were given)."""

    train: sp.csr_matrix
    held_out: sp.csr_matrix
    train_times: sp.csr_matrix | None
    protocol: str
    params: dict[str, Any] = field(default_factory=dict)


def check_holdout(protocol: object, fraction: object) -> tuple[str, float]:
    """``(protocol, fraction)`` checked; ``fraction=None`` takes the protocol's default."""
    if protocol not in HOLDOUT_PROTOCOLS:
        raise ParameterError(
            f"protocol={protocol!r}",
            expected="'temporal' (each user's latest interactions) or 'random' (a random share)",
            fix="pass protocol='temporal' or protocol='random'",
        )
    if fraction is None:
        return str(protocol), DEFAULT_HOLDOUT_FRACTION[str(protocol)]
    if isinstance(fraction, bool) or not isinstance(fraction, int | float | np.floating):
        raise ParameterError(
            f"fraction={fraction!r} is not a number",
            expected="a share strictly between 0 and 1",
            fix="pass fraction=0.25 or similar",
        )
    _check_fraction("fraction", float(fraction))
    return str(protocol), float(fraction)


def holdout_split(
    interactions: pd.DataFrame | sp.spmatrix,
    protocol: HoldoutProtocol = "temporal",
    fraction: float | None = None,
    seed: int = 0,
    *,
    times: sp.spmatrix | None = None,
    min_train: int = 1,
) -> Split | MatrixHoldout:
    """Hold out ``fraction`` of each user's interactions the way ``protocol`` says.

    ``"temporal"``: each user's latest ``fraction`` (by timestamp; the default 0.2);
    ``"random"``: a seeded random ``fraction`` of each user's interactions (default 0.25).
    Per user, ``round(n * fraction)`` (half up, at least 1) go to the hold-out while at least
    ``min_train`` stay in training; users with ``n <= min_train`` stay wholly in training.

    ``interactions`` is a frame (canonical columns; a temporal hold-out needs ``timestamp``)
    and gives a :class:`Split`, or a sparse ``(n_users, n_items)`` matrix of the training
    interactions (``times``: a matrix of the same shape and pattern, needed for ``"temporal"``)
    and gives a :class:`MatrixHoldout`. A matrix is split as the frame of its entries in
    row-major order would be, so a seed gives the same hold-out either way.
    """
    protocol, fraction = check_holdout(protocol, fraction)
    if isinstance(interactions, pd.DataFrame):
        if protocol == "temporal":
            return temporal_holdout(interactions, fraction, min_train=min_train)
        return random_holdout(interactions, fraction, seed=seed, min_train=min_train)
    if not sp.issparse(interactions):
        raise ParameterError(
            f"interactions is a {type(interactions).__name__}",
            expected="a pandas DataFrame or a scipy.sparse (n_users, n_items) matrix",
            fix="pass Dataset.interactions or the training matrix",
        )
    matrix = sp.csr_matrix(interactions)
    matrix.sum_duplicates()
    matrix.sort_indices()
    coo = matrix.tocoo()
    frame = pd.DataFrame({USER_ID: coo.row, ITEM_ID: coo.col, "_value": coo.data})
    if times is not None:
        stamps = sp.csr_matrix(times)
        if stamps.shape != matrix.shape:
            raise ParameterError(
                f"times has shape {stamps.shape} but interactions have shape {matrix.shape}",
                expected="one time per stored interaction, in a matrix of the same shape",
                fix="pass the times matrix built with the same id maps",
            )
        frame[TIMESTAMP] = np.asarray(stamps[coo.row, coo.col], dtype=np.float64).ravel()
    elif protocol == "temporal":
        raise ParameterError(
            "protocol='temporal' on a matrix without times",
            expected="times= a matrix of interaction times for a temporal hold-out",
            fix="pass times=..., or protocol='random' when the data has no times",
        )
    split = holdout_split(frame, protocol, fraction, seed, min_train=min_train)
    assert isinstance(split, Split)

    def part(rows: pd.DataFrame, column: str) -> sp.csr_matrix:
        values = rows[column].to_numpy()
        built = sp.csr_matrix(
            (values, (rows[USER_ID].to_numpy(), rows[ITEM_ID].to_numpy())),
            shape=matrix.shape,
            dtype=np.float64 if column == TIMESTAMP else matrix.dtype,
        )
        built.sort_indices()
        return built

    return MatrixHoldout(
        train=part(split.train, "_value"),
        held_out=part(split.test, "_value"),
        train_times=part(split.train, TIMESTAMP) if times is not None else None,
        protocol=protocol,
        params=dict(split.params),
    )
