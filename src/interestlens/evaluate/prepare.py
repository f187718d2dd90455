"""A split in index space: the training matrix, aligned texts, and test pairs by segment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.data.ids import IdMap
from interestlens.data.schema import ITEM_ID, RATING, USER_ID
from interestlens.data.splits import Split
from interestlens.errors import MissingColumnsError, ParameterError
from interestlens.recommend.matrix import Weighting, interaction_matrix

WARM_USERS = "warm_users"
COLD_USERS = "cold_users"
COLD_ITEMS = "cold_items"
SEGMENTS: tuple[str, ...] = (WARM_USERS, COLD_USERS, COLD_ITEMS)


@dataclass
class Segment:
    """Users to evaluate and what counts as relevant for them.

    ``users`` are rows of the training matrix (warm users) or positions among the new users
    (cold users, scored with ``score_new`` from ``history`` and/or ``texts``). ``candidates``
    restricts ranking to some items (the cold items), None ranks the whole catalogue.
    """

    name: str
    users: np.ndarray
    relevant: sp.csr_matrix
    candidates: np.ndarray | None = None
    history: sp.csr_matrix | None = None
    texts: list[str] | None = None
    user_ids: list[str] = field(default_factory=list)
    #: the users' attribute rows (aligned with ``users``), for attribute-reading models
    attributes: pd.DataFrame | None = None

    @property
    def new_users(self) -> bool:
        return self.name == COLD_USERS


@dataclass
class PreparedSplit:
    """A split in index space: the training matrix, texts aligned with it, and segments."""

    user_map: IdMap
    item_map: IdMap
    train: sp.csr_matrix
    item_texts: list[str] | None
    user_texts: list[str] | None
    segments: dict[str, Segment]
    notes: dict[str, int]
    split_summary: dict[str, Any] = field(default_factory=dict)
    #: attribute rows aligned with the training matrix's rows (None: no attributes)
    user_attributes: pd.DataFrame | None = None

    def test_matrix(self) -> sp.csr_matrix:
        """Relevant test items of warm users as a ``train``-shaped matrix (for tuning)."""
        segment = self.segments[WARM_USERS]
        pairs = segment.relevant.tocoo()
        return sp.csr_matrix(
            (pairs.data, (segment.users[pairs.row], pairs.col)),
            shape=self.train.shape,
            dtype=np.float32,
        )


def _texts_of(frame: pd.DataFrame, key: str, columns: str | Sequence[str], what: str) -> pd.Series:
    names = [columns] if isinstance(columns, str) else list(columns)
    missing = [name for name in [key, *names] if name not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{what} columns {list(frame.columns)} lack {missing}",
            expected=f"columns {[key, *names]}",
            fix=f"pass the name of the {what} text column",
        )
    parts = [frame[name].fillna("").astype(str) for name in names]
    text = parts[0]
    for part in parts[1:]:
        text = text.str.cat(part, sep=" ")
    return pd.Series(text.to_numpy(), index=frame[key].astype(str).to_numpy())


def prepare_split(
    split: Split,
    *,
    items: pd.DataFrame | None = None,
    item_text_column: str | Sequence[str] | None = None,
    users: pd.DataFrame | None = None,
    user_text_column: str | Sequence[str] | None = None,
    train_weight: Weighting = "binary",
    relevance_threshold: float | None = None,
    user_attributes: pd.DataFrame | None = None,
) -> PreparedSplit:
    """Map a :class:`Split` to indices and sort its test pairs into segments.

    A test pair goes to ``cold_users`` when its user has no training interaction, else to
    ``cold_items`` when its item is one of ``split.cold_items``, else to ``warm_users``.
    Test pairs the user already has in training cannot be recommended with ``exclude_seen``
    and are left out (counted in ``notes``), as are pairs rated below
    ``relevance_threshold``. The item catalogue is ``items`` (in its order) plus any item of
    the split missing from it. ``user_attributes`` (``user_id`` + attribute columns) gives
    training users and cold users their attribute rows (all missing for users not in it).
    """
    for name, frame in (("train", split.train), ("test", split.test)):
        missing = [column for column in (USER_ID, ITEM_ID) if column not in frame.columns]
        if missing:
            raise MissingColumnsError(
                f"split.{name} columns {list(frame.columns)} lack {missing}",
                expected="canonical columns user_id, item_id",
                fix="build the split with interestlens.data.splits",
            )
    notes: dict[str, int] = {}
    item_map = IdMap(kind="item")
    if items is not None:
        item_map = IdMap.from_unique(items[ITEM_ID].astype(str).tolist(), kind="item")
    catalogue_size = len(item_map)
    frames = [split.train, split.test] + ([split.history] if split.history is not None else [])
    for frame in frames:
        for item in frame[ITEM_ID].astype(str).unique():
            item_map.add(item)
    notes["items_not_in_catalogue"] = len(item_map) - catalogue_size

    item_texts = None
    if item_text_column is not None:
        if items is None:
            raise ParameterError(
                "item_text_column is set but items is None",
                expected="an items table holding that column",
                fix="pass items=dataset.items",
            )
        texts = _texts_of(items, ITEM_ID, item_text_column, "items")
        item_texts = texts.to_list() + [""] * (len(item_map) - catalogue_size)

    train_frame = split.train
    user_map = IdMap(train_frame[USER_ID].astype(str).unique(), kind="user")
    train = interaction_matrix(train_frame, user_map, item_map, weight=train_weight)

    user_text_lookup = None
    user_texts = None
    if user_text_column is not None:
        if users is None:
            raise ParameterError(
                "user_text_column is set but users is None",
                expected="a users table holding that column",
                fix="pass users=dataset.users",
            )
        user_text_lookup = _texts_of(users, USER_ID, user_text_column, "users")
        user_texts = [str(user_text_lookup.get(user, "")) for user in user_map]
        notes["train_users_without_text"] = sum(1 for text in user_texts if not text)

    test = split.test.copy()
    test[USER_ID] = test[USER_ID].astype(str)
    test[ITEM_ID] = test[ITEM_ID].astype(str)
    if relevance_threshold is not None:
        if RATING not in test.columns:
            raise MissingColumnsError(
                f"relevance_threshold={relevance_threshold} but test has no rating column",
                expected="a rating column to compare with the threshold",
                fix="drop relevance_threshold for implicit feedback",
            )
        relevant_rows = test[RATING].to_numpy(dtype=np.float64) >= relevance_threshold
        notes["test_pairs_below_threshold"] = int((~relevant_rows).sum())
        test = test.loc[relevant_rows]
    test = test.drop_duplicates([USER_ID, ITEM_ID])
    user_rows = user_map.indices(test[USER_ID], missing="skip")
    item_cols = item_map.indices(test[ITEM_ID])
    known_user = user_rows >= 0
    seen = np.zeros(len(test), dtype=bool)
    if known_user.any():
        seen[known_user] = (
            np.asarray(train[user_rows[known_user], item_cols[known_user]]).ravel() != 0
        )
    notes["test_pairs_already_in_train"] = int(seen.sum())
    cold_item_set = set(split.cold_items)
    is_cold_item = test[ITEM_ID].isin(cold_item_set).to_numpy()

    segments: dict[str, Segment] = {}
    warm = known_user & ~seen & ~is_cold_item
    segments[WARM_USERS] = _known_segment(WARM_USERS, user_rows[warm], item_cols[warm], train)
    cold_items = known_user & ~seen & is_cold_item
    segment = _known_segment(COLD_ITEMS, user_rows[cold_items], item_cols[cold_items], train)
    segment.candidates = np.sort(item_map.indices(list(cold_item_set)))
    segments[COLD_ITEMS] = segment
    segments[COLD_USERS] = _cold_user_segment(
        test.loc[~known_user], split, item_map, train_weight, user_text_lookup
    )
    train_attributes = None
    if user_attributes is not None:
        train_attributes = _attribute_rows(user_attributes, user_map.to_list())
        segments[COLD_USERS].attributes = _attribute_rows(
            user_attributes, segments[COLD_USERS].user_ids
        )
        for known in (WARM_USERS, COLD_ITEMS):
            rows = segments[known].users
            segments[known].attributes = train_attributes.iloc[rows].reset_index(drop=True)
    return PreparedSplit(
        user_map,
        item_map,
        train,
        item_texts,
        user_texts,
        segments,
        notes,
        split.summary(),
        user_attributes=train_attributes,
    )


def _attribute_rows(table: pd.DataFrame, user_ids: Sequence[str]) -> pd.DataFrame:
    """``table``'s attribute columns for ``user_ids``, in order (NaN rows for unknown users)."""
    if USER_ID not in table.columns:
        raise MissingColumnsError(
            f"user_attributes columns {list(table.columns)} lack {USER_ID!r}",
            expected="a users table with user_id and attribute columns",
            fix="pass Dataset.users or a frame with a user_id column",
        )
    keyed = table.assign(**{USER_ID: table[USER_ID].astype(str)}).drop_duplicates(USER_ID)
    rows = keyed.set_index(USER_ID).reindex(pd.Index(list(user_ids), dtype=object))
    return rows.reset_index(drop=True)


