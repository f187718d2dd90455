"""``interestlens embed``: a file of texts in (one per line, or a table), a ``.npy`` of vectors
and a JSON of ids and stats out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interestlens.config import Settings
from interestlens.data.io import read_table
from interestlens.embed.batch import build_encoder, embed_texts
from interestlens.errors import (
    DataError,
    DataFileNotFoundError,
    EmptyDataError,
    MissingColumnsError,
    ParameterError,
    TextDecodeError,
)
from interestlens.persist import write_json, write_npy
from interestlens.text import build_texts

TEXT_SUFFIXES = {".txt", ".text"}


def read_texts(
    path: Path, *, id_col: str | None, text_cols: list[str] | None
) -> tuple[list[str], list[str]]:
    """Ids and texts from a .txt file (one text per line) or a table (CSV/Parquet/JSONL)."""
    if path.suffix.lower() in TEXT_SUFFIXES:
        if not path.exists():
            raise DataFileNotFoundError(
                f"text file {path} does not exist",
                expected="a .txt file with one text per line",
                fix="check the --input path",
            )
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            line = path.read_bytes()[: exc.start].count(b"\n") + 1

            raise TextDecodeError(
                f"{path} line {line}: bytes that are not UTF-8 ({exc.reason})",
                expected="UTF-8 text",
                fix="re-save the file as UTF-8",
            ) from None
        if not lines:
            raise EmptyDataError(
                f"{path} is empty", expected="one text per line", fix="add texts to the file"
            )
        return [str(i) for i in range(len(lines))], lines
    frame = read_table(path, kind="texts")
    key = id_col or frame.columns[0]
    if key not in frame.columns:
        raise MissingColumnsError(
            f"{path} has columns {list(frame.columns)}, not the id column {key!r}",
            expected=f"an id column named {key!r}",
            fix="pass --id-col with one of the columns found",
        )
    texts = build_texts(frame.rename(columns={key: "id"}), id_col="id", columns=text_cols)
    return frame[key].astype(str).tolist(), texts


def embed_file(
    source: Path,
    destination: Path,
    settings: Settings,
    *,
    id_col: str | None = None,
    text_cols: list[str] | None = None,
) -> dict[str, Any]:
    if destination.suffix != ".npy":
        raise ParameterError(
            f"--output {destination} does not end in .npy",
            expected="a .npy path for the vectors (ids and stats go to the same name with .json)",
            fix=f"use --output {destination.with_suffix('.npy')}",
        )
    ids, texts = read_texts(source, id_col=id_col, text_cols=text_cols)
    if len(ids) != len(set(ids)):
        raise DataError(
            f"{source}: {len(ids) - len(set(ids))} repeated ids",
            expected="one row per id",
            fix="remove duplicate rows or choose another --id-col",
        )
    encoder = build_encoder(settings)
    vectors, stats = embed_texts(
        encoder,
        texts,
        batch_size=settings.encoder.batch_size,
        show_progress=settings.encoder.show_progress,
    )
    write_npy(destination, vectors)
    summary = {
        "input": str(source),
        "output": str(destination),
        "encoder": encoder.identifier,
        "dimension": int(vectors.shape[1]),
        **stats.to_dict(),
        "texts_per_second": (stats.encoded_texts / stats.seconds) if stats.seconds else 0.0,
    }
    write_json(destination.with_suffix(".json"), {**summary, "ids": ids})
    return summary


__all__ = ["embed_file", "read_texts"]
