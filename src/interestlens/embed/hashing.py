"""A weight-free encoder: hashed word n-grams folded into a small dense vector.

It knows no meaning, only shared words, but it is deterministic, instant and needs no model
files, which makes it the encoder for tests, demos and machines without the language model.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from interestlens.embed.base import ensure_texts, l2_normalise
from interestlens.errors import ParameterError

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import HashingVectorizer

#: width of the intermediate hashed space; wide enough that distinct n-grams rarely collide
#: before the seeded fold into ``dimension`` buckets
_HASHED_FEATURES = 2**20


class HashingEncoder:
    """Word n-gram counts hashed into ``dimension`` signed buckets, rows L2-normalised.

    Texts are lower-cased and accent-stripped, split into words of two or more letters, cut to
    the first ``max_tokens`` words, and counted as n-grams (unigrams and bigrams by default) by
    scikit-learn's :class:`~sklearn.feature_extraction.text.HashingVectorizer`. A fixed random
    map drawn from ``seed`` folds each hashed n-gram into one of ``dimension`` buckets with a
    random sign, so different seeds give independent sketches. Texts sharing words get a
    positive cosine similarity; texts sharing none are near-orthogonal. An empty text gives the
    all-zero row.
    """

    def __init__(
        self,
        dimension: int = 384,
        max_tokens: int = 256,
        ngram_range: tuple[int, int] = (1, 2),
        seed: int = 0,
    ):
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.ngram_range = ngram_range
        self.seed = seed
        self._check_settings()

    def _check_settings(self) -> None:
        if not (isinstance(self.dimension, int) and self.dimension >= 8):
            raise ParameterError(
                f"dimension={self.dimension!r}", expected="an int >= 8", fix="pass dimension=384"
            )
        if not (isinstance(self.max_tokens, int) and self.max_tokens >= 1):
            raise ParameterError(
                f"max_tokens={self.max_tokens!r}", expected="an int >= 1", fix="pass max_tokens=256"
            )
        low, high = self.ngram_range
        if not (1 <= low <= high):
            raise ParameterError(
                f"ngram_range={self.ngram_range!r}",
                expected="(low, high) with 1 <= low <= high",
                fix="pass ngram_range=(1, 2)",
            )

    @property
    def identifier(self) -> str:
        low, high = self.ngram_range
        return (
            f"hashing-v1:dim={self.dimension}:ngrams={low}-{high}"
            f":max_tokens={self.max_tokens}:seed={self.seed}"
        )

    @cached_property
    def _vectorizer(self) -> HashingVectorizer:
        # imported here: scikit-learn takes seconds to import, and most runs never hash
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(
            n_features=_HASHED_FEATURES,
            ngram_range=tuple(self.ngram_range),
            lowercase=True,
            strip_accents="unicode",
            alternate_sign=False,
            norm=None,
            dtype=np.float32,
        )

    @cached_property
    def _fold(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        buckets = rng.integers(0, self.dimension, size=_HASHED_FEATURES, dtype=np.int32)
        signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=_HASHED_FEATURES)
        return buckets, signs

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        texts = ensure_texts(texts)
        tokenize = self._vectorizer.build_tokenizer()
        preprocess = self._vectorizer.build_preprocessor()
        return np.array([len(tokenize(preprocess(text))) for text in texts], dtype=np.int64)

    def _truncate(self, texts: list[str]) -> list[str]:
        tokenize = self._vectorizer.build_tokenizer()
        preprocess = self._vectorizer.build_preprocessor()
        truncated = []
        for text in texts:
            words = tokenize(preprocess(text))
            truncated.append(
                " ".join(words[: self.max_tokens]) if len(words) > self.max_tokens else text
            )
        return truncated

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 1024, show_progress: bool = False
    ) -> np.ndarray:
        texts = ensure_texts(texts)
        if batch_size < 1:
            raise ParameterError(f"batch_size={batch_size}", expected="an int >= 1")
        from scipy import sparse

        buckets, signs = self._fold
        rows = []
        starts = range(0, len(texts), batch_size)
        for start in tqdm(starts, desc="hashing", unit="batch", disable=not show_progress):
            counts = self._vectorizer.transform(self._truncate(texts[start : start + batch_size]))
            counts = counts.tocsr()
            # duplicate bucket indices within a row are summed by toarray()
            folded = sparse.csr_matrix(
                (counts.data * signs[counts.indices], buckets[counts.indices], counts.indptr),
                shape=(counts.shape[0], self.dimension),
            )
            rows.append(folded.toarray())
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return l2_normalise(np.vstack(rows))

    def __repr__(self) -> str:
        return (
            f"HashingEncoder(dimension={self.dimension}, max_tokens={self.max_tokens}, "
            f"ngram_range={self.ngram_range}, seed={self.seed})"
        )
