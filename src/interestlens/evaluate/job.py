"""The ``interestlens evaluate`` job: interestlens against the baselines on one dataset.

:func:`run_evaluation` builds three splits from any :class:`Dataset` (seeded by
``settings.seed``) and fits and scores every model on each, in the same run:

* ``warm``: each user's latest 20% of interactions (by timestamp when every interaction has
  one, else a seeded random 20%);
* ``cold_users``: 20% of the users leave training; each keeps their first 3 interactions as
  fold-in history (read at query time, never trained on) and the rest are targets. When users
  have text, a ``cold_users_text`` segment scores the same users (those with text) from their
  text alone;
* ``cold_items``: 20% of the items lose every interaction; known users must find them among
  the held-out items, by text.

User text must not describe held-out interactions (a review of a target item would give it
away). ``pair_texts`` (``user_id, item_id, text``: text tied to one interaction) is used the
way benchmarks/recommend_benchmark.py does: each user gets only the text of their training
interactions (and of their fold-in history). Without it, the users table's own texts are
used (``user_texts="profile"``: bios, stated interests) or not (``"none"``); ``"auto"``
leaves them out when the reader built them from interactions (MovieLens tags, Amazon
reviews; see :data:`INTERACTION_TEXT_NOTES`).

Segments that the data cannot fill are skipped with the reason recorded (``skipped``); a
:class:`ParameterError` comes only when no requested segment can be built.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from interestlens.config import Settings
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.embed.base import Encoder
from interestlens.errors import MissingColumnsError, ModelFormatError, ParameterError
from interestlens.evaluate.prepare import COLD_ITEMS, COLD_USERS, WARM_USERS, PreparedSplit
from interestlens.evaluate.prepare import prepare_split as prepare_indexed
from interestlens.evaluate.runner import _skip_reason, evaluate_models
from interestlens.evaluate.splits import (
    Split,
    cold_item_holdout,
    cold_user_holdout,
    random_holdout,
    temporal_holdout,
    validation_split,
)
from interestlens.persist import atomic_write_text, write_json
from interestlens.recommend import ALS, EASE, ContentKNN, ItemKNN, MostPop
from interestlens.recommend.base import check_k
from interestlens.recommend.interest import InterestRecommender
from interestlens.text import build_texts

FORMAT = "interestlens-evaluation"
FORMAT_VERSION = 1
OURS = "interestlens"
BASELINES: tuple[str, ...] = ("MostPop", "ItemKNN", "EASE", "ALS", "ContentKNN")
MODELS: tuple[str, ...] = (OURS, *BASELINES)
WARM, COLD_USERS_TEXT = "warm", "cold_users_text"
SEGMENTS: tuple[str, ...] = (WARM, COLD_USERS, COLD_ITEMS)
SEGMENT_TITLES = {
    WARM: "warm users",
    COLD_USERS: "cold users (3 fold-in interactions + their text)",
    COLD_USERS_TEXT: "cold users (text only)",
    COLD_ITEMS: "cold items",
}
#: share held out in every split, fold-in interactions per cold user, EASE's l2 candidates
TEST_FRACTION, HISTORY_PER_USER = 0.2, 3
EASE_LAMBDAS: tuple[float, ...] = (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
#: dataset notes by which the readers say the users table was built from interactions
INTERACTION_TEXT_NOTES = ("user_text_from_interactions", "users_with_tags", "review_lines")
#: InterestRecommender's blend regime for each segment
REGIME = {WARM: "warm", COLD_USERS: "cold_users", COLD_USERS_TEXT: "cold_users"}
REGIME[COLD_ITEMS] = "cold_items"
_RUNNER_SEGMENT = {WARM: WARM_USERS, COLD_USERS: COLD_USERS, COLD_USERS_TEXT: COLD_USERS}
_RUNNER_SEGMENT[COLD_ITEMS] = COLD_ITEMS
UserTextPolicy = Literal["auto", "profile", "none"]


def metric_columns(k: int) -> list[str]:
    """The columns of every segment table, in order."""
    ranking = [f"{name}@{k}" for name in ("ndcg", "recall", "precision", "mrr", "map", "hit_rate")]
    return [*ranking, "auc", f"coverage@{k}", f"diversity@{k}", f"novelty@{k}", "n_users"]


# --- texts -----------------------------------------------------------------------------------


def interaction_user_texts(pair_texts: pd.DataFrame, allowed: pd.DataFrame) -> pd.DataFrame:
    """``user_id, text``: each user's texts tied to the ``allowed`` interactions, one a line."""
    missing = [c for c in (USER_ID, ITEM_ID, "text") if c not in pair_texts.columns]
    if missing:
        raise MissingColumnsError(
            f"pair_texts columns {list(pair_texts.columns)} lack {missing}",
            expected="columns user_id, item_id, text (text tied to one interaction)",
            fix="build one row per (user, item) text, e.g. a review",
        )
    keys = allowed[[USER_ID, ITEM_ID]].astype(str).drop_duplicates()
    texts = pair_texts.astype({USER_ID: str, ITEM_ID: str}).merge(keys, how="inner")
    joined = texts.groupby(USER_ID, sort=False)["text"].agg("\n".join)
    return joined.rename("text").reset_index()


