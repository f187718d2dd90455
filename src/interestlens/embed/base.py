"""The embed stage's contract: texts in, float32 ``(n, d)`` rows with unit L2 norm out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from interestlens.errors import ParameterError


def ensure_texts(texts: Sequence[str] | Iterable[str], *, what: str = "texts") -> list[str]:
    """``texts`` as a list of ``str``; a lone string or a non-string element is an error.

    Encoders call this first: a lone string would otherwise be encoded character by character,
    and a NaN from a DataFrame would be encoded as the word "nan".
    """
    if isinstance(texts, str | bytes):
        raise ParameterError(
            f"{what} is a single {type(texts).__name__} ({texts[:40]!r})",
            expected="a sequence of strings",
            fix="wrap it in a list: encode([text])",
        )
    as_list = list(texts)
    for position, text in enumerate(as_list):
        if not isinstance(text, str):
            raise ParameterError(
                f"{what}[{position}] is {type(text).__name__} {text!r}",
                expected="every element to be a str",
                fix="build texts with interestlens.text.build_texts, which turns missing "
                "values into empty strings",
            )
    return as_list


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into vectors.

    ``identifier`` names the model *and every setting that changes its output* (pooling,
    dimension, maximum length); the embedding cache keys on it, so two encoders with the same
    identifier must give the same vector for the same text.
    """

    @property
    def identifier(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """Longest input, in the encoder's own tokens, before it truncates."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        """Number of tokens each text has for this encoder (used to report truncation)."""
        ...

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Return ``float32`` array of shape ``(len(texts), dimension)``, rows L2-normalised."""
        ...


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero instead of becoming NaN."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


def encode_arguments(
    texts: Sequence[str], batch_size: int | None, default_batch_size: int
) -> tuple[list[str], int]:
    """What every model encoder's ``encode`` checks first: the texts as a list of strings
    (:func:`ensure_texts`) and the batch size (``default_batch_size`` when
    None), which must be at least 1."""
    texts = ensure_texts(texts)
    batch_size = default_batch_size if batch_size is None else batch_size
    if batch_size < 1:
        raise ParameterError(f"batch_size={batch_size}", expected="an int >= 1")
    return texts, batch_size
