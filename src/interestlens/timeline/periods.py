"""The timeline: which interest cluster each active user is in, period by period.

For every period (month, week or day of the interactions' timestamps) the users active in it get
an interest vector from their interactions up to the period's end, recency-weighted with a short
half-life (``drift.timeline_half_life_days``, counted back from their latest interaction), and
the fitted model places it (:meth:`InterestClusters.predict`, stable ids). From these
placements come the per-period table (users, share, who arrived, who left), the transitions
between consecutive periods (who moved where) and a summary of clusters that grew, faded, were
born or split over the whole span.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from interestlens.errors import DataError, ParameterError
from interestlens.represent import WeightedMeanInterests

PERIODS = {"month": "M", "week": "W", "day": "D"}
TABLE_COLUMNS = ["period", "cluster", "label", "users", "share", "new_users", "left_users"]
TRANSITION_COLUMNS = ["period", "from_cluster", "to_cluster", "users"]
#: a cluster with less than this share in the first third of the periods counts as born later
BORN_BELOW_SHARE = 0.01
#: a born cluster is split off another only with at least this many users followed into it
SPLIT_MIN_ARRIVALS = 5
#: a faded cluster is a split only if this share of its followed users moved on
SPLIT_MIN_OUTFLOW = 0.25


class NoTimestampsError(DataError):
    """The model's interactions carry no timestamps, so there is no time to follow."""


@dataclass
class Timeline:
    """Per period and cluster counts, transitions, and the clusters' trends."""

    period: str
    #: ``period, cluster, label, users, share, new_users, left_users``
    table: pd.DataFrame
    #: ``period, from_cluster, to_cluster, users``: users active in the period and the one before
    transitions: pd.DataFrame
    #: per cluster: early and late share, trend (grown / faded / born / steady / split)
    trends: list[dict[str, Any]] = field(default_factory=list)
    #: born / split / merged / dissolved clusters recorded when the model was refitted
    lineage: list[dict[str, Any]] = field(default_factory=list)

    def named(self, kind: str) -> list[dict[str, Any]]:
        return [t for t in self.trends if t["trend"] == kind]


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise ParameterError(
            f"period {period!r}",
            expected=f"one of {', '.join(PERIODS)}",
            fix="pass --period month, --period week or --period day",
        )
    return period


def period_keys(timestamps: np.ndarray, period: str) -> pd.PeriodIndex:
    times = pd.to_datetime(np.asarray(timestamps, dtype=np.float64), unit="s")
    return pd.PeriodIndex(times.to_period(PERIODS[period]))


def placements(
    model: Any, *, period: str = "month", half_life_days: float = 30.0
) -> dict[pd.Period, dict[int, int]]:
    """Per period, user index -> cluster id of the users active in it."""
    check_period(period)
    frame = model.interactions_
    times = frame["timestamp"].to_numpy(dtype=np.float64)
    known = ~np.isnan(times)
    if not known.any():
        raise NoTimestampsError(
            "the model's interactions carry no timestamps",
            expected="interactions with a timestamp column (epoch seconds or ISO dates) at fit",
            fix="fit the model from interactions that have timestamps (--timestamp-col NAME)",
        )
    frame = frame.loc[known].reset_index(drop=True)
    times = times[known]
    keys = period_keys(times, period)
    users = frame["user_index"].to_numpy(dtype=np.int64)
    items = frame["item_index"].to_numpy(dtype=np.int64)
    ratings = frame["rating"].to_numpy(dtype=np.float64)
    has_ratings = not np.isnan(ratings).all()
    settings = model.active_settings
    representer = WeightedMeanInterests(
        half_life_days=half_life_days,
        use_ratings=settings.interests.use_ratings,
        text_weight=settings.interests.text_weight,
    )
    has_text = np.array([bool(t.strip()) for t in model.user_texts_], dtype=bool)
    found: dict[pd.Period, dict[int, int]] = {}
    ends = keys.end_time.to_numpy()
    stamps = pd.to_datetime(times, unit="s").to_numpy()
    for key in sorted(set(keys)):
        in_period = np.asarray(keys == key)
        active = np.unique(users[in_period])
        end = ends[in_period][0]
        rows = np.isin(users, active) & (stamps <= end)
        # only the period's active users, renumbered 0..n-1: a period costs its own users
        fitted = representer.fit(
            np.searchsorted(active, users[rows]),
            items[rows],
            model.item_vectors_,
            n_users=len(active),
            ratings=ratings[rows] if has_ratings else None,
            timestamps=times[rows],
            user_text_vectors=model.user_text_vectors_[active],
            user_has_text=has_text[active],
        )
        labels = model.clusters_.predict(fitted.vectors_.astype(np.float32))
        found[key] = {int(u): int(c) for u, c in zip(active, labels, strict=True)}
    return found


