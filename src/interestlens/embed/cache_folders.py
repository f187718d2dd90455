"""Folders made once from a source model and kept as caches (ONNX exports, distilled static
models): how they are named, how they are built so that a killed build leaves nothing
half-written, the digest of their files, and which package versions built them."""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from interestlens.embed.sentence import ModelSource, quiet_model_loading
from interestlens.errors import EncoderError


def folder_key(source: ModelSource, settings: str) -> str:
    """``<readable model name>-<weights digest>-<settings>``: a changed model, or other
    settings, get another folder."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", source.name).strip("_")[:60] or "model"
    digest = hashlib.sha256(source.identifier.encode()).hexdigest()[:16]
    return f"{name}-{digest}-{settings}"


@contextmanager
def built_in_place(
    destination: Path, *, is_complete: Callable[[Path], bool], what: str, room: str
) -> Iterator[Path]:
    """A temporary folder beside ``destination`` to build in; renamed to ``destination`` when
    the block ends, removed in every case. Another process that built the same folder first
    wins (``is_complete`` says so). Any ``OSError`` (a full disk, a read-only folder) becomes
    an :class:`EncoderError` naming ``what`` was written and the ``room`` it needs."""

    def unwritable(exc: OSError) -> EncoderError:
        return EncoderError(
            f"cannot write the {what} to {destination.parent}: {exc}",
            expected=f"a writable folder with {room} free",
            fix="free disk space or set encoder.export_dir to another folder",
        )

    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    except OSError as exc:
        raise unwritable(exc) from exc
    try:
        yield work
        try:
            work.rename(destination)
        except OSError:
            if not is_complete(destination):  # not a concurrent build of the same folder
                raise
    except OSError as exc:
        raise unwritable(exc) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load_source_network(
    transformers: Any, source: ModelSource, purpose: str, **options: Any
) -> tuple[Any, Any]:
    """``source``'s network and tokenizer, read from its own folder (never downloaded), to
    build a folder from; ``options`` go to ``AutoModel.from_pretrained``, ``purpose`` ("for
    export") to the error."""
    try:
        with quiet_model_loading():
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                source.path, local_files_only=True
            )
            network = transformers.AutoModel.from_pretrained(
                source.path, local_files_only=True, **options
            )
    except (OSError, ValueError, KeyError) as exc:
        raise EncoderError(
            f"cannot load the model in {source.path} {purpose}: {exc}",
            expected="a Hugging Face model directory (config.json, tokenizer, weights)",
            fix="check the model files, or use encoder.backend = 'torch'",
        ) from exc
    return network, tokenizer


def package_versions(*names: str) -> dict[str, str | None]:
    """Installed version of each package (None: not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
