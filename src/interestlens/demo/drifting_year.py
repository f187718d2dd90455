"""``interestlens demo --drift``: the drifting demo year, fitted as a service would be refitted.

Two fits of the same catalogue: the first half-year (``model-h1``) and, at mid-year, a refit on
the second half-year with ``previous = model-h1`` (``model``, stable ids). ``drift`` compares the
two; the timeline and the report's over-time section run through the whole year (the first
half placed by ``model-h1``, the second by ``model``). The recommender is left out: this demo is
about clusters over time.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from interestlens.config import Settings
from interestlens.data.synthetic.drift import make_drifting_dataset, split_by_time
from interestlens.persist import atomic_write_text, write_json
from interestlens.pipeline import InterestLens
from interestlens.report import write_report
from interestlens.report.over_time import event_text, identity_line
from interestlens.timeline.drift import compare_models
from interestlens.timeline.periods import build_timeline


def run_drift_demo(
    out_dir: Path, settings: Settings, *, console: Console, show_progress: bool = True
) -> dict[str, Path]:
    started = time.perf_counter()
    out_dir = out_dir.expanduser().resolve()
    settings = settings.model_copy(
        update={"recommend": settings.recommend.model_copy(update={"enabled": False})}
    )
    dataset, truth = make_drifting_dataset(seed=settings.seed)
    data = out_dir / "data"
    paths: dict[str, Path] = {}
    for name, frame in (
        ("interactions", dataset.interactions),
        ("items", dataset.items),
        ("users", dataset.users),
    ):
        paths[name] = atomic_write_text(data / f"{name}.csv", frame.to_csv(index=False))
    console.print(
        f"Drifting demo year: {truth.grows} grows, {truth.fades} fades, "
        f"{' + '.join(truth.splits)} splits at mid-year → {data}"
    )
    first, second = split_by_time(dataset)
    old = InterestLens(settings, show_progress=show_progress).fit(first)
    paths["model-h1"] = old.save(out_dir / "model-h1")
    new = InterestLens(settings, show_progress=show_progress).fit(second, previous=old)
    paths["model"] = new.save(out_dir / "model")
    console.print("mid-year refit: " + identity_line(new.identity_), highlight=False)

    findings = compare_models(old, new, settings.drift, names=("model-h1", "model"))
    paths["drift"] = write_json(out_dir / "drift.json", findings.to_dict())
    drift = settings.drift
    timeline = build_timeline(
        new,
        period=drift.period,
        half_life_days=drift.timeline_half_life_days,
        share_change_ratio=drift.share_change_ratio,
        split_min_share=drift.identity_split_min_share,
        previous=old,
    )
    paths["timeline"] = atomic_write_text(
        out_dir / "timeline.csv", timeline.table.to_csv(index=False)
    )
    paths["report"] = write_report(
        new, out_dir / "report.html", model_dir=paths["model"], previous=old
    )
    for trend in ("grown", "faded", "split", "born"):
        named = findings.named(trend)
        if named:
            console.print(f"drift h1 → h2, {trend}: {'; '.join(named)}", highlight=False)
    for record in timeline.trends:
        if record["trend"] != "steady":
            console.print(
                f"timeline, {record['trend']}"
                + (f" from {record['from']}" if "from" in record else "")
                + f": {record['cluster']}: {record['label']} "
                f"({record['early_share']:.1%} → {record['late_share']:.1%})",
                highlight=False,
            )
    for event in timeline.lineage:
        console.print(f"timeline, at the refit: {event_text(event)}", highlight=False)
    console.print(f"report: {paths['report']} ({time.perf_counter() - started:.1f}s)")
    return paths
