from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from interestlens.embed import CachedEncoder, EmbeddingCache, HashingEncoder
from interestlens.errors import EncoderError, ParameterError
from interestlens.testing import RecordingEncoder, StaticEncoder

DIMENSION = 8


def vector_for(text: str, dimension: int = DIMENSION) -> np.ndarray:
    """A fixed pseudo-random vector per text, so every stored entry can be checked exactly."""
    return np.random.default_rng(zlib.crc32(text.encode())).standard_normal(dimension)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[EmbeddingCache]:
    with EmbeddingCache(tmp_path / "embeddings.sqlite") as opened:
        yield opened


@pytest.fixture
def recorder() -> RecordingEncoder:
    return RecordingEncoder(StaticEncoder(vector_for, DIMENSION, identifier="static-a"))


# --- the store -------------------------------------------------------------------------------


def test_put_and_get_round_trip_bit_for_bit(cache: EmbeddingCache) -> None:
    vectors = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    cache.put_many("enc", ["a", "b", "c"], vectors)
    found = cache.get_many("enc", ["c", "missing", "a"])
    assert found[1] is None
    np.testing.assert_array_equal(found[0], vectors[2])
    np.testing.assert_array_equal(found[2], vectors[0])
    assert found[0] is not None and found[0].dtype == np.float32
    assert (len(cache), cache.count("enc"), cache.count("other")) == (3, 3, 0)


def test_many_keys_are_looked_up_in_chunks(cache: EmbeddingCache) -> None:
    texts = [f"t{i}" for i in range(1234)]
    cache.put_many("enc", texts, np.ones((len(texts), 2)))
    assert all(v is not None for v in cache.get_many("enc", texts))


def test_put_many_validates_vectors(cache: EmbeddingCache) -> None:
    with pytest.raises(ParameterError, match=r"shape \(2, 3\) for 3 texts"):
        cache.put_many("enc", ["a", "b", "c"], np.ones((2, 3)))
    with pytest.raises(ParameterError, match="NaN"):
        cache.put_many("enc", ["a"], np.array([[np.nan, 1.0]]))
    assert len(cache) == 0


def test_schema_refuses_a_vector_of_the_wrong_length(cache: EmbeddingCache) -> None:
    with sqlite3.connect(cache.path) as raw, pytest.raises(sqlite3.IntegrityError):
        raw.execute("INSERT INTO embeddings VALUES (?, ?, ?, ?)", ("enc", b"k", 4, b"\0" * 12))


def test_cache_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "cache.sqlite"
    with EmbeddingCache(path) as first:
        first.put_many("enc", ["kept"], np.array([[0.6, 0.8]]))
    assert "closed" in repr(first)
    with pytest.raises(EncoderError, match="is closed"):
        first.get_many("enc", ["kept"])
    with EmbeddingCache(path) as second:
        found = second.get_many("enc", ["kept"])[0]
        assert found is not None
        np.testing.assert_allclose(found, [0.6, 0.8], rtol=1e-7)


def test_encoders_and_delete(cache: EmbeddingCache) -> None:
    cache.put_many("a", ["x", "y"], np.ones((2, 2)))
    cache.put_many("b", ["x"], np.ones((1, 3)))
    assert cache.encoders() == {"a": 2, "b": 1}
    assert cache.delete("a") == 2
    assert cache.encoders() == {"b": 1}


# --- the cached encoder ----------------------------------------------------------------------


def test_second_run_on_unchanged_texts_never_calls_the_encoder(
    cache: EmbeddingCache, recorder: RecordingEncoder
) -> None:
    texts = ["one", "two", "three"]
    cached = CachedEncoder(recorder, cache)
    first = cached.encode(texts)
    assert recorder.n_calls == 1
    second = CachedEncoder(recorder, cache).encode(texts)
    assert recorder.n_calls == 1
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, recorder.inner.encode(texts))


