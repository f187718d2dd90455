"""Encoding a list of texts for the pipeline: empty texts, repeats, truncation and the cache.

:func:`embed_texts` encodes each distinct non-empty text once and reports what it did
(:class:`EmbeddingStats`); :func:`build_encoder` is the encoder the settings describe, behind
the embedding cache when ``encoder.cache`` is on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from interestlens.config import Settings
from interestlens.embed import cache_path, make_encoder
from interestlens.embed.base import Encoder
from interestlens.embed.cache import CachedEncoder, EmbeddingCache


@dataclass
class EmbeddingStats:
    """Counts and seconds of one :func:`embed_texts` call (for the fit report)."""

    texts: int = 0
    unique_texts: int = 0
    empty_texts: int = 0
    truncated_texts: int = 0
    encoder_calls: int = 0
    encoded_texts: int = 0
    cache_hits: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def build_encoder(settings: Settings, encoder: Encoder | None = None) -> Encoder:
    """``encoder`` (default: the one ``settings.encoder`` describes), wrapped by the embedding
    cache in ``settings.encoder.cache_dir`` when ``settings.encoder.cache`` is on."""
    if encoder is None:
        encoder = make_encoder(settings.encoder, seed=settings.seed)
    if settings.encoder.cache:
        encoder = CachedEncoder(encoder, EmbeddingCache(cache_path(settings.encoder)))
    return encoder


def embed_texts(
    encoder: Encoder, texts: list[str], *, batch_size: int, show_progress: bool
) -> tuple[np.ndarray, EmbeddingStats]:
    """Encode texts (empty ones become zero vectors) and report counts and truncation."""
    started = time.perf_counter()
    stats = EmbeddingStats(texts=len(texts))
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    non_empty = [i for i, text in enumerate(texts) if text.strip()]
    stats.empty_texts = len(texts) - len(non_empty)
    if non_empty:
        unique = list(dict.fromkeys(texts[i] for i in non_empty))
        stats.unique_texts = len(unique)
        stats.truncated_texts = int(np.sum(encoder.count_tokens(unique) > encoder.max_tokens))
        hits_before, misses_before = cache_counters(encoder)
        encoded = encoder.encode(unique, batch_size=batch_size, show_progress=show_progress)
        hits_after, misses_after = cache_counters(encoder)
        stats.cache_hits = hits_after - hits_before
        stats.encoded_texts = (
            misses_after - misses_before if isinstance(encoder, CachedEncoder) else len(unique)
        )
        row_of = {text: row for row, text in enumerate(unique)}
        vectors[non_empty] = encoded[[row_of[texts[i]] for i in non_empty]]
    stats.seconds = time.perf_counter() - started
    return vectors, stats


def cache_counters(encoder: Encoder) -> tuple[int, int]:
    """Hits and misses of ``encoder``'s embedding cache so far (0, 0 without one)."""
    if isinstance(encoder, CachedEncoder):
        return encoder.hits, encoder.misses
    return 0, 0
