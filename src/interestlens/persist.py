"""Atomic, code-free persistence: JSON, TOML and ``.npy`` files written via temp file + rename.

Nothing here pickles: arrays are loaded with ``allow_pickle=False`` so that opening a saved
model can never run code.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from interestlens.errors import ModelFormatError


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=_jsonable))


def write_toml(path: str | Path, obj: dict[str, Any]) -> Path:
    return atomic_write_text(path, tomli_w.dumps(_drop_none(obj)))


def write_npy(path: str | Path, array: np.ndarray) -> Path:
    if array.dtype == object:
        raise TypeError(f"refusing to save an object array to {path}: it would need pickle")
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return atomic_write_bytes(path, buffer.getvalue())


def write_csr(path: str | Path, matrix: Any) -> Path:
    """A sparse matrix as CSR ``.npz`` (``scipy.sparse.save_npz``, uncompressed: loads faster),
    written atomically. Read it with ``scipy.sparse.load_npz`` (no pickle)."""
    import io

    import scipy.sparse as sp

    buffer = io.BytesIO()
    sp.save_npz(buffer, sp.csr_matrix(matrix), compressed=False)
    return atomic_write_bytes(path, buffer.getvalue())


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFormatError(
            f"{path} is missing",
            expected="a model directory written by 'interestlens fit'",
            fix="point --model at the directory that 'interestlens fit --out' wrote",
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(
            f"{path} is not valid JSON ({exc})",
            expected="the JSON file that 'interestlens fit' wrote",
            fix="fit the model again",
        ) from None


def read_npy(path: str | Path) -> np.ndarray:
    path = Path(path)
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ModelFormatError(
            f"{path} is missing",
            expected="a model directory written by 'interestlens fit'",
            fix="point --model at the directory that 'interestlens fit --out' wrote",
        ) from None
    except ValueError as exc:
        raise ModelFormatError(
            f"{path} cannot be read as a plain .npy array ({exc})",
            expected="a .npy file without pickled objects",
            fix="fit the model again",
        ) from None


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _drop_none(obj: Any) -> Any:
    # TOML has no null: leave unset values out and let defaults fill them on load.
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj
