"""Spark local mode vs the single-machine path, and a scaling curve of the Spark engine.

usage: python benchmarks/spark_benchmark.py [--cases 100k,300k,1m] [--single 100k]
       [--timeout-s 3000] [--out benchmarks/results/spark]

Synthetic data (seeded): items from the demo generator (at most 10,000 distinct texts; larger
catalogues repeat them as numbered editions), users with one or two interest themes and
``interactions_per_user`` rated, timestamped interactions drawn within their themes. Hashing
encoder (``encoder.dimension`` below; no weights to load, so the cost is the data's, not the
model's). Each engine run is its own subprocess (clean peak-memory figures), with a timeout:
``--single`` names the cases also fitted by the single-machine path in the same run.

Memory: the single-machine process's peak RSS; for Spark, the Python driver's peak RSS and
the driver JVM's peak RSS (VmHWM; in local mode the executors live in that JVM), after each
stage. Results: ``<out>.json`` and ``<out>.md``, with the load average before and after each
case (the machine is shared: figures are upper bounds).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("SPARK_BENCH_DATA", "/tmp/interestlens-spark-bench"))
CASES = {
    "100k": {"n_users": 100_000, "n_items": 10_000},
    "300k": {"n_users": 300_000, "n_items": 20_000},
    "1m": {"n_users": 1_000_000, "n_items": 50_000},
}
INTERACTIONS_PER_USER = 10
DIMENSION = 64
THEMES = 10


#: ``SPARK_BENCH_ENCODER=minilm`` runs the cases with the packaged MiniLM (torch backend, no
#: embedding cache, so both paths encode every text) instead of the hashing encoder
ENCODER = os.environ.get("SPARK_BENCH_ENCODER", "hashing")
COMMAND = (
    "SPARK_BENCH_ENCODER=minilm python benchmarks/spark_benchmark.py --cases 100k --single 100k "
    "--out benchmarks/results/spark-minilm"
    if ENCODER == "minilm"
    else "nice -n 10 python benchmarks/spark_benchmark.py"
)
ENCODER_TEXT = (
    "MiniLM (torch, no embedding cache: both paths encode all 10,000 item texts)"
    if ENCODER == "minilm"
    else f"hashing encoder, {DIMENSION} dimensions"
)


def settings_overrides(n_users: int) -> dict:
    encoder = (
        {"kind": "minilm", "cache": False}
        if ENCODER == "minilm"
        else {"kind": "hashing", "dimension": DIMENSION, "cache": False}
    )
    return {
        "encoder": encoder,
        "cluster": {"k_min": 2, "k_max": 12, "stability_runs": 0},
        "recommend": {"tune": False},
        "spark": {
            "master": "local[2]",
            "shuffle_partitions": 8 if n_users <= 300_000 else 16,
            "driver_memory": "8g",
            "als_iterations": 5,
            "als_rank": 32,
        },
    }


# --- data ------------------------------------------------------------------------------------


def make_data(name: str, n_users: int, n_items: int, seed: int = 0) -> Path:
    from interestlens.data.synthetic import make_demo_dataset

    folder = DATA_ROOT / name
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    base, _ = make_demo_dataset(seed=seed, n_items=min(n_items, 10_000), n_users=30)
    items = base.items
    copies = []
    for edition in range(int(np.ceil(n_items / len(items)))):
        copy = items.copy()
        if edition:
            copy["item_id"] = copy["item_id"] + f"-e{edition}"
            copy["title"] = copy["title"] + f" (edition {edition + 1})"
        copies.append(copy)
    items = pd.concat(copies, ignore_index=True).iloc[:n_items]
    items.to_parquet(folder / "items.parquet", index=False)

    rng = np.random.default_rng(seed)
    theme_of = pd.factorize(items["category"])[0] % THEMES
    by_theme = [np.flatnonzero(theme_of == t) for t in range(THEMES)]
    popularity = [rng.zipf(1.3, len(b)).astype(float) for b in by_theme]
    popularity = [p / p.sum() for p in popularity]
    chunk = 200_000
    parts = []
    for start in range(0, n_users, chunk):
        users = np.arange(start, min(start + chunk, n_users))
        first = rng.integers(0, THEMES, len(users))
        second = rng.integers(0, THEMES, len(users))
        counts = np.clip(rng.poisson(INTERACTIONS_PER_USER, len(users)), 1, None)
        user_col = np.repeat(users, counts)
        in_second = rng.random(len(user_col)) < 0.3
        theme = np.where(in_second, np.repeat(second, counts), np.repeat(first, counts))
        item_col = np.empty(len(user_col), dtype=np.int64)
        for t in range(THEMES):
            rows = np.flatnonzero(theme == t)
            item_col[rows] = rng.choice(by_theme[t], len(rows), p=popularity[t])
        parts.append(
            pd.DataFrame(
                {
                    "user_id": np.char.add("u", user_col.astype(str)),
                    "item_id": items["item_id"].to_numpy()[item_col],
                    "rating": rng.integers(1, 6, len(user_col)).astype(float),
                    "timestamp": 1.6e9 + rng.integers(0, 3e7, len(user_col)).astype(float),
                }
            ).drop_duplicates(["user_id", "item_id"])
        )
    interactions = pd.concat(parts, ignore_index=True)
    interactions.to_parquet(folder / "interactions.parquet", index=False)
    (folder / "done").write_text(str(len(interactions)))
    return folder


# --- one engine run (subprocess) -------------------------------------------------------------


def jvm_peak_mb() -> float | None:
    """Peak RSS (VmHWM) of the Spark JVM child of this process, MiB."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if f"PPid:\t{os.getpid()}\n" in status and b"java" in cmdline:
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    return None


