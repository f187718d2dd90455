"""What checksums.json costs: writing it, and hashing every file when a model is verified and
loaded, on a copy of a model directory (the one given is never written).

usage: python benchmarks/checksum_cost.py MODEL_DIR [--repeats 5]

Times are the best of ``--repeats`` with the files in the page cache (a model that was just
written or is being served); a cold read costs what reading the bytes from disk costs, which
``load_model`` pays for most of them anyway.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from interestlens.model_dir import (
    CHECKSUMS_FILE,
    load_model,
    verify_checksums,
    verify_model_dir,
    write_checksums,
)


def best(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the copy without checksums says so on every load
    with tempfile.TemporaryDirectory(prefix="checksum-cost-") as work:
        model = Path(shutil.copytree(args.model_dir, Path(work) / "model"))
        (model / CHECKSUMS_FILE).unlink(missing_ok=True)
        verify_without = best(lambda: verify_model_dir(model), args.repeats)
        load_without = best(lambda: load_model(model), args.repeats)
        started = time.perf_counter()
        write_checksums(model)
        written = time.perf_counter() - started
        verify_with = best(lambda: verify_model_dir(model), args.repeats)
        load_with = best(lambda: load_model(model), args.repeats)
        hashing = best(lambda: verify_checksums(model), args.repeats)
        report = verify_checksums(model)
    print(f"{args.model_dir}: {report.files} files, {report.n_bytes / 1e6:.1f} MB")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"write_checksums:   {written:.3f} s")
    print(f"verify_checksums:  {hashing:.3f} s ({report.n_bytes / 1e6 / hashing:,.0f} MB/s)")
    print(f"verify_model_dir:  {verify_without:.3f} s -> {verify_with:.3f} s with checksums")
    print(f"load_model:        {load_without:.3f} s -> {load_with:.3f} s with checksums")


if __name__ == "__main__":
    main()