def test_only_new_distinct_texts_are_encoded_and_order_is_kept(
    cache: EmbeddingCache, recorder: RecordingEncoder
) -> None:
    cached = CachedEncoder(recorder, cache)
    cached.encode(["a", "b"])
    result = cached.encode(["c", "a", "c", "d", "b", "c"])
    assert recorder.calls == [["a", "b"], ["c", "d"]]
    expected = recorder.inner.encode(["c", "a", "c", "d", "b", "c"])
    np.testing.assert_array_equal(result, expected)
    assert (cached.hits, cached.misses) == (2, 4)
    assert cached.stats == {"hits": 2, "misses": 4, "encoder_calls": 2}


def test_protocol_members_pass_through(cache: EmbeddingCache, recorder: RecordingEncoder) -> None:
    cached = CachedEncoder(recorder, cache)
    assert (cached.identifier, cached.dimension, cached.max_tokens) == ("static-a", 8, 512)
    assert cached.count_tokens(["a b c"]).tolist() == [3]
    empty = cached.encode([])
    assert empty.shape == (0, DIMENSION)
    assert recorder.n_calls == 0


def test_different_encoder_identifiers_do_not_collide(cache: EmbeddingCache) -> None:
    ones = StaticEncoder(lambda text: [1.0, 0.0], 2, identifier="ones")
    twos = StaticEncoder(lambda text: [0.0, 1.0], 2, identifier="twos")
    np.testing.assert_array_equal(CachedEncoder(ones, cache).encode(["same"]), [[1.0, 0.0]])
    np.testing.assert_array_equal(CachedEncoder(twos, cache).encode(["same"]), [[0.0, 1.0]])
    assert cache.encoders() == {"ones": 1, "twos": 1}


def test_hashing_encoder_through_the_cache_is_bit_identical(cache: EmbeddingCache) -> None:
    texts = ["the cat sat", "a dog ran", ""]
    direct = HashingEncoder().encode(texts)
    cached = CachedEncoder(HashingEncoder(), cache)
    np.testing.assert_array_equal(cached.encode(texts), direct)
    np.testing.assert_array_equal(cached.encode(texts), direct)
    assert cached.misses == 3 and cached.hits == 3


def test_failure_mid_run_keeps_finished_chunks_only(cache: EmbeddingCache) -> None:
    def explode_on_boom(text: str) -> np.ndarray:
        if text == "boom":
            raise RuntimeError("encoder crashed")
        return vector_for(text)

    failing = StaticEncoder(explode_on_boom, DIMENSION, identifier="static-a")
    cached = CachedEncoder(failing, cache, write_every=2)
    with pytest.raises(RuntimeError, match="encoder crashed"):
        cached.encode(["a", "b", "c", "boom", "e"])
    assert cache.count("static-a") == 2  # the first chunk committed; the failing one did not
    recorder = RecordingEncoder(StaticEncoder(vector_for, DIMENSION, identifier="static-a"))
    CachedEncoder(recorder, cache, write_every=2).encode(["a", "b", "c", "e"])
    assert recorder.texts == ["c", "e"]


def test_a_wrong_shape_from_the_encoder_is_not_cached(cache: EmbeddingCache) -> None:
    class Truncating(StaticEncoder):
        def encode(self, texts, *, batch_size=64, show_progress=False):  # type: ignore[override]
            return super().encode(texts)[:1]

    cached = CachedEncoder(Truncating(vector_for, DIMENSION, identifier="bad"), cache)
    with pytest.raises(EncoderError, match=r"returned shape \(1, 8\) for 2 texts"):
        cached.encode(["a", "b"])
    assert len(cache) == 0


def test_write_every_must_be_positive(cache: EmbeddingCache, recorder: RecordingEncoder) -> None:
    with pytest.raises(ParameterError, match="write_every=0"):
        CachedEncoder(recorder, cache, write_every=0)


# --- damaged or foreign files ----------------------------------------------------------------


def test_a_file_that_is_not_sqlite_gives_a_clear_error_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite"
    garbage = b"this is not a database, just some bytes " * 100
    path.write_bytes(garbage)
    with pytest.raises(EncoderError) as caught:
        EmbeddingCache(path)
    message = str(caught.value)
    assert str(path) in message
    assert "not an SQLite database, or damaged" in message
    assert "Fix: delete or move" in message
    assert path.read_bytes() == garbage


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE customers (name TEXT)")
    raw.close()
    with pytest.raises(
        EncoderError, match=r"another program's SQLite database \(tables \['customers'\]\)"
    ):
        EmbeddingCache(path)


