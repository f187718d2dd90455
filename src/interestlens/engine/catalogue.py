"""The items the engine can recommend: ids, display titles and vectors, extended by new
items (:class:`ItemCatalogue`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from interestlens.data.ids import IdMap
from interestlens.errors import DuplicateIdError, InvalidValueError, UnknownIdError


class ItemCatalogue:
    """Item ids (:class:`IdMap`), titles and unit vectors in item index order."""

    def __init__(self, item_ids: IdMap, titles: Sequence[str], vectors: np.ndarray):
        self.ids = item_ids
        self._titles = tuple(str(t) for t in titles)
        self._vectors = np.asarray(vectors, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.ids

    @property
    def titles(self) -> tuple[str, ...]:
        """Display title of each item, in index order."""
        return self._titles

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors

    def indices(self, item_ids: Sequence[str], what: str) -> np.ndarray:
        """Indices of ``item_ids``; :class:`UnknownIdError` lists the unknown ones."""
        indices = self.ids.indices(item_ids, missing="skip")
        unknown = [item_ids[i] for i in np.flatnonzero(indices < 0)]
        if unknown:
            shown = ", ".join(repr(str(i)) for i in unknown[:5])
            raise UnknownIdError(
                f"{len(unknown)} {what} id{'s' if len(unknown) > 1 else ''} not in the model: "
                f"{shown}{' …' if len(unknown) > 5 else ''}",
                expected=f"item ids the model knows ({len(self)} items)",
                fix="check the ids, or add new items first",
            )
        return indices

    def candidate_indices(self, candidates: Sequence[str] | None) -> np.ndarray | None:
        """Sorted distinct indices of ``candidates`` (None: every item)."""
        if candidates is None:
            return None
        return np.unique(self.indices(list(candidates), "candidate item"))

    def check_new(self, item_id: str, text: str) -> None:
        """Raise what :meth:`add` would refuse."""
        if str(item_id) in self.ids:
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

    def add(self, item_id: str, title: str, vector: np.ndarray) -> int:
        """Append one item; returns its index."""
        index = self.ids.add(item_id)
        self._vectors = np.vstack([self._vectors, np.asarray(vector, np.float32)[None, :]])
        self._titles = (*self._titles, str(title))
        return index
