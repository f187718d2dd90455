"""The report's "over time" section: a stacked area of cluster shares per period, a Sankey of who
moved where between the last periods, and the clusters that were born, grew, faded or split."""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

from interestlens.timeline.identity import IdentityMatch
from interestlens.timeline.periods import NoTimestampsError, Timeline, build_timeline

SECTION_ID = "over-time"
AREA_ID = "over-time-shares"
SANKEY_ID = "over-time-transitions"
#: periods shown in the Sankey (the latest ones): more makes an unreadable tangle
SANKEY_PERIODS = 4


def identity_line(match: IdentityMatch) -> str:
    """One line for the CLI: what the id matching against the previous model did."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(match.kinds().items()))
    kept = (
        ""
        if match.users_kept_id is None
        else f"; {match.users_kept_id:.1%} of {match.shared_users} shared users kept their id"
    )
    return f"Cluster ids against the previous model: {kinds}{kept}"


def shares_figure(timeline: Timeline, colour: Any) -> go.Figure:
    figure = go.Figure()
    for cluster, rows in timeline.table.groupby("cluster", sort=True):
        figure.add_trace(
            go.Scatter(
                x=rows["period"],
                y=rows["share"],
                name=f"{cluster}: {rows['label'].iloc[0]}"[:40],
                stackgroup="shares",
                mode="lines",
                line={"width": 0.5, "color": colour(int(cluster))},
                hovertemplate="%{x}: %{y:.1%}<extra>%{fullData.name}</extra>",
            )
        )
    figure.update_layout(
        title=f"Share of active users per {timeline.period} and interest cluster",
        yaxis={"tickformat": ".0%", "range": [0, 1]},
        height=420,
    )
    return figure


def transitions_figure(timeline: Timeline, colour: Any) -> go.Figure | None:
    periods = list(dict.fromkeys(timeline.table["period"]))[-SANKEY_PERIODS:]
    moves = timeline.transitions.loc[timeline.transitions["period"].isin(periods[1:])]
    if moves.empty:
        return None
    names = dict(zip(timeline.table["cluster"], timeline.table["label"], strict=False))
    nodes: dict[tuple[str, int], int] = {}

    def node(period: str, cluster: int) -> int:
        return nodes.setdefault((period, cluster), len(nodes))

    sources, targets, values = [], [], []
    for row in moves.itertuples(index=False):
        before = periods[periods.index(row.period) - 1]
        sources.append(node(before, int(row.from_cluster)))
        targets.append(node(row.period, int(row.to_cluster)))
        values.append(int(row.users))
    labels = [f"{p} · {c}: {names.get(c, c)}"[:38] for (p, c) in nodes]
    figure = go.Figure(
        go.Sankey(
            node={"label": labels, "color": [colour(c) for (_, c) in nodes], "pad": 8},
            link={"source": sources, "target": targets, "value": values},
        )
    )
    figure.update_layout(
        title=f"Who moved where: users active in consecutive {timeline.period}s", height=520
    )
    return figure


def _trend_items(timeline: Timeline) -> str:
    lines = []
    for trend in timeline.trends:
        if trend["trend"] == "steady":
            continue
        into = f" into {', '.join(map(str, trend['into']))}" if "into" in trend else ""
        into += f" from cluster {trend['from']}" if "from" in trend else ""
        lines.append(
            f"<li><b>{html.escape(str(trend['cluster']))}: {html.escape(trend['label'])}</b> "
            f"{html.escape(trend['trend'])}{into}: {trend['early_share']:.1%} of active users in "
            f"the first third of the {timeline.period}s, {trend['late_share']:.1%} in the last</li>"
        )
    for event in timeline.lineage:
        if event["kind"] == "split":
            text = f"cluster {event['id']} split from cluster {event['from']}"
        elif event["kind"] == "merged":
            text = f"cluster {event['id']} merged into cluster {event['into']}"
        else:
            text = f"cluster {event['id']} {event['kind']}"
        lines.append(f"<li>at the last refit: {html.escape(text)}</li>")
    return "".join(lines) or "<li>no cluster grew, faded, was born or split</li>"


def over_time_section(model: Any, previous: Any | None = None) -> str | None:
    """The section's HTML, or None when the model's interactions carry no timestamps."""
    from interestlens.report.html import _colour, _figure_html

    drift = model._settings().drift
    try:
        timeline = build_timeline(
            model,
            period=drift.period,
            half_life_days=drift.timeline_half_life_days,
            share_change_ratio=drift.share_change_ratio,
            split_min_share=drift.identity_split_min_share,
            previous=previous,
        )
    except NoTimestampsError:
        return None
    parts = [
        f'<section id="{SECTION_ID}"><h2>Interests over time</h2>',
        f"<ul>{_trend_items(timeline)}</ul>",
        _figure_html(shares_figure(timeline, _colour), AREA_ID),
    ]
    sankey = transitions_figure(timeline, _colour)
    if sankey is not None:
        parts.append(_figure_html(sankey, SANKEY_ID))
    parts.append(
        '<p class="note">Each period places the users active in it by their interactions up to '
        f"its end (recency half-life {drift.timeline_half_life_days:g} days). "
        "'interestlens timeline' writes the numbers; 'interestlens drift' compares models.</p>"
        "</section>"
    )
    return "".join(parts)