def test_a_directory_at_the_cache_path(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="SQLite cannot open it"):
        EmbeddingCache(tmp_path)


def test_a_newer_cache_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    EmbeddingCache(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version=99")
    raw.close()
    with pytest.raises(EncoderError, match="cache format 99"):
        EmbeddingCache(path)


_WRITER = textwrap.dedent(
    """
    import os
    import sqlite3
    import sys

    import numpy as np

    from interestlens.embed.cache import EmbeddingCache

    path, batch, dimension, kill_round = sys.argv[1], *map(int, sys.argv[2:5])
    halfway = kill_round * batch + batch // 2
    inserted = 0


    def hold_halfway(statement):
        # called by SQLite for every row the cache inserts
        global inserted
        if statement.startswith("INSERT OR REPLACE INTO embeddings"):
            inserted += 1
            if inserted == halfway:
                print("mid-transaction", kill_round, flush=True)
                sys.stdin.readline()  # the test kills the process here
                os._exit(3)  # the test went away: never commit the half-written round


    connect = sqlite3.connect


    def traced_connect(*args, **kwargs):
        connection = connect(*args, **kwargs)
        connection.set_trace_callback(hold_halfway)
        return connection


    sqlite3.connect = traced_connect
    cache = EmbeddingCache(path)
    for round_ in range(kill_round + 1):
        texts = [f"round {round_} text {i}" for i in range(batch)]
        vectors = np.random.default_rng(round_).standard_normal((batch, dimension))
        cache.put_many("writer", texts, vectors)
        print("committed", round_, flush=True)
    """
)


def round_texts(round_: int, batch: int) -> list[str]:
    return [f"round {round_} text {i}" for i in range(batch)]


def test_a_writer_killed_mid_write_leaves_whole_entries_only(tmp_path: Path) -> None:
    """The writer commits three rounds, then stops halfway through the fourth round's
    transaction (SQLite's trace hook, at the 2000th of 4000 rows: ~3 MB, more than SQLite's
    default 2 MB page cache, which spills uncommitted pages into the WAL file) and signals; it
    is SIGKILLed there. Exactly the three committed rounds remain, bit for bit."""
    path = tmp_path / "killed.sqlite"
    batch, dimension, kill_round = 4000, 384, 3
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(batch), str(dimension), str(kill_round)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        said = []
        while not said or said[-1] != f"mid-transaction {kill_round}":
            line = writer.stdout.readline()
            assert line, writer.stderr.read() if writer.stderr else "writer died"
            said.append(line.strip())
        assert said == ["committed 0", "committed 1", "committed 2", "mid-transaction 3"]
        # while round 3 is half-written, another connection sees the committed rounds only
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as reader:
            visible = reader.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        assert visible == kill_round * batch
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=30)
        for stream in (writer.stdin, writer.stdout, writer.stderr):
            if stream is not None:
                stream.close()
    assert writer.returncode == -signal.SIGKILL

    with contextlib.closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with EmbeddingCache(path) as reopened:
        assert reopened.count("writer") == kill_round * batch  # whole transactions only
        for round_ in range(kill_round):
            expected = np.random.default_rng(round_).standard_normal((batch, dimension))
            found = np.stack(reopened.get_many("writer", round_texts(round_, batch)))  # type: ignore[arg-type]
            np.testing.assert_array_equal(found, expected.astype(np.float32))
        # none of the killed round's rows, not even the half that was written
        assert reopened.get_many("writer", round_texts(kill_round, batch)) == [None] * batch


def test_progress_bar_does_not_change_results(
    cache: EmbeddingCache, recorder: RecordingEncoder, capsys: pytest.CaptureFixture[str]
) -> None:
    cached = CachedEncoder(recorder, cache, write_every=2)
    shown = cached.encode(["a", "b", "c"], show_progress=True)
    np.testing.assert_array_equal(shown, recorder.inner.encode(["a", "b", "c"]))
    assert "encoding" in capsys.readouterr().err
