"""One self-contained HTML page: the interest map, cluster sizes, k-selection curves, cluster cards
and evaluation tables. Plotly's JavaScript is inlined once, so the file opens offline.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
    "#e6550d", "#31a354", "#756bb1", "#636363",
]  # fmt: skip


WEBGL_ABOVE = 20_000


@dataclass
class ClusterCard:
    cluster_id: int
    label: str
    size: int
    share: float
    keywords: list[str]
    central_items: list[str]
    overrepresented_items: list[str]
    medoid_users: list[str]
    mean_rating: float | None = None
    stability: float | None = None
    #: privacy on: no user is named; the central items stand for the cluster
    medoids_withheld: bool = False


@dataclass
class ReportData:
    """Everything the page shows; built from a fitted model by :func:`report_data_from_model`."""

    title: str
    subtitle: str
    user_ids: list[str]
    user_map: np.ndarray  # (n_users, 2)
    labels: np.ndarray  # (n_users,), -1 = noise
    hover: list[str]
    cards: list[ClusterCard]
    k_scores: pd.DataFrame | None = None  # index k; columns inertia, silhouette, ...
    chosen_k: int | None = None
    k_rule: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: an evaluation as read by interestlens.evaluate.job.read_evaluation (None: no section)
    evaluation: dict[str, Any] | None = None
    #: the "interests over time" section (interestlens.report.over_time); None: no timestamps
    over_time: str | None = None


def cluster_colour(cluster: int) -> str:
    return "#b0b0b0" if cluster < 0 else PALETTE[cluster % len(PALETTE)]


def figure_html(figure: go.Figure, div_id: str) -> str:
    figure.update_layout(margin={"l": 40, "r": 20, "t": 50, "b": 40}, template="plotly_white")
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id)


def map_figure(data: ReportData, names: dict[int, str]) -> go.Figure:
    figure = go.Figure()
    # SVG draws anywhere (no WebGL needed) and is fine up to tens of thousands of points
    trace = go.Scatter if len(data.labels) <= WEBGL_ABOVE else go.Scattergl
    placed = np.isfinite(data.user_map).all(axis=1)  # users without any signal have no place
    for cluster in sorted(set(data.labels[placed].tolist())):
        members = np.flatnonzero((data.labels == cluster) & placed)
        name = "noise" if cluster < 0 else f"{cluster}: {names.get(cluster, '')}"
        figure.add_trace(
            trace(
                x=data.user_map[members, 0],
                y=data.user_map[members, 1],
                mode="markers",
                name=name[:48],
                marker={"size": 6, "color": cluster_colour(cluster), "opacity": 0.75},
                text=[data.hover[i] for i in members],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    figure.update_layout(
        title="Users on a 2-D map of their interest vectors, coloured by cluster",
        height=560,
        legend={"itemsizing": "constant"},
    )
    return figure


def sizes_figure(data: ReportData) -> go.Figure:
    cards = sorted(data.cards, key=lambda c: -c.size)
    figure = go.Figure(
        go.Bar(
            x=[f"{c.cluster_id}: {c.label}"[:40] for c in cards],
            y=[c.size for c in cards],
            marker_color=[cluster_colour(c.cluster_id) for c in cards],
        )
    )
    figure.update_layout(title="Cluster sizes (users)", height=380, xaxis_tickangle=-30)
    return figure


def k_selection_figure(data: ReportData) -> go.Figure | None:
    if data.k_scores is None or data.k_scores.empty:
        return None
    from plotly.subplots import make_subplots

    columns = [c for c in data.k_scores.columns if data.k_scores[c].notna().any()]
    figure = make_subplots(rows=1, cols=len(columns), subplot_titles=columns)
    for position, column in enumerate(columns, start=1):
        figure.add_trace(
            go.Scatter(
                x=data.k_scores.index, y=data.k_scores[column], mode="lines+markers", name=column
            ),
            row=1,
            col=position,
        )
        if data.chosen_k is not None:
            figure.add_vline(
                x=data.chosen_k, line_dash="dash", line_color="red", row=1, col=position
            )
    figure.update_layout(
        title=f"Choosing k: chosen k = {data.chosen_k}", height=320, showlegend=False
    )
    return figure


def _card_html(card: ClusterCard) -> str:
    def items(values: list[str]) -> str:
        return "".join(f"<li>{html.escape(v)}</li>" for v in values) or "<li>—</li>"

    facts = [f"{card.size} users ({card.share:.1%})"]
    if card.mean_rating is not None:
        facts.append(f"mean rating {card.mean_rating:.2f}")
    if card.stability is not None:
        facts.append(f"stability {card.stability:.2f}")
    keywords = ", ".join(html.escape(k) for k in card.keywords) or "—"
    medoids = html.escape(", ".join(card.medoid_users)) or "—"
    if card.medoids_withheld:
        medoids = "withheld (privacy on): the most central items above stand for the cluster"
    return f"""
