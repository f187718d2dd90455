"""The one place where external ids become contiguous indices and back.

Ids are always strings: ``"42"`` from a CSV and ``42`` from a JSON file name the same item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from interestlens.errors import DuplicateIdError, UnknownIdError


class IdMap:
    """A bijection between external string ids and indices ``0 .. n-1`` in first-seen order."""

    def __init__(self, ids: Iterable[object] = (), *, kind: str = "id"):
        self.kind = kind
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        for raw in ids:
            self.add(raw)

    @classmethod
    def from_unique(cls, ids: Sequence[object], *, kind: str = "id") -> IdMap:
        """Build from ids that must not repeat; a repeat raises :class:`DuplicateIdError`."""
        id_map = cls(kind=kind)
        for raw in ids:
            key = str(raw)
            if key in id_map._index:
                raise DuplicateIdError(
                    f"{kind} id {key!r} appears more than once",
                    expected=f"each {kind} id once",
                    fix=f"remove or merge the duplicate {kind} rows",
                )
            id_map.add(key)
        return id_map

    def add(self, raw: object) -> int:
        """Index of ``raw``, adding it at the end if new."""
        key = str(raw)
        found = self._index.get(key)
        if found is not None:
            return found
        self._index[key] = len(self._ids)
        self._ids.append(key)
        return len(self._ids) - 1

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, raw: object) -> bool:
        return str(raw) in self._index

    def __iter__(self):
        return iter(self._ids)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and other._ids == self._ids

    def __repr__(self) -> str:
        return f"IdMap(kind={self.kind!r}, n={len(self)})"

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def get(self, raw: object, default: int = -1) -> int:
        return self._index.get(str(raw), default)

    def index(self, raw: object) -> int:
        key = str(raw)
        try:
            return self._index[key]
        except KeyError:
            raise UnknownIdError(
                f"unknown {self.kind} id {key!r}",
                expected=f"one of the {len(self)} {self.kind} ids the data or model knows",
                fix=f"check the id, or add the {self.kind} to the data and fit again",
            ) from None

    def indices(self, raws: Iterable[object], *, missing: str = "error") -> np.ndarray:
        """Indices of many ids: ``missing="error"`` raises, ``"skip"`` gives -1 for unknown ids."""
        if missing == "error":
            return np.fromiter((self.index(r) for r in raws), dtype=np.int64)
        return np.fromiter((self._index.get(str(r), -1) for r in raws), dtype=np.int64)

    def id_of(self, index: int) -> str:
        return self._ids[index]

    def ids_of(self, indices: Iterable[int]) -> list[str]:
        return [self._ids[int(i)] for i in indices]

    def to_list(self) -> list[str]:
        return list(self._ids)

    @classmethod
    def from_list(cls, ids: Sequence[str], *, kind: str = "id") -> IdMap:
        return cls.from_unique(ids, kind=kind)
