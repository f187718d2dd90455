"""``interestlens audit``: every place a user's id, pseudonym, text or events still appear.

What is searched, and how:

* the model directory, file by file: JSON and TOML are parsed and every string compared (ids
  exactly; the pseudonym and the text also inside longer strings), Parquet string columns
  likewise, and every other file's bytes (``.npy``, HTML, CSV…) for the pseudonym and the text;
* the events store: its rows naming the id or the pseudonym (events and forgetting records),
  and its raw bytes, write-ahead log included, so deleted rows left in free pages count too;
* the embedding cache: the encoders holding a vector of the user's text (by its sha256), and
  the raw bytes of the file and its log for that digest;
* any further files given (reports, CSVs), as bytes.

A file that cannot be parsed cannot be proven clean: the audit stops with an error naming it.
The raw id is matched as a whole token, and not in the model's item id lists (a user "42" and
an item "42" are different things).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from interestlens.config import Settings
from interestlens.embed.cache import EmbeddingCache
from interestlens.errors import ModelFormatError
from interestlens.model_dir import read_manifest
from interestlens.persist import read_json
from interestlens.privacy.keys import Pseudonymizer, is_pseudonymized, model_pseudonymizer

#: files whose strings are item ids, never user ids
_ITEM_ID_FILES = {"item_ids.json", "item_titles.json"}
_ITEM_ID_COLUMNS = {"item_id", "title"}
_TEXT_SUFFIXES = {".csv", ".html", ".htm", ".md", ".txt", ".tsv", ".log"}


@dataclass(frozen=True)
class Finding:
    path: str
    what: str  # "id", "pseudonym", "text", "text vector", "events"
    where: str  # a JSON path, column, row count or byte offset

    def __str__(self) -> str:
        return f"{self.path}: {self.what} ({self.where})"


@dataclass
class AuditReport:
    searched: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    pseudonym_checked: bool = False
    text_checked: bool = False

    @property
    def found(self) -> bool:
        return bool(self.findings)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["found"] = self.found
        return data


@dataclass(frozen=True)
class _Needles:
    raw: str
    pseudonym: str | None
    text: str | None

    @property
    def digest(self) -> bytes | None:
        if not self.text:
            return None
        return hashlib.sha256(self.text.encode("utf-8", "surrogatepass")).digest()


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield f"{path}.{key} (key)", str(key)
            yield from _walk(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _walk(inner, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def _string_findings(
    name: str, strings: Iterable[tuple[str, str]], needles: _Needles, *, ids_allowed: bool
) -> Iterator[Finding]:
    for where, value in strings:
        if ids_allowed and value == needles.raw:
            yield Finding(name, "id", where)
        if needles.pseudonym and needles.pseudonym in value:
            yield Finding(name, "pseudonym", where)
        if needles.text and needles.text in value:
            yield Finding(name, "text", where)


def _damaged(path: Path, reason: str) -> ModelFormatError:
    return ModelFormatError(
        f"cannot audit {path}: {reason}",
        expected="files that interestlens wrote, readable in full",
        fix="a damaged file cannot be shown free of the user: delete it, or fit the model again",
    )


def _byte_findings(path: Path, data: bytes, needles: _Needles, *, raw_id: bool) -> list[Finding]:
    found = []
    patterns: list[tuple[str, bytes]] = []
    if needles.pseudonym:
        patterns.append(("pseudonym", needles.pseudonym.encode()))
    if needles.text:
        patterns.append(("text", needles.text.encode("utf-8", "surrogatepass")))
    if needles.digest is not None:
        patterns.append(("text vector key (sha256 of the text)", needles.digest))
    for what, pattern in patterns:
        offset = data.find(pattern)
        if offset >= 0:
            found.append(Finding(str(path), what, f"byte {offset}"))
    if raw_id:
        token = re.compile(rb"(?<![\w.-])" + re.escape(needles.raw.encode()) + rb"(?![\w.-])")
        match = token.search(data)
        if match:
            found.append(Finding(str(path), "id", f"byte {match.start()}"))
    return found


def _audit_model_file(path: Path, root: Path, needles: _Needles) -> list[Finding]:
    name = str(path.relative_to(root))
    ids_allowed = path.name not in _ITEM_ID_FILES
    if path.suffix in (".json", ".toml"):
        try:
            text = path.read_text(encoding="utf-8")
            value = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise _damaged(path, f"not valid {path.suffix[1:].upper()} ({exc})") from None
        return list(_string_findings(name, _walk(value, "$"), needles, ids_allowed=ids_allowed))
    if path.suffix == ".parquet":
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _damaged(path, f"not readable as Parquet ({exc})") from None
        findings: list[Finding] = []
        for column in table.column_names:
            if not pa.types.is_string(table.schema.field(column).type) and not (
                pa.types.is_large_string(table.schema.field(column).type)
            ):
                continue
            values = table.column(column).to_pylist()
            strings = ((f"column {column} row {i}", v) for i, v in enumerate(values) if v)
            allowed = column not in _ITEM_ID_COLUMNS
            findings += _string_findings(name, strings, needles, ids_allowed=allowed)
        return findings
    return _byte_findings(
        Path(name), path.read_bytes(), needles, raw_id=path.suffix in _TEXT_SUFFIXES
    )


def _sqlite_files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]


def _audit_store(path: Path, needles: _Needles) -> list[Finding]:
    findings = []
    ids = [needles.raw] + ([needles.pseudonym] if needles.pseudonym else [])
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for user_id in ids:
                rows = connection.execute(
                    "SELECT kind, COUNT(*) FROM log WHERE user_id = ? GROUP BY kind", (user_id,)
                ).fetchall()
                what = "id" if user_id == needles.raw else "pseudonym"
                for kind, count in rows:
                    findings.append(Finding(str(path), f"{what}: events", f"{count} {kind} rows"))
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise _damaged(path, f"not an interestlens events database ({exc})") from None
    for file in _sqlite_files(path):
        findings += _byte_findings(file, file.read_bytes(), needles, raw_id=True)
    return findings


def _audit_cache(path: Path, needles: _Needles) -> list[Finding]:

    findings = []
    if needles.text:
        with EmbeddingCache(path) as cache:
            for encoder in cache.holders(needles.text):
                findings.append(Finding(str(path), "text vector", f"encoder {encoder}"))
    for file in _sqlite_files(path):
        findings += _byte_findings(file, file.read_bytes(), needles, raw_id=False)
    return findings


def _model_rows(model_dir: Path, key: str) -> tuple[list[Finding], str | None]:
    """The rows indexed by the user's position (vectors, interactions), and their text."""
    ids = read_json(model_dir / "user_ids.json")
    if not isinstance(ids, list) or key not in ids:
        return [], None
    row = ids.index(key)
    findings = [
        Finding(name, "vector", f"row {row}")
        for name in ("user_vectors.npy", "user_text_vectors.npy")
        if (model_dir / name).exists()
    ]
    text = None
    interactions = model_dir / "interactions.parquet"
    if interactions.exists():
        users = pq.read_table(interactions, columns=["user_index"]).column(0).to_numpy()
        count = int((users == row).sum())
        if count:
            findings.append(Finding(interactions.name, "events", f"{count} interactions"))
    users_file = model_dir / "users.parquet"
    if users_file.exists():
        texts = pq.read_table(users_file, columns=["text"]).column(0).to_pylist()
        text = texts[row] if row < len(texts) and texts[row] and texts[row].strip() else None
    return findings, text


