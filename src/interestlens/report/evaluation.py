"""The evaluation in words and pictures: per-segment tables (markdown and HTML) and a grouped
bar chart of NDCG@k per model per segment, from the dict that
:func:`interestlens.evaluate.job.read_evaluation` returns."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

OURS = "interestlens"
CHART_ID = "evaluation-ndcg"
#: columns shown in the HTML and markdown tables (the CSV and JSON keep every metric)
SHOWN = (
    "ndcg",
    "recall",
    "precision",
    "mrr",
    "map",
    "hit_rate",
    "coverage",
    "diversity",
    "novelty",
)
MODEL_COLOURS = {
    OURS: "#d62728",
    "MostPop": "#7f7f7f",
    "ItemKNN": "#1f77b4",
    "EASE": "#2ca02c",
    "ALS": "#9467bd",
    "ContentKNN": "#ff7f0e",
    "AttributePop": "#8c564b",
}


def split_protocol_line(data: Mapping[str, Any]) -> str:
    """How the warm users' interactions were held out, in one sentence ('' when not recorded,
    as in evaluations written before the protocol was)."""
    split = data.get("setup", {}).get("split")
    if not isinstance(split, Mapping):
        return ""
    line = (
        f"Split protocol: {split.get('protocol')} ({split.get('holdout_fraction')} of each "
        f"user's interactions held out, seed {split.get('seed')}; cold users' fold-in: "
        f"{split.get('cold_user_fold_in')})"
    )
    return line + (f"; {split['note']}." if split.get("note") else ".")


def _columns(data: Mapping[str, Any]) -> list[str]:
    k = data["k"]
    return [f"{name}@{k}" for name in SHOWN] + ["n_users"]


def _number(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if column == "n_users":
        return str(int(value))
    return f"{value:.4f}"


def _title(name: str, part: Mapping[str, Any]) -> str:
    users = [row.get("n_users") for row in part["table"] if row.get("n_users") is not None]
    count = f" ({int(max(users))} users)" if users else ""
    return f"{part.get('title', name)}{count}"


def evaluation_markdown(data: Mapping[str, Any]) -> str:
    """A markdown table per segment, the summary lines and what was skipped."""
    columns = _columns(data)
    dataset = data.get("dataset", {})
    lines = [
        f"# Evaluation of {dataset.get('name', 'the dataset')}",
        "",
        f"Seed {data.get('seed')}, k = {data['k']}; "
        f"{dataset.get('interactions', '?')} interactions. "
        f"User texts: {data.get('setup', {}).get('user_texts', {}).get('reason', 'n/a')}.",
        *([split_protocol_line(data)] if split_protocol_line(data) else []),
        "",
        *[f"- {line}" for line in data.get("summary", [])],
        "",
    ]
    for name, part in data["segments"].items():
        lines += [f"## {_title(name, part)}", ""]
        lines.append("| model | " + " | ".join(columns) + " |")
        lines.append("|---|" + "---:|" * len(columns))
        for row in part["table"]:
            model = f"**{row['model']}**" if row["model"] == OURS else row["model"]
            cells = [_number(row.get(c), c) for c in columns]
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
        notes = [f"- {row['model']}: {row['note']}" for row in part["table"] if row.get("note")]
        lines += ["", *notes, ""] if notes else [""]
        hyper = data.get("hyperparameters", {}).get(name, {})
        if hyper.get("EASE"):
            how = hyper["EASE"].get("note") or "tuned on validation"
            lines.append(f"EASE l2 = {hyper['EASE']['l2']:g} ({how}).")
        if hyper.get(OURS):
            chosen = hyper[OURS]
            weights = ", ".join(f"{k} {v:g}" for k, v in chosen["weights"].items() if v)
            lines.append(f"interestlens weights ({chosen['regime']}): {weights}.")
        lines.append("")
    for name, reason in data.get("skipped", {}).items():
        lines.append(f"Skipped {name}: {reason}.")
    return "\n".join(lines).rstrip() + "\n"


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
        cells = "".join(f"<td>{_number(row.get(c), c)}</td>" for c in columns)
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
        f"<h3>{html.escape(_title(name, part))}</h3>"
        f'<table class="t evaluation"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        + (f'<ul class="note">{notes}</ul>' if notes else "")
    )


def evaluation_section_html(data: Mapping[str, Any], figure_html: str) -> str:
    """The report's evaluation section; ``figure_html`` is :func:`ndcg_figure` rendered the
    way the page renders its other figures."""
    columns = _columns(data)
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
