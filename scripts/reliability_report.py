"""Run the fault and fuzz cases (tests/fault_cases.py) and write docs/reliability.md.

    python scripts/reliability_report.py [--scale N] [--out docs/reliability.md]

Every case runs against a freshly fitted demo model: damaged model directories through the
Python API, /admin/reload and the CLI; absurd values and malformed requests through the HTTP
service (FastAPI's TestClient, and a real uvicorn process for the kill -9 case); disk full and
read-only storage on a tiny tmpfs (an injected SQLite error where mounting is not allowed);
Hypothesis and schemathesis fuzzing. The page gets the promise, a table of every case with
what it answered, and the counts. Exit code 1 if any case missed its expected outcome.
"""

# ruff: noqa: E501  (PROMISE holds markdown table rows, which must stay on one line)
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fault_cases import Bench, Outcome, all_cases, lost_case  # noqa: E402

PROMISE = """# Reliability: what interestlens promises when input, files or the machine fail

This page is written by `python scripts/reliability_report.py` (the table below is its output;
`tests/test_reliability.py` runs the same cases in the test suite).

## The promise

**Durable.** `POST /events`, `/events/batch`, `/items` and `DELETE /users/{id}` answer 2xx only
after their SQLite transaction is committed and fsynced (WAL, `synchronous=FULL`). An
acknowledged write survives `kill -9` of the server and is replayed on the next start or reload;
`interestlens refit` folds it into the next model. A batch is stored whole or not at all. The
events database and its `-wal`/`-shm` files are created `0600` (they hold user data). A model
directory is written next to its destination and renamed into place: a reader (or a `kill -9`
during `save`) sees the old model or the new one, never a mixture.

**Validated at every entry** (files read by `fit`/`evaluate`, HTTP bodies and queries, the
Python API):

| value | rule | where it is set |
|---|---|---|
| rating / weight | finite; the service and the engine accept the range seen in training (1-5 on the demo), files at most ±1e6 | `[limits] rating_min`, `rating_max`, `max_abs_rating` |
| timestamp | seconds since the epoch, 1970-01-01 to 2100-01-01; ISO 8601 dates of any year parse (then the window applies) | `[limits] timestamp_min`, `timestamp_max` |
| booleans | never read as numbers (`k: true`, `rating: true` are 422) | strict JSON numbers in `serve/schemas.py` |
| k | 1 to `serve.max_k` over HTTP; at most 1,000,000 and never more than the catalogue in the CLI and API | `serve.max_k` |
| ids | 1-256 printable characters; surrounding spaces removed everywhere (the CSV readers and HTTP follow one rule: `" u1 "` is `u1`) | `serve/schemas.py` `check_id` |
| text templates | plain column names only: no attribute or index access (`{title.__class__}`), no widths over 1000 | `text.item_template` |
| CSV output | text cells starting with `=`, `+`, `-`, `@`, tab or CR get a leading `'` (formula injection) | `interestlens.csv_output` |

Whatever the service acknowledges can always be scored and refitted. A stored event that is out
of range (written by an older version, or by hand) is skipped by the replay with a count in
`/health`, and stops `interestlens refit` with an error naming its seq, user, item and value,
unless `--skip-bad-events` leaves it out and counts it.

**Model directories are verified before use** (`interestlens.model_dir.verify`): every file against
the manifest (exists, is a regular file, dtype, shape, finite values, index ranges, consistency
between the parts, the encoder's width), `.npy` headers checked against the file size before
any array is allocated (a 0-byte file, an `.npz` under a `.npy` name, an object dtype, a shape
claiming terabytes), then every file `checksums.json` lists against its recorded size and
sha256, so a flipped byte inside an array or a Parquet column does not load silently (about
0.1 s per 117 MB). Any damage raises one `ModelFormatError` naming the file and the problem. A
directory saved before checksums existed loads unchecked, with a warning; `interestlens verify
--model DIR` says which kind a directory is.
`recommend`, `serve`, `/admin/reload` and `refit` all load through it.
`/admin/reload` loads only directories under `serve.models_root` (default: the folder holding the
served model), answers 403 for anything outside without saying whether it exists, and keeps
the old model on any failure.

**What each failure answers**

| failure | HTTP | CLI |
|---|---|---|
| bad value, malformed body, bad UTF-8, deep JSON | 422 with the field and value | exit 2, one line |
| unknown user / item | 404 | exit 2 (or `--unknown popular`) |
| damaged model directory | 409 `ModelFormatError` (reload keeps the old model) | exit 2 naming the file |
| reload outside the models root | 403 | — |
| body over `serve.max_body_bytes` | 413 | — |
| URL or headers over ~80 kB | 400, JSON error shape | — |
| disk full on the events database | 507, nothing stored | — |
| read-only / failing storage | 503, nothing stored | — |
| a bug | 500, JSON, connection kept alive, logged with the traceback | exit 2 or a traceback (a bug) |

Blocking work runs off the event loop (scoring in the thread pool; after `POST /items` the
lists are ranked again on a background thread in batches). `/health` reads on the store's own
connection and never waits for a write's fsync. The response cache is bounded in bytes
(`serve.response_cache_bytes`), the engine's reason texts too (32 MB).
"""


