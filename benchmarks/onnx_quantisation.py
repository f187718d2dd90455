"""Dynamic int8 quantisation variants of the MiniLM ONNX export against the torch vectors.

Why the int8 export's cosine to torch stops at ~0.993 (and costs NDCG on cold items, see
results/onnx_vs_torch/): each variant re-quantises the same float32 export with other
onnxruntime ``quantize_dynamic`` options and encodes the same 400 ml-latest-small titles and
200 titles + TMDB overviews; seconds, speed against torch (warmed up) and mean cosine to
torch's vectors.

    nice -n 5 python benchmarks/onnx_quantisation.py    # ~3 min; writes results/onnx_quantisation.*
"""

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from onnx import TensorProto
from onnxruntime.quantization import QuantType, quantize_dynamic

from interestlens.embed.onnx_encoder import OnnxEncoder
from interestlens.embed.sentence import SentenceTransformerEncoder

DATA = Path(
    os.environ.get("INTERESTLENS_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
RESULTS = Path(__file__).resolve().parent / "results"
if not (DATA / "ml-latest-small").is_dir():
    sys.exit(f"{DATA}/ml-latest-small not found: set INTERESTLENS_DATA to the shared data folder")
root = Path(tempfile.mkdtemp(prefix="onnx-quant-"))
movies = pd.read_csv(DATA / "ml-latest-small/movies.csv")
links = pd.read_csv(DATA / "ml-latest-small/links.csv")
tmdb = pd.read_csv(DATA / "tmdb-5000-movies/tmdb_5000_movies.csv.gz")
m = movies.merge(links, on="movieId").merge(
    tmdb[["id", "overview"]], left_on="tmdbId", right_on="id", how="left"
)
rng = np.random.default_rng(0)
titles = [f"{t}. {g.replace('|', ', ')}" for t, g in zip(m.title, m.genres, strict=True)]
titles = [titles[i] for i in rng.choice(len(titles), 400, replace=False)]
withov = m.dropna(subset=["overview"])
longs = [
    f"{t}. {g.replace('|', ', ')}. {o}"
    for t, g, o in zip(withov.title, withov.genres, withov.overview, strict=True)
]
longs = [longs[i] for i in rng.choice(len(longs), 200, replace=False)]
ref = SentenceTransformerEncoder()
ref.encode(["warm up"])
t0 = time.perf_counter()
R1 = ref.encode(titles)
R2 = ref.encode(longs)
ttorch = time.perf_counter() - t0
print("torch", round(ttorch, 1))
base = OnnxEncoder(export_dir=root, quantize=False)
base.encode(["warm up"])
fdir = next(p for p in root.iterdir() if p.is_dir() and "float32" in p.name)
print("float32 dir", fdir)
variants = {
    "current": dict(per_channel=True),
    "matmul_only": dict(per_channel=True, op_types_to_quantize=["MatMul"]),
    "reduce_range": dict(per_channel=True, reduce_range=True),
    "matmul_reduce": dict(per_channel=True, reduce_range=True, op_types_to_quantize=["MatMul"]),
    "no_embedding_layer": dict(per_channel=True, op_types_to_quantize=["MatMul", "Attention"]),
    "per_tensor": dict(per_channel=False),
}
results = {}


def run(enc, name):
    t0 = time.perf_counter()
    A = enc.encode(titles)
    B = enc.encode(longs)
    t = time.perf_counter() - t0
    c1 = (A * R1).sum(1)
    c2 = (B * R2).sum(1)
    results[name] = dict(
        seconds=round(t, 1),
        x_torch=round(ttorch / t, 2),
        cos_titles=round(float(c1.mean()), 5),
        cos_long=round(float(c2.mean()), 5),
        min=round(float(min(c1.min(), c2.min())), 4),
    )
    print(name, results[name], flush=True)


run(base, "float32")
for name, opts in variants.items():
    d = root / f"v-{name}"
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(fdir, d)
    logging.getLogger().setLevel(logging.ERROR)
    quantize_dynamic(
        str(fdir / "model.onnx"),
        str(d / "model.onnx"),
        weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
        **opts,
    )
    man = json.loads((d / "export.json").read_text()) if (d / "export.json").exists() else None
    mf = [p for p in d.iterdir() if p.suffix == ".json"]
    for p in mf:
        j = json.loads(p.read_text())
        if "onnx_sha256" in j:
            j["onnx_sha256"] = hashlib.sha256((d / "model.onnx").read_bytes()).hexdigest()
            j["quantization"] = "int8-dynamic"
            p.write_text(json.dumps(j))
    enc = OnnxEncoder(model=str(d))
    enc.encode(["warm up"])
    run(enc, name)
load = [round(x, 2) for x in os.getloadavg()]
(RESULTS / "onnx_quantisation.json").write_text(
    json.dumps(
        {"load_average": load, "torch_seconds": round(ttorch, 1), "variants": results}, indent=1
    )
    + "\n"
)
lines = [
    "# Dynamic int8 variants of the MiniLM ONNX export",
    "",
    f"`python benchmarks/onnx_quantisation.py`; 400 titles + 200 titles with overviews; "
    f"torch {ttorch:.1f} s; load average {load} (2 shared CPUs).",
    "",
    "| variant | seconds | x torch | cosine titles | cosine overviews | min cosine |",
    "|---|---:|---:|---:|---:|---:|",
]
lines += [
    f"| {k} | {v['seconds']} | {v['x_torch']} | {v['cos_titles']} | {v['cos_long']} | {v['min']} |"
    for k, v in results.items()
]
(RESULTS / "onnx_quantisation.md").write_text("\n".join(lines) + "\n")
shutil.rmtree(root, ignore_errors=True)