def _item_frame(dataset: Dataset, settings: Settings) -> pd.DataFrame:
    items = dataset.items.astype({ITEM_ID: str})
    texts = build_texts(
        items,
        id_col=ITEM_ID,
        columns=settings.text.item_columns,
        template=settings.text.item_template,
    )
    frame = pd.DataFrame({ITEM_ID: items[ITEM_ID].to_numpy(), "text": texts})
    # interacted items missing from the items table get an empty text, so that every split
    # shares one catalogue order
    extra = pd.unique(dataset.interactions[ITEM_ID].astype(str))
    extra = extra[~np.isin(extra, frame[ITEM_ID].to_numpy())]
    return pd.concat([frame, pd.DataFrame({ITEM_ID: extra, "text": ""})], ignore_index=True)


def _user_text_source(
    dataset: Dataset, policy: str, pair_texts: pd.DataFrame | None
) -> tuple[str, str]:
    if policy not in ("auto", "profile", "none"):
        raise ParameterError(
            f"user_texts={policy!r}",
            expected="'auto', 'profile' or 'none'",
            fix="pass user_texts='auto'",
        )
    if pair_texts is not None:
        return "interactions", "text tied to training and fold-in interactions only"
    if policy == "none":
        return "none", "user texts turned off"
    if dataset.users is None or len(dataset.users.columns) <= 1:
        return "none", "the dataset has no user texts"
    derived = [note for note in INTERACTION_TEXT_NOTES if dataset.notes.get(note)]
    if policy == "auto" and derived:
        return "none", (
            f"the users table was built from interactions (note {derived[0]!r}) and could "
            "describe held-out items; pass pair_texts to use it safely"
        )
    return "profile", "the users table's own texts (not tied to interactions)"


def _profile_frame(dataset: Dataset, settings: Settings) -> pd.DataFrame:
    users = dataset.users
    assert users is not None
    texts = build_texts(
        users,
        id_col=USER_ID,
        columns=settings.text.user_columns,
        template=settings.text.user_template,
    )
    return pd.DataFrame({USER_ID: users[USER_ID].astype(str).to_numpy(), "text": texts})


# --- splits ----------------------------------------------------------------------------------


def _has_all_times(interactions: pd.DataFrame) -> bool:
    return TIMESTAMP in interactions.columns and bool(interactions[TIMESTAMP].notna().all())


def build_split(name: str, interactions: pd.DataFrame, seed: int) -> Split | str:
    """The split of segment ``name``, or a sentence saying why the data cannot give one."""
    counts = interactions[USER_ID].value_counts()
    if name == WARM:
        found = int((counts >= 2).sum())
        if found < 2:
            return f"{found} users have 2 or more interactions; at least 2 are needed"
        if _has_all_times(interactions):
            return temporal_holdout(interactions, TEST_FRACTION)
        return random_holdout(interactions, TEST_FRACTION, seed=seed)
    if name == COLD_USERS:
        found = int((counts > HISTORY_PER_USER).sum())
        if found < 3 or len(counts) - round(found * TEST_FRACTION) < 2:
            return (
                f"{found} users have more than {HISTORY_PER_USER} interactions; at least 3 are "
                f"needed (20% of them become cold users, the others stay in training)"
            )
        return cold_user_holdout(
            interactions, TEST_FRACTION, seed=seed, history_per_user=HISTORY_PER_USER
        )
    found = int(interactions[ITEM_ID].nunique())
    if found < 3:
        return f"{found} items have interactions; at least 3 are needed (20% become cold items)"
    return cold_item_holdout(interactions, TEST_FRACTION, seed=seed)


