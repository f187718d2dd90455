"""User interest vectors on the executors: interactions joined to item vectors, then the
single-machine :class:`~interestlens.represent.WeightedMeanInterests` per block of users.

Rows are repartitioned by user and sorted within each partition, so every user's rows are
contiguous in one partition; ``mapInPandas`` streams Arrow batches and carries the last,
possibly incomplete, user over to the next batch. The rating scale (``max_rating``) is the
global one, computed once by an aggregation, as the single-machine path uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from interestlens.config import InterestConfig
from interestlens.data.schema import RATING, TIMESTAMP
from interestlens.spark.embed import VECTOR
from interestlens.spark.frames import ITEM_INDEX, USER_INDEX

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SOURCE = "source"
_IS_TEXT = "is_text"


def interest_vectors(
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
    """``user_index, vector, source`` for every user in ``interactions`` or
    ``user_text_vectors`` (``user_index, vector``; zero vector = no text)."""
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
    settings = (config.half_life_days, config.use_ratings, config.text_weight)
    use = (has_ratings, has_timestamps)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        pending: pd.DataFrame | None = None
        for batch in batches:
            frame = batch if pending is None else pd.concat([pending, batch], ignore_index=True)
            last = frame[USER_INDEX].iat[-1]
            complete = frame[USER_INDEX].to_numpy() != last
            pending = frame[~complete]
            if complete.any():
                yield represent_block(frame[complete], settings, use, max_rating, dimension)
        if pending is not None and len(pending):
            yield represent_block(pending, settings, use, max_rating, dimension)

    return rows.mapInPandas(run, f"{USER_INDEX} long, {VECTOR} array<float>, {SOURCE} string")


def represent_block(
    frame: pd.DataFrame,
    settings: tuple[float | None, bool, float],
    use: tuple[bool, bool],
    max_rating: float | None,
    dimension: int,
) -> pd.DataFrame:
    """Interest vectors of the users in ``frame`` (all their rows), by the single-machine
    representer: rating and recency weights scale the item vectors, then ``fit`` takes the
    mean and blends in the user's text."""
    from interestlens.represent import WeightedMeanInterests

    half_life, use_ratings, text_weight = settings
    has_ratings, has_timestamps = use
    users, local = np.unique(frame[USER_INDEX].to_numpy(), return_inverse=True)
    is_text = frame[_IS_TEXT].to_numpy(dtype=bool)
    vectors = _stack(frame[VECTOR], dimension)
    representer = WeightedMeanInterests(
        half_life_days=half_life, use_ratings=use_ratings, text_weight=text_weight
    )
    history = ~is_text
    weights = representer.interaction_weights(
        local[history],
        frame[RATING].to_numpy(dtype=np.float64)[history] if has_ratings else None,
        frame[TIMESTAMP].to_numpy(dtype=np.float64)[history] if has_timestamps else None,
        n_users=len(users),
        max_rating=max_rating,
    )
    text = np.zeros((len(users), dimension), dtype=np.float32)
    text[local[is_text]] = vectors[is_text]
    representer.fit(
        local[history],
        np.arange(int(history.sum())),
        vectors[history] * weights[:, None].astype(np.float32),
        n_users=len(users),
        user_text_vectors=text,
        user_has_text=np.linalg.norm(text, axis=1) > 0,
    )
    return pd.DataFrame(
        {USER_INDEX: users, VECTOR: list(representer.vectors_), SOURCE: representer.source_}
    )


def _stack(column: pd.Series, dimension: int) -> np.ndarray:
    if len(column) == 0:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.stack([np.asarray(v, dtype=np.float32) for v in column.to_numpy()])
