"""Scoring models on one segment of a split, and the segment's table of metrics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from interestlens.evaluate.job.constants import RUNNER_SEGMENT, metric_columns
from interestlens.evaluate.prepare import PreparedSplit
from interestlens.evaluate.runner import evaluate_models, skip_reason


def score_segment(
    models: dict[str, Any],
    prepared: PreparedSplit,
    segment: str,
    k: int,
    vectors: np.ndarray,
    show_progress: bool,
) -> tuple[dict[str, dict[str, float]], dict[str, str], dict[str, float]]:
    """Metrics of the models that serve ``segment`` (fitted here), reasons for the others,
    and the fitted models' fit seconds."""
    runner_segment = RUNNER_SEGMENT[segment]
    part = prepared.segments[runner_segment]
    reasons = {name: skip_reason(model, part) for name, model in models.items()}
    serving = {name: model for name, model in models.items() if reasons[name] is None}
    if not serving:
        return {}, {name: str(why) for name, why in reasons.items()}, {}
    table = evaluate_models(
        serving,
        prepared,
        k,
        segments=[runner_segment],
        item_vectors=vectors,
        show_progress=show_progress,
    )
    for entry in table.attrs["skipped"]:
        reasons[entry["model"]] = entry["reason"]
    metrics: dict[str, dict[str, float]] = {}
    for row in table.itertuples(index=False):
        metrics.setdefault(str(row.model), {})[str(row.metric)] = float(row.value)
    na = {name: str(why) for name, why in reasons.items() if why is not None}
    return metrics, na, dict(table.attrs["fit_seconds"])


def segment_table(
    names: Sequence[str], metrics: dict[str, dict[str, float]], na: dict[str, str], k: int
) -> pd.DataFrame:
    """One row per model in ``names``: its metrics, or NaN and an ``n/a: reason`` note."""
    columns = metric_columns(k)
    rows = []
    for name in names:
        values = metrics.get(name, {})
        note = "" if name in metrics else f"n/a: {na.get(name, 'not evaluated')}"
        rows.append({"model": name, **{c: values.get(c, math.nan) for c in columns}, "note": note})
    return pd.DataFrame(rows, columns=["model", *columns, "note"])
