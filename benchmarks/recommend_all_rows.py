"""``recommend --all``: table rows and reasons built one user at a time (the code before issue
12, kept in ``tests/test_scaling.one_user_table``) against ``engine.bulk``, on the same engine.

Demo data (3,000 users, 400 items, hashing encoder, untuned), k = 10. Each path is timed twice:
with the lists already ranked (``precompute`` first: rows and reasons only) and from a fresh
engine (scoring included). Results: benchmarks/results/recommend_all_rows.json and .md, with
the load average (run under ``nice -n 10`` on a shared machine).

usage: python benchmarks/recommend_all_rows.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from interestlens import InterestLens, load_settings, make_demo_dataset  # noqa: E402
from interestlens.engine import RecommendationEngine  # noqa: E402
from interestlens.persist import atomic_write_text, write_json  # noqa: E402
from test_scaling import one_user_table  # noqa: E402


def main() -> None:
    dataset, _ = make_demo_dataset(seed=0, n_items=400, n_users=3000, n_themes=10)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            environ={},
            overrides={
                "encoder.kind": "hashing",
                "encoder.cache_dir": Path(tmp) / "cache",
                "encoder.show_progress": False,
                "recommend.tune": False,
                "cluster.k": 10,
                "cluster.stability_runs": 0,
                "seed": 0,
            },
        )
        directory = InterestLens(settings).fit(dataset).save(Path(tmp) / "model")
        load_before = os.getloadavg()
        results = {}
        for name in ("one user at a time", "arrays (engine.bulk)"):
            for ranked in (True, False):
                engine = RecommendationEngine.load(directory)
                ids = engine.user_ids.to_list()
                if ranked:
                    engine.precompute()
                start = time.perf_counter()
                if name.startswith("arrays"):
                    table, _ = engine.recommend_users(ids, 10)
                else:
                    table = one_user_table(engine, ids, 10)
                seconds = time.perf_counter() - start
                key = f"{name}, {'lists ranked before' if ranked else 'scoring included'}"
                results[key] = {
                    "users": len(ids),
                    "rows": len(table),
                    "seconds": round(seconds, 2),
                    "users_per_second": round(len(ids) / seconds),
                }
    out = {
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "results": results,
    }
    write_json(ROOT / "benchmarks" / "results" / "recommend_all_rows.json", out)
    lines = [
        "# recommend --all: rows and reasons",
        "",
        "`nice -n 10 python benchmarks/recommend_all_rows.py` (demo data, 3,000 users, k = 10; "
        f"load average {out['load_average_before'][0]} → {out['load_average_after'][0]} on 2 "
        "shared cores).",
        "",
        "| path | seconds | users/s |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v['seconds']} | {v['users_per_second']:,} |" for k, v in results.items()]
    atomic_write_text(
        ROOT / "benchmarks" / "results" / "recommend_all_rows.md", "\n".join(lines) + "\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