def _known_segment(name: str, rows: np.ndarray, cols: np.ndarray, train: sp.csr_matrix) -> Segment:
    users = np.unique(rows)
    position = np.searchsorted(users, rows)
    relevant = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (position, cols)),
        shape=(len(users), train.shape[1]),
    )
    return Segment(name=name, users=users, relevant=relevant)


def _cold_user_segment(
    test: pd.DataFrame,
    split: Split,
    item_map: IdMap,
    train_weight: Weighting,
    user_text_lookup: pd.Series | None,
) -> Segment:
    new_map = IdMap(test[USER_ID].unique(), kind="user")
    relevant = interaction_matrix(test, new_map, item_map, weight="binary")
    history = None
    if split.history is not None and len(split.history):
        known = split.history[split.history[USER_ID].astype(str).isin(set(new_map))]
        history = interaction_matrix(
            known.assign(**{USER_ID: known[USER_ID].astype(str)}),
            new_map,
            item_map,
            weight=train_weight,
        )
        # fold-in items are known to the user, so they are neither recommendable nor targets
        relevant = sp.csr_matrix(relevant - relevant.multiply(history != 0), dtype=np.float32)
        relevant.eliminate_zeros()
    texts = None
    if user_text_lookup is not None:
        texts = [str(user_text_lookup.get(user, "")) for user in new_map]
    return Segment(
        name=COLD_USERS,
        users=np.arange(len(new_map)),
        relevant=relevant,
        history=history,
        texts=texts,
        user_ids=new_map.to_list(),
    )
