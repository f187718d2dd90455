"""The evaluate job's splits: one per segment, prepared in index space for every model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID
from interestlens.data.splits import (
    Split,
    check_holdout,
    cold_item_holdout,
    cold_user_holdout,
    holdout_split,
    validation_split,
)
from interestlens.evaluate.job.constants import (
    EASE_LAMBDAS,
    HISTORY_PER_USER,
    RANDOM_TEST_FRACTION,
    TEST_FRACTION,
    WARM,
)
from interestlens.evaluate.prepare import COLD_USERS, PreparedSplit
from interestlens.evaluate.prepare import prepare_split as prepare_indexed
from interestlens.recommend import EASE


def has_all_times(interactions: pd.DataFrame) -> bool:
    """Whether every interaction has a timestamp (splits are then temporal)."""
    return TIMESTAMP in interactions.columns and bool(interactions[TIMESTAMP].notna().all())


def split_protocol(
    interactions: pd.DataFrame, protocol: str = "temporal", fraction: float | None = None
) -> tuple[str, float, str]:
    """The hold-out protocol the data allows for ``protocol``, its fraction, and a note.

    ``"temporal"`` on interactions without a timestamp on every row falls back to
    ``"random"`` (as the job always did); the note says so.
    """
    protocol, _ = check_holdout(protocol, fraction)
    note = ""
    if protocol == "temporal" and not has_all_times(interactions):
        note = "not every interaction has a timestamp: a random hold-out instead"
        # the share asked for a temporal hold-out is kept
        fraction = TEST_FRACTION if fraction is None else fraction
        protocol = "random"
    if fraction is None:
        fraction = TEST_FRACTION if protocol == "temporal" else RANDOM_TEST_FRACTION
    return protocol, check_holdout(protocol, fraction)[1], note


def build_split(
    name: str,
    interactions: pd.DataFrame,
    seed: int,
    *,
    protocol: str = "temporal",
    fraction: float = TEST_FRACTION,
) -> Split | str:
    """The split of segment ``name``, or a sentence saying why the data cannot give one.

    ``protocol`` (from :func:`split_protocol`): the warm users' hold-out (``fraction`` of each
    user's interactions) and the cold users' fold-in (their earliest interactions, or random
    ones); the cold user and cold item shares stay at :data:`TEST_FRACTION`.
    """
    counts = interactions[USER_ID].value_counts()
    if name == WARM:
        found = int((counts >= 2).sum())
        if found < 2:
            return f"{found} users have 2 or more interactions; at least 2 are needed"
        split = holdout_split(interactions, protocol, fraction, seed)  # type: ignore[arg-type]
        assert isinstance(split, Split)
        return split
    if name == COLD_USERS:
        found = int((counts > HISTORY_PER_USER).sum())
        if found < 3 or len(counts) - round(found * TEST_FRACTION) < 2:
            return (
                f"{found} users have more than {HISTORY_PER_USER} interactions; at least 3 are "
                f"needed (20% of them become cold users, the others stay in training)"
            )
        return cold_user_holdout(
            interactions,
            TEST_FRACTION,
            seed=seed,
            history_per_user=HISTORY_PER_USER,
            history_order="random" if protocol == "random" else "earliest",
        )
    found = int(interactions[ITEM_ID].nunique())
    if found < 3:
        return f"{found} items have interactions; at least 3 are needed (20% become cold items)"
    return cold_item_holdout(interactions, TEST_FRACTION, seed=seed)


@dataclass
class SplitJob:
    """One split in index space twice (binary for the baselines, ratings for interestlens),
    the training interactions' times, and EASE's l2 tuned on a validation part of training."""

    split: Split
    binary: PreparedSplit
    rating: PreparedSplit
    times: sp.csr_matrix | None
    ease_l2: float
    ease_search: dict[str, float] = field(default_factory=dict)
    ease_note: str = ""


def prepare_job(
    split: Split,
    items: pd.DataFrame,
    users: pd.DataFrame | None,
    *,
    use_ratings: bool = True,
    tune_ease: bool = True,
    default_l2: float = 500.0,
    lambdas: Sequence[float] = EASE_LAMBDAS,
    seed: int = 0,
    protocol: str = "temporal",
    user_attributes: pd.DataFrame | None = None,
) -> SplitJob:
    """``items``: ``item_id, text``; ``users``: ``user_id, text`` (None: no user text);
    ``user_attributes``: ``user_id`` + attribute columns (None: no attributes). EASE's l2 is
    tuned on a validation part carved from training with the same ``protocol``."""
    common: dict[str, Any] = dict(items=items, item_text_column="text")
    if users is not None:
        common.update(users=users, user_text_column="text")
    if user_attributes is not None:
        common.update(user_attributes=user_attributes)
    binary = prepare_indexed(split, train_weight="binary", **common)
    with_ratings = use_ratings and RATING in split.train.columns
    with_ratings = with_ratings and bool(split.train[RATING].notna().all())
    rating = prepare_indexed(split, train_weight="rating", **common) if with_ratings else binary
    times = _latest_times(split.train, binary) if has_all_times(split.train) else None
    job = SplitJob(split, binary, rating, times, float(default_l2))
    if not tune_ease:
        job.ease_note = "not tuned"
        return job
    method = "temporal" if protocol == "temporal" and has_all_times(split.train) else "random"
    validation = validation_split(split, method, fraction=TEST_FRACTION, seed=seed)
    tuned = prepare_indexed(validation, items=items)
    target = tuned.test_matrix()
    if target.nnz == 0:
        job.ease_note = "no validation interactions in the training part: l2 not tuned"
        return job
    search = EASE.tune_lambda(tuned.train, target, lambdas)
    job.ease_l2 = search.best_lambda
    job.ease_search = {str(value): round(score, 5) for value, score in search.scores.items()}
    return job


def _latest_times(train: pd.DataFrame, binary: PreparedSplit) -> sp.csr_matrix:
    """Each (user, item) training pair's latest timestamp, in ``binary``'s index space."""
    frame = pd.DataFrame(
        {
            "row": binary.user_map.indices(train[USER_ID].astype(str)),
            "col": binary.item_map.indices(train[ITEM_ID].astype(str)),
            # float64: float32 would round Unix seconds to minutes
            "time": train[TIMESTAMP].to_numpy(dtype=np.float64),
        }
    )
    latest = frame.groupby(["row", "col"], sort=True)["time"].max().reset_index()
    return sp.csr_matrix(
        (latest["time"].to_numpy(), (latest["row"], latest["col"])), shape=binary.train.shape
    )


def text_only(prepared: PreparedSplit) -> PreparedSplit:
    """The cold users who have text, with their fold-in history hidden."""
    segment = prepared.segments[COLD_USERS]
    texts = segment.texts or []
    keep = np.array([bool(text.strip()) for text in texts], dtype=bool)
    keep &= np.diff(segment.relevant.indptr) > 0 if len(keep) else keep
    rows = np.flatnonzero(keep)
    only = replace(
        segment,
        users=np.arange(len(rows)),
        relevant=segment.relevant[rows],
        history=None,
        texts=[texts[i] for i in rows],
        user_ids=[segment.user_ids[i] for i in rows] if segment.user_ids else [],
        attributes=(
            None
            if segment.attributes is None
            else segment.attributes.iloc[rows].reset_index(drop=True)
        ),
    )
    return replace(prepared, segments={**prepared.segments, COLD_USERS: only})
