"""Stable cluster ids when nothing changed: fit the demo, fit it again from the same data in
another row order (k-means then numbers its clusters differently) with ``previous`` = the first
fit, and count the users who kept their id. Also the drifting demo's mid-year refit.

    nice -n 10 python benchmarks/identity_stability.py [--encoder minilm|hashing]

Writes benchmarks/results/identity_stability.json and .md (with the load average: the machine
is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from interestlens import InterestLens, load_settings, make_demo_dataset
from interestlens.data.schema import Dataset
from interestlens.data.synthetic.drift import make_drifting_dataset, split_by_time

RESULTS = Path(__file__).parent / "results"


def reordered(dataset: Dataset, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    users = dataset.users
    return Dataset(
        interactions=dataset.interactions.sample(frac=1.0, random_state=seed).reset_index(
            drop=True
        ),
        items=dataset.items,
        users=None
        if users is None
        else users.iloc[rng.permutation(len(users))].reset_index(drop=True),
        name=dataset.name,
    )


def kept_share(first: InterestLens, second: InterestLens) -> float:
    before = dict(zip(first.user_ids_.ids, first.clusters_.user_labels, strict=True))
    after = dict(zip(second.user_ids_.ids, second.clusters_.user_labels, strict=True))
    shared = [u for u in before if u in after and before[u] >= 0 and after[u] >= 0]
    return float(np.mean([before[u] == after[u] for u in shared]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="minilm")
    args = parser.parse_args()
    settings = load_settings(
        environ={},
        overrides={
            "encoder.kind": args.encoder,
            "encoder.show_progress": False,
            "recommend.enabled": False,
            "cluster.stability_runs": 0,
        },
    )
    rows = []
    for name, (dataset, _) in (
        ("demo", make_demo_dataset(seed=0)),
        ("drifting demo, whole year", make_drifting_dataset(seed=0)),
    ):
        started = time.perf_counter()
        first = InterestLens(settings).fit(dataset)
        unlabelled = InterestLens(settings).fit(reordered(dataset, 1))
        second = InterestLens(settings).fit(reordered(dataset, 1), previous=first)
        rows.append(
            {
                "data": name,
                "k": [first.clusters_.result.n_clusters, second.clusters_.result.n_clusters],
                "users_same_cluster_id_without_matching": round(kept_share(first, unlabelled), 4),
                "users_kept_id_with_matching": round(kept_share(first, second), 4),
                "events": second.identity_.kinds(),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    dataset, _ = make_drifting_dataset(seed=0)
    first_half, second_half = split_by_time(dataset)
    old = InterestLens(settings).fit(first_half)
    new = InterestLens(settings).fit(second_half, previous=old)
    rows.append(
        {
            "data": "drifting demo, refit on the second half-year",
            "k": [old.clusters_.result.n_clusters, new.clusters_.result.n_clusters],
            "users_same_cluster_id_without_matching": None,
            "users_kept_id_with_matching": round(new.identity_.users_kept_id, 4),
            "events": new.identity_.kinds(),
            "seconds": None,
        }
    )
    result = {"encoder": args.encoder, "load_average": os.getloadavg(), "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "identity_stability.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Stable cluster ids ({args.encoder}; load average "
        f"{', '.join(f'{x:.1f}' for x in result['load_average'])})",
        "",
        "| data | k (first, refit) | same id without matching | kept id with matching | events |",
        "|---|---|---:|---:|---|",
    ]
    for row in rows:
        without = row["users_same_cluster_id_without_matching"]
        lines.append(
            f"| {row['data']} | {row['k']} | {'—' if without is None else f'{without:.1%}'} | "
            f"{row['users_kept_id_with_matching']:.1%} | {row['events']} |"
        )
    (RESULTS / "identity_stability.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
