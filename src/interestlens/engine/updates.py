"""Online changes, in memory: events, new items and forgotten users (nothing is refitted)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from interestlens.config import LimitsConfig
from interestlens.embed.base import l2_normalise
from interestlens.engine.records import _Event
from interestlens.errors import (
    DuplicateIdError,
    InvalidValueError,
    ModelFormatError,
    ParameterError,
)
from interestlens.recommend.interest.reasons import item_names


class OnlineUpdatesMixin:
    """:meth:`add_events`, :meth:`add_item` and :meth:`forget_user` of a
    :class:`~interestlens.engine.RecommendationEngine`; each takes the engine's lock."""

    def add_events(
        self,
        user_id: str,
        item_ids: Sequence[str],
        ratings: Sequence[float | None] | None = None,
        timestamps: Sequence[float | None] | None = None,
    ) -> None:
        """Append interactions of one user (a new id becomes a user); their list, vector and
        cluster follow at once. Events without a time are stamped now."""
        items = self._item_indices([str(i) for i in item_ids], "event item")
        n = len(items)
        ratings = list(ratings) if ratings is not None else [None] * n
        timestamps = list(timestamps) if timestamps is not None else [None] * n
        if len(ratings) != n or len(timestamps) != n:
            raise ParameterError(
                f"{n} item ids but {len(ratings)} ratings and {len(timestamps)} timestamps",
                expected="one rating and one timestamp (or None) per item id",
                fix="pass lists of the same length",
            )
        for item_id, rating, stamp in zip(item_ids, ratings, timestamps, strict=True):
            self.check_event(user_id, str(item_id), rating, stamp)
        now = time.time()
        with self._lock:
            user = self.user_ids.get(user_id)
            if user < 0:
                user = self.user_ids.add(user_id)
            self._forgotten.discard(user)
            events = self._events.setdefault(user, [])
            for item, rating, stamp in zip(items, ratings, timestamps, strict=True):
                events.append(_Event(int(item), rating, float(stamp) if stamp is not None else now))
            self._invalidate_user(user)
            self._update_cluster(user)

    def check_event(
        self, user_id: str, item_id: str, rating: float | None, timestamp: float | None
    ) -> None:
        """:class:`InvalidValueError` naming the user, item and value unless the rating lies
        in :attr:`rating_range` and the time in the ``limits`` window: whatever is accepted
        can always be scored and refitted."""
        limits = self.settings.limits
        low, high = self.rating_range
        if rating is not None:
            if isinstance(rating, bool) or not isinstance(rating, int | float | np.number):
                raise InvalidValueError(
                    f"user {user_id!r}, item {item_id!r}: rating {rating!r} is not a number",
                    expected="a number or none",
                    fix="send a number such as 4.5, or leave the rating out",
                )
            if not (np.isfinite(rating) and low <= rating <= high):
                raise InvalidValueError(
                    f"user {user_id!r}, item {item_id!r}: rating {rating!r} is out of range",
                    expected=f"a rating from {low:g} to {high:g} (the range seen in training, "
                    "or limits.rating_min / rating_max)",
                    fix="send a rating on the model's scale, or leave it out",
                )
        if timestamp is not None and not (
            isinstance(timestamp, int | float | np.number)
            and not isinstance(timestamp, bool)
            and np.isfinite(timestamp)
            and limits.timestamp_min <= timestamp <= limits.timestamp_max
        ):
            raise InvalidValueError(
                f"user {user_id!r}, item {item_id!r}: timestamp {timestamp!r} is out of range",
                expected=f"seconds since the epoch from {limits.timestamp_min:.0f} to "
                f"{limits.timestamp_max:.0f} (limits.timestamp_min / timestamp_max)",
                fix="send the time in seconds since 1970-01-01 UTC, or leave it out",
            )

    def _invalidate_user(self, user: int) -> None:
        self._lists.pop(user, None)
        for key in [key for key in self._reasons if key[0] == user]:
            self._reasons_bytes = getattr(self, "_reasons_bytes", 0) - (
                len(self._reasons.pop(key)) + 100
            )

    def _update_cluster(self, user: int) -> None:
        items, ratings, times = self._history(user)
        text_vector = None
        if self._user_text(user) is not None:
            text_vector = self.model.user_text_vectors_[user]
        cluster = self._predict_cluster(items, ratings, times, text_vector)
        if user >= len(self.user_labels):
            grow = user + 1 - len(self.user_labels)
            self.user_labels = np.concatenate([self.user_labels, np.full(grow, -1)])
            self.user_source = np.concatenate([self.user_source, np.full(grow, "history")])
            if self.user_probability is not None:
                self.user_probability = np.concatenate(
                    [self.user_probability, np.full(grow, np.nan, dtype=np.float32)]
                )
        self.user_labels[user] = cluster
        if self.user_probability is not None:
            self.user_probability[user] = np.nan
        if self.user_source[user] in ("none", "text"):
            self.user_source[user] = "blend" if self.user_source[user] == "text" else "history"

    def check_new_item(self, item_id: str, text: str) -> None:
        """Raise what :meth:`add_item` would refuse (callers that store first check here)."""
        if str(item_id) in self.item_ids:
            raise DuplicateIdError(
                f"item id {item_id!r} already exists",
                expected="a new item id",
                fix="use another id; changing an existing item needs a refit",
            )
        if not text.strip():
            raise InvalidValueError(
                f"item {item_id!r} has an empty text",
                expected="a title or description to embed",
                fix="send the item's text (or fields whose values give one)",
            )

    def add_item(self, item_id: str, text: str) -> None:
        """A new item, embedded now and recommendable at once (scored from its text)."""
        item_id = str(item_id)
        self.check_new_item(item_id, text)
        with self._lock:
            encoder = self.encoder()
            vector = l2_normalise(encoder.encode([text]))[0]
            new = self.recommender.add_items([text])
            index = self.item_ids.add(item_id)
            if int(new[0]) != index:
                raise ModelFormatError(
                    f"the recommender gave the new item index {int(new[0])}, the engine {index}",
                    expected="one item index space",
                    fix="reload the model; this is a bug worth reporting",
                )
            self.item_vectors = np.vstack([self.item_vectors, vector[None, :]])
            self.titles.append(item_names([text], 1)[0])
            self._item_counts = np.append(self._item_counts, 0.0)
            self._lift = np.hstack([self._lift, np.zeros((len(self._lift), 1), np.float32)])
            # the lists lack the new item: ranked again (in batches, off the request path,
            # see Service.add_item); the reasons of listed items do not change
            self._lists.clear()

    def forget_user(self, user_id: str) -> bool:
        """Forget a user's events, list and cluster (False if the id was not known). The fitted
        interactions stay in this model's arrays until a refit leaves them out."""
        with self._lock:
            user = self.user_ids.get(user_id)
            if user < 0 or user in self._forgotten:
                return False
            self._forgotten.add(user)
            self._dropped.add(user)
            self._events.pop(user, None)
            self._invalidate_user(user)
            if user < len(self.user_labels):
                self.user_labels[user] = -1
            return True


def accepted_ratings(frame: pd.DataFrame, limits: LimitsConfig) -> tuple[float, float]:
    """The ratings an engine accepts: ``limits.rating_min``/``rating_max`` where set, else
    the range of the fitted ratings (``±limits.max_abs_rating`` when the model has none)."""
    low, high = -limits.max_abs_rating, limits.max_abs_rating
    if "rating" in frame:
        values = frame["rating"].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        if len(values):
            low, high = float(values.min()), float(values.max())
    return (
        low if limits.rating_min is None else limits.rating_min,
        high if limits.rating_max is None else limits.rating_max,
    )
