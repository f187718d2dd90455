"""The durable log of what clients posted: events, items and forgotten users, in SQLite.

One table, ``log``, in posting order (``seq`` never reused, thanks to AUTOINCREMENT). The
database runs in WAL mode with ``synchronous=FULL``: a call returns only after its transaction
is committed and fsynced, which is what the service's 201 acknowledges. On start and after a
reload the service replays the log, in order, into a freshly loaded model; ``interestlens
refit`` folds it into a new model directory and records the last folded ``seq`` there, so a
replay onto that model skips what it already holds.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from interestlens.config import Settings
from interestlens.errors import DataError, DuplicateIdError

EVENT = "event"
ITEM = "item"
FORGET = "forget"

logger = logging.getLogger("interestlens.serve")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('event', 'item', 'forget')),
    user_id TEXT,
    item_id TEXT,
    rating REAL,
    timestamp REAL,
    text TEXT,
    title TEXT,
    received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS log_user ON log (user_id) WHERE kind = 'event';
CREATE UNIQUE INDEX IF NOT EXISTS log_item ON log (item_id) WHERE kind = 'item';
CREATE TABLE IF NOT EXISTS adaptive (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fit_id TEXT NOT NULL,
    event_seq INTEGER NOT NULL,
    cluster INTEGER NOT NULL,
    centroid BLOB NOT NULL,
    mass REAL NOT NULL,
    time REAL NOT NULL,
    received INTEGER NOT NULL,
    poor_fits INTEGER NOT NULL,
    flagged INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS adaptive_fit ON adaptive (fit_id);
"""
_ADAPTIVE_COLUMNS = ("cluster", "centroid", "mass", "time", "received", "poor_fits", "flagged")


@dataclass(frozen=True)
class Event:
    user_id: str
    item_id: str
    rating: float | None = None
    timestamp: float | None = None


@dataclass(frozen=True)
class LogEntry:
    seq: int
    kind: str
    user_id: str | None
    item_id: str | None
    rating: float | None
    timestamp: float | None
    text: str | None
    title: str | None
    received_at: float


class StoreError(DataError):
    """The events database cannot be opened or written."""


class StorageFullError(StoreError):
    """The disk holding the events database is full: nothing was stored (HTTP 507)."""

    status_code = 507


class StorageUnavailableError(StoreError):
    """The events database cannot be written now (read-only, I/O error, locked): nothing was
    stored (HTTP 503)."""

    status_code = 503


#: SQLite result codes (the primary code, the low byte of extended codes)
_SQLITE_FULL = 13
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_CANTOPEN = 14


