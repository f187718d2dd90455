"""How many texts an encoder will truncate: token counts per text against its limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from interestlens.embed.base import Encoder, ensure_texts


@dataclass(frozen=True)
class TextReport:
    """How many texts are empty, and how many an encoder will truncate at ``max_tokens``."""

    n_texts: int
    n_empty: int
    n_truncated: int
    max_tokens: int | None
    tokens_median: float | None
    tokens_p95: float | None
    tokens_max: int | None

    @property
    def truncated_share(self) -> float:
        return self.n_truncated / self.n_texts if self.n_texts else 0.0

    def to_dict(self) -> dict[str, int | float | None]:
        return {**asdict(self), "truncated_share": self.truncated_share}


def text_report(texts: Sequence[str], encoder: Encoder | None = None) -> TextReport:
    """Count empty texts and, with an encoder, those longer than its ``max_tokens``.

    The encoder truncates long texts itself; this only reports how many lose their end.
    """
    texts = ensure_texts(texts)
    n_empty = sum(1 for text in texts if not text.strip())
    if encoder is None or not texts:
        return TextReport(len(texts), n_empty, 0, None, None, None, None)
    counts = np.asarray(encoder.count_tokens(texts), dtype=np.int64)
    limit = int(encoder.max_tokens)
    return TextReport(
        n_texts=len(texts),
        n_empty=n_empty,
        n_truncated=int((counts > limit).sum()),
        max_tokens=limit,
        tokens_median=float(np.median(counts)),
        tokens_p95=float(np.percentile(counts, 95)),
        tokens_max=int(counts.max()),
    )
