"""Fit several recommenders on one split and score them, segment by segment, in one table."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from interestlens.data.schema import USER_ID
from interestlens.data.splits import Split
from interestlens.errors import ParameterError
from interestlens.evaluate.metrics import (
    RANKING_METRICS,
    auc,
    catalogue_coverage,
    intra_list_diversity,
    novelty,
)
from interestlens.evaluate.prepare import (
    COLD_ITEMS,
    SEGMENTS,
    PreparedSplit,
    Segment,
    prepare_split,
)
from interestlens.persist import write_json
from interestlens.recommend.attribute_popularity import AttributeRecommender
from interestlens.recommend.base import HISTORY, TEXT, Recommender, check_k, top_k
from interestlens.recommend.matrix import Weighting

COLUMNS = ["model", "segment", "metric", "value"]


def skip_reason(model: Recommender, segment: Segment) -> str | None:
    """Why ``model`` cannot be scored on ``segment`` (None: it can): no targets, cold items
    for a model without item text, or cold users whose inputs the model does not read."""
    if segment.relevant.nnz == 0:
        return "no test interactions in this segment"
    if segment.name == COLD_ITEMS and not getattr(model, "handles_cold_items", False):
        return "the model cannot score items without interactions"
    if isinstance(model, AttributeRecommender):
        if segment.attributes is None:
            return "the model needs user attributes; the users table has none"
        return None
    if segment.new_users:
        needs = frozenset(getattr(model, "new_user_inputs", frozenset({HISTORY, TEXT})))
        available = set()
        if segment.history is not None:
            available.add(HISTORY)
        if segment.texts is not None:
            available.add(TEXT)
        if needs and not (needs & available):
            have = " and ".join(sorted(available)) or "nothing"
            return f"the model needs {' or '.join(sorted(needs))}; cold users have {have}"
    return None


def _evaluate_segment(
    model: Recommender,
    segment: Segment,
    prepared: PreparedSplit,
    k: int,
    *,
    exclude_seen: bool,
    item_vectors: np.ndarray | sp.spmatrix | None,
    batch_size: int,
) -> dict[str, float]:
    train = prepared.train
    popularity = train.getnnz(axis=0)
    per_user: dict[str, list[np.ndarray]] = {name: [] for name in RANKING_METRICS}
    per_user.update(auc=[], novelty=[], diversity=[])
    shown: list[np.ndarray] = []
    for start in range(0, len(segment.users), batch_size):
        users = segment.users[start : start + batch_size]
        if segment.new_users:
            history = None if segment.history is None else segment.history[users]
            exclude = history
        else:
            exclude = train[users]
        if isinstance(model, AttributeRecommender):
            assert segment.attributes is not None  # skip_reason said so
            scores = model.score(segment.attributes.iloc[start : start + len(users)])
        elif segment.new_users:
            texts = None if segment.texts is None else [segment.texts[u] for u in users]
            if getattr(model, "reads_attributes", False) and segment.attributes is not None:
                rows = segment.attributes.iloc[start : start + len(users)]
                scores = model.score_new(history, texts, _attribute_columns_only(rows))
            else:
                scores = model.score_new(history, texts)
        else:
            scores = model.score(users)
        exclude = exclude if exclude_seen else None
        ranked, _ = top_k(scores, k, exclude=exclude, candidates=segment.candidates)
        relevant = segment.relevant[start : start + batch_size]
        for name, metric in RANKING_METRICS.items():
            per_user[name].append(metric(ranked, relevant))
        per_user["auc"].append(
            auc(scores, relevant, exclude=exclude, candidates=segment.candidates)
        )
        per_user["novelty"].append(novelty(ranked, popularity, train.shape[0]))
        if item_vectors is not None:
            per_user["diversity"].append(intra_list_diversity(ranked, item_vectors))
        shown.append(np.unique(ranked[ranked >= 0]))
    n_catalogue = train.shape[1] if segment.candidates is None else len(segment.candidates)
    values: dict[str, float] = {}
    for name in RANKING_METRICS:
        values[f"{name}@{k}"] = _mean(per_user[name])
    values["auc"] = _mean(per_user["auc"])
    values[f"coverage@{k}"] = catalogue_coverage(np.concatenate(shown)[None, :], n_catalogue)
    values[f"novelty@{k}"] = _mean(per_user["novelty"])
    if item_vectors is not None:
        values[f"diversity@{k}"] = _mean(per_user["diversity"])
    values["n_users"] = float(len(segment.users))
    return values


def _attribute_columns_only(frame: pd.DataFrame) -> pd.DataFrame:
    """The attribute rows without the id column."""
    return frame.drop(columns=[USER_ID], errors="ignore").reset_index(drop=True)


def _mean(parts: list[np.ndarray]) -> float:
    values = np.concatenate(parts) if parts else np.array([])
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else math.nan


def _jsonable_params(model: Recommender) -> dict[str, Any]:
    get_params = getattr(model, "get_params", None)
    if get_params is None:
        return {}
    params = {}
    for key, value in get_params(deep=False).items():
        if value is None or isinstance(value, bool | int | float | str):
            params[key] = value
        elif isinstance(value, tuple | list) and all(
            isinstance(part, bool | int | float | str) for part in value
        ):
            params[key] = list(value)
    return params


def evaluate_models(
    models: Mapping[str, Recommender],
    split: Split | PreparedSplit,
    k: int = 10,
    *,
    segments: Sequence[str] = SEGMENTS,
    items: pd.DataFrame | None = None,
    item_text_column: str | Sequence[str] | None = None,
    users: pd.DataFrame | None = None,
    user_text_column: str | Sequence[str] | None = None,
    item_vectors: np.ndarray | sp.spmatrix | None = None,
    train_weight: Weighting = "binary",
    relevance_threshold: float | None = None,
    exclude_seen: bool = True,
    batch_size: int = 512,
    show_progress: bool = False,
    user_attributes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Fit every model on ``split.train`` (in place) and evaluate them on the same test pairs.

    Returns a tidy frame with columns ``model, segment, metric, value``: ranking metrics as
    ``ndcg@10`` and so on, ``auc``, ``coverage@k``, ``novelty@k``, ``diversity@k`` (only with
    ``item_vectors``, rows aligned with the item catalogue) and ``n_users`` for each model and
    segment. ``table.attrs`` holds ``k``, the split summary, notes, fit times and the
    (model, segment) pairs skipped with the reason; :func:`results_to_dict` makes it JSON.
    A model is skipped on ``cold_items`` when it cannot score items without interactions, and
    on ``cold_users`` when it needs an input (history, text) the cold users lack.
    Scores come from ``score``/``score_new`` and are ranked with the shared ``top_k`` helper,
    so the lists are those ``recommend`` returns. Models that score from user attributes
    (:class:`~interestlens.recommend.attribute_popularity.AttributeRecommender`) are fitted on
    ``user_attributes`` (``user_id`` + attribute columns) and skipped without it.
    """
    k = check_k(k)
    if not models:
        raise ParameterError(
            "models is empty",
            expected="a mapping of names to recommenders",
            fix="pass models={'MostPop': MostPop()}",
        )
    unknown = [name for name in segments if name not in SEGMENTS]
    if unknown:
        raise ParameterError(
            f"unknown segments {unknown}",
            expected=f"some of {list(SEGMENTS)}",
            fix="drop the unknown names",
        )
    if isinstance(split, PreparedSplit):
        ignored = [
            name
            for name, given in (
                ("items", items is not None),
                ("item_text_column", item_text_column is not None),
                ("users", users is not None),
                ("user_text_column", user_text_column is not None),
                ("train_weight", train_weight != "binary"),
                ("relevance_threshold", relevance_threshold is not None),
                ("user_attributes", user_attributes is not None),
            )
            if given
        ]
        if ignored:
            raise ParameterError(
                f"split is already prepared, but {', '.join(ignored)} were also given",
                expected="those settings in prepare_split, not here",
                fix="pass them to prepare_split, or pass the Split itself",
            )
        prepared = split
    else:
        prepared = prepare_split(
            split,
            items=items,
            item_text_column=item_text_column,
            users=users,
            user_text_column=user_text_column,
            train_weight=train_weight,
            relevance_threshold=relevance_threshold,
            user_attributes=user_attributes,
        )
    if item_vectors is not None and item_vectors.shape[0] != len(prepared.item_map):
        raise ParameterError(
            f"item_vectors has {item_vectors.shape[0]} rows but the catalogue has "
            f"{len(prepared.item_map)} items",
            expected="one vector per item of `items`, in its order, covering every split item",
            fix="pass items with every item of the split, and vectors in the same order",
        )

    rows: list[tuple[str, str, str, float]] = []
    skipped: list[dict[str, str]] = []
    fit_seconds: dict[str, float] = {}
    for model_name, model in tqdm(models.items(), disable=not show_progress, desc="models"):
        started = time.perf_counter()
        if isinstance(model, AttributeRecommender):
            if prepared.user_attributes is None:
                reason = "the model needs user attributes; the users table has none"
                skipped += [
                    {"model": model_name, "segment": name, "reason": reason} for name in segments
                ]
                continue
            model.fit(prepared.train, prepared.user_attributes)
        elif getattr(model, "reads_attributes", False) and prepared.user_attributes is not None:
            model.fit(
                prepared.train,
                item_texts=prepared.item_texts,
                user_texts=prepared.user_texts,
                user_attributes=_attribute_columns_only(prepared.user_attributes),
            )
        else:
            model.fit(
                prepared.train, item_texts=prepared.item_texts, user_texts=prepared.user_texts
            )
        fit_seconds[model_name] = round(time.perf_counter() - started, 3)
        for segment_name in segments:
            segment = prepared.segments[segment_name]
            reason = skip_reason(model, segment)
            if reason is not None:
                skipped.append({"model": model_name, "segment": segment_name, "reason": reason})
                continue
            values = _evaluate_segment(
                model,
                segment,
                prepared,
                k,
                exclude_seen=exclude_seen,
                item_vectors=item_vectors,
                batch_size=batch_size,
            )
            rows.extend((model_name, segment_name, metric, v) for metric, v in values.items())
    table = pd.DataFrame(rows, columns=COLUMNS)
    table.attrs.update(
        k=k,
        split=prepared.split_summary,
        notes=dict(prepared.notes),
        fit_seconds=fit_seconds,
        skipped=skipped,
        models={
            name: {"class": type(model).__name__, "params": _jsonable_params(model)}
            for name, model in models.items()
        },
    )
    return table


def results_to_dict(table: pd.DataFrame) -> dict[str, Any]:
    """The table and its ``attrs`` as plain JSON types (NaN becomes None)."""
    records = [
        {
            "model": str(row.model),
            "segment": str(row.segment),
            "metric": str(row.metric),
            "value": None if pd.isna(row.value) else float(row.value),
        }
        for row in table.itertuples(index=False)
    ]
    return {**{key: value for key, value in table.attrs.items()}, "results": records}


def write_results(path: str | Path, table: pd.DataFrame) -> Path:
    """Write :func:`results_to_dict` atomically as JSON."""
    return write_json(path, results_to_dict(table))