def build_timeline(
    model: Any,
    *,
    period: str = "month",
    half_life_days: float = 30.0,
    share_change_ratio: float = 1.5,
    split_min_share: float = 0.25,
    previous: Any | None = None,
) -> Timeline:
    """The timeline of a fitted model (see the module docstring).

    ``previous``: the model ``model`` was refitted from (``fit --previous``, ``refit``); the
    periods ``model``'s interactions do not cover are placed by it. Ids are stable across the
    two, so the timeline runs through the refit and shows what it changed.
    """
    placed = placements(model, period=period, half_life_days=half_life_days)
    if previous is not None:
        earlier = placements(previous, period=period, half_life_days=half_life_days)
        first = min(placed)
        placed = {
            **{k: v for k, v in earlier.items() if k < first},
            **placed,
        }
        # the earlier model's user indices are its own: key by user id instead
        placed = _by_user_id(placed, model, previous, first)
    clusters = sorted({c for period_users in placed.values() for c in period_users.values()})
    names = {e.cluster_id: e.label for e in model.clusters_.explanations}
    rows: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    before: dict[int, int] = {}
    for key, now in placed.items():
        total = max(len(now), 1)
        for cluster in clusters:
            members = {u for u, c in now.items() if c == cluster}
            previous = {u for u, c in before.items() if c == cluster}
            rows.append(
                {
                    "period": str(key),
                    "cluster": cluster,
                    "label": names.get(
                        cluster, "no signal" if cluster < 0 else f"cluster {cluster}"
                    ),
                    "users": len(members),
                    "share": round(len(members) / total, 6),
                    "new_users": len(members - previous),
                    "left_users": len(previous - members),
                }
            )
        pairs: dict[tuple[int, int], int] = {}
        for user, cluster in now.items():
            if user in before:
                pairs[(before[user], cluster)] = pairs.get((before[user], cluster), 0) + 1
        for (source, target), count in sorted(pairs.items()):
            moves.append(
                {"period": str(key), "from_cluster": source, "to_cluster": target, "users": count}
            )
        before = now
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    transitions = pd.DataFrame(moves, columns=TRANSITION_COLUMNS)
    trends = cluster_trends(
        table, transitions, names, ratio=share_change_ratio, split_min_share=split_min_share
    )
    events = (model.clusters_.lineage or {}).get("events", [])
    return Timeline(
        period=period,
        table=table,
        transitions=transitions,
        trends=trends,
        lineage=[e for e in events if e["kind"] != "kept"],
    )


def _by_user_id(
    placed: dict[pd.Period, dict[int, int]], model: Any, previous: Any, first: pd.Period
) -> dict[pd.Period, dict[Any, int]]:
    ids, earlier_ids = model.user_ids_.ids, previous.user_ids_.ids
    return {
        key: {(ids[u] if key >= first else earlier_ids[u]): c for u, c in users.items()}
        for key, users in sorted(placed.items())
    }


def cluster_trends(
    table: pd.DataFrame,
    transitions: pd.DataFrame,
    names: dict[int, str],
    *,
    ratio: float,
    split_min_share: float,
) -> list[dict[str, Any]]:
    """Early (first third of the periods) against late (last third) share of each cluster.

    grown / faded: the late share is ``ratio`` times the early one or less than its
    ``1 / ratio``; born: under 1 % early (split from X when most users it took over came from
    X, with at least ``split_min_share`` of them); split: faded, a quarter or more of the users
    followed from it moved on, and at least two other clusters each took ``split_min_share``.
    """
    periods = list(dict.fromkeys(table["period"]))
    third = max(len(periods) // 3, 1)
    early_periods, late_periods = set(periods[:third]), set(periods[-third:])
    shares = table.pivot_table(index="period", columns="cluster", values="share").fillna(0.0)
    trends = []
    for cluster in shares.columns:
        early = float(shares.loc[shares.index.isin(early_periods), cluster].mean())
        late = float(shares.loc[shares.index.isin(late_periods), cluster].mean())
        trend = "steady"
        if early < BORN_BELOW_SHARE and late >= 3 * BORN_BELOW_SHARE:
            trend = "born"
        elif late >= early * ratio:
            trend = "grown"
        elif late * ratio <= early and early >= BORN_BELOW_SHARE:
            trend = "faded"
        record: dict[str, Any] = {
            "cluster": int(cluster),
            "label": names.get(int(cluster), f"cluster {cluster}"),
            "early_share": round(early, 4),
            "late_share": round(late, 4),
            "trend": trend,
        }
        if trend == "born":
            # born out of one cluster: most of the users it took over came from there
            arrivals = transitions.loc[
                (transitions["to_cluster"] == cluster) & (transitions["from_cluster"] != cluster)
            ]
            by_source = arrivals.groupby("from_cluster")["users"].sum()
            if by_source.sum() >= SPLIT_MIN_ARRIVALS:
                source = int(by_source.idxmax())
                if by_source.max() >= split_min_share * by_source.sum():
                    record["trend"] = "split"
                    record["from"] = source
        if trend == "faded":
            mine = transitions.loc[transitions["from_cluster"] == cluster]
            outflow = mine.loc[mine["to_cluster"] != cluster]
            by_target = outflow.groupby("to_cluster")["users"].sum()
            total = by_target.sum()
            # users who merely wander (noise) leave a few at a time; a split moves a good part
            if total > 0 and total >= SPLIT_MIN_OUTFLOW * mine["users"].sum():
                heirs = sorted(int(t) for t, n in by_target.items() if n / total >= split_min_share)
                if len(heirs) >= 2:
                    record["trend"] = "split"
                    record["into"] = heirs
        trends.append(record)
    # the parent of a split: it lost the users the new cluster took over
    by_cluster = {record["cluster"]: record for record in trends}
    for record in trends:
        parent = by_cluster.get(record.get("from", -2)) if record["trend"] == "split" else None
        if parent is not None and parent["trend"] in ("faded", "steady"):
            parent["trend"] = "split"
            parent["into"] = sorted({*parent.get("into", [parent["cluster"]]), record["cluster"]})
    return trends
