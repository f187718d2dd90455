"""The serialized answers of known users' default requests, per served engine."""

from __future__ import annotations

import threading
from typing import Any

#: serialized recommendation lists kept (one per known user and k, typically)
RESPONSE_CACHE_ENTRIES = 20_000
#: default byte budget of those (serve.response_cache_bytes)
RESPONSE_CACHE_BYTES = 64 * 1024 * 1024


class ResponseCache:
    """Serialized answers for known users' default requests (no candidates), per engine.

    The engine already keeps each user's ranked list; this keeps the JSON bytes too, so a
    repeated request costs a dictionary lookup instead of building ten recommendations and
    serialising them. Mutations invalidate: an event or a forgetting drops that user's entries,
    a new item drops everything, a reload starts a new cache. A read records a token before
    asking the engine and stores its answer only if no invalidation happened meanwhile, so a
    read racing a mutation never caches the old answer.
    """

    def __init__(
        self, max_entries: int = RESPONSE_CACHE_ENTRIES, max_bytes: int = RESPONSE_CACHE_BYTES
    ):
        self.max_entries = max_entries
        #: bodies of k = 1000 answers are ~100 kB: the bound that matters is in bytes
        self.max_bytes = max_bytes
        self._by_user: dict[str, dict[Any, bytes]] = {}
        self._generation: dict[str, int] = {}
        self._epoch = 0
        self._entries = 0
        self._bytes = 0
        self._lock = threading.Lock()

    def token(self, user_id: str) -> tuple[int, int]:
        return self._epoch, self._generation.get(user_id, 0)

    def get(self, user_id: str, key: Any) -> bytes | None:
        entries = self._by_user.get(user_id)
        return None if entries is None else entries.get(key)

    def put(self, user_id: str, key: Any, body: bytes, token: tuple[int, int]) -> None:
        with self._lock:
            if token != (self._epoch, self._generation.get(user_id, 0)):
                return
            if len(body) > self.max_bytes:
                return
            if self._entries >= self.max_entries:
                # a full cache starts over: simpler than LRU and rare (entries ~ users x k's)
                self._by_user.clear()
                self._entries = self._bytes = 0
            entries = self._by_user.setdefault(user_id, {})
            previous = entries.get(key)
            if previous is None:
                self._entries += 1
            else:
                self._bytes -= len(previous)
            entries[key] = body
            self._bytes += len(body)
            # over the byte budget: drop the users cached longest ago (dicts keep insertion
            # order), never the one just stored
            while self._bytes > self.max_bytes and len(self._by_user) > 1:
                oldest = next(iter(self._by_user))
                if oldest == user_id:
                    self._by_user[user_id] = self._by_user.pop(user_id)
                    continue
                dropped = self._by_user.pop(oldest)
                self._entries -= len(dropped)
                self._bytes -= sum(len(b) for b in dropped.values())

    def invalidate_user(self, user_id: str) -> None:
        with self._lock:
            self._generation[user_id] = self._generation.get(user_id, 0) + 1
            dropped = self._by_user.pop(user_id, None)
            if dropped:
                self._entries -= len(dropped)
                self._bytes -= sum(len(b) for b in dropped.values())

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._by_user.clear()
            self._entries = self._bytes = 0

    def __len__(self) -> int:
        return self._entries

    @property
    def nbytes(self) -> int:
        """Bytes of the bodies held."""
        return self._bytes
