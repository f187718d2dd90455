"""The report's "over time" section: a stacked area of cluster shares per period, a Sankey of who
moved where between the last periods, and the clusters that were born, grew, faded or split."""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

from interestlens.cluster.identity import IdentityMatch
from interestlens.report.html import cluster_colour, figure_html
from interestlens.timeline.periods import NoTimestampsError, Timeline, build_timeline

SECTION_ID = "over-time"
AREA_ID = "over-time-shares"
SANKEY_ID = "over-time-transitions"


def identity_line(match: IdentityMatch) -> str:
    """One line for the CLI: what the id matching against the previous model did."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(match.kinds().items()))
    kept = (
        ""
        if match.users_kept_id is None
        else f"; {match.users_kept_id:.1%} of {match.shared_users} shared users kept their id"
    )
    return f"Cluster ids against the previous model: {kinds}{kept}"


def event_text(event: dict[str, Any]) -> str:
    """A lineage event in words: "cluster 9 split from cluster 3"."""
    if event["kind"] == "split":
        return f"cluster {event['id']} split from cluster {event['from']}"
    if event["kind"] == "merged":
        return f"cluster {event['id']} merged into cluster {event['into']}"
    return f"cluster {event['id']} {event['kind']}"


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
    """All month-to-month (week, day) moves summed: left the cluster a user was in, right the
    one they were in next period. Stays are the wide bands; the thin crossing ones are moves."""
    moves = timeline.transitions.groupby(["from_cluster", "to_cluster"], as_index=False)[
        "users"
    ].sum()
    if moves.empty:
        return None
    names = dict(zip(timeline.table["cluster"], timeline.table["label"], strict=False))
    left = sorted(set(moves["from_cluster"]))
    right = sorted(set(moves["to_cluster"]))
    labels = [f"{c}: {names.get(c, c)}"[:34] for c in left]
    labels += [f"→ {c}: {names.get(c, c)}"[:34] for c in right]
    figure = go.Figure(
        go.Sankey(
            node={
                "label": labels,
                "color": [colour(int(c)) for c in [*left, *right]],
                "pad": 6,
            },
            link={
                "source": [left.index(c) for c in moves["from_cluster"]],
                "target": [len(left) + right.index(c) for c in moves["to_cluster"]],
                "value": moves["users"].astype(int).tolist(),
                "color": [
                    "rgba(120,120,120,0.25)" if a == b else "rgba(214,39,40,0.55)"
                    for a, b in zip(moves["from_cluster"], moves["to_cluster"], strict=True)
                ],
            },
        )
    )
    figure.update_layout(
        title=f"Who moved where: cluster in one {timeline.period} → in the next "
        "(users active in both; moves in red)",
        height=520,
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
        lines.append(f"<li>at the last refit: {html.escape(event_text(event))}</li>")
    return "".join(lines) or "<li>no cluster grew, faded, was born or split</li>"


def over_time_section(model: Any, previous: Any | None = None) -> str | None:
    """The section's HTML, or None when the model's interactions carry no timestamps."""

    drift = model.active_settings.drift
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
        figure_html(shares_figure(timeline, cluster_colour), AREA_ID),
    ]
    sankey = transitions_figure(timeline, cluster_colour)
    if sankey is not None:
        parts.append(figure_html(sankey, SANKEY_ID))
    parts.append(
        '<p class="note">Each period places the users active in it by their interactions up to '
        f"its end (recency half-life {drift.timeline_half_life_days:g} days). "
        "'interestlens timeline' writes the numbers; 'interestlens drift' compares models.</p>"
        "</section>"
    )
    return "".join(parts)