<div class="card" style="border-top: 6px solid {cluster_colour(card.cluster_id)}">
  <h3>Cluster {card.cluster_id}: {html.escape(card.label)}</h3>
  <p class="facts">{" · ".join(facts)}</p>
  <p><b>Keywords:</b> {keywords}</p>
  <div class="cols">
    <div><b>Most central items</b><ol>{items(card.central_items)}</ol></div>
    <div><b>Most over-represented items</b><ol>{items(card.overrepresented_items)}</ol></div>
  </div>
  <p><b>Typical users (medoids):</b> {medoids}</p>
</div>"""


def _table_html(title: str, frame: pd.DataFrame) -> str:
    body = frame.to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0, classes="t")
    return f"<h3>{html.escape(title)}</h3>{body}"


STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 0;
       background: #f6f7f9; color: #222; }
header { background: #243447; color: white; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; }
main { padding: 16px 32px; }
section { background: white; border-radius: 8px; padding: 12px 18px; margin-bottom: 18px;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.facts-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr));
              gap: 8px; }
.fact { background: #eef2f7; border-radius: 6px; padding: 8px 10px; }
.fact b { display: block; font-size: 12px; color: #555; font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 14px; }
.card { background: #fff; border: 1px solid #e3e6ea; border-radius: 8px; padding: 10px 14px; }
.card h3 { margin: 4px 0; font-size: 17px; }
.card .facts { color: #555; margin: 2px 0 8px 0; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; font-size: 14px; }
.note { color: #555; font-size: 14px; }
ol { margin: 4px 0; padding-left: 20px; }
table.t { border-collapse: collapse; font-size: 14px; margin-bottom: 10px; }
table.t td, table.t th { border-bottom: 1px solid #e3e6ea; padding: 4px 10px; text-align: right; }
table.evaluation tr.ours td { background: #fdecea; font-weight: 600; }
"""


def render_report(data: ReportData) -> str:
    names = {card.cluster_id: card.label for card in data.cards}
    sections = []
    if data.facts:
        facts = "".join(
            f'<div class="fact"><b>{html.escape(k)}</b>{html.escape(v)}</div>'
            for k, v in data.facts.items()
        )
        sections.append(f'<section><h2>Summary</h2><div class="facts-grid">{facts}</div></section>')
    if len(data.labels):  # empty with privacy on: no per-person points
        sections.append(
            f"<section>{figure_html(map_figure(data, names), 'interest-map')}</section>"
        )
    sections.append(f"<section>{figure_html(sizes_figure(data), 'cluster-sizes')}</section>")
    k_figure = k_selection_figure(data)
    if k_figure is not None:
        sections.append(
            f"<section>{figure_html(k_figure, 'k-selection')}"
            f'<p class="note">Rule: {html.escape(data.k_rule)}.</p></section>'
        )
    cards = "".join(_card_html(card) for card in sorted(data.cards, key=lambda c: -c.size))
    sections.append(
        f'<section><h2>Interest clusters</h2><div class="cards">{cards}</div></section>'
    )
    if data.tables:
        tables = "".join(_table_html(title, frame) for title, frame in data.tables.items())
        sections.append(f"<section><h2>Model card and tables</h2>{tables}</section>")
    if data.evaluation is not None:
        from interestlens.report.evaluation import CHART_ID, evaluation_section_html, ndcg_figure

        chart = figure_html(ndcg_figure(data.evaluation), CHART_ID)
        sections.append(evaluation_section_html(data.evaluation, chart))
    if data.over_time is not None:
        sections.append(data.over_time)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(data.title)}</title>
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<header><h1>{html.escape(data.title)}</h1><div>{html.escape(data.subtitle)}</div></header>
<main>{"".join(sections)}</main>
</body></html>
"""


def facts_from(values: dict[str, Any]) -> dict[str, str]:
    def show(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}"
        return str(value)

    return {key: show(value) for key, value in values.items() if value is not None}
