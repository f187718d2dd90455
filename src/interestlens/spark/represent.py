"""User interest vectors on the executors, in two passes, with the single-machine
:class:`~interestlens.represent.WeightedMeanInterests` doing the arithmetic.

1. :func:`user_parts`: interactions joined to item vectors, repartitioned by user and sorted
   within each partition, so every user's rows are contiguous in one partition; ``mapInPandas``
   streams Arrow batches and carries the last, possibly incomplete, user over to the next
   batch. Each user gets a history vector (rating and recency weighted, with the global rating
   scale ``max_rating``) and their text vector.
2. :func:`learn_bridge` (driver): the text bridge and the first-clause choice, fitted on a
   seeded sample of at most ``spark.sample_size`` users who have both text and a history.
3. :func:`place_users`: every user's interest vector and source, and the text vector used,
   with what the driver learned (the blend, the bridge for users known only by text).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from interestlens.config import InterestConfig
from interestlens.data.schema import RATING, TIMESTAMP
from interestlens.represent import WeightedMeanInterests
from interestlens.spark.embed import VECTOR
from interestlens.spark.frames import ITEM_INDEX, USER_INDEX

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SOURCE = "source"
HISTORY = "history"
HAS_HISTORY = "has_history"
TEXT_VECTOR = "text_vector"
HAS_TEXT = "has_text"
LEAD = "lead"
_IS_TEXT = "is_text"


def user_parts(
    interactions: DataFrame,
    item_vectors: DataFrame,
    user_text_vectors: DataFrame | None,
    config: InterestConfig,
    *,
    dimension: int,
    has_ratings: bool,
    has_timestamps: bool,
    partitions: int,
) -> DataFrame:
    """``user_index, history, has_history, text_vector, has_text`` for every user in
    ``interactions`` or ``user_text_vectors`` (``user_index, vector``; zero = no text);
    ``text_vector`` is null for users without text."""
    from pyspark.sql import functions as F

    max_rating = None
    if has_ratings and config.use_ratings:
        max_rating = interactions.agg(F.max(RATING)).first()[0]
    history = interactions.join(item_vectors, ITEM_INDEX).select(
        USER_INDEX, VECTOR, RATING, TIMESTAMP, F.lit(False).alias(_IS_TEXT)
    )
    rows = history
    if user_text_vectors is not None:
        rows = rows.unionByName(
            user_text_vectors.select(
                USER_INDEX,
                VECTOR,
                F.lit(None).cast("double").alias(RATING),
                F.lit(None).cast("double").alias(TIMESTAMP),
                F.lit(True).alias(_IS_TEXT),
            )
        )
    rows = rows.repartition(partitions, USER_INDEX).sortWithinPartitions(USER_INDEX)
    settings = (config.half_life_days, config.use_ratings)
    use = (has_ratings, has_timestamps)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        pending: pd.DataFrame | None = None
        for batch in batches:
            frame = batch if pending is None else pd.concat([pending, batch], ignore_index=True)
            last = frame[USER_INDEX].iat[-1]
            complete = frame[USER_INDEX].to_numpy() != last
            pending = frame[~complete]
            if complete.any():
                yield parts_block(frame[complete], settings, use, max_rating, dimension)
        if pending is not None and len(pending):
            yield parts_block(pending, settings, use, max_rating, dimension)

    schema = (
        f"{USER_INDEX} long, {HISTORY} array<float>, {HAS_HISTORY} boolean, "
        f"{TEXT_VECTOR} array<float>, {HAS_TEXT} boolean"
    )
    return rows.mapInPandas(run, schema)


def parts_block(
    frame: pd.DataFrame,
    settings: tuple[float | None, bool],
    use: tuple[bool, bool],
    max_rating: float | None,
    dimension: int,
) -> pd.DataFrame:
    """History and text vectors of the users in ``frame`` (all their rows): rating and recency
    weights scale the item vectors, then the single-machine ``fit`` takes their mean."""
    half_life, use_ratings = settings
    has_ratings, has_timestamps = use
    users, local = np.unique(frame[USER_INDEX].to_numpy(), return_inverse=True)
    is_text = frame[_IS_TEXT].to_numpy(dtype=bool)
    vectors = _stack(frame[VECTOR], dimension)
    history_only = WeightedMeanInterests(
        half_life_days=half_life, use_ratings=use_ratings, text_weight=0.0
    )
    history = ~is_text
    weights = history_only.interaction_weights(
        local[history],
        frame[RATING].to_numpy(dtype=np.float64)[history] if has_ratings else None,
        frame[TIMESTAMP].to_numpy(dtype=np.float64)[history] if has_timestamps else None,
        n_users=len(users),
        max_rating=max_rating,
    )
    history_only.fit(
        local[history],
        np.arange(int(history.sum())),
        vectors[history] * weights[:, None].astype(np.float32),
        n_users=len(users),
    )
    text = np.zeros((len(users), dimension), dtype=np.float32)
    text[local[is_text]] = vectors[is_text]
    has_text = np.linalg.norm(text, axis=1) > 0
    return pd.DataFrame(
        {
            USER_INDEX: users,
            HISTORY: list(history_only.vectors_),
            HAS_HISTORY: history_only.has_history_,
            # null, not a row of zeros, for users without text: most of them, in most data
            TEXT_VECTOR: [row if kept else None for row, kept in zip(text, has_text, strict=True)],
            HAS_TEXT: has_text,
        }
    )


def users_with_both(parts: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return parts.filter(F.col(HAS_HISTORY) & F.col(HAS_TEXT))


def learn_bridge(
    parts: DataFrame,
    leads: DataFrame | None,
    fitted: WeightedMeanInterests,
    *,
    dimension: int,
    sample_size: int,
    seed: int,
) -> WeightedMeanInterests:
    """``fitted`` (the configured representer, ``pipeline.representer_from_settings``) with
    its text bridge (and first-clause choice, given ``leads``: ``user_index, vector`` for texts
    whose first clause is not the whole text) learned on a seeded sample of at most
    ``sample_size`` users with both text and a history."""
    if fitted.bridge is None:
        return fitted.learn_bridge(np.zeros((0, dimension)), np.zeros((0, dimension)))
    both = users_with_both(parts)
    count = both.count()
    fraction = min(1.0, 1.1 * sample_size / max(count, 1))
    picked = both if fraction >= 1.0 else both.sample(fraction=fraction, seed=seed)
    picked = picked.orderBy(USER_INDEX).limit(sample_size)
    if leads is not None:
        picked = picked.join(leads.withColumnRenamed(VECTOR, LEAD), USER_INDEX, "left")
    rows = picked.orderBy(USER_INDEX).toPandas()
    text = _stack(rows[TEXT_VECTOR], dimension)
    history = _stack(rows[HISTORY], dimension)
    lead = None if leads is None else _leads(rows, text)
    return fitted.learn_bridge(text, history, lead)


def place_users(
    parts: DataFrame, leads: DataFrame | None, fitted: WeightedMeanInterests
) -> DataFrame:
    """``user_index, vector, source, text_vector`` (null without text) for every user, placed
    by ``fitted`` (what :func:`learn_bridge` learned) on the executors."""
    rows = parts
    if leads is not None:
        rows = rows.join(leads.withColumnRenamed(VECTOR, LEAD), USER_INDEX, "left")
    with_lead = leads is not None

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if not len(batch):
                continue
            history = _stack(batch[HISTORY], 0)
            text = _filled(batch[TEXT_VECTOR], history.shape[1])
            has_text = batch[HAS_TEXT].to_numpy(dtype=bool)
            lead = _leads(batch, text) if with_lead else None
            vectors, source, used = fitted.place(
                history, batch[HAS_HISTORY].to_numpy(dtype=bool), text, has_text, lead
            )
            yield pd.DataFrame(
                {
                    USER_INDEX: batch[USER_INDEX],
                    VECTOR: list(vectors),
                    SOURCE: source,
                    TEXT_VECTOR: [
                        row if keep else None for row, keep in zip(used, has_text, strict=True)
                    ],
                }
            )

    schema = (
        f"{USER_INDEX} long, {VECTOR} array<float>, {SOURCE} string, {TEXT_VECTOR} array<float>"
    )
    return rows.mapInPandas(run, schema)


def _leads(rows: pd.DataFrame, text: np.ndarray) -> np.ndarray:
    """First-clause vectors of ``rows`` (their ``lead`` column); a text without one (its first
    clause is the whole text) is its own lead."""
    given = _filled(rows[LEAD], text.shape[1])
    return np.where(rows[LEAD].notna().to_numpy()[:, None], given, text)


def _filled(column: pd.Series, dimension: int) -> np.ndarray:
    """The arrays of ``column`` stacked, a null one as a row of zeros."""
    out = np.zeros((len(column), dimension), dtype=np.float32)
    for position, value in enumerate(column.to_numpy()):
        if isinstance(value, list | np.ndarray):
            out[position] = np.asarray(value, dtype=np.float32)
    return out


def _stack(column: pd.Series, dimension: int) -> np.ndarray:
    if len(column) == 0:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.stack([np.asarray(v, dtype=np.float32) for v in column.to_numpy()])
