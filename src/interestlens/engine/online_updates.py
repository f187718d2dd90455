"""Online changes, in memory: events, new items and forgotten users, checked and handed to
the collaborators that own each piece of state (:class:`OnlineUpdater`; nothing is
refitted)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from interestlens.config import LimitsConfig
from interestlens.data.ids import IdMap
from interestlens.embed.base import Encoder, l2_normalise
from interestlens.engine.catalogue import ItemCatalogue
from interestlens.engine.cluster_assignments import ClusterAssignments
from interestlens.engine.histories import UserHistories
from interestlens.engine.placement import InterestPlacer
from interestlens.engine.ranker import Ranker
from interestlens.engine.reason_writer import ReasonWriter
from interestlens.engine.records import Event
from interestlens.errors import InvalidValueError, ModelFormatError, ParameterError
from interestlens.recommend.interest import InterestRecommender
from interestlens.recommend.interest.reasons import item_names


class OnlineUpdater:
    """:meth:`add_events`, :meth:`add_item` and :meth:`forget_user`; each takes the lock.

    ``rating_range``: the ratings accepted (:func:`accepted_ratings`); ``encoder``: gives the
    model's encoder (built on first use) for new items' texts.
    """

    def __init__(
        self,
        *,
        user_ids: IdMap,
        catalogue: ItemCatalogue,
        histories: UserHistories,
        clusters: ClusterAssignments,
        placer: InterestPlacer,
        ranker: Ranker,
        reasons: ReasonWriter,
        recommender: InterestRecommender,
        encoder: Callable[[], Encoder],
        limits: LimitsConfig,
        rating_range: tuple[float, float],
        lock: threading.RLock,
    ):
        self._user_ids = user_ids
        self._catalogue = catalogue
        self._histories = histories
        self._clusters = clusters
        self._placer = placer
        self._ranker = ranker
        self._reasons = reasons
        self._recommender = recommender
        self._encoder = encoder
        self._limits = limits
        self.rating_range = rating_range
        self._lock = lock

    def add_events(
        self,
        user_id: str,
        item_ids: Sequence[str],
        ratings: Sequence[float | None] | None = None,
        timestamps: Sequence[float | None] | None = None,
    ) -> None:
        """Append interactions of one user (a new id becomes a user); their list, vector and
        cluster follow at once. Events without a time are stamped now."""
        items = self._catalogue.indices([str(i) for i in item_ids], "event item")
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
        events = [
            Event(int(item), rating, float(stamp) if stamp is not None else now)
            for item, rating, stamp in zip(items, ratings, timestamps, strict=True)
        ]
        with self._lock:
            user = self._user_ids.get(user_id)
            if user < 0:
                user = self._user_ids.add(user_id)
            self._histories.add_events(user, events)
            self._ranker.forget_list(user)
            self._reasons.forget_user(user)
            self._clusters.move(user, self._placer.cluster(self._placer.user_vector(user)))

    def check_event(
        self, user_id: str, item_id: str, rating: float | None, timestamp: float | None
    ) -> None:
        """:class:`InvalidValueError` naming the user, item and value unless the rating lies
        in :attr:`rating_range` and the time in the ``limits`` window: whatever is accepted
        can always be scored and refitted."""
        limits = self._limits
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

    def add_item(self, item_id: str, text: str) -> None:
        """A new item, embedded now and recommendable at once (scored from its text)."""
        item_id = str(item_id)
        self._catalogue.check_new(item_id, text)
        with self._lock:
            vector = l2_normalise(self._encoder().encode([text]))[0]
            new = self._recommender.add_items([text])
            index = self._catalogue.add(item_id, item_names([text], 1)[0], vector)
            if int(new[0]) != index:
                raise ModelFormatError(
                    f"the recommender gave the new item index {int(new[0])}, the engine {index}",
                    expected="one item index space",
                    fix="reload the model; this is a bug worth reporting",
                )
            self._histories.add_item()
            self._reasons.add_item()
            # the lists lack the new item: ranked again (in batches, off the request path,
            # see Service.add_item); the reasons of listed items do not change
            self._ranker.forget_lists()

    def forget_user(self, user_id: str) -> bool:
        """Forget a user's events, list and cluster (False if the id was not known). The fitted
        interactions stay in this model's arrays until a refit leaves them out."""
        with self._lock:
            user = self._user_ids.get(user_id)
            if user < 0 or not self._histories.forget(user):
                return False
            self._ranker.forget_list(user)
            self._reasons.forget_user(user)
            self._clusters.forget(user)
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
