"""interestlens' NDCG@10 in two runs of ``recommend_benchmark.py`` that differ only in the
encoder (same code, same splits): one row per dataset, hold-out and segment, the ratio of the
second run to the first, and the mean ratio.

usage: python benchmarks/compare_encoders.py REFERENCE_DIR OTHER_DIR [--names torch onnx]
           [--out FILE.md]

Each directory holds the ``recommend_<dataset>_<protocol>.json`` files a run wrote (``--out`` of
the benchmark); files present in only one of them are left out.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from interestlens.persist import atomic_write_text

OURS = "interestlens"


def ndcg_by_segment(path: Path) -> dict[str, float]:
    payload = json.loads(path.read_text(encoding="utf-8"))
    return {
        row["segment"]: float(row["value"])
        for row in payload["results"]
        if row["model"] == OURS and row["metric"] == "ndcg@10"
    }


def compare(reference: Path, other: Path) -> list[tuple[str, str, float, float]]:
    rows = []
    for path in sorted(reference.glob("recommend_*_*.json")):
        twin = other / path.name
        if not twin.is_file():
            continue
        first, second = ndcg_by_segment(path), ndcg_by_segment(twin)
        run = path.stem.removeprefix("recommend_")
        rows += [
            (run, segment, first[segment], second[segment])
            for segment in first
            if segment in second
        ]
    return rows


def markdown(rows: list[tuple[str, str, float, float]], names: tuple[str, str]) -> str:
    ratios = [b / a for _, _, a, b in rows if a > 0]
    lines = [
        f"| dataset, hold-out | segment | {names[0]} | {names[1]} | {names[1]} / {names[0]} |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {run} | {segment} | {a:.4f} | {b:.4f} | {b / a if a else float('nan'):.3f} |"
        for run, segment, a, b in rows
    ]
    if ratios:
        geometric = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        lines += [
            "",
            f"{len(ratios)} cells: mean ratio {sum(ratios) / len(ratios):.4f}, geometric mean "
            f"{geometric:.4f}, lowest {min(ratios):.3f}, highest {max(ratios):.3f}; "
            f"{sum(abs(r - 1) <= 0.01 for r in ratios)} within 1 %.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("other", type=Path)
    parser.add_argument("--names", nargs=2, default=("reference", "other"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    text = markdown(compare(args.reference, args.other), tuple(args.names))
    if args.out is not None:
        atomic_write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
