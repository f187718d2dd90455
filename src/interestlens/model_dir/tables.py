"""The model directory's Parquet tables (items, users, interactions), written atomically and
read back with a :class:`ModelFormatError` naming a missing or unreadable file."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from interestlens.errors import ModelFormatError
from interestlens.persist import atomic_write_bytes


def write_parquet(path: Path, frame: pd.DataFrame) -> Path:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def read_parquet(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise ModelFormatError(
            f"{path} is missing",
            expected="a model directory written by 'interestlens fit'",
            fix="point --model at the directory that 'interestlens fit --out' wrote",
        )
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise ModelFormatError(
            f"{path} cannot be read as Parquet ({exc})",
            expected="the Parquet file that 'interestlens fit' wrote",
            fix="fit the model again",
        ) from None
