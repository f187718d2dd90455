"""The per-user files of a model too large to hold in memory (a Spark fit), streamed.

Per-user tables are written by the Spark executors as Parquet, sorted by ``user_index``, into a
staging directory; the driver then streams them one row group at a time into the model's
files: ``.npy`` arrays through ``numpy.lib.format.open_memmap`` (on disk, not in memory),
``users.parquet``/``interactions.parquet`` through a ``ParquetWriter``, ``user_ids.json`` as
a streamed JSON list. What the driver keeps in memory per user is what the engine itself
needs at load time: the cluster label and map position (12 bytes per user) and the history
matrix of the recommender (about 12 bytes per interaction). The staging directory is renamed
into place at the end (:func:`interestlens.model_dir.replace_directory`), as ``fit`` does.
Per-user text vectors are stored in full (``user_text_vectors.npy``, which
:func:`interestlens.model_dir.load_model` reads as well as the rows-only file).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from interestlens.errors import ModelFormatError


def parquet_batches(directory: Path, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """Record batches of a Spark-written Parquet directory, in part order (which is the
    sort order of an ``orderBy`` write)."""
    parts = sorted(p for p in directory.glob("*.parquet") if not p.name.startswith(("_", ".")))
    for part in parts:
        file = pq.ParquetFile(part)
        yield from file.iter_batches(batch_size=65_536, columns=columns)


def _vectors(batch: pa.RecordBatch, name: str, dimension: int) -> np.ndarray:
    column = batch.column(name)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float32).reshape(len(batch), dimension)


class UserStream:
    """Writes the per-user files from the users staging table (user_index order checked)."""

    def __init__(self, directory: Path, n_users: int, dimension: int):
        self.directory = directory
        self.n_users = n_users
        self.vectors = np.lib.format.open_memmap(
            directory / "user_vectors.npy", mode="w+", dtype=np.float32, shape=(n_users, dimension)
        )
        self.text_vectors = np.lib.format.open_memmap(
            directory / "user_text_vectors.npy",
            mode="w+",
            dtype=np.float32,
            shape=(n_users, dimension),
        )
        self.labels = np.full(n_users, -1, dtype=np.int64)
        self.user_map = np.full((n_users, 2), np.nan, dtype=np.float32)
        self.sources: dict[str, int] = {}
        self.dimension = dimension

    def write(self, staging: Path) -> None:
        schema = pa.schema(
            [("user_id", pa.string()), ("text", pa.string()), ("source", pa.string())]
        )
        ids_path = self.directory / "user_ids.json"
        expected = 0
        with (
            pq.ParquetWriter(self.directory / "users.parquet", schema) as writer,
            open(ids_path, "w", encoding="utf-8") as ids,
        ):
            ids.write("[")
            columns = ["user_index", "user_id", "text", "source", "vector", "text_vector"]
            columns += ["cluster", "map_x", "map_y"]
            for batch in parquet_batches(staging, columns):
                index = batch.column("user_index").to_numpy()
                if len(index) and (index[0] != expected or np.any(np.diff(index) != 1)):
                    raise ModelFormatError(
                        f"the users staging table is not in user_index order at {expected}",
                        expected="one row per user, sorted by user_index",
                        fix="this is a bug in the Spark export; please report it",
                    )
                rows = slice(expected, expected + len(index))
                expected += len(index)
                self.vectors[rows] = _vectors(batch, "vector", self.dimension)
                self.text_vectors[rows] = _vectors(batch, "text_vector", self.dimension)
                self.labels[rows] = batch.column("cluster").to_numpy()
                self.user_map[rows, 0] = batch.column("map_x").to_numpy(zero_copy_only=False)
                self.user_map[rows, 1] = batch.column("map_y").to_numpy(zero_copy_only=False)
                user_ids = batch.column("user_id").to_pylist()
                sources = batch.column("source").to_pylist()
                for source in sources:
                    self.sources[source] = self.sources.get(source, 0) + 1
                writer.write_table(
                    pa.table(
                        {"user_id": user_ids, "text": batch.column("text"), "source": sources},
                        schema=schema,
                    )
                )
                prefix = "" if rows.start == 0 else ","
                ids.write(prefix + ",".join(json.dumps(u, ensure_ascii=False) for u in user_ids))
            ids.write("]")
        if expected != self.n_users:
            raise ModelFormatError(
                f"the users staging table has {expected} rows",
                expected=f"{self.n_users} users",
                fix="this is a bug in the Spark export; please report it",
            )
        self.vectors.flush()
        self.text_vectors.flush()
        del self.vectors, self.text_vectors


def stream_interactions(
    staging: Path, directory: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Copy the interactions staging table into ``interactions.parquet`` of the model
    directory ``directory`` (the model's schema) and return its columns for the recommender's
    history matrix."""
    schema = pa.schema(
        [
            ("user_index", pa.int32()),
            ("item_index", pa.int32()),
            ("rating", pa.float64()),
            ("timestamp", pa.float64()),
        ]
    )
    parts: dict[str, list[np.ndarray]] = {name: [] for name in schema.names}
    with pq.ParquetWriter(directory / "interactions.parquet", schema) as writer:
        for batch in parquet_batches(staging, schema.names):
            table = pa.Table.from_batches([batch]).cast(schema)
            writer.write_table(table)
            for name in schema.names:
                parts[name].append(table.column(name).to_numpy())
    joined = [np.concatenate(parts[name]) if parts[name] else np.zeros(0) for name in schema.names]
    return joined[0], joined[1], joined[2], joined[3]
