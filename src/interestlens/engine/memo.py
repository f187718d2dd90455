"""An encoder wrapper that remembers recent texts (one request's text is asked for twice)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from interestlens.embed.base import Encoder


class _MemoEncoder:
    """Remembers the last few hundred texts, so one request's text is encoded once although
    the recommender and the cluster assignment both ask for it."""

    def __init__(self, encoder: Encoder, size: int = 512):
        self.encoder = encoder
        self.size = size
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.encoder, name)

    @property
    def identifier(self) -> str:
        return self.encoder.identifier

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def encode(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            known = {t: self._memo[t] for t in texts if t in self._memo}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            encoded = np.asarray(self.encoder.encode(missing, **kwargs), dtype=np.float32)
            with self._lock:
                for text, vector in zip(missing, encoded, strict=True):
                    known[text] = vector
                    self._memo[text] = vector
                    self._memo.move_to_end(text)
                while len(self._memo) > self.size:
                    self._memo.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([known[t] for t in texts]).astype(np.float32)