@dataclass
class SplitJob:
    """One split in index space twice (binary for the baselines, ratings for interestlens),
    the training interactions' times, and EASE's l2 tuned on a validation part of training."""

    split: Split
    binary: PreparedSplit
    rating: PreparedSplit
    times: sp.csr_matrix | None
    ease_l2: float
    ease_search: dict[str, float] = field(default_factory=dict)
    ease_note: str = ""


def prepare_job(
    split: Split,
    items: pd.DataFrame,
    users: pd.DataFrame | None,
    *,
    use_ratings: bool = True,
    tune_ease: bool = True,
    default_l2: float = 500.0,
    lambdas: Sequence[float] = EASE_LAMBDAS,
    seed: int = 0,
) -> SplitJob:
    """``items``: ``item_id, text``; ``users``: ``user_id, text`` (None: no user text)."""
    common: dict[str, Any] = dict(items=items, item_text_column="text")
    if users is not None:
        common.update(users=users, user_text_column="text")
    binary = prepare_indexed(split, train_weight="binary", **common)
    with_ratings = use_ratings and RATING in split.train.columns
    with_ratings = with_ratings and bool(split.train[RATING].notna().all())
    rating = prepare_indexed(split, train_weight="rating", **common) if with_ratings else binary
    times = None
    if _has_all_times(split.train):
        train = split.train
        frame = pd.DataFrame(
            {
                "row": binary.user_map.indices(train[USER_ID].astype(str)),
                "col": binary.item_map.indices(train[ITEM_ID].astype(str)),
                # float64: float32 would round Unix seconds to minutes
                "time": train[TIMESTAMP].to_numpy(dtype=np.float64),
            }
        )
        latest = frame.groupby(["row", "col"], sort=True)["time"].max().reset_index()
        times = sp.csr_matrix(
            (latest["time"].to_numpy(), (latest["row"], latest["col"])), shape=binary.train.shape
        )
    job = SplitJob(split, binary, rating, times, float(default_l2))
    if not tune_ease:
        job.ease_note = "not tuned"
        return job
    method = "temporal" if _has_all_times(split.train) else "random"
    validation = validation_split(split, method, fraction=TEST_FRACTION, seed=seed)
    tuned = prepare_indexed(validation, items=items)
    target = tuned.test_matrix()
    if target.nnz == 0:
        job.ease_note = "no validation interactions in the training part: l2 not tuned"
        return job
    search = EASE.tune_lambda(tuned.train, target, lambdas)
    job.ease_l2 = search.best_lambda
    job.ease_search = {str(value): round(score, 5) for value, score in search.scores.items()}
    return job


def text_only(prepared: PreparedSplit) -> PreparedSplit:
    """The cold users who have text, with their fold-in history hidden."""
    segment = prepared.segments[COLD_USERS]
    texts = segment.texts or []
    keep = np.array([bool(text.strip()) for text in texts], dtype=bool)
    keep &= np.diff(segment.relevant.indptr) > 0 if len(keep) else keep
    rows = np.flatnonzero(keep)
    only = replace(
        segment,
        users=np.arange(len(rows)),
        relevant=segment.relevant[rows],
        history=None,
        texts=[texts[i] for i in rows],
        user_ids=[segment.user_ids[i] for i in rows] if segment.user_ids else [],
    )
    return replace(prepared, segments={**prepared.segments, COLD_USERS: only})


# --- models ----------------------------------------------------------------------------------


