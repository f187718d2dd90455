"""Export a Hugging Face / sentence-transformers model once to ONNX, int8-quantised for CPU.

An export is a self-contained directory (copy it to a machine without torch and point
``encoder.model`` at it)::

    model.onnx              the transformer: token ids in, token states out (int8 weights)
    tokenizer.json          the fast tokenizer (the ``tokenizers`` library reads it)
    interestlens-onnx.json  format, source model and weights digest, pooling, length,
                            dimension, quantisation, the sha256 of model.onnx, and how close the
                            export came to the torch model on probe texts

Exported directories live under ``encoder.export_dir`` (default ``<cache_dir>/onnx``), one per
*export key*: the model name, its weights digest, the quantisation and this format's version.
A changed model therefore gets a new export and a new encoder identifier (so the embedding
cache never hands back vectors of the old weights). Directories are built in a temporary
folder and renamed into place, so a killed export leaves no half-written directory.

Exporting needs torch and transformers (the ``interestlens[torch]`` extra); reading an export
needs only ``onnxruntime`` and ``tokenizers``.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from interestlens.embed.cache_folders import (
    built_in_place,
    folder_key,
    load_source_network,
    package_versions,
)
from interestlens.embed.layout import SentenceLayout, pool
from interestlens.embed.sentence import ModelSource
from interestlens.errors import EncoderError
from interestlens.persist import atomic_write_text, file_sha256

EXPORT_FORMAT = "interestlens-onnx"
EXPORT_VERSION = 1
MANIFEST_NAME = "interestlens-onnx.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
OPSET = 17
#: per-channel int8 weights, activations quantised on the fly (onnxruntime's dynamic mode)
INT8 = "int8-dynamic"
FLOAT32 = "float32"
#: model types onnxruntime's transformer optimiser fuses as BERT (attention, layer norms, GELU)
_BERT_LIKE = frozenset({"bert", "roberta", "xlm-roberta", "electra", "camembert"})
_PROBE_TEXTS = (
    "A quiet film about a lighthouse keeper and the sea.",
    "hiking, the outdoors, wild camping",
    "Action. Sci-Fi. A hacker learns that the world is a simulation.",
    "",
    "word " * 300,
)


@dataclass(frozen=True)
class OnnxExport:
    """An export directory as its manifest describes it."""

    path: Path
    source: str
    layout: SentenceLayout
    quantization: str
    onnx_sha256: str
    check: dict[str, float]

    @property
    def model_file(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def tokenizer_file(self) -> Path:
        return self.path / TOKENIZER_FILE


def export_key(source: ModelSource, quantization: str) -> str:
    """The cache folder name: readable model name, weights digest, quantisation, version."""
    return folder_key(source, f"{quantization}-v{EXPORT_VERSION}")


def _damaged(path: Path, reason: str, fix: str | None = None) -> EncoderError:
    return EncoderError(
        f"ONNX export {path} cannot be used: {reason}",
        expected=f"a directory written by interestlens' ONNX export ({MODEL_FILE}, "
        f"{TOKENIZER_FILE}, {MANIFEST_NAME})",
        fix=fix
        or f"delete {path} (exports are caches: the next run exports again from the model), or "
        "point encoder.model at an intact export",
    )


def is_export(path: Path) -> bool:
    return (path / MANIFEST_NAME).is_file()


def read_export(path: Path) -> OnnxExport:
    """The export in ``path``; its files must exist (the model's digest is checked on load)."""
    manifest_path = path / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != EXPORT_FORMAT:
            raise _damaged(path, f"{MANIFEST_NAME} names format {manifest.get('format')!r}")
        if manifest.get("format_version") != EXPORT_VERSION:
            raise _damaged(
                path,
                f"it has export format {manifest.get('format_version')}, this version reads "
                f"{EXPORT_VERSION}",
            )
        layout = SentenceLayout(**manifest["layout"])
        export = OnnxExport(
            path=path,
            source=str(manifest["source"]),
            layout=layout,
            quantization=str(manifest["quantization"]),
            onnx_sha256=str(manifest["onnx_sha256"]),
            check={k: float(v) for k, v in manifest.get("check", {}).items()},
        )
    except FileNotFoundError as exc:
        raise _damaged(path, f"{MANIFEST_NAME} is missing") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise _damaged(
            path, f"{MANIFEST_NAME} is unreadable ({type(exc).__name__}: {exc})"
        ) from exc
    for needed in (export.model_file, export.tokenizer_file):
        if not needed.is_file():
            raise _damaged(path, f"{needed.name} is missing")
    return export


def cached_export(
    source: ModelSource,
    export_dir: Path,
    layout: SentenceLayout,
    *,
    quantize: bool = True,
    show_progress: bool = False,
) -> OnnxExport:
    """The export of ``source`` under ``export_dir``, made now if there is none yet."""
    quantization = INT8 if quantize else FLOAT32
    destination = export_dir / export_key(source, quantization)
    if destination.exists():
        return read_export(destination)
    return export_model(source, destination, layout, quantize=quantize, show_progress=show_progress)


def _torch_modules() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise EncoderError(
            f"exporting a model to ONNX needs torch and transformers ({exc})",
            expected="torch and transformers installed, once, on the machine that exports",
            fix="pip install 'interestlens[torch]'; or export on another machine "
            "(interestlens export-onnx --out DIR), copy DIR here and set encoder.model = DIR; "
            "or use encoder.kind = 'hashing'",
        ) from exc
    return torch, transformers


def export_model(
    source: ModelSource,
    destination: Path,
    layout: SentenceLayout,
    *,
    quantize: bool = True,
    show_progress: bool = False,
) -> OnnxExport:
    """Export ``source`` into the new directory ``destination`` (atomically: built beside it
    and renamed). Takes ~15-30 s for all-MiniLM-L6-v2 on 2 CPU cores."""
    torch, transformers = _torch_modules()
    destination = Path(destination)
    started = time.perf_counter()
    with built_in_place(
        destination, is_complete=is_export, what="ONNX export", room="~100 MB"
    ) as work:
        try:
            with tqdm(
                total=4, desc="exporting to ONNX", unit="step", disable=not show_progress
            ) as bar:
                network, tokenizer = _load_network(transformers, source)
                tokenizer.backend_tokenizer.save(str(work / TOKENIZER_FILE))
                float_path = work / "float32.onnx"
                names = _input_names(network)
                probes = _probe_batches(tokenizer, layout, names)
                reference = _torch_vectors(torch, network, probes, layout)
                _export_graph(torch, network, names, float_path)
                bar.update()
                optimised = _optimise(float_path, network.config)
                bar.update()
                final = work / MODEL_FILE
                if quantize:
                    _quantise(optimised, final)
                else:
                    optimised.replace(final)
                for leftover in work.glob("*.onnx"):
                    if leftover != final:
                        leftover.unlink()
                bar.update()
                check = _compare(final, probes, reference, layout)
                bar.update()
        except EncoderError:
            raise
        except (RuntimeError, ValueError, TypeError) as exc:  # the exporter's or optimiser's own
            raise EncoderError(
                f"exporting {source.name} to ONNX failed: {type(exc).__name__}: {exc}",
                expected="an encoder-only transformer that torch.onnx can trace",
                fix="use encoder.backend = 'torch' for this model",
            ) from exc
        manifest = {
            "format": EXPORT_FORMAT,
            "format_version": EXPORT_VERSION,
            "source": source.identifier,
            "layout": layout.to_dict(),
            "quantization": INT8 if quantize else FLOAT32,
            "opset": OPSET,
            "onnx_sha256": file_sha256(final),
            "check": check,
            "seconds": round(time.perf_counter() - started, 2),
            "exported_with": package_versions("torch", "transformers", "onnxruntime", "onnx"),
        }
        atomic_write_text(work / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    return read_export(destination)


def _load_network(transformers: Any, source: ModelSource) -> tuple[Any, Any]:
    # eager attention exports as plain MatMul/Softmax, which onnxruntime fuses into its
    # Attention kernel; the SDPA path exports to a graph it cannot fuse
    network, tokenizer = load_source_network(
        transformers, source, "for export", attn_implementation="eager"
    )
    if not getattr(tokenizer, "is_fast", False):
        raise EncoderError(
            f"the tokenizer of {source.path} has no fast (Rust) version",
            expected="a model with a tokenizer.json, which the tokenizers library runs",
            fix="use encoder.backend = 'torch' for this model",
        )
    return network.eval(), tokenizer


def _input_names(network: Any) -> list[str]:
    parameters = inspect.signature(network.forward).parameters
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in parameters and getattr(network.config, "type_vocab_size", 0):
        names.append("token_type_ids")
    return names


def _export_graph(torch: Any, network: Any, names: list[str], path: Path) -> None:

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    example = torch.ones((2, 8), dtype=torch.long)
    dynamic = {name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.inference_mode():
        # the TorchScript exporter warns about traced Python conditions that do not depend
        # on the input shapes of an encoder; nothing a user can act on
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(network),
            tuple(example for _ in names),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic,
        )


def _optimise(path: Path, config: Any) -> Path:
    """onnxruntime's transformer fusions (attention, skip layer norm, bias GELU): same maths,
    fewer kernels. Models it does not know stay as exported."""
    if getattr(config, "model_type", None) not in _BERT_LIKE:
        return path
    from onnxruntime.transformers.optimizer import optimize_model

    optimised = optimize_model(
        str(path),
        model_type="bert",
        num_heads=int(config.num_attention_heads),
        hidden_size=int(config.hidden_size),
        opt_level=1,
    )
    target = path.with_name("optimised.onnx")
    optimised.save_model_to_file(str(target))
    return target


def _quantise(source: Path, target: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the quantiser logs a generic "consider pre-processing" warning on the root logger
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        _run_quantiser(quantize_dynamic, QuantType, TensorProto, source, target)
    finally:
        quiet.setLevel(level)


def _run_quantiser(
    quantize_dynamic: Any, QuantType: Any, TensorProto: Any, source: Path, target: Path
) -> None:
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        # the fused Attention/BiasGelu outputs have no inferred type; they are float
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )


def _probe_batches(tokenizer: Any, layout: SentenceLayout, names: list[str]) -> list[dict]:
    """One probe text per batch, tokenised as the encoder tokenises (the fast tokenizer,
    truncated to the layout's length). One text per batch, as the encoder's length buckets
    mostly are: the int8 activation ranges are per batch, so padding in a mixed batch would
    measure something the encoder avoids."""
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    backend.no_padding()
    backend.enable_truncation(max_length=layout.max_tokens)
    batches = []
    for text in _PROBE_TEXTS:
        encoding = backend.encode(text)
        arrays = {
            "input_ids": np.array([encoding.ids], dtype=np.int64),
            "attention_mask": np.ones((1, len(encoding.ids)), dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
        }
        batches.append({name: arrays[name] for name in names})
    return batches


def _torch_vectors(torch: Any, network: Any, batches: list[dict], layout: SentenceLayout) -> list:
    """Taken before the export: the TorchScript exporter leaves the module changed."""
    vectors = []
    with torch.inference_mode():
        for feeds in batches:
            tensors = {name: torch.from_numpy(values) for name, values in feeds.items()}
            states = network(**tensors).last_hidden_state.float().numpy()
            vectors.append(pool(states, feeds["attention_mask"], layout.pooling)[0])
    return vectors


def _compare(
    model_file: Path, batches: list[dict], reference: list, layout: SentenceLayout
) -> dict:
    """Cosine between the export's and torch's pooled vectors on the probe texts."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    cosines = []
    for feeds, expected in zip(batches, reference, strict=True):
        exported = pool(session.run(None, feeds)[0], feeds["attention_mask"], layout.pooling)[0]
        norms = float(np.linalg.norm(exported) * np.linalg.norm(expected)) or 1.0
        cosines.append(float(exported @ expected) / norms)
    return {"mean_cosine": round(float(np.mean(cosines)), 5), "min_cosine": round(min(cosines), 5)}


__all__ = [
    "EXPORT_VERSION",
    "MANIFEST_NAME",
    "OnnxExport",
    "cached_export",
    "export_key",
    "export_model",
    "is_export",
    "read_export",
]
