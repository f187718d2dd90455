"""Commands about interests over time: ``timeline`` and ``drift``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from interestlens.cli.common import ConfigOption, ModelOption, cli_settings, out
from interestlens.errors import InvalidValueError, MissingColumnsError
from interestlens.persist import atomic_write_text, write_json

PeriodOption = Annotated[
    str | None,
    typer.Option("--period", help="month, week or day (default: drift.period)."),
]


def timeline(
    model_dir: ModelOption,
    output: Annotated[
        Path, typer.Option("--output", help="CSV to write (transitions go beside it).")
    ],
    period: PeriodOption = None,
    config: ConfigOption = None,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous",
            help="The model this one was refitted from: it places the periods before the refit.",
        ),
    ] = None,
) -> None:
    """Cluster shares per period: period,cluster,label,users,share,new_users,left_users."""
    from interestlens.pipeline import InterestLens
    from interestlens.report.over_time import event_text
    from interestlens.timeline.periods import build_timeline, check_period

    settings = cli_settings(config)
    chosen = check_period(period or settings.drift.period)
    model = InterestLens.load(model_dir)
    drift = settings.drift
    found = build_timeline(
        model,
        period=chosen,
        half_life_days=drift.timeline_half_life_days,
        share_change_ratio=drift.share_change_ratio,
        split_min_share=drift.identity_split_min_share,
        previous=InterestLens.load(previous) if previous is not None else None,
    )
    atomic_write_text(output, found.table.to_csv(index=False))
    moves = output.with_name(output.stem + ".transitions.csv")
    atomic_write_text(moves, found.transitions.to_csv(index=False))
    table = Table(title=f"Interest clusters per {chosen}: {output}")
    for column in ("cluster", "label", "early share", "late share", "trend"):
        table.add_column(column)
    for trend in found.trends:
        table.add_row(
            str(trend["cluster"]),
            trend["label"],
            f"{trend['early_share']:.1%}",
            f"{trend['late_share']:.1%}",
            trend["trend"]
            + (f" into {trend['into']}" if "into" in trend else "")
            + (f" from {trend['from']}" if "from" in trend else ""),
        )
    out.print(table)
    for event in found.lineage:
        out.print(f"at the refit: {event_text(event)}", highlight=False)
    out.print(f"{len(found.table)} rows → {output}; transitions → {moves}")


def drift(
    model_dir: ModelOption,
    against: Annotated[
        Path,
        typer.Option(
            "--against",
            help="A newer model directory, or an interactions file (user_id,item_id"
            "[,rating,timestamp]) on the model's items.",
        ),
    ],
    output: Annotated[Path, typer.Option("--output", help="JSON file for the findings.")] = Path(
        "drift.json"
    ),
    period: PeriodOption = None,
    config: ConfigOption = None,
) -> None:
    """Drift findings (PSI of shares, centroid moves, keyword changes, low-confidence new
    users); exit code 1 when a threshold in [drift] is crossed, 2 on bad input."""
    from interestlens.pipeline import InterestLens
    from interestlens.timeline.drift import compare_data, compare_models
    from interestlens.timeline.periods import check_period

    settings = cli_settings(config)
    chosen = check_period(period or settings.drift.period)
    old = InterestLens.load(model_dir)
    if (against / "manifest.json").exists() or against.is_dir():
        new = InterestLens.load(against)
        findings = compare_models(old, new, settings.drift, names=(str(model_dir), str(against)))
    else:
        frame = read_interactions(against)
        findings = compare_data(
            old, frame, settings.drift, period=chosen, names=(str(model_dir), str(against))
        )
    write_json(output, findings.to_dict())
    table = Table(title=f"Drift of {model_dir} against {against} (PSI {findings.psi:.3f})")
    for column in ("cluster", "label", "share before", "after", "trend", "centroid moved"):
        table.add_column(column)
    for row in findings.clusters:
        table.add_row(
            str(row["cluster"]),
            row["label"],
            _pct(row["share_before"]),
            _pct(row["share_after_with_splits"]),
            row["trend"],
            "" if row["centroid_shift"] is None else f"{row['centroid_shift']:.3f}",
        )
    out.print(table)
    if findings.low_confidence_share is not None:
        out.print(
            f"{findings.new_users} new users, {findings.low_confidence_share:.1%} placed with "
            "low confidence"
        )
    for line in findings.crossed:
        out.print(f"[yellow]drift:[/] {line}", highlight=False)
    out.print(f"Findings written to {output}")
    if findings.crossed:
        raise typer.Exit(code=1)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def read_interactions(path: Path) -> pd.DataFrame:
    """``user_id, item_id[, rating, timestamp]`` from any table file the readers take."""
    from interestlens.data.io import read_table

    frame = read_table(path, kind="interactions")
    missing = [c for c in ("user_id", "item_id") if c not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{path}: columns {list(frame.columns)} lack {missing}",
            expected="an interactions table with user_id and item_id (rating, timestamp optional)",
            fix="rename the columns, or pass a model directory to --against",
        )
    if "rating" in frame:
        frame["rating"] = pd.to_numeric(frame["rating"], errors="coerce")
    if "timestamp" in frame:
        stamps = frame["timestamp"]
        numeric = pd.to_numeric(stamps, errors="coerce")
        if numeric.notna().all():
            frame["timestamp"] = numeric.astype(np.float64)
        else:
            parsed = pd.to_datetime(stamps, errors="coerce", utc=True)
            if parsed.isna().any():
                raise InvalidValueError(
                    f"{path}: timestamp {stamps[parsed.isna()].iloc[0]!r} is not a time",
                    expected="epoch seconds or ISO dates",
                    fix="fix or remove that row",
                )
            frame["timestamp"] = parsed.astype("int64").to_numpy() / 1e9
    return frame
