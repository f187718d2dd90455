"""A persistent embedding cache in one SQLite file, and an encoder that consults it first.

Entries are keyed by the encoder's ``identifier`` and the sha256 of the text, and hold the
vector as little-endian float32 bytes next to its dimension (a CHECK constraint refuses a
vector whose byte length does not match). Every write is one transaction in WAL mode, so a
process killed mid-write leaves the file with whole entries only; nothing is pickled.

A file at ``path`` that is not an interestlens cache (not SQLite, damaged, or another
program's database) raises :class:`EncoderError` and is left untouched: the cache never
deletes or renames a file it did not write, since a mistyped path could name valuable data.
Deleting the file is always safe; it is rebuilt on the next run.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from interestlens.embed.base import ensure_texts
from interestlens.errors import EncoderError, ParameterError

if TYPE_CHECKING:
    from interestlens.embed.base import Encoder

#: marks our files in the SQLite header ("ILEC"), so another database is never mistaken for one
APPLICATION_ID = 0x494C4543
SCHEMA_VERSION = 1
#: keys per SELECT ... IN (...); well under SQLite's limit on bound parameters
_LOOKUP_CHUNK = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    encoder TEXT NOT NULL,
    text_sha256 BLOB NOT NULL,
    dimension INTEGER NOT NULL CHECK (dimension > 0),
    vector BLOB NOT NULL CHECK (length(vector) = 4 * dimension),
    PRIMARY KEY (encoder, text_sha256)
)
"""
# An ordinary rowid table on purpose: with 1.5 kB vectors, WITHOUT ROWID measured 2x larger,
# 5x slower to write and 3x slower to read (rows that big belong outside the key's B-tree).


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache:
    """Vectors of texts per encoder identifier, persisted in the SQLite file ``path``.

    Safe to share between threads (one connection behind a lock) and between processes
    (SQLite locking; readers never block in WAL mode). Use as a context manager or call
    :meth:`close`.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = self._open()

    # --- opening ---------------------------------------------------------------------------

    def _unreadable(self, reason: str) -> EncoderError:
        return EncoderError(
            f"embedding cache {self.path} cannot be used: {reason}",
            expected="an interestlens embedding cache (SQLite) or no file at that path",
            fix=f"delete or move {self.path} (it only holds cached vectors and is rebuilt on "
            "the next run), or set encoder.cache_dir to another folder",
        )

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unreadable(f"its folder cannot be created ({exc})") from exc
        try:
            connection = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._unreadable(f"SQLite cannot open it ({exc})") from exc
        try:
            self._prepare(connection)
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise self._unreadable(f"{exc} (not an SQLite database, or damaged)") from exc
        except EncoderError:
            connection.close()
            raise
        return connection

    def _prepare(self, connection: sqlite3.Connection) -> None:
        connection.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives a killed process; only a power cut may lose the last commits
        connection.execute("PRAGMA synchronous=NORMAL")
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        if application_id == APPLICATION_ID:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise self._unreadable(
                    f"it has cache format {version}, this version reads format {SCHEMA_VERSION}"
                )
            return
        tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
        if tables:
            names = sorted(str(row[0]) for row in tables)
            raise self._unreadable(f"it is another program's SQLite database (tables {names})")
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(_SCHEMA)
            connection.execute(f"PRAGMA application_id={APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._connection is None:
                raise EncoderError(
                    f"embedding cache {self.path} is closed",
                    expected="an open cache",
                    fix="open a new EmbeddingCache(path)",
                )
            try:
                yield self._connection
            except sqlite3.DatabaseError as exc:
                raise self._unreadable(str(exc)) from exc

    # --- reading and writing ---------------------------------------------------------------

    def get_many(self, encoder: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        """The stored vector of each text for ``encoder`` (None where absent), in order."""
        texts = ensure_texts(texts)
        keys = [text_key(text) for text in texts]
        found: dict[bytes, np.ndarray] = {}
        with self._session() as connection:
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start : start + _LOOKUP_CHUNK]
                placeholders = ",".join("?" * len(chunk))
                rows = connection.execute(
                    "SELECT text_sha256, dimension, vector FROM embeddings "
                    f"WHERE encoder = ? AND text_sha256 IN ({placeholders})",
                    [encoder, *chunk],
                )
                for key, dimension, blob in rows:
                    vector = np.frombuffer(blob, dtype="<f4").astype(np.float32)
                    if vector.shape != (dimension,):
                        raise self._unreadable(
                            f"an entry has {vector.size} values, not {dimension}"
                        )
                    found[bytes(key)] = vector
        return [found.get(key) for key in keys]

    def put_many(self, encoder: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` for ``texts[i]``, all in one transaction (all or nothing)."""
        texts = ensure_texts(texts)
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts) or vectors.shape[1] == 0:
            raise ParameterError(
                f"vectors of shape {vectors.shape} for {len(texts)} texts",
                expected=f"a 2-d array with {len(texts)} rows and at least one column",
            )
        if not np.isfinite(vectors).all():
            raise ParameterError(
                "vectors hold NaN or infinite values",
                expected="finite vectors",
                fix="check the encoder; nothing was stored",
            )
        dimension = int(vectors.shape[1])
        little_endian = np.ascontiguousarray(vectors, dtype="<f4")
        rows = [
            (encoder, text_key(text), dimension, row.tobytes())
            for text, row in zip(texts, little_endian, strict=True)
        ]
        with self._session() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(
                    "INSERT OR REPLACE INTO embeddings (encoder, text_sha256, dimension, vector) "
                    "VALUES (?, ?, ?, ?)",
                    rows,
                )
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    def count(self, encoder: str | None = None) -> int:
        with self._session() as connection:
            if encoder is None:
                row = connection.execute("SELECT COUNT(*) FROM embeddings").fetchone()
            else:
                row = connection.execute(
                    "SELECT COUNT(*) FROM embeddings WHERE encoder = ?", (encoder,)
                ).fetchone()
        return int(row[0])

    def encoders(self) -> dict[str, int]:
        """Entry count per encoder identifier."""
        with self._session() as connection:
            rows = connection.execute(
                "SELECT encoder, COUNT(*) FROM embeddings GROUP BY encoder ORDER BY encoder"
            ).fetchall()
        return {str(name): int(n) for name, n in rows}

    def delete(self, encoder: str) -> int:
        """Remove every entry of ``encoder``; returns how many there were."""
        with self._session() as connection:
            cursor = connection.execute("DELETE FROM embeddings WHERE encoder = ?", (encoder,))
        return int(cursor.rowcount)

    def holders(self, text: str) -> list[str]:
        """The encoder identifiers that hold a vector of ``text``."""
        with self._session() as connection:
            rows = connection.execute(
                "SELECT encoder FROM embeddings WHERE text_sha256 = ? ORDER BY encoder",
                (text_key(text),),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def delete_texts(self, texts: Sequence[str]) -> int:
        """Remove the vectors of ``texts`` under every encoder (an erasure request): the freed
        pages are zeroed and the write-ahead log truncated, so no copy stays in the file."""
        keys = [(text_key(text),) for text in ensure_texts(texts)]
        with self._session() as connection:
            connection.execute("PRAGMA secure_delete=ON")
            cursor = connection.executemany("DELETE FROM embeddings WHERE text_sha256 = ?", keys)
            deleted = int(cursor.rowcount)
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    def __len__(self) -> int:
        return self.count()

    # --- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._connection is None else "open"
        return f"EmbeddingCache({str(self.path)!r}, {state})"


class CachedEncoder:
    """An :class:`~interestlens.embed.base.Encoder` that encodes only texts not yet cached.

    Each call deduplicates its texts, reads the cached ones, encodes the rest with ``encoder``
    in chunks of ``write_every`` texts, commits each chunk before the next (so an interrupted
    run keeps its finished chunks), and returns all vectors in input order, bit for bit those
    the wrapped encoder gave. ``hits`` and ``misses`` count distinct texts per call, summed.
    """

    def __init__(self, encoder: Encoder, cache: EmbeddingCache, *, write_every: int = 1024):
        if write_every < 1:
            raise ParameterError(f"write_every={write_every}", expected="an int >= 1")
        self.encoder = encoder
        self.cache = cache
        self.write_every = write_every
        self.hits = 0
        self.misses = 0
        self.encoder_calls = 0

    @property
    def identifier(self) -> str:
        return self.encoder.identifier

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    @property
    def max_tokens(self) -> int:
        return self.encoder.max_tokens

    @property
    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "encoder_calls": self.encoder_calls}

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.count_tokens(texts)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
    ) -> np.ndarray:
        texts = ensure_texts(texts)
        identifier = self.encoder.identifier
        unique = list(dict.fromkeys(texts))
        vectors: dict[str, np.ndarray] = {}
        missing: list[str] = []
        for text, vector in zip(unique, self.cache.get_many(identifier, unique), strict=True):
            if vector is None:
                missing.append(text)
            else:
                vectors[text] = vector
        self.hits += len(vectors)
        self.misses += len(missing)
        options = {} if batch_size is None else {"batch_size": batch_size}
        with tqdm(
            total=len(missing), desc="encoding", unit="text", disable=not show_progress
        ) as progress:
            for start in range(0, len(missing), self.write_every):
                chunk = missing[start : start + self.write_every]
                encoded = self._encode_checked(chunk, options)
                self.cache.put_many(identifier, chunk, encoded)
                vectors.update(zip(chunk, encoded, strict=True))
                progress.update(len(chunk))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        result = np.stack([vectors[text] for text in texts]).astype(np.float32, copy=False)
        if result.shape[1] != self.dimension:
            raise EncoderError(
                f"cached vectors for encoder {identifier!r} have {result.shape[1]} dimensions, "
                f"the encoder gives {self.dimension}",
                expected="an identifier that changes whenever the encoder's output does",
                fix=f"remove the stale entries: EmbeddingCache({str(self.cache.path)!r})"
                f".delete({identifier!r}), or delete the cache file",
            )
        return result

    def _encode_checked(self, chunk: list[str], options: dict[str, int]) -> np.ndarray:
        self.encoder_calls += 1
        encoded = np.asarray(self.encoder.encode(chunk, **options), dtype=np.float32)
        if encoded.shape != (len(chunk), self.dimension):
            raise EncoderError(
                f"encoder {self.encoder!r} returned shape {encoded.shape} for {len(chunk)} texts",
                expected=f"shape ({len(chunk)}, {self.dimension})",
                fix="fix the encoder; nothing from this chunk was cached",
            )
        return encoded

    def __repr__(self) -> str:
        return f"CachedEncoder({self.encoder!r}, {self.cache!r})"


def delete_cached_texts(path: Path, texts: list[str]) -> int:
    """Delete the vectors of ``texts`` from the cache at ``path`` (0 when there is none).

    Forgetting a user removes their text's vector; a cache that was never created holds none.
    """
    texts = [t for t in texts if t.strip()]
    if not texts or not Path(path).exists():
        return 0
    with EmbeddingCache(path) as cache:
        return cache.delete_texts(texts)