def baseline_models(ease_l2: float, seed: int = 0) -> dict[str, Any]:
    return {
        "MostPop": MostPop(),
        "ItemKNN": ItemKNN(n_neighbors=100),
        "EASE": EASE(l2=ease_l2),
        "ALS": ALS(factors=64, regularization=0.05, iterations=15, random_state=seed),
        "ContentKNN": ContentKNN(),
    }


def interest_model(
    settings: Settings,
    encoder: Encoder,
    regime: str,
    times: sp.csr_matrix | None,
    *,
    chosen_by: InterestRecommender | None = None,
) -> InterestRecommender:
    """InterestRecommender as ``settings.recommend`` describes it; only ``regime`` is tuned
    (each split serves one regime), on validation parts carved from its training matrix.
    ``chosen_by``: a model fitted on the same matrix whose chosen settings are reused (no
    second tuning)."""
    config = settings.recommend
    params: dict[str, Any] = dict(
        tune=(regime,) if config.tune else False,
        n_clusters=tuple(config.n_clusters),
        ease_l2=config.ease_l2,
        rating_power=config.rating_power,
        mmr_lambda=config.mmr_lambda,
        interaction_times=times,
        random_state=settings.seed,
    )
    if "ease_neighbours" in InterestRecommender._get_param_names():
        params["ease_neighbours"] = config.ease_neighbours or None
    if chosen_by is not None:
        params.update(
            tune=False,
            weights=chosen_by.weights_,
            n_clusters=chosen_by.n_clusters_,
            half_life=chosen_by.half_life_,
        )
    return InterestRecommender(encoder, **params)


