"""Input tables as Spark DataFrames: reading, the same checks as the single-machine readers,
and integer ids (``user_index``, ``item_index``) assigned by a distributed ``zipWithIndex``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from interestlens.config import DataConfig
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.errors import (
    DataFileNotFoundError,
    DataFormatError,
    DuplicateIdError,
    EmptyDataError,
    MissingColumnsError,
    UnknownIdError,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

USER_INDEX = "user_index"
ITEM_INDEX = "item_index"
_CSV = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
_JSON = (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".ndjson")
_PARQUET = (".parquet", ".pq")


@dataclass
class SparkData:
    """Canonical columns: interactions ``user_id, item_id, rating, timestamp`` (doubles, null
    when absent); items ``item_id`` + text columns; users (optional) ``user_id`` + text."""

    interactions: DataFrame
    items: DataFrame
    users: DataFrame | None = None
    name: str = "dataset"
    has_ratings: bool = False
    has_timestamps: bool = False
    notes: dict[str, int | str] = field(default_factory=dict)


@dataclass
class IndexedData:
    """:class:`SparkData` with integer ids: ``items_indexed`` (``item_index`` + item columns),
    ``user_ids`` (``user_index, user_id``), ``interactions_indexed`` (``user_index,
    item_index, rating, timestamp``)."""

    data: SparkData
    items_indexed: DataFrame
    user_ids: DataFrame
    interactions_indexed: DataFrame
    n_items: int
    n_users: int


def read_table(spark: SparkSession, path: str | Path, what: str) -> DataFrame:
    """A CSV, JSON-lines or Parquet file, or a directory of Parquet (or CSV/JSON) parts.

    Local paths are checked here; URIs (``s3a://``, ``hdfs://``) are left to Spark."""
    text = str(path)
    if "://" not in text:
        local = Path(text).expanduser()
        if not local.exists():
            raise DataFileNotFoundError(
                f"{what} file {local} does not exist",
                expected=f"a CSV, JSON-lines or Parquet {what} file, or a Parquet directory",
                fix="check the path",
            )
        text = str(local.resolve())
        if local.is_dir():
            names = [p.name.lower() for p in local.iterdir() if not p.name.startswith(("_", "."))]
            kind = "parquet"
            if names and all(n.endswith(_CSV) for n in names):
                kind = "csv"
            elif names and all(n.endswith(_JSON) for n in names):
                kind = "json"
            return _read(spark, text, kind)
    lower = text.lower()
    if lower.endswith(_PARQUET):
        return _read(spark, text, "parquet")
    if lower.endswith(_JSON):
        return _read(spark, text, "json")
    if lower.endswith(_CSV):
        return _read(spark, text, "csv", sep="\t" if ".tsv" in lower else ",")
    raise DataFormatError(
        f"{what} file {text} has an unknown format",
        expected="a name ending in .csv, .tsv, .jsonl, .json, .parquet (optionally .gz) or a "
        "Parquet directory",
        fix="rename the file or convert it",
    )


def _read(spark: SparkSession, path: str, kind: str, sep: str = ",") -> DataFrame:
    if kind == "parquet":
        return spark.read.parquet(path)
    if kind == "json":
        return spark.read.json(path)
    return spark.read.option("header", True).option("sep", sep).option("multiLine", True).csv(path)


def from_dataset(spark: SparkSession, dataset: Dataset) -> SparkData:
    """A single-machine :class:`Dataset` (e.g. the demo data) as Spark DataFrames."""
    import pandas as pd

    interactions = dataset.interactions.copy()
    for column in (RATING, TIMESTAMP):
        values = interactions[column] if column in interactions else pd.Series(dtype=float)
        interactions[column] = pd.to_numeric(values, errors="coerce").astype("float64")
    interactions = interactions[[USER_ID, ITEM_ID, RATING, TIMESTAMP]]
    return SparkData(
        interactions=spark.createDataFrame(interactions),
        items=spark.createDataFrame(dataset.items),
        users=None if dataset.users is None else spark.createDataFrame(dataset.users),
        name=dataset.name,
        has_ratings=dataset.has_ratings,
        has_timestamps=dataset.has_timestamps,
        notes=dict(dataset.notes),
    )


def read_data(
    spark: SparkSession,
    config: DataConfig,
    *,
    interactions: str | Path,
    items: str | Path,
    users: str | Path | None = None,
) -> SparkData:
    """Read the three tables and rename the configured columns to the canonical ones."""
    from pyspark.sql import functions as F

    frame = read_table(spark, interactions, "interactions")
    _require(frame, [config.user_col, config.item_col], "interactions", interactions)
    columns = [
        F.col(config.user_col).cast("string").alias(USER_ID),
        F.col(config.item_col).cast("string").alias(ITEM_ID),
    ]
    has = {}
    for canonical, configured in ((RATING, config.rating_col), (TIMESTAMP, config.timestamp_col)):
        present = configured is not None and configured in frame.columns
        has[canonical] = present
        value = F.col(configured).cast("double") if present else F.lit(None).cast("double")
        if present and canonical == TIMESTAMP:
            # epoch seconds, or ISO dates/times
            value = F.coalesce(value, F.unix_timestamp(F.to_timestamp(F.col(configured))))
            value = value.cast("double")
        columns.append(value.alias(canonical))
    frame = frame.select(*columns)
    item_frame = read_table(spark, items, "items")
    _require(item_frame, [config.item_col], "items", items)
    item_frame = item_frame.withColumnRenamed(config.item_col, ITEM_ID).withColumn(
        ITEM_ID, F.col(ITEM_ID).cast("string")
    )
    user_frame = None
    if users is not None:
        user_frame = read_table(spark, users, "users")
        _require(user_frame, [config.user_col], "users", users)
        user_frame = user_frame.withColumnRenamed(config.user_col, USER_ID).withColumn(
            USER_ID, F.col(USER_ID).cast("string")
        )
    return SparkData(
        interactions=frame,
        items=item_frame,
        users=user_frame,
        name=Path(str(interactions)).stem,
        has_ratings=has[RATING],
        has_timestamps=has[TIMESTAMP],
    )


def _require(frame: DataFrame, columns: list[str], what: str, path: object) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{what} {path} has no column {missing[0]!r} (columns: {frame.columns})",
            expected=f"the columns {columns}",
            fix="rename the column or pass --user-col/--item-col (data.user_col/item_col)",
        )


