"""Atomic, code-free persistence: JSON, TOML and ``.npy`` files written via temp file + rename.

Nothing here pickles: arrays are loaded with ``allow_pickle=False`` so that opening a saved
model can never run code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import tokenize
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from zipfile import BadZipFile

import numpy as np
import pyarrow as pa
import tomli_w

from interestlens.errors import InterestLensError, ModelFormatError

T = TypeVar("T")
#: the fix for a damaged model directory
FIT_AGAIN = "the model directory is damaged or mixed from two fits: fit the model again"


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); the result gets the mode a plain open() would
        # give it (the umask's), or keeps the mode of the file it replaces
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process's umask (Linux: read from /proc, which leaves it untouched)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
    import scipy.sparse as sp

    buffer = io.BytesIO()
    sp.save_npz(buffer, sp.csr_matrix(matrix), compressed=False)
    return atomic_write_bytes(path, buffer.getvalue())


#: a JSON file of a model directory larger than this is refused before it is read
MAX_JSON_BYTES = 512 * 1024 * 1024
#: .npy header prefix read before anything else: magic, version, header length
_NPY_PREFIX = 10
_ZIP_MAGIC = b"PK\x03\x04"


#: read size when hashing a file: the per-call cost vanishes, memory stays flat at any size
HASH_CHUNK_BYTES = 1024 * 1024


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of a file's bytes, read in :data:`HASH_CHUNK_BYTES` chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def checked_file(path: str | Path, what: str = "file") -> Path:
    """``path`` as a :class:`Path` if it names an existing regular file, else a
    :class:`ModelFormatError` saying which of missing / not a regular file / odd path it is."""
    text = os.fspath(path)
    if "\x00" in text:
        raise ModelFormatError(
            f"the path {text[:200]!r} contains a NUL byte",
            expected="a file path without NUL bytes",
            fix="check the path",
        )
    path = Path(text)
    try:
        if not path.exists():
            raise ModelFormatError(
                f"{path} is missing",
                expected=f"the {what} of a model directory written by 'interestlens fit'",
                fix="point --model at the directory that 'interestlens fit --out' wrote",
            )
        if not path.is_file():
            raise ModelFormatError(
                f"{path} is not a regular file",
                expected=f"the {what} as a regular file",
                fix="the model directory is damaged: fit the model again",
            )
    except OSError as exc:  # a name too long, a loop of links, no permission
        raise ModelFormatError(
            f"{text[:200]} cannot be examined ({exc.strerror or exc})",
            expected=f"a readable {what}",
            fix="check the path and its permissions",
        ) from None
    return path


def read_json(path: str | Path) -> Any:
    path = checked_file(path, "JSON file")
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise ModelFormatError(
                f"{path} holds {size} bytes",
                expected=f"a JSON file of at most {MAX_JSON_BYTES} bytes",
                fix="the model directory is damaged: fit the model again",
            )
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(
            f"{path} is not valid JSON ({exc})",
            expected="the JSON file that 'interestlens fit' wrote",
            fix="fit the model again",
        ) from None
    except RecursionError:
        raise ModelFormatError(
            f"{path} is nested too deeply to be read",
            expected="the JSON file that 'interestlens fit' wrote",
            fix="fit the model again",
        ) from None
    except OSError as exc:
        raise ModelFormatError(
            f"{path} cannot be read ({exc.strerror or exc})",
            expected="a readable JSON file",
            fix="check the file's permissions, or fit the model again",
        ) from None


#: what numpy's header parser raises on a damaged header (its tokenizer included)
_HEADER_ERRORS = (ValueError, EOFError, SyntaxError, TypeError, tokenize.TokenError)


def _array_header(handle: Any) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the ``.npy`` header at the handle's position (format 1 or 2); the
    handle is left at the start of the data. Raises one of :data:`_HEADER_ERRORS`."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
    return shape, dtype


def _data_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """Bytes an array of ``shape`` and ``dtype`` holds, in Python integers (an absurd shape
    cannot overflow)."""
    needed = dtype.itemsize
    for n in shape:
        needed *= n
    return needed


def npy_header(path: str | Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of a ``.npy`` file from its header, checked against the file's size
    before any array is allocated: an empty file, a zip archive (``.npz``) under a ``.npy``
    name, an object dtype, or a shape the bytes cannot hold (a header claiming terabytes)
    raise :class:`ModelFormatError` naming the file."""
    path = checked_file(path, ".npy array")

    def damaged(problem: str) -> ModelFormatError:
        return ModelFormatError(
            f"{path} {problem}",
            expected="a plain .npy array written by 'interestlens fit' (numpy.save, no pickle)",
            fix="the model directory is damaged: fit the model again",
        )

    try:
        size = path.stat().st_size
        if size == 0:
            raise damaged("is empty (0 bytes)")
        with path.open("rb") as handle:
            start = handle.read(len(_ZIP_MAGIC))
            if start == _ZIP_MAGIC:
                raise damaged("is a zip archive (.npz), not a .npy array")
            handle.seek(0)
            try:
                shape, dtype = _array_header(handle)
            except _HEADER_ERRORS as exc:
                raise damaged(f"has no valid .npy header ({exc})") from None
            offset = handle.tell()
    except OSError as exc:
        raise damaged(f"cannot be read ({exc.strerror or exc})") from None
    if dtype.hasobject:
        raise damaged(f"holds Python objects (dtype {dtype}), which would need pickle")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise damaged(f"has the shape {shape!r}, which is not a tuple of sizes")
    needed = _data_bytes(shape, dtype)
    if needed != size - offset:
        raise damaged(
            f"declares a {dtype} array of shape {tuple(shape)} ({needed} bytes) but holds "
            f"{size - offset} bytes of data"
        )
    return tuple(shape), dtype