def run_single(folder: Path, n_users: int, out: Path) -> None:
    from interestlens.config import Settings
    from interestlens.data.io import load_dataset
    from interestlens.pipeline import InterestLens

    started = time.perf_counter()
    settings = Settings(**settings_overrides(n_users))
    # above recommend.ease_max_items (10 k) the recommender's collaborative part is item-item
    # cosine, so the single path fits its recommender at 1 M users too (EASE's 50 k x 50 k
    # inverse, 10 GB, stopped it before)
    dataset = load_dataset(folder / "interactions.parquet", folder / "items.parquet")
    read = time.perf_counter() - started
    model = InterestLens(settings).fit(dataset)
    model.save(out / "single-model")
    seconds = {"read": round(read, 2), **{k: round(v, 2) for k, v in model.report_.seconds.items()}}
    seconds["total"] = round(time.perf_counter() - started, 2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    labels = dict(zip(model.user_ids_.ids, model.clusters_.user_labels.tolist(), strict=True))
    (out / "single.json").write_text(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": round(peak, 1),
                "k": model.clusters_.result.n_clusters,
                "recommender": settings.recommend.enabled,
            }
        )
    )
    pd.DataFrame({"user_id": list(labels), "cluster": list(labels.values())}).to_parquet(
        out / "single-labels.parquet"
    )


def run_spark(folder: Path, n_users: int, out: Path) -> None:
    from interestlens.config import Settings
    from interestlens.spark.frames import read_data
    from interestlens.spark.job import fit_spark
    from interestlens.spark.session import spark_session

    started = time.perf_counter()
    settings = Settings(**settings_overrides(n_users))
    spark = spark_session(settings.spark)
    spark.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - started
    data = read_data(
        spark,
        settings.data,
        interactions=folder / "interactions.parquet",
        items=folder / "items.parquet",
    )
    result = fit_spark(spark, data, settings, out / "spark-model")
    jvm_peak = jvm_peak_mb()
    total = time.perf_counter() - started
    model = pd.read_json(out / "spark-model" / "user_ids.json", typ="series")
    labels = np.load(out / "spark-model" / "user_clusters.npy")
    pd.DataFrame({"user_id": model.astype(str), "cluster": labels}).to_parquet(
        out / "spark-labels.parquet"
    )
    (out / "spark.json").write_text(
        json.dumps(
            {
                "seconds": {
                    "session": round(session_s, 2),
                    **result.seconds,
                    "total": round(total, 2),
                },
                "driver_peak_rss_mb": result.driver_peak_mb,
                "jvm_peak_rss_mb": None if jvm_peak is None else round(jvm_peak, 1),
                "k": result.n_clusters,
                "n_users": result.n_users,
                "n_items": result.n_items,
                "sample_size": result.sample_size,
            }
        )
    )
    spark.stop()


# --- orchestration ---------------------------------------------------------------------------


def run_case(name: str, engines: list[str], timeout_s: int) -> dict:
    spec = CASES[name]
    record: dict = {"case": name, **spec, "loadavg_before": os.getloadavg()}
    started = time.perf_counter()
    folder = make_data(name, **spec)
    record["data_seconds"] = round(time.perf_counter() - started, 1)
    record["interactions"] = int((folder / "done").read_text())
    out = DATA_ROOT / f"{name}-run"
    out.mkdir(parents=True, exist_ok=True)
    for engine in engines:
        command = [sys.executable, __file__, "--run", engine, "--case", name, "--dir", str(out)]
        begun = time.perf_counter()
        try:
            done = subprocess.run(command, timeout=timeout_s, capture_output=True, text=True)
            ok = done.returncode == 0
            note = "" if ok else done.stderr[-2000:]
        except subprocess.TimeoutExpired:
            ok, note = False, f"did not finish within {timeout_s} s"
        record[engine] = (
            json.loads((out / f"{engine}.json").read_text())
            if ok
            else {"failed": note, "wall_s": round(time.perf_counter() - begun, 1)}
        )
        record[f"loadavg_after_{engine}"] = os.getloadavg()
    compared = [record.get(engine, {"failed": "not run"}) for engine in ("single", "spark")]
    if not any("failed" in result for result in compared):
        from sklearn.metrics import adjusted_rand_score

        a = pd.read_parquet(out / "single-labels.parquet")
        b = pd.read_parquet(out / "spark-labels.parquet")
        both = a.merge(b, on="user_id", suffixes=("_single", "_spark"))
        record["ari_single_vs_spark"] = round(
            float(adjusted_rand_score(both["cluster_single"], both["cluster_spark"])), 4
        )
    return record


