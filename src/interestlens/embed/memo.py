"""An encoder wrapper that remembers texts it has already seen the vectors of.

The recommendation engine asks for one request's text twice (the recommender and the cluster
assignment); ``fit`` hands the recommender the item vectors the embed stage already computed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from interestlens.embed.base import Encoder, EncoderWrapper


class MemoEncoder(EncoderWrapper):
    """``encoder`` plus the vectors of the last ``size`` texts (None: every text, unbounded);
    :meth:`remember` adds vectors computed elsewhere. Same identifier as ``encoder``."""

    def __init__(self, encoder: Encoder, size: int | None = 512):
        self.inner = encoder
        self.size = size
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Vectors ``encoder`` gave for ``texts`` (e.g. in an earlier stage)."""
        with self._lock:
            for text, vector in zip(texts, np.asarray(vectors, dtype=np.float32), strict=True):
                self._memo[text] = vector
                self._memo.move_to_end(text)
            self._trim()

    def _trim(self) -> None:
        while self.size is not None and len(self._memo) > self.size:
            self._memo.popitem(last=False)

    def encode(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            known = {t: self._memo[t] for t in texts if t in self._memo}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            encoded = np.asarray(self.inner.encode(missing, **kwargs), dtype=np.float32)
            with self._lock:
                for text, vector in zip(missing, encoded, strict=True):
                    known[text] = vector
                    self._memo[text] = vector
                    self._memo.move_to_end(text)
                self._trim()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([known[t] for t in texts]).astype(np.float32)