def read_npy(
    path: str | Path, *, allow_nan: bool = False, finite: bool = True, mmap: bool = False
) -> np.ndarray:
    """A ``.npy`` array, its header checked first (:func:`npy_header`); floating arrays must
    hold finite values (``allow_nan``: NaN marks "none" there, e.g. the map position of a user
    without any signal; ``finite=False``: the state of another library's estimator, whose
    arrays may hold infinity by design). ``mmap``: a read-only memory map of the file instead
    of a copy in memory (processes that map one file share its pages)."""
    npy_header(path)
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except (ValueError, EOFError, OSError) as exc:
        raise ModelFormatError(
            f"{path} cannot be read as a plain .npy array ({exc})",
            expected="a .npy file without pickled objects",
            fix="fit the model again",
        ) from None
    if finite:
        check_finite(array, path, allow_nan=allow_nan)
    return array


def npz_members(path: str | Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of each array of an ``.npz`` archive from the members' headers, each
    checked against the member's size before anything is loaded (as :func:`npy_header`)."""
    path = checked_file(path, ".npz archive")

    def damaged(problem: str) -> ModelFormatError:
        return ModelFormatError(
            f"{path} {problem}",
            expected="an .npz archive of plain arrays written by 'interestlens fit'",
            fix="the model directory is damaged: fit the model again",
        )

    members: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    raise damaged(f"holds {info.filename!r}, which is not a .npy member")
                with archive.open(info) as handle:
                    try:
                        shape, dtype = _array_header(handle)
                    except _HEADER_ERRORS as exc:
                        problem = f"member {info.filename!r} has no valid header ({exc})"
                        raise damaged(problem) from None
                    offset = handle.tell()
                if dtype.hasobject:
                    raise damaged(f"member {info.filename!r} holds Python objects")
                needed = _data_bytes(shape, dtype)
                if needed != info.file_size - offset:
                    raise damaged(
                        f"member {info.filename!r} declares shape {tuple(shape)} ({needed} "
                        f"bytes) but holds {info.file_size - offset} bytes"
                    )
                members[info.filename[: -len(".npy")]] = (tuple(shape), dtype)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise damaged(f"is not a readable .npz archive ({exc})") from None
    except OSError as exc:
        raise damaged(f"cannot be read ({exc.strerror or exc})") from None
    return members


def check_finite(array: Any, path: str | Path, *, allow_nan: bool = False) -> None:
    """:class:`ModelFormatError` if a floating array (or a sparse matrix's values) holds NaN
    (unless ``allow_nan``) or infinity."""
    values = getattr(array, "data", None) if not isinstance(array, np.ndarray) else array
    if isinstance(values, np.ndarray) and values.dtype.kind in "fc" and values.size:
        finite = np.isfinite(values) | (np.isnan(values) if allow_nan else False)
        bad = int(np.size(values) - np.count_nonzero(finite))
        if bad:
            raise ModelFormatError(
                f"{path} holds {bad} NaN or infinite values",
                expected="finite numbers only",
                fix="the model directory is damaged: fit the model again",
            )


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


def write_rows(path: str | Path, array: np.ndarray) -> Path:
    """A 2-D array as its non-zero rows only (``.npz`` with ``index``, ``rows`` and
    ``shape``, uncompressed, written atomically): users × 384 text vectors take the space of
    the users who wrote something, not of all users. Read it back with :func:`read_rows`."""
    array = np.asarray(array)
    index = np.flatnonzero(np.any(array != 0, axis=1)).astype(np.int64)
    buffer = io.BytesIO()
    np.savez(buffer, index=index, rows=array[index], shape=np.array(array.shape, dtype=np.int64))
    return atomic_write_bytes(path, buffer.getvalue())


def read_rows(path: str | Path) -> np.ndarray:
    """The full array :func:`write_rows` saved (zero rows restored); a missing or damaged file
    raises :class:`ModelFormatError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(
            f"{path} is missing",
            expected="a model directory written by 'interestlens fit'",
            fix="point --model at the directory that 'interestlens fit --out' wrote",
        )
    try:
        with np.load(path, allow_pickle=False) as stored:
            index, rows, shape = stored["index"], stored["rows"], stored["shape"]
        out = np.zeros(tuple(int(n) for n in shape), dtype=rows.dtype)
        out[index] = rows
    except (ValueError, OSError, EOFError, KeyError, IndexError, TypeError, BadZipFile) as exc:
        raise ModelFormatError(
            f"{path} is damaged ({type(exc).__name__}: {exc})",
            expected="the non-zero rows of an array with their index and the full shape",
            fix="fit the model again",
        ) from None
    return out


def check_index_range(
    path: Path | str, values: np.ndarray, low: int, high: int, what: str, *, fix: str = FIT_AGAIN
) -> None:
    """Integer ``values`` (labels, indices) within ``low..high-1``: a damaged label must fail
    here, not make numpy allocate ``max(label)`` entries later."""
    values = np.asarray(values)
    if values.dtype.kind not in "iu":
        raise ModelFormatError(
            f"{path}: holds {values.dtype} {what}", expected=f"integer {what}", fix=fix
        )
    if values.size and (values.min() < low or values.max() >= high):
        raise ModelFormatError(
            f"{path}: holds {what} from {values.min()} to {values.max()}",
            expected=f"{what} from {low} to {high - 1}",
            fix=fix,
        )


def guarded_load(
    directory: Path | str,
    load: Callable[[], T],
    *,
    expected: str = "a model directory written by 'interestlens fit' with this version",
    fix: str = FIT_AGAIN,
) -> T:
    """``load()``, with any error a damaged directory can still cause (a ``KeyError`` from a
    hand-edited JSON file, say) reported as one :class:`ModelFormatError` naming
    ``directory``, so a crafted directory never surfaces as a traceback."""
    try:
        return load()
    except InterestLensError:
        raise
    except (
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        AttributeError,
        OSError,
        EOFError,
        RecursionError,
        MemoryError,
        zipfile.BadZipFile,
        pa.ArrowException,
    ) as exc:
        raise ModelFormatError(
            f"{directory} cannot be loaded ({type(exc).__name__}: {str(exc)[:300]})",
            expected=expected,
            fix=fix,
        ) from None
