"""Test doubles of every stage, shipped so that users can test their own pipelines.

One per stage protocol, each usable in :class:`interestlens.InterestLens` (``InterestLens(
settings, encoder=StaticEncoder(...), representer=StaticInterests(...), ...)``):

- embed (``Encoder``): :class:`StaticEncoder`, :class:`RecordingEncoder` (here);
- represent (``InterestRepresenter``): :class:`StaticInterests` (``interestlens.represent``);
- cluster (``Clusterer``): :class:`NearestCentroidClusterer` (``interestlens.cluster``);
- explain (``Explainer``): :class:`StaticExplainer`; naming (``ClusterNamer``):
  :class:`StaticNamer` (both ``interestlens.explain``);
- recommend (``Recommender``): :class:`FixedScores` (``interestlens.recommend.testing``).

* :class:`StaticEncoder` returns vectors you choose (from a mapping or a function of the text);
* :class:`RecordingEncoder` wraps any encoder and records every text it was asked to encode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from interestlens.cluster.base import NearestCentroidClusterer
from interestlens.embed.base import Encoder, ensure_texts, l2_normalise
from interestlens.errors import EncoderError, ParameterError
from interestlens.explain import StaticExplainer, StaticNamer
from interestlens.recommend.testing import FixedScores
from interestlens.represent import StaticInterests

__all__ = [
    "FixedScores",
    "NearestCentroidClusterer",
    "RecordingEncoder",
    "StaticEncoder",
    "StaticExplainer",
    "StaticInterests",
    "StaticNamer",
]


class StaticEncoder:
    """Vectors given in advance: ``vectors[text]`` or ``vectors(text)``, L2-normalised.

    A text missing from the mapping raises :class:`EncoderError`. Tokens are whitespace-split
    words. Give each double its own ``identifier`` when several share an embedding cache.
    """

    def __init__(
        self,
        vectors: Mapping[str, ArrayLike] | Callable[[str], ArrayLike],
        dimension: int,
        *,
        identifier: str = "static",
        max_tokens: int = 512,
    ):
        if dimension < 1:
            raise ParameterError(f"dimension={dimension}", expected="an int >= 1")
        self.vectors = vectors
        self.dimension = dimension
        self.identifier = identifier
        self.max_tokens = max_tokens

    def _vector(self, text: str) -> np.ndarray:
        if callable(self.vectors):
            raw = self.vectors(text)
        elif text in self.vectors:
            raw = self.vectors[text]
        else:
            raise EncoderError(
                f"StaticEncoder has no vector for {text!r}",
                expected=f"one of its {len(self.vectors)} known texts",
                fix="add the text to the mapping given to StaticEncoder",
            )
        vector = np.asarray(raw, dtype=np.float32)
        if vector.shape != (self.dimension,):
            raise EncoderError(
                f"StaticEncoder vector for {text!r} has shape {vector.shape}",
                expected=f"shape ({self.dimension},)",
            )
        return vector

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([len(text.split()) for text in ensure_texts(texts)], dtype=np.int64)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        texts = ensure_texts(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return l2_normalise(np.stack([self._vector(text) for text in texts]))

    def __repr__(self) -> str:
        return f"StaticEncoder(identifier={self.identifier!r}, dimension={self.dimension})"


class RecordingEncoder:
    """Wraps ``inner`` and records each ``encode`` call's texts in :attr:`calls`."""

    def __init__(self, inner: Encoder):
        self.inner = inner
        self.calls: list[list[str]] = []

    @property
    def identifier(self) -> str:
        return self.inner.identifier

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    @property
    def n_calls(self) -> int:
        return len(self.calls)

    @property
    def n_texts(self) -> int:
        return sum(len(call) for call in self.calls)

    @property
    def texts(self) -> list[str]:
        """Every text encoded, in call order."""
        return [text for call in self.calls for text in call]

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.count_tokens(texts)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
    ) -> np.ndarray:
        texts = ensure_texts(texts)
        self.calls.append(texts)
        if batch_size is None:
            return self.inner.encode(texts, show_progress=show_progress)
        return self.inner.encode(texts, batch_size=batch_size, show_progress=show_progress)

    def __repr__(self) -> str:
        return f"RecordingEncoder({self.inner!r}, n_calls={self.n_calls})"
