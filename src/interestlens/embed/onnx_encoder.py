"""An encoder that runs an ONNX export with ``onnxruntime`` and ``tokenizers``, never torch.

``model`` is what the torch encoders take (None: the packaged all-MiniLM-L6-v2; a directory;
a hub name already in the local cache) or an export directory made by
:mod:`interestlens.embed.onnx_export`. A model that has no export yet is exported once into
``export_dir`` on first encode (that step alone needs torch); identifier, dimension, maximum
length and token counts come from the model's files and need neither an export nor a model
load, so a fit whose vectors are all in the embedding cache starts no inference session.

Texts are tokenised in one call, sorted by token count and cut into batches of neighbours, so a
batch pads to its own longest text (bucketing by length), then pooled as the model's
sentence-transformers configuration says.
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

from interestlens.embed.base import encode_arguments, ensure_texts, l2_normalise
from interestlens.embed.layout import PoolingMode, SentenceLayout, pool, read_layout
from interestlens.embed.onnx_export import (
    FLOAT32,
    INT8,
    TOKENIZER_FILE,
    OnnxExport,
    cached_export,
    is_export,
    read_export,
)
from interestlens.embed.sentence import ModelSource, resolve_model_source
from interestlens.errors import EncoderError, ParameterError
from interestlens.persist import file_sha256

DEFAULT_EXPORT_DIR = Path("~/.cache/interestlens/onnx")


def length_buckets(
    sorted_lengths: np.ndarray, batch_size: int, max_batch_tokens: int
) -> list[tuple[int, int]]:
    """``(start, stop)`` runs of the ascending ``sorted_lengths``: at most ``batch_size`` texts,
    and at most ``max_batch_tokens`` tokens once padded to the run's longest (always at least
    one text). Short titles fill whole batches; long texts go in small ones, where padding and
    the attention's length² cost stay small. (512 tokens measured fastest for MiniLM on 2
    cores, titles and overviews alike, against 1,024-4,096: 18 vs 12 overviews/s.)"""
    batches = []
    start = 0
    total = len(sorted_lengths)
    while start < total:
        stop = start + 1
        while (
            stop < total
            and stop - start < batch_size
            and (stop - start + 1) * int(sorted_lengths[stop]) <= max_batch_tokens
        ):
            stop += 1
        batches.append((start, stop))
        start = stop
    return batches


class OnnxEncoder:
    """A transformer encoder run by onnxruntime (int8 by default) with a fast tokenizer.

    ``pooling`` and ``max_tokens`` override the model's sentence-transformers configuration
    (None: as configured; plain Hugging Face models default to mean pooling and their
    position count, at most 512). ``threads`` is onnxruntime's intra-op thread count (None:
    one per core). ``quantize=False`` keeps float32 weights. A batch holds at most
    ``batch_size`` texts and ``max_batch_tokens`` padded tokens.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        export_dir: str | os.PathLike[str] | None = None,
        pooling: PoolingMode | None = None,
        max_tokens: int | None = None,
        quantize: bool = True,
        threads: int | None = None,
        batch_size: int = 64,
        max_batch_tokens: int = 512,
        show_progress: bool = False,
    ):
        self.model = model
        self.export_dir = export_dir
        self.pooling = pooling
        self.max_tokens_setting = max_tokens
        self.quantize = quantize
        self.threads = threads
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.show_progress = show_progress
        if threads is not None and not (isinstance(threads, int) and threads >= 1):
            raise ParameterError(
                f"threads={threads!r}",
                expected="None (one per core) or an int >= 1",
                fix="set encoder.threads to a positive number or leave it unset",
            )
        if not (isinstance(max_batch_tokens, int) and max_batch_tokens >= 1):
            raise ParameterError(f"max_batch_tokens={max_batch_tokens!r}", expected="an int >= 1")
        if max_tokens is not None and not (isinstance(max_tokens, int) and max_tokens >= 2):
            raise ParameterError(f"max_tokens={max_tokens!r}", expected="None or an int >= 2")
        self._lock = threading.Lock()
        self._session: Any = None
        self._input_names: list[str] = []
        self._export: OnnxExport | None = None

    # --- where the model is -----------------------------------------------------------------

    @cached_property
    def _prebuilt(self) -> OnnxExport | None:
        """The export ``model`` names directly, if it is one."""
        if self.model is None:
            return None
        path = Path(os.fspath(self.model)).expanduser()
        return read_export(path.resolve()) if is_export(path) else None

    @cached_property
    def source(self) -> ModelSource | None:
        """The model the export comes from (None when ``model`` is an export directory)."""
        return None if self._prebuilt is not None else resolve_model_source(self.model)

    @cached_property
    def layout(self) -> SentenceLayout:
        prebuilt = self._prebuilt
        if prebuilt is not None:
            saved = prebuilt.layout
            return SentenceLayout(
                pooling=self.pooling or saved.pooling,
                normalize=saved.normalize,
                max_tokens=self.max_tokens_setting or saved.max_tokens,
                dimension=saved.dimension,
            )
        assert self.source is not None
        return read_layout(
            self.source.path, pooling=self.pooling, max_tokens=self.max_tokens_setting
        )

    @property
    def quantization(self) -> str:
        prebuilt = self._prebuilt
        if prebuilt is not None:
            return prebuilt.quantization
        return INT8 if self.quantize else FLOAT32

    @property
    def identifier(self) -> str:
        """``onnx:<model>@<weights digest>:<quantisation>:pooling=…:max_tokens=…``: the same
        for a model and for its export copied elsewhere, new for new weights."""
        prebuilt = self._prebuilt
        origin = prebuilt.source if prebuilt is not None else self.source.identifier  # type: ignore[union-attr]
        layout = self.layout
        return (
            f"onnx:{origin}:{self.quantization}:pooling={layout.pooling}"
            f":max_tokens={layout.max_tokens}"
        )

    @property
    def dimension(self) -> int:
        return self.layout.dimension

    @property
    def max_tokens(self) -> int:
        return self.layout.max_tokens

    def _export_dir(self) -> Path:
        chosen = DEFAULT_EXPORT_DIR if self.export_dir is None else Path(self.export_dir)
        return chosen.expanduser()

    def export(self) -> OnnxExport:
        """The export this encoder runs, made now if it does not exist yet."""
        if self._export is None:
            if self._prebuilt is not None:
                self._export = self._prebuilt
            else:
                assert self.source is not None
                self._export = cached_export(
                    self.source,
                    self._export_dir(),
                    read_layout(self.source.path),
                    quantize=self.quantize,
                    show_progress=self.show_progress,
                )
        return self._export

    # --- tokenizer ---------------------------------------------------------------------------

    def _tokenizer_file(self) -> Path:
        if self._prebuilt is not None:
            return self._prebuilt.tokenizer_file
        assert self.source is not None
        own = self.source.path / TOKENIZER_FILE
        return own if own.is_file() else self.export().tokenizer_file

    def _load_tokenizer(self, *, truncate: bool) -> Any:
        from tokenizers import Tokenizer

        path = self._tokenizer_file()
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # the Rust side raises plain Exception on any parse error
            raise EncoderError(
                f"cannot read the tokenizer {path}: {exc}",
                expected="a tokenizer.json written by the tokenizers library",
                fix="restore the model directory, or delete the export folder so it is rebuilt",
            ) from exc
        tokenizer.no_padding()
        if truncate:
            tokenizer.enable_truncation(max_length=self.max_tokens)
        else:
            tokenizer.no_truncation()
        return tokenizer

    @cached_property
    def _counting_tokenizer(self) -> Any:
        return self._load_tokenizer(truncate=False)

    @cached_property
    def _truncating_tokenizer(self) -> Any:
        return self._load_tokenizer(truncate=True)

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens per text, special tokens included, before truncation (tokenizer only)."""
        texts = ensure_texts(texts)
        if not texts:
            return np.zeros(0, dtype=np.int64)
        encoded = self._counting_tokenizer.encode_batch(texts)
        return np.array([len(item.ids) for item in encoded], dtype=np.int64)

    # --- inference ---------------------------------------------------------------------------

    def session(self) -> Any:
        """The onnxruntime session (made on first use, after checking the file's digest)."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._open_session(self.export())
        return self._session

    def _open_session(self, export: OnnxExport) -> Any:
        try:
            import onnxruntime
        except ImportError as exc:
            raise EncoderError(
                "onnxruntime is not installed",
                expected="the onnxruntime package for encoder.backend = 'onnx'",
                fix="pip install onnxruntime, or set encoder.backend = 'torch'",
            ) from exc
        found = file_sha256(export.model_file)
        if found != export.onnx_sha256:
            raise EncoderError(
                f"{export.model_file} has sha256 {found[:16]}…, its manifest says "
                f"{export.onnx_sha256[:16]}… (damaged or replaced)",
                expected="the model.onnx the export wrote",
                fix=f"delete {export.path} (the next run exports again), or copy the export again",
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads or 0
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        # idle pool threads sleep instead of spinning: on 2 shared cores spinning took the
        # CPU from the thread with work (measured 6.6 -> 7.5 texts/s on overviews at load 25)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # onnxruntime's warnings are not the caller's business
        try:
            session = onnxruntime.InferenceSession(
                str(export.model_file), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's pybind errors share no base but Exception
            raise EncoderError(
                f"onnxruntime cannot load {export.model_file}: {exc}",
                expected="an ONNX model exported by interestlens",
                fix=f"delete {export.path} (the next run exports again)",
            ) from exc
        self._input_names = [item.name for item in session.get_inputs()]
        return session

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
    ) -> np.ndarray:
        texts, batch_size = encode_arguments(texts, batch_size, self.batch_size)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session = self.session()
        encoded = self._truncating_tokenizer.encode_batch(texts)
        lengths = np.array([len(item.ids) for item in encoded], dtype=np.int64)
        # neighbours in token count share a batch: each batch pads to its own longest text
        order = np.argsort(lengths, kind="stable")
        pooled = np.empty((len(texts), self.dimension), dtype=np.float32)
        batches = length_buckets(lengths[order], batch_size, self.max_batch_tokens)
        for start, stop in tqdm(batches, desc="encoding", unit="batch", disable=not show_progress):
            rows = order[start:stop]
            feeds = self._feeds([encoded[row] for row in rows], int(lengths[rows].max()))
            states = session.run(None, feeds)[0]
            pooled[rows] = pool(states, feeds["attention_mask"], self.layout.pooling)
        return l2_normalise(pooled)

    def _feeds(self, items: list[Any], width: int) -> dict[str, np.ndarray]:
        ids = np.zeros((len(items), width), dtype=np.int64)
        mask = np.zeros((len(items), width), dtype=np.int64)
        types = np.zeros((len(items), width), dtype=np.int64)
        for row, item in enumerate(items):
            size = len(item.ids)
            ids[row, :size] = item.ids
            mask[row, :size] = 1
            types[row, :size] = item.type_ids
        arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {name: arrays[name] for name in self._input_names}

    def __repr__(self) -> str:
        return (
            f"OnnxEncoder(model={self.model!r}, quantize={self.quantize}, threads={self.threads}, "
            f"batch_size={self.batch_size})"
        )


__all__ = ["DEFAULT_EXPORT_DIR", "OnnxEncoder", "length_buckets", "pool"]