def storage_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """The :class:`StoreError` a failed write answers with: disk full (507) or the storage
    unavailable (503); the message says what happened and that nothing was stored."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    if primary == _SQLITE_FULL or "disk is full" in text:
        return StorageFullError(
            f"the events database {path.name} could not be written: the disk is full",
            expected="free space for the events database",
            fix="free disk space (or move serve.events_db to a larger disk) and send the "
            "request again; nothing of this request was stored",
        )
    return StorageUnavailableError(
        f"the events database {path.name} cannot be written now ({text})",
        expected="a writable events database",
        fix="make the storage writable again (read-only mount, I/O error or another writer "
        "holding the lock) and send the request again; nothing of this request was stored",
    )


def _private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only (it holds user data); SQLite creates the
    -wal and -shm files with the database file's permissions."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists() and name.stat().st_mode & 0o077:
            try:
                name.chmod(0o600)
            except PermissionError:  # someone else's file: say so, do not stop the service
                logger.warning("%s is readable by others and cannot be made private", name)


def default_events_path(model_dir: Path) -> Path:
    """``<model dir>.events.sqlite`` beside the model directory (survives refits into it)."""
    model_dir = Path(model_dir).expanduser().resolve()
    return model_dir.with_name(model_dir.name + ".events.sqlite")


def events_path(model_dir: Path, settings: Settings) -> Path:
    """The events database of ``model_dir``: ``serve.events_db``, else the default beside it."""
    configured = settings.serve.events_db
    return Path(configured).expanduser() if configured else default_events_path(model_dir)


class EventStore:
    """Durable, ordered log of posted events, items and forgotten users (thread-safe)."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _private_file(self.path)
            # autocommit mode: every transaction is an explicit BEGIN IMMEDIATE ... COMMIT
            self._connection = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
            mode = self._connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            self._connection.execute("PRAGMA synchronous=FULL")
            sync = self._connection.execute("PRAGMA synchronous").fetchone()[0]
            self._connection.executescript(_SCHEMA)
            _private_file(self.path)
            # reads (counts for /health, replays) on their own connection and lock: in WAL
            # mode they never wait for a write's fsync
            self._reader = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
            self._read_lock = threading.Lock()
            with self._transaction() as connection:
                row = connection.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
                if row is None:
                    self.store_id = uuid.uuid4().hex
                    connection.execute(
                        "INSERT INTO meta (key, value) VALUES ('store_id', ?)", (self.store_id,)
                    )
                else:
                    self.store_id = row[0]
        except StoreError:
            raise
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(
                f"events database {self.path} cannot be opened ({exc})",
                expected="a writable path for an SQLite file written by interestlens serve",
                fix="set serve.events_db (INTERESTLENS_SERVE__EVENTS_DB) to a writable file path",
            ) from None
        #: what SQLite granted: "wal", and synchronous 2 (FULL: a COMMIT returns after fsync)
        self.journal_mode = str(mode).lower()
        self.synchronous = int(sync)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            connection = self._connection
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise storage_error(self.path, exc) from None
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException as exc:
                if connection.in_transaction:
                    try:
                        connection.execute("ROLLBACK")
                    except sqlite3.Error:
                        logger.warning("rollback on %s failed after %r", self.path, exc)
                if isinstance(exc, sqlite3.OperationalError):
                    raise storage_error(self.path, exc) from None
                raise

    # --- writes (each returns after COMMIT) ---------------------------------------------------

    def append_events(self, events: Sequence[Event]) -> list[int]:
        """Store ``events`` in one transaction; their ``seq`` numbers, in order."""
        now = time.time()
        seqs = []
        with self._transaction() as connection:
            for event in events:
                cursor = connection.execute(
                    "INSERT INTO log (kind, user_id, item_id, rating, timestamp, received_at) "
                    "VALUES ('event', ?, ?, ?, ?, ?)",
                    (event.user_id, event.item_id, event.rating, event.timestamp, now),
                )
                seqs.append(int(cursor.lastrowid))
        return seqs

    def append_item(self, item_id: str, text: str, title: str | None = None) -> int:
        try:
            with self._transaction() as connection:
                cursor = connection.execute(
                    "INSERT INTO log (kind, item_id, text, title, received_at) "
                    "VALUES ('item', ?, ?, ?, ?)",
                    (item_id, text, title, time.time()),
                )
        except sqlite3.IntegrityError:
            raise DuplicateIdError(
                f"item {item_id!r} was already posted",
                expected="a new item id",
                fix="post the item under another id",
            ) from None
        return int(cursor.lastrowid)

    def forget_user(self, user_id: str) -> int:
        """Delete the user's events and record the forgetting; the number of events deleted."""
        return self.forget_user_logged(user_id)[0]

    def forget_user_logged(self, user_id: str) -> tuple[int, int]:
        """:meth:`forget_user`, also giving the ``seq`` of the forgetting's log entry."""
        with self._transaction() as connection:
            deleted = connection.execute(
                "DELETE FROM log WHERE kind = 'event' AND user_id = ?", (user_id,)
            ).rowcount
            cursor = connection.execute(
                "INSERT INTO log (kind, user_id, received_at) VALUES ('forget', ?, ?)",
                (user_id, time.time()),
            )
        return int(deleted), int(cursor.lastrowid)

    def record_reload(self, run_id: str, model_dir: str) -> int:
        """Note that the service run ``run_id`` now serves ``model_dir`` (its other worker
        processes follow); the reload's generation number, counted per run."""
        with self._transaction() as connection:
            row = connection.execute("SELECT value FROM meta WHERE key = 'reload'").fetchone()
            previous = json.loads(row[0]) if row is not None else {}
            generation = (
                int(previous.get("generation", 0)) + 1 if previous.get("run") == run_id else 1
            )
            value = json.dumps({"run": run_id, "generation": generation, "model_dir": model_dir})
            connection.execute(
                "INSERT INTO meta (key, value) VALUES ('reload', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (value,),
            )
        return generation

    def purge_user(self, user_id: str, *, upto: int) -> int:
        """Delete every log entry naming ``user_id`` up to ``upto`` (forgetting records that a
        refit has folded included), then rewrite the file so that no freed page keeps a copy.
        Only for erasure: a model that has not folded the forgetting would not replay it."""
        with self._transaction() as connection:
            deleted = connection.execute(
                "DELETE FROM log WHERE user_id = ? AND seq <= ?", (user_id, upto)
            ).rowcount
        with self._lock:
            self._connection.execute("VACUUM")
            self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(deleted)

    # --- reads --------------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The reading connection, under its lock; SQLite errors become a 503."""
        with self._read_lock:
            try:
                yield self._reader
            except sqlite3.Error as exc:
                raise StorageUnavailableError(
                    f"the events database {self.path.name} cannot be read now ({exc})",
                    expected="a readable events database",
                    fix="make the storage readable again (I/O error, file removed) and send the "
                    "request again",
                ) from None

    def reload_record(self, run_id: str) -> tuple[int, str | None]:
        """The latest reload of the service run ``run_id``: ``(generation, model_dir)``, or
        ``(0, None)`` when it has not reloaded."""
        with self._reading() as reader:
            row = reader.execute("SELECT value FROM meta WHERE key = 'reload'").fetchone()
        try:
            record = json.loads(row[0]) if row is not None else {}
            if record.get("run") != run_id:
                return 0, None
            return int(record["generation"]), str(record["model_dir"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise StoreError(
                f"the events database {self.path.name} holds a damaged reload record "
                f"({str(row[0])[:100]!r})",
                expected="the reload record interestlens serve writes",
                fix="restart the service (each run writes its own record)",
            ) from None

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version`` of the reading connection: it changes whenever any
        other connection (another thread's writes, another process) commits. A cheap "has
        anything changed?" for worker processes that follow the log."""
        with self._reading() as reader:
            return int(reader.execute("PRAGMA data_version").fetchone()[0])

    def entries(self, *, after: int = 0, upto: int | None = None) -> list[LogEntry]:
        """Log entries with ``after < seq <= upto``, in posting order."""
        query = (
            "SELECT seq, kind, user_id, item_id, rating, timestamp, text, title, received_at "
            "FROM log WHERE seq > ?"
        )
        params: tuple = (after,)
        if upto is not None:
            query += " AND seq <= ?"
            params = (after, upto)
        with self._reading() as reader:
            rows = reader.execute(query + " ORDER BY seq", params).fetchall()
        return [LogEntry(*row) for row in rows]

    def last_seq(self) -> int:
        with self._reading() as reader:
            row = reader.execute("SELECT MAX(seq) FROM log").fetchone()
        return int(row[0] or 0)

    def events_of(self, user_id: str) -> list[LogEntry]:
        with self._reading() as reader:
            rows = reader.execute(
                "SELECT seq, kind, user_id, item_id, rating, timestamp, text, title, received_at "
                "FROM log WHERE kind = 'event' AND user_id = ? ORDER BY seq",
                (user_id,),
            ).fetchall()
        return [LogEntry(*row) for row in rows]

    def counts(self) -> dict[str, int]:
        with self._reading() as reader:
            rows = reader.execute("SELECT kind, COUNT(*) FROM log GROUP BY kind").fetchall()
        found = dict(rows)
        return {
            "events": found.get(EVENT, 0),
            "items": found.get(ITEM, 0),
            "forgotten": found.get(FORGET, 0),
        }

    # --- adaptive centroids (interestlens.timeline.adaptive): aggregates only, no user ids ---

    def append_adaptive(self, fit_id: str, event_seq: int, rows: Sequence[dict]) -> None:
        """Store centroid updates of the model ``fit_id``, made after event ``event_seq``."""
        if not rows:
            return
        with self._transaction() as connection:
            connection.executemany(
                "INSERT INTO adaptive (fit_id, event_seq, cluster, centroid, mass, time, "
                "received, poor_fits, flagged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(fit_id, event_seq, *(row[c] for c in _ADAPTIVE_COLUMNS)) for row in rows],
            )

    def adaptive_entries(self, fit_id: str) -> list[dict]:
        """The centroid updates of model ``fit_id``, in the order they were made."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT cluster, centroid, mass, time, received, poor_fits, flagged "
                "FROM adaptive WHERE fit_id = ? ORDER BY id",
                (fit_id,),
            ).fetchall()
        return [dict(zip(_ADAPTIVE_COLUMNS, row, strict=True)) for row in rows]

    def close(self) -> None:
        with self._read_lock:
            self._reader.close()
        with self._lock:
            self._connection.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventStore({str(self.path)!r})"
