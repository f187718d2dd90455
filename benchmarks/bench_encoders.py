"""Encoder throughput on MovieLens item texts, and what the embedding cache saves.

Measures, on ``ml-latest-small/movies.csv`` (text: "title. genres"):

* the default all-MiniLM-L6-v2 encoder's throughput (texts/s), after one warm-up batch;
* the same texts through :class:`CachedEncoder` with an empty cache (cold), again (warm), and
  again from a reopened cache file (warm after restart);
* the weight-free hashing encoder, for scale;
* with the TMDB overview joined through ``links.csv`` ("title. genres. overview", 3537 movies),
  the MiniLM throughput on longer texts and how many it truncates at 256 tokens.

Writes ``benchmarks/results/encoders.json`` and ``encoders.md``. The CPU is shared with other
work, so the load average before and after each run is recorded next to the figures.

    .venv/bin/python benchmarks/bench_encoders.py            # all 9742 movies
    .venv/bin/python benchmarks/bench_encoders.py --limit 500 --threads 1
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from interestlens.embed import CachedEncoder, EmbeddingCache, HashingEncoder
from interestlens.embed.sentence import SentenceTransformerEncoder
from interestlens.embed.tokens import text_report
from interestlens.persist import atomic_write_text, write_json
from interestlens.text import build_texts

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"


def load_texts(limit: int | None) -> tuple[list[str], list[str]]:
    """Short texts for every movie, and long texts for the movies with a TMDB overview."""
    movies = pd.read_csv(DATA / "ml-latest-small" / "movies.csv")
    if limit is not None:
        movies = movies.head(limit)
    short = build_texts(movies, id_col="movieId", template="{title}. {genres}")

    links = pd.read_csv(DATA / "ml-latest-small" / "links.csv", dtype={"tmdbId": "Int64"})
    tmdb = pd.read_csv(
        DATA / "tmdb-5000-movies" / "tmdb_5000_movies.csv.gz", usecols=["id", "overview"]
    )
    joined = (
        movies.merge(links[["movieId", "tmdbId"]], on="movieId")
        .merge(tmdb, left_on="tmdbId", right_on="id")
        .dropna(subset=["overview"])
    )
    long = build_texts(
        joined[["movieId", "title", "genres", "overview"]],
        id_col="movieId",
        template="{title}. {genres}. {overview}",
    )
    return short, long


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def run(limit: int | None, batch_size: int) -> dict[str, Any]:
    import torch

    short, long = load_texts(limit)
    report: dict[str, Any] = {
        "dataset": "ml-latest-small movies.csv (+ tmdb_5000 overview via links.csv)",
        "n_short_texts": len(short),
        "n_long_texts": len(long),
        "batch_size": batch_size,
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "load_average_start": load_average(),
    }

    encoder = SentenceTransformerEncoder(batch_size=batch_size)
    load_s, _ = timed(lambda: encoder.dimension)
    encoder.encode(short[:batch_size])  # warm-up: first batches pay one-off allocation costs
    report["minilm"] = {"identifier": encoder.identifier, "load_s": round(load_s, 2)}

    encode_s, direct = timed(lambda: encoder.encode(short))
    report["minilm"]["short"] = {
        "seconds": round(encode_s, 2),
        "texts_per_s": round(len(short) / encode_s, 1),
        "tokens": text_report(short, encoder).to_dict(),
    }
    report["load_average_after_short"] = load_average()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "embeddings.sqlite"
        with EmbeddingCache(path) as cache:
            cached = CachedEncoder(encoder, cache)
            cold_s, cold = timed(lambda: cached.encode(short))
            warm_s, warm = timed(lambda: cached.encode(short))
        with EmbeddingCache(path) as reopened:
            restart_s, restarted = timed(lambda: CachedEncoder(encoder, reopened).encode(short))
        size = path.stat().st_size + sum(p.stat().st_size for p in Path(folder).glob("*-wal"))
        assert np.array_equal(warm, cold) and np.array_equal(restarted, cold)
        report["cache"] = {
            "cold_s": round(cold_s, 3),
            "warm_s": round(warm_s, 3),
            "warm_after_reopen_s": round(restart_s, 3),
            "speedup_warm": round(cold_s / warm_s, 1),
            "speedup_after_reopen": round(cold_s / restart_s, 1),
            "warm_texts_per_s": round(len(short) / warm_s, 1),
            "file_bytes": size,
            "max_abs_diff_vs_direct": float(np.abs(cold - direct).max()),
        }

    hashing = HashingEncoder()
    hashing.encode(short[:batch_size])
    hashing_s, _ = timed(lambda: hashing.encode(short))
    report["hashing"] = {
        "seconds": round(hashing_s, 3),
        "texts_per_s": round(len(short) / hashing_s, 1),
    }

    if long:
        long_s, _ = timed(lambda: encoder.encode(long))
        report["minilm"]["long"] = {
            "seconds": round(long_s, 2),
            "texts_per_s": round(len(long) / long_s, 1),
            "tokens": text_report(long, encoder).to_dict(),
        }
    report["load_average_end"] = load_average()
    return report


def markdown(report: dict[str, Any]) -> str:
    minilm, cache = report["minilm"], report["cache"]
    rows = [
        ("MiniLM, title + genres", report["n_short_texts"], minilm["short"]),
        ("hashing, title + genres", report["n_short_texts"], report["hashing"]),
    ]
    if "long" in minilm:
        rows.insert(1, ("MiniLM, + TMDB overview", report["n_long_texts"], minilm["long"]))
    lines = [
        "# Encoder benchmark",
        "",
        "| encoder, texts | n | seconds | texts/s |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {n} | {r['seconds']} | {r['texts_per_s']} |" for name, n, r in rows),
        "",
        "| cached MiniLM, title + genres | seconds |",
        "|---|---:|",
        f"| cold (empty cache) | {cache['cold_s']} |",
        f"| warm (same process) | {cache['warm_s']} ({cache['speedup_warm']}x faster) |",
        f"| warm after reopening the file | {cache['warm_after_reopen_s']} "
        f"({cache['speedup_after_reopen']}x faster) |",
        "",
        f"Model load {minilm['load_s']} s; batch size {report['batch_size']}; "
        f"{report['machine']['cpu_count']} CPUs, torch threads "
        f"{report['machine']['torch_threads']}; load average (1, 5, 15 min) at start "
        f"{report['load_average_start']}, at end {report['load_average_end']} "
        "(the CPUs are shared with other work).",
    ]
    if "long" in minilm:
        tokens = minilm["long"]["tokens"]
        lines.append(
            f"Overview texts: median {tokens['tokens_median']:.0f} tokens, "
            f"{tokens['n_truncated']} of {tokens['n_texts']} longer than "
            f"{tokens['max_tokens']} and truncated."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="first N movies only")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice); on a CPU shared with other work, "
        "1 thread can beat 2",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "encoders.json")
    args = parser.parse_args()
    if not (DATA / "ml-latest-small" / "movies.csv").exists():
        parser.exit(2, f"needs {DATA} (MovieLens ml-latest-small and tmdb-5000-movies)\n")
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    report = run(args.limit, args.batch_size)
    write_json(args.out, report)
    summary = markdown(report)
    atomic_write_text(args.out.with_suffix(".md"), summary)
    print(summary)


if __name__ == "__main__":
    main()
