"""The ``interestlens evaluate`` job: interestlens against the baselines on one dataset.

:func:`run_evaluation` builds three splits from any :class:`Dataset` (seeded by
``settings.seed``) and fits and scores every model on each, in the same run:

* ``warm``: each user's latest 20% of interactions (by timestamp when every interaction has
  one, else a seeded random 20%); with ``split="random"`` a seeded random 25% of each
  user's interactions (``holdout_fraction`` changes either share);
* ``cold_users``: 20% of the users leave training; each keeps their first 3 interactions as
  fold-in history (read at query time, never trained on; 3 random ones with
  ``split="random"``) and the rest are targets. When users have text, a ``cold_users_text``
  segment scores the same users (those with text) from their text alone. When the users table
  has attribute columns (categorical, or numeric binned), the ``AttributePop`` baseline
  (popularity within the user's attribute groups) scores the users of every user segment;
* ``cold_items``: 20% of the items lose every interaction; known users must find them among
  the held-out items, by text.

User text must not describe held-out interactions: see :mod:`.texts` for the rules
(``pair_texts``, ``user_texts``). Segments that the data cannot fill are skipped with the
reason recorded (``skipped``); a :class:`ParameterError` comes only when no requested
segment can be built.

Modules: :mod:`.constants` (segment and model names), :mod:`.texts` (item and user texts),
:mod:`.segments` (the per-segment splits), :mod:`.models` (baselines and interestlens),
:mod:`.scoring` (one segment's table), :mod:`.result` (the result and its files).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from interestlens.config import Settings
from interestlens.data.schema import ITEM_ID, USER_ID, Dataset
from interestlens.embed.base import Encoder
from interestlens.embed.batch import embed_texts
from interestlens.errors import ParameterError
from interestlens.evaluate.job.constants import (
    ALL_MODELS,
    ATTRIBUTE_POP,
    BASELINES,
    COLD_USERS_TEXT,
    EASE_LAMBDAS,
    HISTORY_PER_USER,
    MODELS,
    OURS,
    RANDOM_TEST_FRACTION,
    REGIME,
    RUNNER_SEGMENT,
    SEGMENT_TITLES,
    SEGMENTS,
    SPLIT_PROTOCOLS,
    TEST_FRACTION,
    WARM,
    metric_columns,
)
from interestlens.evaluate.job.models import baseline_models, chosen_settings, interest_model
from interestlens.evaluate.job.result import (
    FORMAT,
    FORMAT_VERSION,
    EvaluationResult,
    jsonable,
    read_evaluation,
    summary_lines,
    tidy_frame,
    write_evaluation,
)
from interestlens.evaluate.job.scoring import score_segment, segment_table
from interestlens.evaluate.job.segments import (
    SplitJob,
    build_split,
    prepare_job,
    split_protocol,
    text_only,
)
from interestlens.evaluate.job.texts import (
    INTERACTION_TEXT_NOTES,
    UserTextPolicy,
    attribute_frame,
    interaction_user_texts,
    item_frame,
    profile_frame,
    split_user_texts,
    user_text_source,
)
from interestlens.evaluate.prepare import COLD_ITEMS, COLD_USERS
from interestlens.recommend.base import check_k
from interestlens.recommend.interest import InterestRecommender

__all__ = [
    "ALL_MODELS",
    "ATTRIBUTE_POP",
    "BASELINES",
    "COLD_ITEMS",
    "COLD_USERS",
    "COLD_USERS_TEXT",
    "EASE_LAMBDAS",
    "FORMAT",
    "FORMAT_VERSION",
    "HISTORY_PER_USER",
    "INTERACTION_TEXT_NOTES",
    "MODELS",
    "OURS",
    "RANDOM_TEST_FRACTION",
    "REGIME",
    "SEGMENTS",
    "SEGMENT_TITLES",
    "SPLIT_PROTOCOLS",
    "TEST_FRACTION",
    "WARM",
    "EvaluationResult",
    "SplitJob",
    "UserTextPolicy",
    "baseline_models",
    "build_split",
    "interaction_user_texts",
    "interest_model",
    "metric_columns",
    "prepare_job",
    "read_evaluation",
    "run_evaluation",
    "split_protocol",
    "summary_lines",
    "text_only",
    "tidy_frame",
    "write_evaluation",
]


def _check_choice(name: str, given: Sequence[str], allowed: Sequence[str]) -> list[str]:
    if isinstance(given, str):
        given = [given]
    unknown = [value for value in given if value not in allowed]
    if unknown or not given:
        raise ParameterError(
            f"{name}={list(given)!r}" + (f" names unknown {unknown}" if unknown else " is empty"),
            expected=f"some of {list(allowed)}",
            fix=f"drop the unknown names, or leave {name} at its default",
        )
    return [value for value in allowed if value in given]


def run_evaluation(
    dataset: Dataset,
    settings: Settings,
    *,
    encoder: Encoder,
    segments: Sequence[str] = SEGMENTS,
    k: int = 10,
    models: Sequence[str] | None = None,
    show_progress: bool = False,
    user_texts: UserTextPolicy = "auto",
    pair_texts: pd.DataFrame | None = None,
    split: str | None = None,
    holdout_fraction: float | None = None,
) -> EvaluationResult:
    """Fit interestlens and the baselines on each split of ``dataset`` and score them.

    ``segments``: some of ``warm``, ``cold_users`` (adds ``cold_users_text`` when users have
    text), ``cold_items``. ``models``: some of :data:`ALL_MODELS` (default: :data:`MODELS`, and
    ``AttributePop`` when the users table has attribute columns). The baselines see
    binary interactions; interestlens sees ratings (with ``settings.interests.use_ratings``)
    and the training interactions' times, and tunes its blend on validation parts of the
    training part when ``settings.recommend.tune``. EASE's l2 is tuned on a validation split
    of the training part. Lists are ranked from ``score``/``score_new`` (no MMR re-ranking).
    ``split``: ``"temporal"`` (each user's latest interactions are held out; random when the
    data has no timestamps) or ``"random"`` (a seeded random share of each user's
    interactions); default ``settings.recommend.validation``, the protocol ``fit`` tunes for.
    ``holdout_fraction`` (default 0.2 temporal, 0.25 random) is that share. The protocol is
    recorded in ``setup["split"]``; interestlens's tuning and EASE's l2 search follow it.
    """
    started = time.perf_counter()
    k = check_k(k)
    wanted = _check_choice("segments", segments, SEGMENTS)
    text_source, text_reason = user_text_source(dataset, user_texts, pair_texts)
    # attributes come from the same users table as profile texts, under the same leak rules
    attributes, attribute_reason = attribute_frame(dataset if text_source == "profile" else None)
    default_models = MODELS if attributes is None else ALL_MODELS
    names = _check_choice("models", default_models if models is None else models, ALL_MODELS)
    seed = int(settings.seed)
    interactions = dataset.interactions.astype({USER_ID: str, ITEM_ID: str})
    split = settings.recommend.validation if split is None else split
    protocol, fraction, protocol_note = split_protocol(interactions, split, holdout_fraction)
    items = item_frame(dataset, settings)
    profiles = profile_frame(dataset, settings) if text_source == "profile" else None
    vectors, _ = embed_texts(
        encoder, items["text"].tolist(), batch_size=settings.encoder.batch_size, show_progress=False
    )
    result = EvaluationResult({}, k, seed, jsonable(dict(dataset.summary())))
    result.setup = {
        "models": names,
        "segments": wanted,
        "encoder": str(getattr(encoder, "identifier", type(encoder).__name__)),
        "user_texts": {"source": text_source, "reason": text_reason},
        "item_text_columns": settings.text.item_columns or "every column of the items table",
        "recommend": settings.recommend.model_dump(mode="json"),
        "test_fraction": TEST_FRACTION,
        "history_per_user": HISTORY_PER_USER,
        "warm_split": protocol,
        "split": {
            "requested": split,
            "protocol": protocol,
            "holdout_fraction": fraction,
            "seed": seed,
            "cold_user_fold_in": "random" if protocol == "random" else "earliest",
            "note": protocol_note,
        },
        "user_attributes": {
            "columns": [] if attributes is None else [c for c in attributes if c != USER_ID],
            "reason": attribute_reason,
        },
    }
    timings: dict[str, Any] = {"item_vectors": round(time.perf_counter() - started, 3)}
    tuned: dict[str, InterestRecommender] = {}
    for name in tqdm(wanted, desc="segments", disable=not show_progress):
        split_started = time.perf_counter()
        part = build_split(name, interactions, seed, protocol=protocol, fraction=fraction)
        if isinstance(part, str):
            result.skipped[name] = part
            continue
        users = split_user_texts(part, text_source, pair_texts, profiles)
        job = prepare_job(
            part,
            items,
            users,
            use_ratings=settings.interests.use_ratings,
            tune_ease="EASE" in names and name != COLD_ITEMS,
            default_l2=settings.recommend.ease_l2,
            seed=seed,
            protocol=protocol,
            user_attributes=attributes,
        )
        parts = [(name, job.binary, job.rating)]
        if name == COLD_USERS and users is not None:
            parts.append((COLD_USERS_TEXT, text_only(job.binary), text_only(job.rating)))
        for segment, binary, rating in parts:
            relevant = binary.segments[RUNNER_SEGMENT[segment]].relevant
            if relevant.nnz == 0:
                result.skipped[segment] = (
                    "no cold user has text of their own"
                    if segment == COLD_USERS_TEXT
                    else "the split leaves no test interaction in this segment"
                )
                continue
            segment_started = time.perf_counter()
            baselines = {m: v for m, v in baseline_models(job.ease_l2, seed).items() if m in names}
            metrics, na, fit_seconds = score_segment(
                baselines, binary, segment, k, vectors, show_progress
            )
            hyper: dict[str, Any] = {}
            if "EASE" in baselines and "EASE" in metrics:
                hyper["EASE"] = {"l2": job.ease_l2, "validation_ndcg@10": job.ease_search}
                hyper["EASE"].update({"note": job.ease_note} if job.ease_note else {})
            if OURS in names:
                # the text-only segment scores the users of the cold-user split again: the
                # model tuned there (for both regimes) is refitted with its chosen settings,
                # not tuned twice
                regimes = [REGIME[segment]]
                if segment == COLD_USERS and users is not None:
                    regimes.append(REGIME[COLD_USERS_TEXT])
                model = interest_model(
                    settings,
                    encoder,
                    tuple(regimes),
                    job.times,
                    chosen_by=tuned.get(name),
                    protocol=protocol,
                    texts_from_interactions=text_source == "interactions",
                )
                ours, ours_na, ours_fit = score_segment(
                    {OURS: model}, rating, segment, k, vectors, False
                )
                metrics.update(ours)
                na.update(ours_na)
                fit_seconds.update(ours_fit)
                if OURS in ours:
                    tuned.setdefault(name, model)
                    hyper[OURS] = chosen_settings(tuned[name], REGIME[segment])
            result.tables[segment] = segment_table(names, metrics, na, k)
            result.splits[segment] = {**part.summary(), "notes": dict(binary.notes)}
            result.hyperparameters[segment] = hyper
            timings[segment] = {
                "seconds": round(time.perf_counter() - segment_started, 3),
                "fit_seconds": fit_seconds,
            }
        timings[f"{name} split"] = round(time.perf_counter() - split_started, 3)
    if not result.tables:
        reasons = "; ".join(f"{n}: {why}" for n, why in result.skipped.items())
        raise ParameterError(
            f"no segment of dataset {dataset.name!r} can be evaluated ({reasons})",
            expected="enough users and items to hold out 20% of them",
            fix="evaluate on more interactions",
        )
    timings["total"] = round(time.perf_counter() - started, 3)
    result.timings = timings
    return result
