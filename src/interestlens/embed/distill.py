"""Distil a sentence model once into a static embedding model (model2vec), for catalogues too
large to encode with a transformer.

Distillation runs every token of the model's vocabulary through the transformer once
(~1 minute for all-MiniLM-L6-v2 on 2 CPU cores, offline), reduces the token vectors with PCA
to ``dims`` and weighs them by token frequency (SIF); a text's vector is then the mean of its
tokens' vectors, with no transformer at encode time. It costs quality: the recommendation
benchmark measures how much (README, "Encoders").

A distilled model is a self-contained directory::

    model.safetensors, tokenizer.json, config.json   model2vec's own files (no pickle)
    interestlens-static.json   format, source model and weights digest, dimensions, the
                               sha256 of model.safetensors, the versions that distilled it

Distilled models live under ``encoder.export_dir`` (default ``<cache_dir>/static``), one per
*key*: the model name, its weights digest, the dimensions and this format's version, so a
changed model gets a new directory and a new encoder identifier. Directories are built in a
temporary folder and renamed into place, so a killed distillation leaves nothing half-written.

Distilling needs torch, transformers and model2vec's distillation extra (``interestlens[static]``);
reading a distilled model needs only ``model2vec`` (numpy, tokenizers, safetensors).
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interestlens.embed.cache_folders import (
    built_in_place,
    folder_key,
    load_source_network,
    package_versions,
)
from interestlens.embed.sentence import ModelSource
from interestlens.errors import EncoderError
from interestlens.persist import atomic_write_text, file_sha256

STATIC_FORMAT = "interestlens-static"
STATIC_VERSION = 1
MANIFEST_NAME = "interestlens-static.json"
WEIGHTS_FILE = "model.safetensors"
_EXTRA = "pip install 'interestlens[static]'"


@dataclass(frozen=True)
class StaticModelDirectory:
    """A distilled model's directory as its manifest describes it."""

    path: Path
    source: str
    dims: int
    weights_sha256: str

    @property
    def weights_file(self) -> Path:
        return self.path / WEIGHTS_FILE


def static_key(source: ModelSource, dims: int) -> str:
    """The folder name: readable model name, weights digest, dimensions, format version."""
    return folder_key(source, f"static{dims}-v{STATIC_VERSION}")


def _damaged(path: Path, reason: str) -> EncoderError:
    return EncoderError(
        f"static model {path} cannot be used: {reason}",
        expected=f"a directory distilled by interestlens ({WEIGHTS_FILE}, tokenizer.json, "
        f"config.json, {MANIFEST_NAME})",
        fix=f"delete {path} (distilled models are caches: the next run distils again from the "
        "model), or point encoder.export_dir at an intact one",
    )


def is_static_model(path: Path) -> bool:
    return (path / MANIFEST_NAME).is_file()


def read_static_model(path: Path) -> StaticModelDirectory:
    """The distilled model in ``path``, its weights checked against the manifest's digest."""
    try:
        manifest = json.loads((path / MANIFEST_NAME).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != STATIC_FORMAT:
            found = manifest.get("format") if isinstance(manifest, dict) else manifest
            raise _damaged(path, f"{MANIFEST_NAME} names format {found!r}")
        if manifest.get("format_version") != STATIC_VERSION:
            raise _damaged(
                path,
                f"it has format version {manifest.get('format_version')}, this version reads "
                f"{STATIC_VERSION}",
            )
        directory = StaticModelDirectory(
            path=path,
            source=str(manifest["source"]),
            dims=int(manifest["dims"]),
            weights_sha256=str(manifest["weights_sha256"]),
        )
    except FileNotFoundError as exc:
        raise _damaged(path, f"{MANIFEST_NAME} is missing") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise _damaged(path, f"{MANIFEST_NAME} is unreadable ({type(exc).__name__})") from exc
    except ValueError as exc:
        raise _damaged(path, f"{MANIFEST_NAME} holds a bad value ({exc})") from exc
    for name in (WEIGHTS_FILE, "tokenizer.json", "config.json"):
        if not (path / name).is_file():
            raise _damaged(path, f"{name} is missing")
    if file_sha256(directory.weights_file) != directory.weights_sha256:
        raise _damaged(path, f"{WEIGHTS_FILE} does not match the digest its manifest records")
    return directory


def cached_static_model(
    source: ModelSource, directory: Path, dims: int, *, show_progress: bool = False
) -> StaticModelDirectory:
    """The distilled model of ``source`` under ``directory``, distilled now if there is none."""
    destination = directory / static_key(source, dims)
    if destination.exists():
        return read_static_model(destination)
    return distill_model(source, destination, dims, show_progress=show_progress)


def _distill_modules() -> tuple[Any, Any]:
    try:
        import transformers
        from model2vec.distill import distill_from_model
    except ImportError as exc:
        raise EncoderError(
            f"distilling a static model needs model2vec's distillation extra, torch and "
            f"transformers ({exc})",
            expected="them installed, once, on the machine that distils",
            fix=f"{_EXTRA}; or distil on another machine and copy <cache_dir>/static here; "
            "or use encoder.backend = 'onnx' or 'torch'",
        ) from exc
    return transformers, distill_from_model


@contextlib.contextmanager
def _token_progress(show: bool) -> Iterator[None]:
    """model2vec draws its "Encoding tokens" bar unconditionally (its distillation takes no
    progress argument), so with ``show`` False its module's ``tqdm`` is swapped for a disabled
    one while the distillation runs, and put back after."""
    try:
        from model2vec.distill import inference
    except ImportError:  # another layout of model2vec: its bar shows, nothing else changes
        yield
        return
    original = getattr(inference, "tqdm", None)
    if show or original is None:
        yield
        return
    inference.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        inference.tqdm = original


def distill_model(
    source: ModelSource, destination: Path, dims: int, *, show_progress: bool = False
) -> StaticModelDirectory:
    """Distil ``source`` into the new directory ``destination`` (built beside it, renamed)."""
    transformers, distill_from_model = _distill_modules()
    destination = Path(destination)
    started = time.perf_counter()
    with built_in_place(
        destination, is_complete=is_static_model, what="static model", room="~50 MB"
    ) as work:
        network, tokenizer = load_source_network(transformers, source, "to distil it")
        try:
            # float32 vectors: the encoder's contract, and half precision would be a second
            # loss on top of the distillation's
            with _token_progress(show_progress):
                static = distill_from_model(
                    network, tokenizer, pca_dims=dims, device="cpu", quantize_to="float32"
                )
        except (RuntimeError, ValueError, TypeError) as exc:
            raise EncoderError(
                f"distilling {source.name} into a static model failed: {type(exc).__name__}: {exc}",
                expected="a transformer model2vec can distil (an encoder with a fast tokenizer)",
                fix="use encoder.backend = 'onnx' or 'torch' for this model",
            ) from exc
        static.save_pretrained(str(work))
        manifest = {
            "format": STATIC_FORMAT,
            "format_version": STATIC_VERSION,
            "source": source.identifier,
            "dims": int(static.dim),
            "weights_sha256": file_sha256(work / WEIGHTS_FILE),
            "seconds": round(time.perf_counter() - started, 2),
            "distilled_with": package_versions("model2vec", "transformers", "torch"),
        }
        atomic_write_text(work / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    return read_static_model(destination)
