"""What a sentence-transformers model directory says about its output, read without torch.

A sentence-transformers directory lists its modules in ``modules.json`` (Transformer, Pooling,
Normalize, sometimes Dense…); the pooling module's ``config.json`` names the pooling mode and
the output dimension, and ``sentence_bert_config.json`` the longest input. A plain Hugging Face
directory has none of these: the caller's pooling and length apply.

The ONNX encoder and the exporter read the layout from here, so the exported graph is pooled
exactly as the sentence-transformers model would pool it, and token counting and the output
dimension need no model at all.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from interestlens.errors import EncoderError

PoolingMode = Literal["mean", "cls", "max", "mean_sqrt_len"]

_POOLING_KEYS: dict[str, PoolingMode] = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
}
#: module types that pool or normalise the transformer's output; anything else (Dense,
#: CNN, WordWeights…) changes the vectors in ways only sentence-transformers reproduces
_KNOWN_MODULES = ("Transformer", "Pooling", "Normalize")


@dataclass(frozen=True)
class SentenceLayout:
    """How token states become one vector: pooling, normalisation, input length, dimension.

    ``normalize`` records whether the model ends in a Normalize module; interestlens encoders
    return unit rows either way (the Encoder contract), which changes no cosine.
    """

    pooling: PoolingMode
    normalize: bool
    max_tokens: int
    dimension: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EncoderError(
            f"cannot read {path}: {exc}",
            expected="a JSON file as written by sentence-transformers / transformers",
            fix="restore the model directory from its source",
        ) from exc
    if not isinstance(data, dict | list):
        raise EncoderError(
            f"{path} holds {type(data).__name__}",
            expected="a JSON object",
            fix="restore the model directory from its source",
        )
    return data  # type: ignore[return-value]


def read_layout(
    path: Path, *, pooling: PoolingMode | None = None, max_tokens: int | None = None
) -> SentenceLayout:
    """The layout of the model in ``path``; ``pooling``/``max_tokens`` override the files'
    (and are required defaults for plain Hugging Face directories)."""
    config = _read_json(path / "config.json")
    hidden = config.get("hidden_size") or config.get("dim") or config.get("d_model")
    positions = config.get("max_position_embeddings")
    modules_path = path / "modules.json"
    normalize = False
    found_pooling: PoolingMode | None = None
    dimension = int(hidden) if hidden else 0
    length: int | None = None
    if modules_path.is_file():
        modules = _read_json(modules_path)
        for module in modules if isinstance(modules, list) else []:
            kind = str(module.get("type", "")).rsplit(".", 1)[-1]
            if kind not in _KNOWN_MODULES:
                raise EncoderError(
                    f"{path} has a {kind!r} module after the transformer",
                    expected="a sentence-transformers model made of Transformer, Pooling and "
                    "Normalize modules, which the ONNX and static backends reproduce",
                    fix="use encoder.backend = 'torch' for this model",
                )
            normalize = normalize or kind == "Normalize"
            if kind == "Pooling":
                pooling_config = _read_json(path / str(module.get("path", "")) / "config.json")
                modes = [mode for key, mode in _POOLING_KEYS.items() if pooling_config.get(key)]
                if len(modes) != 1:
                    raise EncoderError(
                        f"{path}: pooling modes {modes or 'none'}",
                        expected="exactly one of mean, cls, max or mean_sqrt_len pooling",
                        fix="use encoder.backend = 'torch' for this model",
                    )
                found_pooling = modes[0]
                dimension = int(pooling_config.get("word_embedding_dimension", dimension))
        sbert = path / "sentence_bert_config.json"
        if sbert.is_file():
            length = _read_json(sbert).get("max_seq_length")
    if not dimension:
        raise EncoderError(
            f"{path}/config.json names no hidden size",
            expected="hidden_size in config.json",
            fix="use encoder.backend = 'torch' for this model",
        )
    chosen_length = max_tokens if max_tokens is not None else length
    if chosen_length is None:
        chosen_length = min(int(positions or 512), 512)
    if positions is not None and chosen_length > int(positions):
        raise EncoderError(
            f"max_tokens={chosen_length} exceeds the {positions} positions of the model in {path}",
            expected=f"max_tokens <= {positions}",
            fix=f"set encoder.max_tokens to {min(int(positions), 512)} or less",
        )
    return SentenceLayout(
        pooling=pooling or found_pooling or "mean",
        normalize=normalize,
        max_tokens=int(chosen_length),
        dimension=dimension,
    )


__all__ = ["PoolingMode", "SentenceLayout", "read_layout"]


def hf_token_counts(tokenizer: Any, texts: list[str]) -> np.ndarray:
    """Tokens per text, special tokens included and nothing truncated, for a Hugging Face
    tokenizer (what the model would see before it cuts at its maximum length)."""
    encoded = tokenizer(
        texts,
        add_special_tokens=True,
        truncation=False,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,
    )
    return np.array([len(ids) for ids in encoded["input_ids"]], dtype=np.int64)