# --- the result ------------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    """Per-segment tables (one row per model; n/a rows have NaN metrics and a ``note``)."""

    tables: dict[str, pd.DataFrame]
    k: int
    seed: int
    dataset: dict[str, Any]
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    hyperparameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (NaN becomes None)."""
        return _jsonable(
            {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "k": self.k,
                "seed": self.seed,
                "dataset": self.dataset,
                "setup": self.setup,
                "segments": {
                    name: {
                        "title": SEGMENT_TITLES[name],
                        "table": table.to_dict(orient="records"),
                        "split": self.splits.get(name, {}),
                    }
                    for name, table in self.tables.items()
                },
                "skipped": self.skipped,
                "hyperparameters": self.hyperparameters,
                "timings": self.timings,
                "summary": self.summary_lines(),
            }
        )

    def summary_lines(self) -> list[str]:
        return summary_lines(self.tables, self.k, self.skipped)


def summary_lines(
    tables: dict[str, pd.DataFrame], k: int, skipped: dict[str, str] | None = None
) -> list[str]:
    """One line per segment: interestlens's NDCG@k against the best baseline's (ratio)."""
    metric, lines = f"ndcg@{k}", []
    for name, table in tables.items():
        title = SEGMENT_TITLES.get(name, name)
        values = table.set_index("model")[metric]
        ours = values.get(OURS, math.nan)
        others = values.drop(index=OURS, errors="ignore").dropna()
        if pd.isna(ours):
            lines.append(f"{title}: interestlens n/a")
        elif others.empty:
            lines.append(f"{title}: interestlens NDCG@{k} {ours:.4f}; no baseline serves it")
        else:
            best = str(others.idxmax())
            ratio = f"x{ours / others[best]:.2f}" if others[best] > 0 else "best baseline 0"
            lines.append(
                f"{title}: interestlens NDCG@{k} {ours:.4f} vs best baseline {best} "
                f"{others[best]:.4f} ({ratio})"
            )
    lines += [f"{SEGMENT_TITLES.get(n, n)}: skipped ({why})" for n, why in (skipped or {}).items()]
    return lines


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(part) for key, part in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(part) for part in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- running ---------------------------------------------------------------------------------


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


def _score(
    models: dict[str, Any],
    prepared: PreparedSplit,
    segment: str,
    k: int,
    vectors: np.ndarray,
    show_progress: bool,
) -> tuple[dict[str, dict[str, float]], dict[str, str], dict[str, float]]:
    """Metrics of the models that serve ``segment`` (fitted here), reasons for the others."""
    runner_segment = _RUNNER_SEGMENT[segment]
    part = prepared.segments[runner_segment]
    reasons = {name: _skip_reason(model, part) for name, model in models.items()}
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


def _segment_table(
    names: Sequence[str], metrics: dict[str, dict[str, float]], na: dict[str, str], k: int
) -> pd.DataFrame:
    columns = metric_columns(k)
    rows = []
    for name in names:
        values = metrics.get(name, {})
        note = "" if name in metrics else f"n/a: {na.get(name, 'not evaluated')}"
        rows.append({"model": name, **{c: values.get(c, math.nan) for c in columns}, "note": note})
    return pd.DataFrame(rows, columns=["model", *columns, "note"])


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
) -> EvaluationResult:
    """Fit interestlens and the baselines on each split of ``dataset`` and score them.

    ``segments``: some of ``warm``, ``cold_users`` (adds ``cold_users_text`` when users have
    text), ``cold_items``. ``models``: some of :data:`MODELS` (default all). The baselines see
    binary interactions; interestlens sees ratings (with ``settings.interests.use_ratings``)
    and the training interactions' times, and tunes its blend on validation parts of the
    training part when ``settings.recommend.tune``. EASE's l2 is tuned on a validation split
    of the training part. Lists are ranked from ``score``/``score_new`` (no MMR re-ranking).
    """
    from interestlens.pipeline import embed_texts

    started = time.perf_counter()
    k = check_k(k)
    wanted = _check_choice("segments", segments, SEGMENTS)
    names = _check_choice("models", MODELS if models is None else models, MODELS)
    seed = int(settings.seed)
    interactions = dataset.interactions.astype({USER_ID: str, ITEM_ID: str})
    items = _item_frame(dataset, settings)
    text_source, text_reason = _user_text_source(dataset, user_texts, pair_texts)
    profiles = _profile_frame(dataset, settings) if text_source == "profile" else None
    vectors, _ = embed_texts(
        encoder, items["text"].tolist(), batch_size=settings.encoder.batch_size, show_progress=False
    )
    result = EvaluationResult({}, k, seed, _jsonable(dict(dataset.summary())))
    result.setup = {
        "models": names,
        "segments": wanted,
        "encoder": str(getattr(encoder, "identifier", type(encoder).__name__)),
        "user_texts": {"source": text_source, "reason": text_reason},
        "item_text_columns": settings.text.item_columns or "every column of the items table",
        "recommend": settings.recommend.model_dump(mode="json"),
        "test_fraction": TEST_FRACTION,
        "history_per_user": HISTORY_PER_USER,
        "warm_split": "temporal" if _has_all_times(interactions) else "random",
    }
    timings: dict[str, Any] = {"item_vectors": round(time.perf_counter() - started, 3)}
    tuned: dict[str, InterestRecommender] = {}
    tuned_record: dict[str, dict[str, Any]] = {}
    for name in tqdm(wanted, desc="segments", disable=not show_progress):
        split_started = time.perf_counter()
        split = build_split(name, interactions, seed)
        if isinstance(split, str):
            result.skipped[name] = split
            continue
        if text_source == "interactions":
            allowed = (
                split.train if split.history is None else pd.concat([split.train, split.history])
            )
            users = interaction_user_texts(pair_texts, allowed)  # type: ignore[arg-type]
        else:
            users = profiles
        job = prepare_job(
            split,
            items,
            users,
            use_ratings=settings.interests.use_ratings,
            tune_ease="EASE" in names and name != COLD_ITEMS,
            default_l2=settings.recommend.ease_l2,
            seed=seed,
        )
        parts = [(name, job.binary, job.rating)]
        if name == COLD_USERS and users is not None:
            parts.append((COLD_USERS_TEXT, text_only(job.binary), text_only(job.rating)))
        for segment, binary, rating in parts:
            relevant = binary.segments[_RUNNER_SEGMENT[segment]].relevant
            if relevant.nnz == 0:
                result.skipped[segment] = (
                    "no cold user has text of their own"
                    if segment == COLD_USERS_TEXT
                    else "the split leaves no test interaction in this segment"
                )
                continue
            segment_started = time.perf_counter()
            baselines = {m: v for m, v in baseline_models(job.ease_l2, seed).items() if m in names}
            metrics, na, fit_seconds = _score(baselines, binary, segment, k, vectors, show_progress)
            hyper: dict[str, Any] = {}
            if "EASE" in baselines and "EASE" in metrics:
                hyper["EASE"] = {"l2": job.ease_l2, "validation_ndcg@10": job.ease_search}
                hyper["EASE"].update({"note": job.ease_note} if job.ease_note else {})
            if OURS in names:
                # the text-only segment scores the users of the cold-user split again: the
                # model tuned there is refitted with its chosen settings, not tuned twice
                model = interest_model(
                    settings, encoder, REGIME[segment], job.times, chosen_by=tuned.get(name)
                )
                ours, ours_na, ours_fit = _score({OURS: model}, rating, segment, k, vectors, False)
                metrics.update(ours)
                na.update(ours_na)
                fit_seconds.update(ours_fit)
                if OURS in ours:
                    hyper[OURS] = tuned_record.get(name) or _chosen(model, REGIME[segment])
                    tuned.setdefault(name, model)
                    tuned_record.setdefault(name, hyper[OURS])
            result.tables[segment] = _segment_table(names, metrics, na, k)
            result.splits[segment] = {**split.summary(), "notes": dict(binary.notes)}
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


def _chosen(model: InterestRecommender, regime: str) -> dict[str, Any]:
    tuning = model.tuning_.get(regime) or {}
    return {
        "regime": regime,
        "tuned": bool(tuning) and "skipped" not in tuning,
        "tuning_note": tuning.get("skipped", ""),
        "weights": dict(model.weights_[regime]),
        "n_clusters": int(model.n_clusters_),
        "half_life": model.half_life_,
        "validation_ndcg@10": tuning.get("score"),
    }


# --- files -----------------------------------------------------------------------------------


def tidy_frame(data: dict[str, Any]) -> pd.DataFrame:
    """``segment, model, <metrics>, note``: every segment table of an evaluation dict."""
    frames = [
        pd.DataFrame(part["table"]).assign(segment=name) for name, part in data["segments"].items()
    ]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["segment", *[c for c in frame.columns if c != "segment"]]]


def write_evaluation(result: EvaluationResult | dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """``evaluation.json``, ``evaluation.md`` and ``evaluation.csv`` in ``out_dir`` (atomic)."""
    from interestlens.report.evaluation import evaluation_markdown

    data = result.to_dict() if isinstance(result, EvaluationResult) else result
    out_dir = Path(out_dir)
    return {
        "json": write_json(out_dir / "evaluation.json", data),
        "markdown": atomic_write_text(out_dir / "evaluation.md", evaluation_markdown(data)),
        "csv": atomic_write_text(out_dir / "evaluation.csv", tidy_frame(data).to_csv(index=False)),
    }


def read_evaluation(path: str | Path) -> dict[str, Any]:
    """An ``evaluation.json`` (or the folder holding one) as written by :func:`write_evaluation`."""
    import json

    path = Path(path)
    path = path / "evaluation.json" if path.is_dir() else path
    expected = "evaluation.json written by 'interestlens evaluate'"
    fix = "run 'interestlens evaluate' again to rewrite it"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFormatError(f"{path} does not exist", expected=expected, fix=fix) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(
            f"{path} is not valid JSON ({exc})", expected=expected, fix=fix
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ModelFormatError(
            f"{path} is not an interestlens evaluation (format {found!r})",
            expected=expected,
            fix=fix,
        )
    if data.get("version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path} has evaluation format version {data.get('version')!r}",
            expected=f"version {FORMAT_VERSION}",
            fix=fix,
        )
    segments = data.get("segments")
    broken = [
        name
        for name, part in (segments.items() if isinstance(segments, dict) else [])
        if not isinstance(part, dict)
        or not isinstance(part.get("table"), list)
        or not all(isinstance(row, dict) and "model" in row for row in part["table"])
    ]
    if not isinstance(segments, dict) or broken or not isinstance(data.get("k"), int):
        raise ModelFormatError(
            f"{path} lacks k or well-formed segment tables"
            + (f" (broken: {broken})" if broken else ""),
            expected=expected + ", with k and a table of rows per segment",
            fix=fix,
        )
    return data
