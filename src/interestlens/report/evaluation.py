"""The evaluation in pictures: per-segment HTML tables and a grouped
bar chart of NDCG@k per model per segment, from the dict that
:func:`interestlens.evaluate.job.read_evaluation` returns."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from interestlens.evaluate.job.constants import OURS
from interestlens.evaluate.job.tables import (
    format_number,
    segment_title,
    shown_columns,
    split_protocol_line,
)

CHART_ID = "evaluation-ndcg"
MODEL_COLOURS = {
    OURS: "#d62728",
    "MostPop": "#7f7f7f",
    "ItemKNN": "#1f77b4",
    "EASE": "#2ca02c",
    "ALS": "#9467bd",
    "ContentKNN": "#ff7f0e",
    "AttributePop": "#8c564b",
}


def ndcg_figure(data: Mapping[str, Any]) -> go.Figure:
    """Grouped bars: NDCG@k of each model (one trace) in each segment (x)."""
    metric = f"ndcg@{data['k']}"
    segments = list(data["segments"])
    titles = [data["segments"][name].get("title", name) for name in segments]
    models: list[str] = []
    for name in segments:
        models += [r["model"] for r in data["segments"][name]["table"] if r["model"] not in models]
    figure = go.Figure()
    for model in models:
        values = []
        for name in segments:
            row = next((r for r in data["segments"][name]["table"] if r["model"] == model), {})
            values.append(row.get(metric))
        figure.add_trace(
            go.Bar(
                name=model,
                x=titles,
                y=[math.nan if v is None else v for v in values],
                text=["n/a" if v is None else f"{v:.3f}" for v in values],
                textposition="outside",
                marker_color=MODEL_COLOURS.get(model),
            )
        )
    figure.update_layout(
        title=f"NDCG@{data['k']} per model and segment (n/a: the model cannot serve it)",
        barmode="group",
        height=420,
        yaxis_title=f"NDCG@{data['k']}",
    )
    return figure


def _table_html(name: str, part: Mapping[str, Any], columns: list[str]) -> str:
    header = "".join(f"<th>{html.escape(c)}</th>" for c in ["model", *columns])
    rows = []
    for row in part["table"]:
        cells = "".join(f"<td>{format_number(row.get(c), c)}</td>" for c in columns)
        mark = ' class="ours"' if row["model"] == OURS else ""
        note = html.escape(row.get("note") or "")
        model = f'<td title="{note}">{html.escape(row["model"])}</td>'
        rows.append(f"<tr{mark}>{model}{cells}</tr>")
    notes = "".join(
        f"<li>{html.escape(row['model'])}: {html.escape(row['note'])}</li>"
        for row in part["table"]
        if row.get("note")
    )
    return (
        f"<h3>{html.escape(segment_title(name, part))}</h3>"
        f'<table class="t evaluation"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        + (f'<ul class="note">{notes}</ul>' if notes else "")
    )


def evaluation_section_html(data: Mapping[str, Any], figure_html: str) -> str:
    """The report's evaluation section; ``figure_html`` is :func:`ndcg_figure` rendered the
    way the page renders its other figures."""
    columns = shown_columns(data)
    summary = "".join(f"<li>{html.escape(line)}</li>" for line in data.get("summary", []))
    tables = "".join(_table_html(n, p, columns) for n, p in data["segments"].items())
    setup = data.get("setup", {})
    return (
        '<section id="evaluation"><h2>Recommendation evaluation</h2>'
        f'<p class="note">Seed {data.get("seed")}; each segment is its own held-out split; '
        f"every model is fitted on the same training part. User texts: "
        f"{html.escape(str(setup.get('user_texts', {}).get('reason', 'n/a')))}. "
        f"{html.escape(split_protocol_line(data))}</p>"
        f"<ul>{summary}</ul>{figure_html}{tables}</section>"
    )
