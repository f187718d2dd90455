"""``checksums.json``: the sha256 and size of every file of a model directory.

The structural checks of :mod:`.verify` read headers and footers only, so a flipped byte inside
an array or a Parquet column passes them and the model answers wrongly without a word. The
digests catch that: :func:`write_checksums` records them once every file of a new directory is
written (before it is renamed into place), :func:`update_checksums` keeps them true after a
file of an existing directory is rewritten, and :func:`verify_checksums` compares them before
anything is loaded.

Listed files must be present and match; files that are not listed (a user's notes) are no
error. A directory written before this file existed has none and still loads: nothing can be
said about its bytes, and :func:`verify_checksums` says exactly that.

A process that checks the same directory twice (``serve`` checks it before the server starts,
then loads it; ``refit`` checks, then reads) hashes each file once: a file whose device, inode,
size, modification and status-change times (``st_ctime_ns``, which every write moves and no
call can set back) are those of a file this process already found to match its digest is not
read again, unless it changed less than 3 s before it was hashed.
"""

from __future__ import annotations

import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from interestlens.errors import ModelFormatError
from interestlens.persist import file_sha256, read_json, write_json

CHECKSUMS_FILE = "checksums.json"
ALGORITHM = "sha256"
_HEX = re.compile(r"[0-9a-f]{64}")
SAVED_BYTES = "the bytes the model was saved with"
RESTORE = (
    "restore the model directory from a copy, or fit the model again ('interestlens fit'); "
    "'interestlens verify --model DIR' checks a directory without loading it"
)


@dataclass(frozen=True)
class Entry:
    sha256: str
    size: int


@dataclass(frozen=True)
class ChecksumReport:
    """What :func:`verify_checksums` found: ``files`` is None where the directory has no
    ``checksums.json`` (saved before interestlens wrote one)."""

    directory: Path
    files: int | None
    n_bytes: int = 0
    seconds: float = 0.0
    #: bytes of files this process had already found to match, unchanged since
    reused_bytes: int = 0

    @property
    def present(self) -> bool:
        return self.files is not None

    def describe(self) -> str:
        if self.files is None:
            return (
                f"{self.directory} has no {CHECKSUMS_FILE}: it was saved before interestlens "
                "recorded checksums, so damage inside its files' bytes cannot be detected "
                "(their structure was checked). Fit the model again to add them"
            )
        reused = (
            f"; {self.reused_bytes / 1e6:.1f} MB unchanged since this process checked them"
            if self.reused_bytes
            else ""
        )
        return (
            f"{self.directory}: {self.files} files match {CHECKSUMS_FILE} "
            f"({self.n_bytes / 1e6:.1f} MB hashed in {self.seconds:.2f} s{reused})"
        )


def _listed_files(directory: Path) -> list[str]:
    names = []
    for root, folders, files in os.walk(directory):
        folders.sort()
        for name in files:
            path = Path(root) / name
            relative = path.relative_to(directory).as_posix()
            if relative != CHECKSUMS_FILE and path.is_file():
                names.append(relative)
    return sorted(names)


def _entry(path: Path) -> dict[str, Any]:
    return {ALGORITHM: file_sha256(path), "size": path.stat().st_size}


def _write(directory: Path, files: dict[str, dict[str, Any]]) -> Path:
    return write_json(
        directory / CHECKSUMS_FILE,
        {"algorithm": ALGORITHM, "files": {name: files[name] for name in sorted(files)}},
    )


def write_checksums(directory: Path) -> Path:
    """``checksums.json`` for every regular file under ``directory`` (manifest included):
    call it when every other file is written, before the directory is renamed into place."""
    directory = Path(directory)
    return _write(directory, {name: _entry(directory / name) for name in _listed_files(directory)})


def update_checksums(directory: Path, names: list[str] | tuple[str, ...]) -> Path | None:
    """Record the current digests of ``names`` (paths relative to ``directory``; a name whose
    file is gone leaves the list) after they were rewritten in place. A directory without
    ``checksums.json`` is left without one: a list of a few files would suggest the others
    had been checked."""
    directory = Path(directory)
    files = read_checksums(directory)
    if files is None:
        return None
    recorded = {name: {ALGORITHM: e.sha256, "size": e.size} for name, e in files.items()}
    for name in names:
        relative = PurePosixPath(name).as_posix()
        path = directory / relative
        if path.is_file():
            recorded[relative] = _entry(path)
        else:
            recorded.pop(relative, None)
    return _write(directory, recorded)


def _damaged(problem: str, expected: str) -> ModelFormatError:
    return ModelFormatError(problem, expected=expected, fix=RESTORE)


def _checked_name(path: Path, name: Any) -> str:
    parts = PurePosixPath(name).parts if isinstance(name, str) else ()
    if (
        not parts
        or "\x00" in name
        or "\\" in name
        or parts[0] == "/"
        or any(part in (".", "..") for part in parts)
        or PurePosixPath(*parts).as_posix() != name
        or name == CHECKSUMS_FILE
    ):
        raise _damaged(
            f"{path} lists the file {str(name)[:120]!r}",
            "paths relative to the model directory, in posix form, inside it",
        )
    return name


