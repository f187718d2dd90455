"""An encoder that averages the token vectors of a static model distilled from a sentence model
(:mod:`interestlens.embed.distill`): no transformer at encode time, so tens of thousands
of texts per second on a laptop, at a cost in quality the benchmarks state.

``model`` is what the torch encoders take (None: the packaged all-MiniLM-L6-v2; a directory; a
hub name already in the local cache), or a directory distilled before (copied from another
machine: then neither the source model nor torch is needed). A source model is distilled once
into ``directory`` on first use (that step alone needs torch and model2vec's distillation
extra); afterwards only the distilled directory is read, with ``model2vec`` and its safetensors
weights (no pickle).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from interestlens.embed.base import encode_arguments, l2_normalise
from interestlens.embed.distill import (
    StaticModelDirectory,
    cached_static_model,
    is_static_model,
    read_static_model,
)
from interestlens.embed.sentence import ModelSource, resolve_model_source
from interestlens.errors import EncoderError, ParameterError

DEFAULT_STATIC_DIR = Path("~/.cache/interestlens/static")
#: model2vec's own default: texts are cut after this many tokens
STATIC_MAX_TOKENS = 512


class DistilledEncoder:
    """Mean of distilled token vectors, L2-normalised (``dims``: the distillation's PCA size)."""

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        directory: str | os.PathLike[str] | None = None,
        dims: int = 256,
        batch_size: int = 1024,
        show_progress: bool = False,
    ):
        if not (isinstance(dims, int) and not isinstance(dims, bool) and dims >= 8):
            raise ParameterError(
                f"dims={dims!r}",
                expected="an int >= 8 (the static model's dimensions after PCA)",
                fix="set encoder.static_dims to e.g. 256",
            )
        self.model = model
        self.directory = directory
        self.dims = dims
        self.batch_size = batch_size
        self.show_progress = show_progress
        self._lock = threading.Lock()
        self._static: Any = None

    @cached_property
    def source(self) -> ModelSource:
        return resolve_model_source(self.model)

    @cached_property
    def _given(self) -> StaticModelDirectory | None:
        """The distilled directory ``model`` names directly, if it is one."""
        if self.model is None:
            return None
        path = Path(os.fspath(self.model)).expanduser()
        return read_static_model(path) if is_static_model(path) else None

    def check(self) -> None:
        """Fail now, not at the first encode, on a model that is not here (a source model is
        only located: distillation waits for the first use)."""
        if self._given is None:
            _ = self.source

    @cached_property
    def distilled(self) -> StaticModelDirectory:
        """The distilled model's directory (distilled now, once, if there is none)."""
        if self._given is not None:
            return self._given
        folder = Path(self.directory or DEFAULT_STATIC_DIR).expanduser()
        return cached_static_model(self.source, folder, self.dims, show_progress=self.show_progress)

    @property
    def identifier(self) -> str:
        # the distilled weights' digest, not only the source's: a model distilled again (say,
        # with another model2vec) must not share cached vectors with the one before
        directory = self.distilled
        return f"static:{directory.source}:d{directory.dims}:{directory.weights_sha256[:16]}"

    @property
    def dimension(self) -> int:
        return self.distilled.dims

    @property
    def max_tokens(self) -> int:
        return STATIC_MAX_TOKENS

    def _model(self) -> Any:
        with self._lock:
            if self._static is None:
                try:
                    from model2vec import StaticModel
                except ImportError as exc:
                    raise EncoderError(
                        f"encoding with a static model needs the package model2vec ({exc})",
                        expected="model2vec installed",
                        fix="pip install 'interestlens[static]', or use encoder.backend = "
                        "'onnx' or 'torch'",
                    ) from exc
                path = self.distilled.path
                try:
                    self._static = StaticModel.from_pretrained(str(path))
                except (OSError, ValueError, KeyError) as exc:
                    raise EncoderError(
                        f"cannot load the static model in {path}: {exc}",
                        expected="a directory distilled by interestlens",
                        fix=f"delete {path}; the next run distils it again",
                    ) from exc
            return self._static

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        texts, _ = encode_arguments(texts, None, 1)
        if not texts:
            return np.zeros(0, dtype=np.int64)
        encoded = self._model().tokenizer.encode_batch(texts, add_special_tokens=False)
        return np.array([len(item.ids) for item in encoded], dtype=np.int64)

    def encode(
        self, texts: Sequence[str], *, batch_size: int | None = None, show_progress: bool = False
    ) -> np.ndarray:
        texts, batch_size = encode_arguments(texts, batch_size, self.batch_size)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._model()
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        for start in tqdm(starts, desc="encoding", disable=not show_progress):
            batch = texts[start : start + batch_size]
            vectors = model.encode(batch, max_length=STATIC_MAX_TOKENS, use_multiprocessing=False)
            out[start : start + len(batch)] = vectors
        return l2_normalise(out)
