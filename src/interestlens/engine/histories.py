"""Each user's interactions as the engine sees them: the fitted ones, the events received
since, and the users forgotten on request (:class:`UserHistories`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.engine.records import Event
from interestlens.recommend.matrix import history_matrices


class UserHistories:
    """Fitted interactions (read-only, sorted by user), events by user, forgotten users.

    ``interactions``: the fitted ``user_index, item_index, rating, timestamp`` frame;
    ``user_texts``: what each fitted user wrote ("" for nothing); ``use_ratings``: whether
    ratings weigh a history (``interests.use_ratings``). Changes go through
    :meth:`add_events`, :meth:`add_item` and :meth:`forget`; the engine's lock guards them.
    """

    def __init__(
        self,
        interactions: pd.DataFrame,
        *,
        n_users: int,
        n_items: int,
        user_texts: Sequence[str],
        use_ratings: bool,
    ):
        order = np.argsort(interactions["user_index"].to_numpy(), kind="stable")
        self._frame = interactions.iloc[order].reset_index(drop=True)
        counts = np.bincount(interactions["user_index"].to_numpy(), minlength=n_users)
        self._start = np.concatenate([[0], np.cumsum(counts)])
        self._item_counts = np.bincount(
            interactions["item_index"].to_numpy(), minlength=n_items
        ).astype(np.float64)
        self._has_timestamps = bool(interactions["timestamp"].notna().any())
        self._use_ratings = use_ratings
        self._user_texts = tuple(user_texts)
        self.n_fitted_users = n_users
        self._events: dict[int, list[Event]] = {}
        #: forgotten users (an id given events again is a user again)
        self._forgotten: set[int] = set()
        #: forgotten users whose fitted interactions and text no longer count
        self._dropped: set[int] = set()

    # --- reads -----------------------------------------------------------------------------

    @property
    def n_items(self) -> int:
        return len(self._item_counts)

    @property
    def user_texts(self) -> tuple[str, ...]:
        """What each fitted user wrote, in user index order."""
        return self._user_texts

    def is_forgotten(self, user: int) -> bool:
        return user in self._forgotten

    def forgotten_mask(self, users: np.ndarray) -> np.ndarray:
        """Which of ``users`` (indices) were forgotten."""
        users = np.asarray(users, dtype=np.int64)
        if not self._forgotten:
            return np.zeros(len(users), dtype=bool)
        return np.isin(users, np.fromiter(self._forgotten, np.int64, len(self._forgotten)))

    @property
    def n_forgotten(self) -> int:
        return len(self._forgotten)

    def has_events(self, user: int) -> bool:
        return user in self._events

    def is_fitted(self, user: int) -> bool:
        """Whether the recommender scores ``user`` from their fitted state (no refit needed)."""
        return user < self.n_fitted_users and user not in self._dropped

    def has_fitted_history(self, users: np.ndarray) -> np.ndarray:
        """Whether each (fitted) user has fitted interactions."""
        return np.diff(self._start)[users] > 0

    def plain_users(self, users: np.ndarray) -> np.ndarray:
        """Fitted users with a fitted history, no events, not forgotten: scored as at fit."""
        special = self._events.keys() | self._dropped | self._forgotten
        plain = ~np.isin(users, np.fromiter(special, dtype=np.int64, count=len(special)))
        fitted = users < self.n_fitted_users
        history = np.zeros(len(users), dtype=bool)
        history[fitted] = self.has_fitted_history(users[fitted])
        return history & plain & fitted

    def unchanged_fitted_users(self) -> np.ndarray:
        """Fitted users neither forgotten nor given events, in index order."""
        return np.array(
            [
                u
                for u in range(self.n_fitted_users)
                if u not in self._events and u not in self._forgotten
            ],
            dtype=np.int64,
        )

    def history(self, user: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Item indices, ratings and times of a user's fitted interactions plus events."""
        if self.is_fitted(user):
            rows = self._frame.iloc[self._start[user] : self._start[user + 1]]
            items = rows["item_index"].to_numpy(dtype=np.int64)
            ratings = rows["rating"].to_numpy(dtype=np.float64)
            times = rows["timestamp"].to_numpy(dtype=np.float64)
        else:
            items = np.zeros(0, dtype=np.int64)
            ratings = np.zeros(0)
            times = np.zeros(0)
        events = self._events.get(user, [])
        if events:
            items = np.concatenate([items, [e.item for e in events]])
            ratings = np.concatenate(
                [ratings, [np.nan if e.rating is None else e.rating for e in events]]
            )
            times = np.concatenate([times, [e.timestamp for e in events]])
        has_ratings = self._use_ratings and bool(np.isfinite(ratings).any())
        return (
            items,
            ratings if has_ratings else None,
            times if self._has_timestamps or events else None,
        )

    def history_row(self, user: int) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
        """The user's history as one ``(1, n_items)`` row of values and one of times."""
        items, ratings, times = self.history(user)
        return history_matrices(
            np.zeros(len(items), dtype=np.int64),
            items,
            (1, self.n_items),
            ratings=ratings,
            timestamps=times,
        )

    def fitted_items(self, users: np.ndarray) -> sp.csr_matrix:
        """Each user's fitted items as one sparse row (columns sorted and distinct)."""
        starts, ends = self._start[users], self._start[users + 1]
        counts = ends - starts
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        positions = np.arange(int(counts.sum())) + offsets
        columns = self._frame["item_index"].to_numpy(dtype=np.int64)[positions]
        rows = np.repeat(np.arange(len(users)), counts)
        matrix = sp.csr_matrix(
            (np.ones(len(columns), dtype=np.float32), (rows, columns)),
            shape=(len(users), self.n_items),
        )
        matrix.sum_duplicates()
        return matrix

    def text(self, user: int) -> str | None:
        """What the user wrote, None for nothing (or a forgotten user)."""
        if user >= len(self._user_texts) or user in self._dropped:
            return None
        text = self._user_texts[user]
        return text if text.strip() else None

    def known_items(self, items: np.ndarray) -> np.ndarray:
        """Whether each item had fitted interactions (items added since had none)."""
        items = np.asarray(items, dtype=np.int64)
        known = items < len(self._item_counts)
        known[known] = self._item_counts[items[known]] > 0
        return known

    def popularity_scores(self) -> np.ndarray:
        """Log of each item's fitted interaction count (the fallback ranking)."""
        return np.log1p(self._item_counts).astype(np.float32)

    # --- changes ---------------------------------------------------------------------------

    def add_events(self, user: int, events: Sequence[Event]) -> None:
        """Append events of ``user`` (a forgotten user is a user again)."""
        self._forgotten.discard(user)
        self._events.setdefault(user, []).extend(events)

    def add_item(self) -> None:
        """One more item, without fitted interactions."""
        self._item_counts = np.append(self._item_counts, 0.0)

    def forget(self, user: int) -> bool:
        """Forget ``user``'s events, fitted interactions and text (False if already)."""
        if user in self._forgotten:
            return False
        self._forgotten.add(user)
        self._dropped.add(user)
        self._events.pop(user, None)
        return True