def index_data(data: SparkData, on_unknown: str = "error") -> IndexedData:
    """Check the tables (empty, missing or null ids, duplicate items, interactions naming
    unknown items) and give users and items dense integer indices."""
    from pyspark.sql import functions as F

    for frame, what, key in (
        (data.interactions, "interactions", USER_ID),
        (data.interactions, "interactions", ITEM_ID),
        (data.items, "items", ITEM_ID),
    ):
        _require(frame, [key], what, "table")
    if data.items.limit(1).count() == 0:
        raise EmptyDataError(
            "the items table has no rows", expected="at least one item", fix="check the items file"
        )
    if data.interactions.limit(1).count() == 0:
        raise EmptyDataError(
            "the interactions table has no rows",
            expected="at least one interaction",
            fix="check the interactions file",
        )
    null_ids = data.interactions.filter(F.col(USER_ID).isNull() | F.col(ITEM_ID).isNull())
    n_null = null_ids.count()
    if n_null:
        raise EmptyDataError(
            f"{n_null} interactions have an empty user or item id",
            expected="a user id and an item id on every interaction",
            fix="drop or fill those rows",
        )
    duplicates = data.items.groupBy(ITEM_ID).count().filter("count > 1").limit(5).collect()
    if duplicates:
        shown = ", ".join(repr(row[ITEM_ID]) for row in duplicates)
        raise DuplicateIdError(
            f"item ids repeat in the items table: {shown}",
            expected="one row per item",
            fix="deduplicate the items table",
        )
    unknown = data.interactions.join(data.items.select(ITEM_ID), ITEM_ID, "left_anti")
    n_unknown = unknown.count()
    interactions = data.interactions
    if n_unknown:
        if on_unknown != "drop":
            shown = ", ".join(repr(r[ITEM_ID]) for r in unknown.select(ITEM_ID).limit(5).collect())
            raise UnknownIdError(
                f"{n_unknown} interactions name items not in the items table: {shown}",
                expected="every interacted item to appear in the items table",
                fix="add the items, or pass --drop-unknown (data.on_unknown = 'drop')",
            )
        interactions = interactions.join(data.items.select(ITEM_ID), ITEM_ID, "left_semi")
        data.notes["dropped_unknown_item_interactions"] = int(n_unknown)

    items_indexed = _with_index(data.items, ITEM_ID, ITEM_INDEX)
    user_id_frames = [interactions.select(USER_ID)]
    if data.users is not None:
        user_id_frames.append(data.users.select(USER_ID).filter(F.col(USER_ID).isNotNull()))
    all_users = user_id_frames[0]
    for extra in user_id_frames[1:]:
        all_users = all_users.unionByName(extra)
    user_ids = _with_index(all_users.distinct(), USER_ID, USER_INDEX).select(USER_INDEX, USER_ID)
    user_ids = user_ids.cache()
    items_indexed = items_indexed.cache()
    indexed = (
        interactions.join(F.broadcast(items_indexed.select(ITEM_ID, ITEM_INDEX)), ITEM_ID)
        .join(user_ids, USER_ID)
        .select(USER_INDEX, ITEM_INDEX, RATING, TIMESTAMP)
    )
    return IndexedData(
        data=data,
        items_indexed=items_indexed,
        user_ids=user_ids,
        interactions_indexed=indexed.cache(),
        n_items=items_indexed.count(),
        n_users=user_ids.count(),
    )


def _with_index(frame: DataFrame, key: str, index: str) -> DataFrame:
    """``frame`` sorted by ``key`` with a dense 0-based ``index`` column (zipWithIndex: no
    single-partition window)."""
    ordered = frame.orderBy(key)
    from pyspark.sql.types import StructType

    schema = StructType(list(ordered.schema.fields)).add(index, "long")
    rdd = ordered.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1]))
    return ordered.sparkSession.createDataFrame(rdd, schema)
