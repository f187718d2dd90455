"""The model directory's ``manifest.json``: the format it is written in and what it holds.

:func:`write_manifest` puts the format name and version, the interestlens version and the
time first, then the fields it is given; :func:`read_manifest` refuses a directory that is not
an interestlens model of this format version before any other file is read.
"""

from __future__ import annotations

import datetime as dt
from importlib import metadata
from pathlib import Path
from typing import Any

from interestlens.errors import ModelFormatError
from interestlens.persist import read_json, write_json

FORMAT_NAME = "interestlens-model"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"


def package_version() -> str:
    try:
        return metadata.version("interestlens")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def write_manifest(directory: Path, fields: dict[str, Any]) -> Path:
    """``manifest.json`` in ``directory``: the format, the versions and the time of writing,
    then ``fields`` in their order (dataset, encoder, sizes, fit report, ...)."""
    return write_json(
        directory / MANIFEST_FILE,
        {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "interestlens_version": package_version(),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **fields,
        },
    )


def read_manifest(directory: Path) -> dict[str, Any]:
    if "\x00" in str(directory):
        raise ModelFormatError(
            f"the model path {str(directory)[:200]!r} contains a NUL byte",
            expected="a directory path without NUL bytes",
            fix="check the --model path",
        )
    if not directory.is_dir():
        raise ModelFormatError(
            f"model directory {directory} does not exist",
            expected="a directory written by 'interestlens fit --out DIR'",
            fix="run 'interestlens fit' first or check the --model path",
        )
    manifest = read_json(directory / MANIFEST_FILE)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ModelFormatError(
            f"{directory / 'manifest.json'} is not an interestlens model manifest",
            expected=f'"format": "{FORMAT_NAME}"',
            fix="point --model at a directory written by 'interestlens fit'",
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"model format version {version!r} in {directory}",
            expected=f"format version {FORMAT_VERSION} (interestlens {package_version()})",
            fix="fit the model again with this version of interestlens",
        )
    return manifest