def write_markdown(records: list[dict], path: Path) -> None:
    lines = [
        "# Spark engine benchmark (local[2]) vs the single-machine path",
        "",
        f"Command: `{COMMAND}` · {ENCODER_TEXT} · Poisson({INTERACTIONS_PER_USER}) draws "
        "per user from "
        "Zipf-skewed item popularity, repeated (user, item) pairs removed (about 3 distinct "
        "items per user remain) · shared 2-core machine: load averages are recorded per case, "
        "figures are upper bounds. Spark `session` is the JVM start; the single-machine "
        "`cluster_explain` includes the k scan on all users, Spark's `cluster` scans a sample.",
        "",
    ]
    for record in records:
        lines += [
            f"## {record['case']}: {record['n_users']:,} users × {record['n_items']:,} items, "
            f"{record['interactions']:,} interactions",
            "",
            f"Load average before: {', '.join(f'{x:.1f}' for x in record['loadavg_before'])}",
            "",
        ]
        for engine in ("single", "spark"):
            if engine not in record:
                continue
            result = record[engine]
            if "failed" in result:
                lines += [f"**{engine}**: did not complete — {result['failed'][-300:]}", ""]
                continue
            lines += [f"**{engine}** (k = {result['k']})", "", "| stage | seconds | peak MiB |"]
            lines += ["|---|---:|---:|"]
            peaks = result.get("driver_peak_rss_mb", {})
            for stage, seconds in result["seconds"].items():
                peak = peaks.get(stage, result.get("peak_rss_mb") if stage == "total" else "")
                lines.append(f"| {stage} | {seconds} | {peak} |")
            if "jvm_peak_rss_mb" in result:
                lines.append(f"| driver JVM (executors inside) | | {result['jvm_peak_rss_mb']} |")
            lines.append("")
        if "ari_single_vs_spark" in record:
            lines += [f"ARI single vs Spark clusters: {record['ari_single_vs_spark']}", ""]
    path.write_text("\n".join(lines) + "\n")


def write_plot(records: list[dict], path: Path) -> None:
    """Seconds per stage against users (Spark), and driver / JVM peak memory: an HTML plot."""
    from plotly.subplots import make_subplots

    done = [r for r in records if "failed" not in r.get("spark", {"failed": ""})]
    if not done:
        return
    users = [r["n_users"] for r in done]
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("Spark local[2]: seconds per stage", "peak memory, MiB")
    )
    for stage in done[-1]["spark"]["seconds"]:
        if stage == "total":
            continue
        figure.add_bar(
            x=users, y=[r["spark"]["seconds"].get(stage, 0) for r in done], name=stage, row=1, col=1
        )
    figure.add_scatter(
        x=users,
        y=[max(r["spark"]["driver_peak_rss_mb"].values()) for r in done],
        name="Python driver",
        row=1,
        col=2,
    )
    figure.add_scatter(
        x=users, y=[r["spark"]["jvm_peak_rss_mb"] for r in done], name="driver JVM", row=1, col=2
    )
    figure.update_layout(barmode="stack", xaxis_title="users", xaxis2_title="users")
    figure.write_html(path, include_plotlyjs="cdn")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default="100k,300k,1m")
    parser.add_argument("--single", default="100k")
    parser.add_argument("--timeout-s", type=int, default=3000)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "spark"))
    parser.add_argument("--run")
    parser.add_argument("--case")
    parser.add_argument("--dir")
    parser.add_argument("--markdown-only", action="store_true")
    args = parser.parse_args()
    if args.markdown_only:
        out = Path(args.out)
        cases = json.loads(out.with_suffix(".json").read_text())["cases"]
        write_markdown(cases, out.with_suffix(".md"))
        write_plot(cases, out.with_suffix(".html"))
        return
    if args.run:
        spec = CASES[args.case]
        folder = DATA_ROOT / args.case
        runner = run_single if args.run == "single" else run_spark
        runner(folder, spec["n_users"], Path(args.dir))
        return
    out = Path(args.out)
    records = []
    previous = out.with_suffix(".json")
    if previous.exists():  # cases run earlier keep their results; a case run again replaces
        records = [r for r in json.loads(previous.read_text())["cases"]]
    for name in args.cases.split(","):
        engines = ["single", "spark"] if name in args.single.split(",") else ["spark"]
        record = run_case(name, engines, args.timeout_s)
        records = [r for r in records if r["case"] != name] + [record]
        records.sort(key=lambda r: r["n_users"])
        out.with_suffix(".json").write_text(
            json.dumps({"machine": "2 shared cores, 24 GiB", "cases": records}, indent=2)
        )
        write_markdown(records, out.with_suffix(".md"))
        print(json.dumps(record)[:2000], flush=True)


if __name__ == "__main__":
    main()