def run_case(case, bench: Bench) -> tuple[Outcome, float]:
    started = time.perf_counter()
    try:
        outcome = case.run(bench)
    except Exception:  # a case that blows up is a failed case with a traceback, not a crash
        text = traceback.format_exc()
        outcome = Outcome("exception", text.strip().splitlines()[-1][:300], ok=False, tracebacks=1)
    return outcome, time.perf_counter() - started


def cell(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="multiply the fuzz examples")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    for name in list(os.environ):
        if name.startswith("INTERESTLENS_"):
            del os.environ[name]
    os.environ["INTERESTLENS_RECOMMEND__TUNE"] = "false"

    from interestlens.serve.testing import build_demo_model

    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="interestlens-reliability-") as scratch:
        work = Path(scratch)
        good = build_demo_model(work / "models" / "model")
        bench = Bench(good, work)
        try:
            for case in [*all_cases(args.scale), lost_case()]:
                outcome, seconds = run_case(case, bench)
                rows.append((case, outcome, seconds))
                mark = "ok  " if outcome.ok else "FAIL"
                print(f"{mark} {case.group:16} {case.name[:48]:48} {outcome.answer[:70]}")
        finally:
            bench.close()
    total = time.perf_counter() - started
    counts = {
        "cases": len(rows),
        "requests_or_inputs_tried": sum(o.examples for _, o, _ in rows),
        "failed_cases": sum(1 for _, o, _ in rows if not o.ok),
        "5xx": sum(o.server_errors for _, o, _ in rows),
        "tracebacks": sum(o.tracebacks for _, o, _ in rows),
        "events_acknowledged": sum(o.acknowledged for _, o, _ in rows),
        "acknowledged_events_lost": sum(o.lost for _, o, _ in rows),
        "seconds": round(total, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "fuzz_scale": args.scale,
    }
    lines = [
        PROMISE,
        "## The cases and what they answered",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC in {total:.0f} s "
        f"(load average {counts['load_average'][0]}; fuzz scale {args.scale}).",
        "",
        "| counts | |",
        "|---|---|",
        f"| cases | {counts['cases']} |",
        f"| requests / inputs tried | {counts['requests_or_inputs_tried']} |",
        f"| cases that missed their expected outcome | {counts['failed_cases']} |",
        f"| 5xx answers (besides the one case's deliberate /bug route) | {counts['5xx']} |",
        f"| tracebacks | {counts['tracebacks']} |",
        f"| events acknowledged | {counts['events_acknowledged']} |",
        f"| acknowledged events lost | {counts['acknowledged_events_lost']} |",
        "",
        "| group | case | expected | answered | message | ok |",
        "|---|---|---|---|---|---|",
    ]
    for case, outcome, _ in rows:
        lines.append(
            f"| {case.group} | {cell(case.name, 60)} | {cell(case.expected, 60)} | "
            f"{cell(outcome.answer, 120)} | {cell(outcome.message)} | "
            f"{'yes' if outcome.ok else '**no**'} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = ROOT / "benchmarks" / "results" / "reliability.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(counts, indent=2) + "\n")
    print(json.dumps(counts))
    print(f"wrote {args.out}")
    return 1 if counts["failed_cases"] else 0


if __name__ == "__main__":
    sys.exit(main())
