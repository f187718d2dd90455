"""Where a model directory goes: the destination checked before a fit, and the finished
directory renamed into place so that a reader sees the old model or the new one, never a
mixture."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from interestlens.errors import ModelFormatError


def check_destination(destination: Path) -> Path:
    """``destination`` (resolved) if a model may be written there: a new path, an empty
    directory or a previous model directory, in a folder that can be written. Checked before a
    fit starts as well as before the rename, so a bad ``--out`` costs no fitting time."""
    if "\x00" in str(destination):
        raise ModelFormatError(
            f"the output path {str(destination)[:200]!r} contains a NUL byte",
            expected="a directory path without NUL bytes",
            fix="choose another --out path",
        )
    destination = Path(destination).expanduser().resolve()
    if destination.exists() and not destination.is_dir():
        raise ModelFormatError(
            f"{destination} exists and is a file",
            expected="a directory path (new or a previous model directory) for the model",
            fix="choose another --out path",
        )
    if (
        destination.exists()
        and not (destination / "manifest.json").exists()
        and any(destination.iterdir())
    ):
        raise ModelFormatError(
            f"{destination} is a non-empty directory that holds no interestlens model",
            expected="a new path, an empty directory or a previous model directory",
            fix="choose another --out path so that nothing else is overwritten",
        )
    parent = destination.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ModelFormatError(
            f"{parent} cannot be written",
            expected="an --out path in a folder this user may write",
            fix="choose another --out path or check the folder's permissions",
        )
    return destination


def replace_directory(staging: Path, destination: Path) -> None:
    """Move a fully written ``staging`` directory to ``destination``, replacing what was there."""
    check_destination(destination)
    if destination.exists():
        retired = destination.with_name(f".{destination.name}.old-{os.getpid()}")
        os.replace(destination, retired)
        os.replace(staging, destination)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, destination)
