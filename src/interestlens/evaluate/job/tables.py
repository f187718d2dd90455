"""The evaluation as text: one markdown table per segment (``evaluation.md``) and the
formatting the report's HTML tables share with it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from interestlens.evaluate.job.constants import OURS

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


def shown_columns(data: Mapping[str, Any]) -> list[str]:
    k = data["k"]
    return [f"{name}@{k}" for name in SHOWN] + ["n_users"]


def format_number(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if column == "n_users":
        return str(int(value))
    return f"{value:.4f}"


def segment_title(name: str, part: Mapping[str, Any]) -> str:
    users = [row.get("n_users") for row in part["table"] if row.get("n_users") is not None]
    count = f" ({int(max(users))} users)" if users else ""
    return f"{part.get('title', name)}{count}"


def evaluation_markdown(data: Mapping[str, Any]) -> str:
    """A markdown table per segment, the summary lines and what was skipped."""
    columns = shown_columns(data)
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
        lines += [f"## {segment_title(name, part)}", ""]
        lines.append("| model | " + " | ".join(columns) + " |")
        lines.append("|---|" + "---:|" * len(columns))
        for row in part["table"]:
            model = f"**{row['model']}**" if row["model"] == OURS else row["model"]
            cells = [format_number(row.get(c), c) for c in columns]
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
