"""Texts and their vectors on the executors.

``texts_frame`` renders one text per row with :func:`interestlens.text.build_texts` (the
single-machine templates); ``embed_frame`` encodes a text column with ``mapInPandas``: each
Python worker builds the encoder once (:func:`executor_encoder`, kept for the worker's
lifetime, as Spark reuses workers), sorts each Arrow batch by text length so padded batches
waste little, and goes through the embedding cache with its keys (encoder identifier +
sha256 of the text), so a text is not encoded twice across runs on the same machine.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from interestlens.config import EncoderConfig, TextConfig
from interestlens.embed.base import Encoder

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

TEXT = "text"
VECTOR = "vector"

#: one encoder per (settings, seed) in each Python worker process
_ENCODERS: dict[str, Encoder] = {}


def executor_encoder(config: dict[str, Any], seed: int) -> Encoder:
    """The encoder ``config`` describes (cached when ``config['cache']``), built once per
    worker process."""
    key = json.dumps([config, seed], sort_keys=True, default=str)
    encoder = _ENCODERS.get(key)
    if encoder is None:
        from interestlens.embed import make_encoder

        encoder = make_encoder(EncoderConfig(**config), use_cache=True, seed=seed)
        _ENCODERS[key] = encoder
    return encoder


def encoder_identifier(config: EncoderConfig, seed: int) -> str:
    """The identifier the executors' encoder has (built here without loading weights)."""
    from interestlens.embed import make_encoder

    return make_encoder(config, seed=seed).identifier


def texts_frame(
    frame: DataFrame,
    *,
    id_col: str,
    index_col: str,
    columns: list[str] | None,
    template: str | None,
) -> DataFrame:
    """``index_col, id_col, text``: one text per row, rendered by the single-machine code."""
    text_columns = [c for c in frame.columns if c not in (id_col, index_col)]
    chosen = columns if columns is not None else text_columns
    source = frame.select(index_col, id_col, *text_columns)

    def render(batches):  # type: ignore[no-untyped-def]
        from interestlens.text import build_texts

        for batch in batches:
            texts = build_texts(
                batch.drop(columns=[index_col]), id_col=id_col, columns=chosen, template=template
            )
            yield pd.DataFrame({index_col: batch[index_col], id_col: batch[id_col], TEXT: texts})

    schema = f"{index_col} long, {id_col} string, {TEXT} string"
    return source.mapInPandas(render, schema)


def embed_frame(
    frame: DataFrame,
    *,
    key_col: str,
    encoder: EncoderConfig,
    seed: int,
) -> DataFrame:
    """``key_col, vector`` (array<float>, L2-normalised; zeros for an empty text) for the
    ``text`` column of ``frame``."""
    config = encoder.model_dump(mode="json")
    config["show_progress"] = False
    batch_size = encoder.batch_size

    def encode(batches):  # type: ignore[no-untyped-def]
        from interestlens.embed.batch import embed_texts

        model = executor_encoder(config, seed)
        for batch in batches:
            texts = batch[TEXT].fillna("").astype(str).tolist()
            # similar lengths in one encoder batch: less padding for transformer encoders
            order = np.argsort([len(t) for t in texts], kind="stable")
            vectors, _ = embed_texts(
                model, [texts[i] for i in order], batch_size=batch_size, show_progress=False
            )
            restored = np.empty_like(vectors)
            restored[order] = vectors
            yield pd.DataFrame({key_col: batch[key_col], VECTOR: list(restored)})

    return frame.select(key_col, TEXT).mapInPandas(encode, f"{key_col} long, {VECTOR} array<float>")


def text_config(text: TextConfig, kind: str) -> tuple[list[str] | None, str | None]:
    if kind == "item":
        return text.item_columns, text.item_template
    return text.user_columns, text.user_template


def lead_frame(texts: DataFrame, *, index_col: str) -> DataFrame:
    """``index_col, text``: the first clause (:func:`interestlens.text.lead_clause`) of each
    text that has more than one; a text that is one clause is left out (its own vector is its
    first clause's)."""

    def run(batches):  # type: ignore[no-untyped-def]
        from interestlens.text import lead_clause

        for batch in batches:
            texts = batch[TEXT].fillna("").astype(str).tolist()
            leads = [lead_clause(text) for text in texts]
            keep = np.array(
                [
                    bool(lead) and lead != text.strip()
                    for text, lead in zip(texts, leads, strict=True)
                ],
                dtype=bool,
            )
            yield pd.DataFrame(
                {
                    index_col: batch[index_col].to_numpy()[keep],
                    TEXT: [lead for lead, kept in zip(leads, keep, strict=True) if kept],
                }
            )

    return texts.select(index_col, TEXT).mapInPandas(run, f"{index_col} long, {TEXT} string")
