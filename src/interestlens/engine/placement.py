"""Interest vectors and clusters of users as they are now (fitted history, events, own
text) and of new people, through the fitted model (:class:`InterestPlacer`)."""

from __future__ import annotations

import numpy as np

from interestlens.engine.catalogue import ItemCatalogue
from interestlens.engine.histories import UserHistories
from interestlens.pipeline import InterestLens


class InterestPlacer:
    """Places histories and texts with :meth:`InterestLens.interest_vector` and
    :meth:`InterestLens.assign`, over the catalogue's item vectors (new items included)."""

    def __init__(self, model: InterestLens, catalogue: ItemCatalogue, histories: UserHistories):
        self._model = model
        self._catalogue = catalogue
        self._histories = histories

    def vector(
        self,
        items: np.ndarray,
        ratings: np.ndarray | None = None,
        times: np.ndarray | None = None,
        text_vector: np.ndarray | None = None,
    ) -> np.ndarray:
        return self._model.interest_vector(
            items,
            item_vectors=self._catalogue.vectors,
            ratings=ratings,
            timestamps=times,
            text_vector=text_vector,
        )

    def user_vector(self, user: int) -> np.ndarray:
        """A known user's interest vector now (fitted history, events and own text)."""
        items, ratings, times = self._histories.history(user)
        text_vector = None
        if self._histories.text(user) is not None:
            text_vector = self._model.user_text_vectors_[user]
        return self.vector(items, ratings, times, text_vector)

    def cluster(self, vector: np.ndarray) -> int:
        labels, _ = self._model.assign(vector[None, :])
        return int(labels[0])