def read_checksums(directory: Path) -> dict[str, Entry] | None:
    """The recorded entries of ``directory`` (None: no ``checksums.json``), every one checked
    for form: a damaged list raises :class:`ModelFormatError`, never a traceback."""
    path = Path(directory) / CHECKSUMS_FILE
    if not path.exists() and not path.is_symlink():
        return None
    data = read_json(path)
    form = '{"algorithm": "sha256", "files": {"relative/path": {"sha256": HEX, "size": BYTES}}}'
    if not isinstance(data, dict):
        raise _damaged(f"{path} holds a JSON {type(data).__name__}", form)
    if not isinstance(data.get("files"), dict):
        raise _damaged(f"{path}: files is a {type(data.get('files')).__name__}", form)
    if data.get("algorithm") != ALGORITHM:
        raise _damaged(
            f"{path} names the algorithm {str(data.get('algorithm'))[:40]!r}", '"sha256"'
        )
    entries = {}
    for name, entry in data["files"].items():
        name = _checked_name(path, name)
        if not isinstance(entry, dict):
            raise _damaged(
                f"{path}: the entry of {name} is a {type(entry).__name__}",
                '{"sha256": HEX, "size": BYTES}',
            )
        digest, size = entry.get(ALGORITHM), entry.get("size")
        if not isinstance(digest, str) or not _HEX.fullmatch(digest):
            raise _damaged(
                f"{path}: the sha256 of {name} is {repr(digest)[:80]}",
                "64 lowercase hexadecimal digits",
            )
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise _damaged(
                f"{path}: the size of {name} is {repr(size)[:40]}", "a whole number of bytes >= 0"
            )
        entries[name] = Entry(digest, size)
    return entries


def verify_checksums(
    directory: Path, only: list[str] | tuple[str, ...] | None = None
) -> ChecksumReport:
    """Every file ``checksums.json`` lists (``only``: those of these names it lists) is
    present, a regular file, of the recorded size and sha256; the first that is not raises
    :class:`ModelFormatError` naming it. Sizes are compared before any file is hashed, so a
    truncated file fails at once."""
    directory = Path(directory)
    started = time.perf_counter()
    entries = read_checksums(directory)
    if entries is None:
        return ChecksumReport(directory, None)
    if only is not None:
        wanted = {PurePosixPath(name).as_posix() for name in only}
        entries = {name: entry for name, entry in entries.items() if name in wanted}
    for name, entry in entries.items():
        path = directory / name
        try:
            status = path.stat()  # follows links: what is read is what is checked
        except FileNotFoundError:
            raise _damaged(
                f"{path} is missing but {CHECKSUMS_FILE} lists it",
                "every file that 'interestlens fit' wrote",
            ) from None
        except OSError as exc:
            problem = f"{path} cannot be examined ({exc.strerror or exc})"
            raise _damaged(problem, "a readable file") from None
        if not stat.S_ISREG(status.st_mode):
            raise _damaged(
                f"{path} is not a regular file", "the file that 'interestlens fit' wrote"
            )
        if status.st_size != entry.size:
            raise _damaged(
                f"{path}: holds {status.st_size} bytes but {CHECKSUMS_FILE} records {entry.size}",
                SAVED_BYTES,
            )
    hashed = reused = 0
    for name, entry in entries.items():
        path = directory / name
        try:
            seen = _unchanged_key(path)
            if seen is not None and _MATCHED.get(seen) == entry.sha256:
                reused += entry.size
                continue
            digest = file_sha256(path)
        except OSError as exc:
            problem = f"{path} cannot be read ({exc.strerror or exc})"
            raise _damaged(problem, "a readable file") from None
        if digest != entry.sha256:
            raise _damaged(
                f"{path}: sha256 is {digest[:12]}… but {CHECKSUMS_FILE} records "
                f"{entry.sha256[:12]}…",
                SAVED_BYTES,
            )
        hashed += entry.size
        _remember(path, seen, digest)
    seconds = time.perf_counter() - started
    return ChecksumReport(directory, len(entries), hashed, seconds, reused_bytes=reused)


#: files this process found to match their digest: (path, stat signature) -> sha256
_MATCHED: dict[tuple[Any, ...], str] = {}
_MATCHED_MAX = 100_000
#: a file last changed less than this long ago is hashed again at every check
_SETTLED_NS = 3_000_000_000


def _unchanged_key(path: Path) -> tuple[Any, ...] | None:
    """What identifies ``path``'s bytes without reading them, for this process: where it is,
    which file it is, its size and the times any write moves (None where unknown)."""
    status = path.stat()
    if not status.st_ctime_ns:
        return None
    return (
        os.path.realpath(path),
        status.st_dev,
        status.st_ino,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
    )


def _remember(path: Path, before: tuple[Any, ...] | None, digest: str) -> None:
    """Record a match, unless the file changed while it was hashed or changed so recently
    that a write now might not move its times (file systems stamp them from a clock that
    ticks every few milliseconds, some every second or two: git's "racy" entries)."""
    if before is None or _unchanged_key(path) != before:
        return
    if time.time_ns() - before[-1] < _SETTLED_NS:
        return
    if len(_MATCHED) >= _MATCHED_MAX:
        _MATCHED.clear()
    _MATCHED[before] = digest
