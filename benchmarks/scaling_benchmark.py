"""How ``interestlens fit`` and ``recommend --all`` scale: wall time and peak memory per stage.

Synthetic data (:func:`interestlens.data.synthetic.scale.scaling_dataset`: about 20
interactions per user, Zipf popularity, 50 groups, timestamps), hashing encoder, the default
settings of ``interestlens fit`` (tuning included). Each size runs in its own process (under
``nice -n 10``), so peak memory is that size's alone; a sampler thread reads the resident set
(``/proc/self/status`` VmRSS) every 0.2 s and each stage gets the peak seen while it ran
(``resource`` gives the process peak). Stages: data generation, the pipeline's own stages
(``report.seconds``: index, texts, embed, represent, cluster_explain, recommender), within the
recommender the tuning of each regime and every collaborative fit, then save (directory size,
user text arrays), loading the engine and ``recommend_users`` with reasons (what
``interestlens recommend --all`` runs) for every user, or a seeded sample of
:data:`RECOMMEND_SAMPLE` users where there are more (its users/s is the figure reported).

Where the catalogue is small enough (``--compare-max-items``) the collaborative models are
also compared alone, as ``fit`` saves them: EASE (l2=250, pruned to ``recommend.ease_neighbours``
weights per item) against item cosine (``recommend.cosine_neighbours`` neighbours), each user's
last interaction held out, NDCG@10 on up to 5,000 users.

``--before SRC``: also run ``recommend --all`` and the model size on ``--before-size`` with the
package in ``SRC`` (e.g. the main branch's ``src``), to compare with this tree.

usage: python benchmarks/scaling_benchmark.py [--sizes 100000x10000 300000x30000 1000000x100000]
       [--before /work/main/src --before-size 20000x2000]
Results are merged into benchmarks/results/scaling.json (by size) and scaling.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
GENERATOR = ROOT / "src" / "interestlens" / "data" / "synthetic" / "scale.py"
DEFAULT_SIZES = ("100000x10000", "300000x30000", "1000000x100000")
#: users whose recommendations are timed (a seeded sample where there are more)
RECOMMEND_SAMPLE = 20_000
GIB = 1024**3


# --- measuring ---------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class RssSampler:
    def __init__(self, interval: float = 0.2):
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), rss_bytes()))
            self._stop.wait(interval)

    def peak(self, start: float, stop: float) -> int:
        inside = [rss for when, rss in self.samples if start <= when <= stop]
        return max(inside, default=rss_bytes())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class Stages:
    def __init__(self, sampler: RssSampler):
        self.sampler = sampler
        self.rows: list[dict[str, Any]] = []

    def add(self, name: str, start: float, stop: float, **extra: Any) -> None:
        row = {
            "stage": name,
            "seconds": round(stop - start, 2),
            "peak_rss_gib": round(self.sampler.peak(start, stop) / GIB, 2),
            **extra,
        }
        self.rows.append(row)
        # each stage as it ends, so that a run stopped early still tells how far it got
        progress = os.environ.get("SCALING_PROGRESS")
        if progress:
            with open(progress, "a") as handle:
                handle.write(json.dumps({**row, "at": time.strftime("%H:%M:%S")}) + "\n")


def load_generator(name: str = "scaling_dataset"):
    # by file path: the --before run imports another tree's interestlens, which may lack it
    spec = importlib.util.spec_from_file_location("scale_data", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return getattr(module, name)


def directory_bytes(path: Path) -> dict[str, int]:
    return {
        p.relative_to(path).as_posix(): p.stat().st_size for p in path.rglob("*") if p.is_file()
    }


def parse_size(text: str) -> tuple[int, int]:
    users, items = text.lower().split("x")
    return int(users), int(items)


# --- one size, in its own process --------------------------------------------------------------


def instrument(stages: Stages) -> None:
    """Time the recommender's tuning per regime and every collaborative fit (wrapping the
    functions the recommender calls; nothing else changes)."""
    from interestlens import pipeline
    from interestlens.recommend.interest import components as core_module
    from interestlens.recommend.interest import recommender as model_module

    for name in ("embed_texts", "cluster_interests"):
        original = getattr(pipeline, name)

        def timed(*args, _original=original, _name=name, **kwargs):
            start = time.perf_counter()
            out = _original(*args, **kwargs)
            stages.add(f"pipeline: {_name}", start, time.perf_counter())
            return out

        setattr(pipeline, name, timed)

    if hasattr(core_module, "fit_collaborative"):
        original_fit = core_module.fit_collaborative

        def timed_fit(binary, **kwargs):
            start = time.perf_counter()
            fitted = original_fit(binary, **kwargs)
            stages.add(
                "recommender: collaborative fit",
                start,
                time.perf_counter(),
                model=type(fitted).__name__,
                active_items=int((binary.getnnz(axis=0) > 0).sum()),
            )
            return fitted

        core_module.fit_collaborative = timed_fit
    original_tune = model_module.tune_regime

    def timed_tune(regime, *args, **kwargs):
        start = time.perf_counter()
        record = original_tune(regime, *args, **kwargs)
        stages.add(f"recommender: tune {regime}", start, time.perf_counter())
        return record

    model_module.tune_regime = timed_tune


def compare_collaborative(
    n_users: int, n_items: int, max_ease_items: int, stages: Stages | None = None
) -> dict[str, Any]:
    """EASE (where ``n_items <= max_ease_items``) and item cosine alone on the same data."""
    import numpy as np
    import scipy.sparse as sp

    from interestlens.config import RecommendConfig
    from interestlens.evaluate.metrics import ndcg_at_k
    from interestlens.recommend import EASE
    from interestlens.recommend.item_cosine import ItemCosine

    defaults = RecommendConfig()
    kept, neighbours = defaults.ease_neighbours, defaults.cosine_neighbours

    users, items, _, _ = load_generator("scaling_interactions")(n_users, n_items, seed=0)
    last = np.r_[users[1:] != users[:-1], True]  # rows are in time order per user
    shape = (n_users, n_items)
    ones = np.ones(len(users), dtype=np.float32)
    train = sp.csr_matrix((ones[~last], (users[~last], items[~last])), shape=shape)
    test = sp.csr_matrix((ones[last], (users[last], items[last])), shape=shape)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n_users, size=min(5000, n_users), replace=False))
    out: dict[str, Any] = {"users": len(sample), "holdout": "last interaction per user"}
    models = [
        (f"item cosine ({neighbours} neighbours)", lambda: ItemCosine(n_neighbours=neighbours))
    ]
    if n_items <= max_ease_items:
        models.insert(0, (f"EASE (l2=250, {kept} weights per item)", lambda: EASE(l2=250.0)))
    for name, make in models:
        start = time.perf_counter()
        model = make().fit(train)
        if isinstance(model, EASE) and kept:
            model.prune(kept)
        seconds = time.perf_counter() - start
        # 500 users at a time: 5,000 × 100k dense scores and their sort indices took 12 GB
        ranked = np.vstack(
            [model.recommend(sample[i : i + 500], 10)[0] for i in range(0, len(sample), 500)]
        )
        ndcg = float(np.nanmean(ndcg_at_k(ranked, test[sample], 10)))
        out[name] = {"ndcg@10": round(ndcg, 4), "fit_seconds": round(seconds, 1)}
        if stages is not None:
            stages.add(
                f"{n_users}x{n_items}: {name}", start, start + seconds, ndcg_at_10=round(ndcg, 4)
            )
        del model
    return out


def run_one(size: str, compare_max_items: int, what: str) -> dict[str, Any]:
    n_users, n_items = parse_size(size)
    sampler = RssSampler()
    stages = Stages(sampler)
    result: dict[str, Any] = {"size": size, "users": n_users, "items": n_items}

    import interestlens  # noqa: F401  (its import time is not the generator's)

    start = time.perf_counter()
    dataset = load_generator()(n_users, n_items, seed=0)
    stages.add("generate data", start, time.perf_counter())
    result["interactions"] = len(dataset.interactions)

    import numpy as np

    from interestlens.config import Settings
    from interestlens.engine import RecommendationEngine
    from interestlens.pipeline import InterestLens

    settings = Settings(encoder={"kind": "hashing", "cache": False, "show_progress": False})
    instrument(stages)
    start = time.perf_counter()
    model = InterestLens(settings).fit(dataset)
    fit_seconds = time.perf_counter() - start
    cursor = start
    for name, seconds in model.report_.seconds.items():
        stages.add(f"fit: {name}", cursor, cursor + seconds)
        cursor += seconds
    stages.add("fit (total)", start, start + fit_seconds)
    collaborative = model.recommender_.core_.ease
    result["collaborative_model"] = type(collaborative).__name__ if collaborative else None

    with tempfile.TemporaryDirectory(dir=os.environ.get("SCALING_TMP")) as tmp:
        directory = Path(tmp) / "model"
        start = time.perf_counter()
        model.save(directory)
        stages.add("save", start, time.perf_counter())
        files = directory_bytes(directory)
        result["model_dir_mib"] = round(sum(files.values()) / 2**20, 1)
        result["user_text_files_mib"] = round(
            sum(size for name, size in files.items() if "user_text" in name) / 2**20, 1
        )
        del model
        start = time.perf_counter()
        engine = RecommendationEngine.load(directory)
        stages.add("load engine", start, time.perf_counter())
        ids = engine.user_ids.to_list()
        if what == "full" and len(ids) > RECOMMEND_SAMPLE:
            # scoring is users × items × dimensions of dense work: a million users at 100k
            # items would take an hour here, so users/s is measured on a seeded sample
            picked = np.random.default_rng(0).choice(len(ids), RECOMMEND_SAMPLE, replace=False)
            ids = [ids[i] for i in np.sort(picked)]
        start = time.perf_counter()
        table, _ = engine.recommend_users(ids, 10)
        seconds = time.perf_counter() - start
        stages.add("recommend --all (k=10, reasons)", start, time.perf_counter())
        result["recommend_all"] = {
            "users": len(ids),
            "rows": len(table),
            "seconds": round(seconds, 1),
            "users_per_second": round(len(ids) / seconds),
        }
        del engine, table
    if what == "full" and n_items <= compare_max_items:
        del dataset
        start = time.perf_counter()
        result["collaborative_comparison"] = compare_collaborative(
            n_users, n_items, compare_max_items
        )
        stages.add("compare EASE vs item cosine", start, time.perf_counter())
    sampler.close()
    result["stages"] = stages.rows
    result["fit_seconds"] = round(fit_seconds, 1)
    result["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return result


# --- the parent: one process per size, results merged ------------------------------------------


def spawn(size: str, src: Path, what: str, compare_max_items: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [
        "nice", "-n", "10", sys.executable, __file__, "--worker", size, "--what", what,
        "--compare-max-items", str(compare_max_items), "--out", str(out),
    ]  # fmt: skip
    load_before = os.getloadavg()
    started = time.perf_counter()
    finished = subprocess.run(command, env=env, check=False)
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        return {
            "size": size,
            "error": f"worker exited with {finished.returncode}",
            "wall_seconds": round(wall, 1),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
    result = json.loads(out.read_text())
    out.unlink()
    result["source"] = str(src)
    result["wall_seconds"] = round(wall, 1)
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Scaling benchmark",
        "",
        "`python benchmarks/scaling_benchmark.py` — synthetic data with about 20 interactions per",
        "user (Zipf popularity, 50 groups, timestamps), hashing encoder, the default settings of",
        "`interestlens fit` (tuning included), one process per size under `nice -n 10`. The",
        "machine (2 cores, 24 GiB) was shared with other workers: the load average is given per",
        "size. Peak memory: resident set, sampled every 0.2 s.",
        "",
        f"Machine: {results['machine']}",
        "",
        "| users × items | interactions | fit | peak RSS | collaborative | recommend --all | "
        "model dir | user text files | load avg (1 min, before → after) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size, row in results["sizes"].items():
        if "error" in row:
            lines.append(
                f"| {size} | | {row['error']} after {row['wall_seconds']} s | | | | | | "
                f"{row['load_average_before'][0]} → {row['load_average_after'][0]} |"
            )
            continue
        rec = row["recommend_all"]
        lines.append(
            f"| {row['users']:,} × {row['items']:,} | {row['interactions']:,} | "
            f"{row['fit_seconds']:.0f} s | {row['peak_rss_gib']} GiB | "
            f"{row['collaborative_model']} | {rec['users_per_second']:,} users/s | "
            f"{row['model_dir_mib']} MiB | "
            f"{row['user_text_files_mib']} MiB | {row['load_average_before'][0]} → "
            f"{row['load_average_after'][0]} |"
        )
    for size, row in results["sizes"].items():
        if "stages" not in row:
            continue
        lines += ["", f"## {size}: stages", "", "| stage | seconds | peak RSS (GiB) | note |",
                  "|---|---|---|---|"]  # fmt: skip
        for stage in row["stages"]:
            note = ", ".join(
                f"{k}={v}"
                for k, v in stage.items()
                if k not in ("stage", "seconds", "peak_rss_gib")
            )
            lines.append(
                f"| {stage['stage']} | {stage['seconds']} | {stage['peak_rss_gib']} | {note} |"
            )
        comparison = row.get("collaborative_comparison")
        if comparison:
            lines += ["", f"Collaborative models alone ({comparison['holdout']}, "
                      f"{comparison['users']} users):", "", "| model | NDCG@10 | fit (s) |",
                      "|---|---|---|"]  # fmt: skip
            for name, values in comparison.items():
                if isinstance(values, dict):
                    lines.append(f"| {name} | {values['ndcg@10']} | {values['fit_seconds']} |")
    before = results.get("before_after")
    if before:
        lines += ["", "## recommend --all and model size, before / after", "",
                  "| tree | size | recommend --all | model dir | user text files |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for label, row in before.items():
            if "error" in row:
                lines.append(f"| {label} | {row['size']} | {row['error']} | | |")
                continue
            lines.append(
                f"| {label} ({row['source']}) | {row['size']} | "
                f"{row['recommend_all']['users_per_second']:,} users/s | "
                f"{row['model_dir_mib']} MiB | {row['user_text_files_mib']} MiB |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=list(DEFAULT_SIZES))
    parser.add_argument("--compare-max-items", type=int, default=10_000)
    parser.add_argument("--before", type=Path, default=None)
    parser.add_argument("--before-size", default="20000x2000")
    parser.add_argument("--name", default="scaling", help="results file name (without suffix)")
    parser.add_argument(
        "--components",
        action="store_true",
        help="only the collaborative models alone (EASE up to --compare-max-items, item cosine)",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--what", default="full", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.components:
        from interestlens.persist import atomic_write_text, write_json

        sampler = RssSampler()
        stages = Stages(sampler)
        out: dict[str, Any] = {"load_average_before": list(os.getloadavg()), "sizes": {}}
        for size in args.sizes:
            n_users, n_items = parse_size(size)
            out["sizes"][size] = compare_collaborative(
                n_users, n_items, args.compare_max_items, stages
            )
            out["stages"] = stages.rows
            out["load_average_after"] = list(os.getloadavg())
            write_json(RESULTS / f"{args.name}.json", out)
        sampler.close()
        lines = ["# Collaborative models alone", "", "`python benchmarks/scaling_benchmark.py "
                 "--components` (same synthetic data, last interaction per user held out, "
                 "NDCG@10 on 5,000 users; under nice -n 10 on the shared 2-core machine, load "
                 f"average {out['load_average_before'][0]:.1f} → "
                 f"{out['load_average_after'][0]:.1f}).",
                 "", "| users × items: model | fit (s) | peak RSS (GiB) | NDCG@10 |",
                 "|---|---|---|---|"]  # fmt: skip
        for row in stages.rows:
            lines.append(
                f"| {row['stage']} | {row['seconds']} | {row['peak_rss_gib']} | "
                f"{row.get('ndcg_at_10', '')} |"
            )
        atomic_write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")
        return
    if args.worker:
        result = run_one(args.worker, args.compare_max_items, args.what)
        args.out.write_text(json.dumps(result, indent=2))
        return

    from interestlens.persist import atomic_write_text, write_json

    path = RESULTS / f"{args.name}.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    results.setdefault("sizes", {})
    results["machine"] = f"{platform.platform()}, {os.cpu_count()} CPUs"
    own_src = ROOT / "src"
    for size in args.sizes:
        print(f"--- {size}", flush=True)
        results["sizes"][size] = spawn(size, own_src, "full", args.compare_max_items)
        write_json(path, results)
        atomic_write_text(RESULTS / f"{args.name}.md", markdown(results))
    if args.before is not None:
        results["before_after"] = {
            "before": spawn(args.before_size, args.before.resolve(), "recommend", 0),
            "after": spawn(args.before_size, own_src, "recommend", 0),
        }
    write_json(path, results)
    atomic_write_text(RESULTS / f"{args.name}.md", markdown(results))
    print((RESULTS / f"{args.name}.md").read_text())


if __name__ == "__main__":
    shutil.which("nice") or sys.exit("needs nice")
    main()