def audit_user(
    model_dir: str | Path,
    user_id: str,
    settings: Settings,
    *,
    text: str | None = None,
    events_db: str | Path | None = None,
    cache: str | Path | None = None,
    extra_paths: Iterable[str | Path] = (),
) -> AuditReport:
    """Every place ``user_id`` (raw), its pseudonym (when a key is set) or ``text`` (the
    user's own text; taken from the model while it still holds the user, to be given after
    forgetting) still appear in ``model_dir``, the events store, the embedding cache and
    ``extra_paths``."""
    model_dir = Path(model_dir).expanduser()
    manifest = read_manifest(model_dir)
    pseudonymizer = model_pseudonymizer(settings.privacy, manifest)
    if pseudonymizer is None and settings.privacy.key:
        pseudonymizer = Pseudonymizer(settings.privacy.key)
    pseudonym = None if pseudonymizer is None else pseudonymizer.pseudonym(user_id)
    text = text if text and text.strip() else None
    row_findings: list[Finding] = []
    key = pseudonym if pseudonym is not None and is_pseudonymized(manifest) else str(user_id)
    if (model_dir / "user_ids.json").is_file():
        row_findings, model_text = _model_rows(model_dir, key)
        text = text or model_text  # still in the model: look for their text elsewhere too
    needles = _Needles(str(user_id), pseudonym, text)
    report = AuditReport(pseudonym_checked=pseudonym is not None, text_checked=bool(needles.text))
    report.findings += row_findings

    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        report.searched.append(str(path))
        report.findings += _audit_model_file(path, model_dir, needles)
    if events_db is not None:
        store = Path(events_db).expanduser()
        if not store.exists():
            raise _damaged(store, "the file does not exist")
        report.searched.append(str(store))
        report.findings += _audit_store(store, needles)
    if cache is not None:
        cache_path = Path(cache).expanduser()
        if not cache_path.exists():
            raise _damaged(cache_path, "the file does not exist")
        report.searched.append(str(cache_path))
        report.findings += _audit_cache(cache_path, needles)
    for extra in extra_paths:
        path = Path(extra).expanduser()
        if not path.is_file():
            raise _damaged(path, "not a file")
        report.searched.append(str(path))
        report.findings += _byte_findings(path, path.read_bytes(), needles, raw_id=True)
    return report
