"""InterestRecommender against the baselines on MovieLens and two Amazon categories.

Three splits per dataset, every model fitted and scored on the same split in the same run
(``interestlens.evaluate.evaluate_models``):

* warm users: each user's latest 20% of interactions (``--protocols temporal``), or a seeded
  random 20% of each user's interactions (``random``: missing interactions, as public random
  hold-out tables split); interestlens tunes for the same protocol (``validation``);
* cold users: 20% of users leave training; each keeps their first 3 interactions as fold-in
  history (read at query time, never trained on), the rest are targets. Their text is only the
  text tied to those fold-in interactions (MovieLens: their tags on them; Amazon: their reviews
  of them), never text about a target item. On Amazon a second segment, "cold users (text
  only)", gives the model that text and *no* history;
* cold items: 20% of items lose every interaction; known users must find them among the
  held-out items, by text alone.

Texts. Items: MovieLens title, year, genres, TMDB keywords and overview (tags.csv is left out of
item texts: tags are written by users about items they watched, test items included); Amazon:
title, brand, category, description. Users: MovieLens tags and Amazon reviews, restricted to
the interactions of the training part (and of the fold-in history for cold users).

Tuning uses the training part only: EASE's l2 on a temporal validation split of it
(``EASE.tune_lambda``); InterestRecommender carves its own validation part out of the matrix
it is fitted on (temporal, from the interaction times given to it). Baselines see binary
interactions; InterestRecommender sees ratings (it weighs entries by rating) and the times
of the training interactions.

Each (dataset, protocol) is judged against issue 9's bar: interestlens at or above the best
baseline of every segment, or within the 95 % interval of the paired per-user difference.

usage: python benchmarks/recommend_benchmark.py [--datasets movielens magazine gift_cards]
           [--protocols temporal random] [--encoder hashing|minilm|onnx] [--cache FILE]
           [--quick] [--seeds N] [--no-ablations]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.config import RecommendConfig
from interestlens.data import load_amazon, load_movielens
from interestlens.data.schema import ITEM_ID, USER_ID
from interestlens.embed import (
    CachedEncoder,
    DistilledEncoder,
    EmbeddingCache,
    HashingEncoder,
    OnnxEncoder,
    SentenceTransformerEncoder,
)
from interestlens.evaluate import (
    Split,
    cold_item_holdout,
    cold_user_holdout,
    evaluate_models,
    intra_list_diversity,
    ndcg_at_k,
    random_holdout,
    results_to_dict,
    temporal_holdout,
)
from interestlens.evaluate.job import (
    SplitJob,
    baseline_models,
    interaction_user_texts,
    prepare_job,
)
from interestlens.evaluate.prepare import PreparedSplit
from interestlens.persist import atomic_write_text, write_json
from interestlens.recommend import top_k
from interestlens.recommend.interest import COMPONENTS, InterestRecommender
from interestlens.recommend.interest.blend import paired_standard_error

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
CACHE = Path("/tmp/interestlens-recommend-cache/embeddings.sqlite")
K = 10
METRICS = (f"ndcg@{K}", f"recall@{K}", f"mrr@{K}", f"coverage@{K}")
EASE_LAMBDAS = (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
OURS = "interestlens"
BASELINES = ("MostPop", "ItemKNN", "EASE", "ALS", "ContentKNN")
TEXT_BLIND = ("MostPop", "ItemKNN", "EASE", "ALS")
SEGMENT_TITLES = {
    "warm_users": "warm users",
    "cold_users": "cold users (3 fold-in interactions + their text)",
    "cold_users_text": "cold users (text only)",
    "cold_items": "cold items",
}


@dataclass
class Source:
    """A dataset ready for splitting: interactions, item texts, and text per (user, item)."""

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame  # item_id, text
    pair_texts: pd.DataFrame  # user_id, item_id, text (text tied to one interaction)
    text_only_segment: bool


# --- data ------------------------------------------------------------------------------------


def movielens_source() -> Source:
    root = DATA / "ml-latest-small"
    dataset = load_movielens(root, tmdb=DATA / "tmdb-5000-movies" / "tmdb_5000_movies.csv.gz")

    def text(row: Any) -> str:
        parts = [f"{row.title} ({row.year})" if row.year else row.title]
        if row.genres:
            parts.append(f"Genres: {row.genres}")
        if row.keywords:
            parts.append(f"Keywords: {row.keywords}")
        if row.overview:
            parts.append(row.overview)
        return ". ".join(parts)

    items = pd.DataFrame(
        {ITEM_ID: dataset.items[ITEM_ID], "text": [text(r) for r in dataset.items.itertuples()]}
    )
    tags = pd.read_csv(root / "tags.csv", dtype={"userId": str, "movieId": str})
    pair_texts = (
        tags.dropna(subset=["tag"])
        .groupby(["userId", "movieId"], sort=False)["tag"]
        .agg(lambda values: ", ".join(dict.fromkeys(str(v).strip() for v in values)))
        .reset_index()
        .rename(columns={"userId": USER_ID, "movieId": ITEM_ID, "tag": "text"})
    )
    return Source("movielens", dataset.interactions, items, pair_texts, False)


def amazon_source(name: str, category: str) -> Source:
    folder = DATA / "amazon-reviews-2018"
    reviews = folder / f"{category}_5.json.gz"
    dataset = load_amazon(reviews, folder / f"meta_{category}.json.gz")
    meta = dataset.items
    texts = []
    for row in meta.itertuples():
        # most magazine titles are HTML fragments that clean to nothing: lead with the
        # description's first words then, so the text (and explain's item name) has a head
        title = row.title or " ".join(row.description.split()[:8])
        parts = [title, row.brand and f"Brand: {row.brand}", row.category, row.description]
        texts.append(". ".join(part for part in parts if part)[:2000])
    items = pd.DataFrame({ITEM_ID: meta[ITEM_ID], "text": texts})
    with gzip.open(reviews, "rt", encoding="utf-8") as handle:
        raw = pd.DataFrame([json.loads(line) for line in handle if line.strip()])
    raw["text"] = [
        ". ".join(p.strip() for p in (s, t) if isinstance(p, str) and p.strip())
        for s, t in zip(raw.get("summary"), raw.get("reviewText"), strict=True)
    ]
    raw = raw.rename(columns={"reviewerID": USER_ID, "asin": ITEM_ID})
    pair_texts = (
        raw[raw["text"] != ""]
        .groupby([USER_ID, ITEM_ID], sort=False)["text"]
        .agg(lambda values: " ".join(dict.fromkeys(values)))
        .reset_index()
    )
    return Source(name, dataset.interactions, items, pair_texts, True)


SOURCES = {
    "movielens": movielens_source,
    "magazine": lambda: amazon_source("magazine", "Magazine_Subscriptions"),
    "gift_cards": lambda: amazon_source("gift_cards", "Gift_Cards"),
}


def user_texts(source: Source, allowed: pd.DataFrame) -> pd.DataFrame:
    """Each user's texts tied to the ``allowed`` interactions only, one part per line."""
    return interaction_user_texts(source.pair_texts, allowed)


# --- splits ----------------------------------------------------------------------------------

#: one split, prepared twice (binary for the baselines, ratings for ours), with its times and
#: EASE's l2 tuned on a temporal validation split of the training part
Job = SplitJob


def prepare(source: Source, split: Split, segment: str) -> Job:
    allowed = split.train if split.history is None else pd.concat([split.train, split.history])
    return prepare_job(split, source.items, user_texts(source, allowed), lambdas=EASE_LAMBDAS)


def text_only(job: Job) -> PreparedSplit:
    """The cold-user split with the fold-in history hidden: the users have their text only."""
    prepared = job.rating
    segment = replace(prepared.segments["cold_users"], history=None)
    return replace(prepared, segments={**prepared.segments, "cold_users": segment})


# --- models ----------------------------------------------------------------------------------


def baselines(job: Job) -> dict[str, Any]:
    return baseline_models(job.ease_l2, seed=0)


#: EASE weights kept per item, as `interestlens fit` saves them (recommend.ease_neighbours)
EASE_NEIGHBOURS = RecommendConfig().ease_neighbours


#: the hold-out protocol of the run in progress (the model tunes for the same one)
PROTOCOL = {"value": "temporal"}


def ours(job: Job, encoder: Any, regime: str, **settings: Any) -> InterestRecommender:
    settings.setdefault("ease_neighbours", EASE_NEIGHBOURS or None)
    return InterestRecommender(
        encoder,
        tune=(regime,),
        ease_l2=job.ease_l2,
        interaction_times=job.times,
        validation=PROTOCOL["value"],
        # MovieLens tags and Amazon reviews are about the items the users chose
        user_text_reveals_items=True,
        random_state=0,
        **settings,
    )


REGIME = {
    "warm_users": "warm",
    "cold_users": "cold_users",
    "cold_users_text": "cold_text",
    "cold_items": "cold_items",
}


def run_segment(
    job: Job,
    segment: str,
    encoder: Any,
    ablations: bool,
    log: dict[str, Any],
    per_user: dict[str, dict[str, list[np.ndarray]]],
    shared_items: dict[str, list[sp.csr_matrix]],
) -> pd.DataFrame:
    runner_segment = "cold_users" if segment == "cold_users_text" else segment
    regime = REGIME[segment]
    prepared_rating = text_only(job) if segment == "cold_users_text" else job.rating
    prepared_binary = job.binary
    if segment == "cold_users_text":
        cold = replace(job.binary.segments["cold_users"], history=None)
        prepared_binary = replace(job.binary, segments={**job.binary.segments, "cold_users": cold})
    started = time.perf_counter()
    base_models = baselines(job)
    table_base = evaluate_models(base_models, prepared_binary, K, segments=[runner_segment])
    model = ours(job, encoder, regime)
    table_ours = evaluate_models({OURS: model}, prepared_rating, K, segments=[runner_segment])
    skipped = {entry["model"] for entry in table_base.attrs["skipped"]}
    scored = [(name, m, prepared_binary) for name, m in base_models.items() if name not in skipped]
    for name, fitted, prepared in [*scored, (OURS, model, prepared_rating)]:
        values = per_user_ndcg(fitted, prepared, runner_segment)
        per_user.setdefault(segment, {}).setdefault(name, []).append(values)
    shared_items.setdefault(segment, []).append(
        target_shares(prepared_binary.segments[runner_segment].relevant)
    )
    tables = [table_base, table_ours]
    record: dict[str, Any] = {
        "ease_l2": job.ease_l2,
        "ease_validation_ndcg": job.ease_search,
        "split": job.split.summary(),
        "fit_seconds": {**table_base.attrs["fit_seconds"], **table_ours.attrs["fit_seconds"]},
        "skipped": table_base.attrs["skipped"] + table_ours.attrs["skipped"],
        "chosen": {
            "weights": model.weights_[regime],
            "n_clusters": model.n_clusters_,
            "half_life": model.half_life_,
            "tuning": _jsonable(model.tuning_.get(regime)),
        },
    }
    if segment == "warm_users":
        record["mmr"] = diversification(model, prepared_rating)
        record["explanations"] = explanations(model, prepared_rating)
    if ablations and segment != "cold_users_text":
        variants = ablation_models(job, encoder, model, regime)
        table = evaluate_models(variants, prepared_rating, K, segments=[runner_segment])
        tables.append(table)
        record["fit_seconds"].update(table.attrs["fit_seconds"])
    record["seconds"] = round(time.perf_counter() - started, 1)
    log[segment] = record
    table = pd.concat(tables, ignore_index=True)
    table["segment"] = segment
    return table


def fill_ablations(table: pd.DataFrame) -> pd.DataFrame:
    """An ablation is only refitted where the removed part had weight; on the other seeds it
    *is* the tuned model, so those seeds take the tuned model's rows (else the seed means of
    the ablation and of the model would cover different seeds)."""
    added = []
    for (segment, name), rows in table.groupby(["segment", "model"], sort=False):
        if not name.startswith(f"{OURS} without "):
            continue
        have = set(rows["seed"])
        part = table[(table["segment"] == segment) & (table["model"] == OURS)]
        missing = part[~part["seed"].isin(have)]
        if len(missing):
            added.append(missing.assign(model=name))
    return pd.concat([table, *added], ignore_index=True) if added else table


def target_shares(relevant: sp.spmatrix) -> sp.csr_matrix:
    """Which held-out items each user's NDCG is about: ``1 / n_targets`` on each target, rows
    in :func:`per_user_ndcg`'s order. New-item hold-outs draw items, not users, so the interval
    of a new-item gap is clustered by these (as the tuner's keep-or-fall-back test is)."""
    relevant = sp.csr_matrix(relevant > 0, dtype=np.float64)
    counts = np.asarray(relevant.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(counts, 1.0)) @ relevant)


def per_user_ndcg(model: Any, prepared: PreparedSplit, name: str) -> np.ndarray:
    """NDCG@10 of each user of a segment, ranked exactly as evaluate_models ranks them."""
    segment = prepared.segments[name]
    values = []
    for start in range(0, len(segment.users), 512):
        users = segment.users[start : start + 512]
        if segment.new_users:
            history = None if segment.history is None else segment.history[users]
            texts = None if segment.texts is None else [segment.texts[u] for u in users]
            scores, exclude = model.score_new(history, texts), history
        else:
            scores, exclude = model.score(users), prepared.train[users]
        ranked, _ = top_k(scores, K, exclude=exclude, candidates=segment.candidates)
        values.append(ndcg_at_k(ranked, segment.relevant[start : start + 512]))
    return np.concatenate(values)


def diversification(model: InterestRecommender, prepared: PreparedSplit) -> list[dict]:
    """NDCG@10 and intra-list diversity (1 - cosine of the encoder's item vectors) of the
    lists :meth:`recommend` gives for several ``mmr_lambda`` (1 = no re-ranking)."""
    segment = prepared.segments["warm_users"]
    vectors = model.text_.dense_ if model.text_ is not None else model.core_.factors
    rows = []
    for value in (1.0, 0.9, 0.8, 0.6):
        model.mmr_lambda = value
        ranked, _ = model.recommend(segment.users, K)
        rows.append(
            {
                "mmr_lambda": value,
                f"ndcg@{K}": float(np.nanmean(ndcg_at_k(ranked, segment.relevant))),
                f"diversity@{K}": float(np.nanmean(intra_list_diversity(ranked, vectors))),
            }
        )
    model.mmr_lambda = 1.0
    return rows


def explanations(model: InterestRecommender, prepared: PreparedSplit) -> list[str]:
    users = prepared.segments["warm_users"].users[:3]
    ranked, _ = model.recommend(users, 1)
    return [
        f"user {prepared.user_map.id_of(int(u))} -> {model.item_names_[int(i)]}: "
        f"{model.explain(int(u), int(i))}"
        for u, i in zip(users, ranked[:, 0], strict=True)
    ]


def ablation_models(
    job: Job, encoder: Any, model: InterestRecommender, regime: str
) -> dict[str, InterestRecommender]:
    """Tuned settings with one part removed (test-set rows; nothing is chosen from them)."""
    fixed = dict(
        n_clusters=model.n_clusters_,
        half_life=model.half_life_,
        tune=False,
        ease_l2=job.ease_l2,
        ease_neighbours=EASE_NEIGHBOURS or None,
        interaction_times=job.times,
        random_state=0,
    )
    variants: dict[str, InterestRecommender] = {}
    weights = model.weights_
    for name in COMPONENTS:
        if weights[regime].get(name, 0.0) == 0.0:
            continue
        changed = {**weights, regime: {**weights[regime], name: 0.0}}
        variants[f"{OURS} without {name}"] = InterestRecommender(encoder, weights=changed, **fixed)
    if regime == "warm" and model.half_life_ is not None:
        variants[f"{OURS} without recency"] = InterestRecommender(
            encoder, weights=weights, **{**fixed, "half_life": None}
        )
    return variants


def _jsonable(value: Any) -> Any:
    return json.loads(
        json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    )


# --- one dataset -----------------------------------------------------------------------------


def run_dataset(
    name: str, encoder: Any, args: argparse.Namespace, protocol: str = "temporal"
) -> dict[str, Any]:
    started = time.perf_counter()
    PROTOCOL["value"] = protocol
    source = SOURCES[name]()
    interactions = source.interactions
    if args.quick:
        keep = interactions[USER_ID].drop_duplicates().sample(frac=0.3, random_state=0)
        interactions = interactions[interactions[USER_ID].isin(set(keep))].reset_index(drop=True)
    log: dict[str, Any] = {"load_seconds": round(time.perf_counter() - started, 1)}
    tables = []
    per_user: dict[str, dict[str, list[np.ndarray]]] = {}
    shared_items: dict[str, list[sp.csr_matrix]] = {}
    holdout = (
        temporal_holdout(interactions, 0.2)
        if protocol == "temporal"
        else random_holdout(interactions, 0.2, seed=0)
    )
    warm = prepare(source, holdout, "warm_users")
    tables.append(
        run_segment(warm, "warm_users", encoder, args.ablations, log, per_user, shared_items)
    )
    seeds = args.seeds or (1 if args.quick or name == "movielens" else 3)
    log["seeds"] = seeds
    for seed in range(seeds):
        suffix = f" seed {seed}" if seeds > 1 else ""
        split = cold_user_holdout(interactions, 0.2, seed=seed, history_per_user=3)
        job = prepare(source, split, "cold_users")
        seed_log: dict[str, Any] = {}
        segments = ["cold_users"] + (["cold_users_text"] if source.text_only_segment else [])
        for segment in segments:
            table = run_segment(
                job, segment, encoder, args.ablations, seed_log, per_user, shared_items
            )
            tables.append(table.assign(seed=seed))
        split = cold_item_holdout(interactions, 0.2, seed=seed)
        job = prepare(source, split, "cold_items")
        table = run_segment(
            job, "cold_items", encoder, args.ablations, seed_log, per_user, shared_items
        )
        tables.append(table.assign(seed=seed))
        log.update({f"{segment}{suffix}": record for segment, record in seed_log.items()})
    table = pd.concat(tables, ignore_index=True)
    table["seed"] = table["seed"].fillna(0).astype(int)
    table = fill_ablations(table)
    mean = table.groupby(["model", "segment", "metric"], sort=False)["value"].mean().reset_index()
    log["seconds"] = round(time.perf_counter() - started, 1)
    pooled = {
        segment: {model: np.concatenate(parts) for model, parts in models.items()}
        for segment, models in per_user.items()
    }
    return {
        "dataset": f"{name} ({protocol} hold-out)",
        "name": name,
        "protocol": protocol,
        "table": mean,
        "per_seed": table,
        "log": log,
        "per_user": pooled,
        # seeds hold out different items: each seed's items are units of their own
        "shared_items": {
            segment: sp.csr_matrix(sp.block_diag(parts)) for segment, parts in shared_items.items()
        },
    }


# --- reporting -------------------------------------------------------------------------------


def wide(table: pd.DataFrame, segment: str) -> pd.DataFrame:
    part = table[(table["segment"] == segment) & table["metric"].isin(METRICS)]
    out = part.pivot_table(index="model", columns="metric", values="value", sort=False)
    return out.reindex(columns=[m for m in METRICS if m in out.columns])


#: segments whose hold-out draws items: their users' gaps share items and are not independent
CLUSTERED_BY_ITEM = ("cold_items",)


def targets(
    table: pd.DataFrame,
    per_user: dict[str, dict[str, np.ndarray]],
    shared_items: dict[str, sp.csr_matrix] | None = None,
) -> list[dict]:
    """interestlens against the best baseline of each segment: the gap and a 95 % interval of
    it (paired over users, pooled over seeds; for new items clustered by held-out item, from
    ``shared_items``). ``verdict``: ``above`` (at or above the best), ``within CI`` (below, but
    the interval holds 0) or ``below``."""

    def ndcg(model: str, segment: str) -> float | None:
        rows = table[
            (table["model"] == model)
            & (table["segment"] == segment)
            & (table["metric"] == f"ndcg@{K}")
        ]
        return float(rows["value"].iloc[0]) if len(rows) else None

    checks = []
    for segment, title in SEGMENT_TITLES.items():
        mine = ndcg(OURS, segment)
        scores = {m: ndcg(m, segment) for m in BASELINES}
        scores = {m: v for m, v in scores.items() if v is not None}
        if mine is None or not scores:
            continue
        best = max(scores, key=lambda m: scores[m])
        check: dict[str, Any] = {
            "segment": segment,
            "target": f"{title}: NDCG@10 >= best baseline (or within its 95% CI)",
            "value": round(mine, 5),
            "reference": best,
            "reference_value": round(scores[best], 5),
            "ratio": round(mine / scores[best], 3) if scores[best] else None,
            "met": bool(mine >= scores[best]),
            "verdict": "above" if mine >= scores[best] else "below",
        }
        users = per_user.get(segment, {})
        if OURS in users and best in users:
            gap = users[OURS] - users[best]
            known = ~np.isnan(gap)
            gap = gap[known]
            clusters = None
            if segment in CLUSTERED_BY_ITEM and shared_items and segment in shared_items:
                clusters = shared_items[segment][known]
                check["interval_clustered_by"] = "item"
            error = paired_standard_error(gap, clusters)
            low, high = gap.mean() - 1.96 * error, gap.mean() + 1.96 * error
            check.update(
                gap=round(float(gap.mean()), 5),
                gap_ci95=[round(float(low), 5), round(float(high), 5)],
                paired_users=len(gap),
            )
            if not check["met"] and high >= 0:
                check["verdict"] = "within CI"
        checks.append(check)
    return checks


def markdown(results: list[dict[str, Any]], args: argparse.Namespace, total: float) -> str:
    lines = [
        "# InterestRecommender vs baselines",
        "",
        f"Command: `python benchmarks/recommend_benchmark.py {' '.join(sys.argv[1:])}`"
        f" (encoder {args.encoder}{', quick' if args.quick else ''}); "
        f"total {total:.0f} s on {os.cpu_count()} CPUs. "
        "Metrics @10; cold-user and cold-item rows are means over the seeds. interestlens keeps "
        f"the {EASE_NEIGHBOURS} largest EASE weights per item (recommend.ease_neighbours, as "
        "saved models do); the EASE baseline is dense.",
        "",
        "Setup (details in the script's docstring): warm users = each user's latest 20% of "
        "interactions (temporal hold-out) or a random 20% (random hold-out; interestlens tunes "
        "for the protocol of the run); cold users = 20% of users, 3 first interactions as "
        "fold-in history, text "
        "only from those interactions (MovieLens: their tags on them, Amazon: their reviews of "
        "them); cold users (text only) = the same users given that text and no history; cold "
        "items = 20% of items without any training interaction, ranked among themselves. "
        "Baselines see binary interactions (EASE's l2 tuned on a temporal validation split of "
        "the training part); interestlens sees ratings and training interaction times and tunes "
        "its blend on validation parts carved from the training part only, falling back to its "
        "best plain reference where the blend does not beat it. Ablation rows "
        "refit interestlens with its tuned weights minus one part; they are test-set numbers "
        "for reading only, nothing was chosen from them. Target gaps come with a 95% interval "
        "of the per-user paired difference (users pooled over seeds).",
        "",
    ]
    for result in results:
        table, log = result["table"], result["log"]
        lines += [f"## {result['dataset']}", "", f"Run time {log['seconds']:.0f} s.", ""]
        for segment, title in SEGMENT_TITLES.items():
            frame = wide(table, segment)
            if frame.empty:
                continue
            ablated = sorted(m for m in frame.index if m.startswith(f"{OURS} "))
            order = [OURS, *BASELINES, *ablated]
            frame = frame.reindex([m for m in order if m in frame.index])
            users = table[(table["segment"] == segment) & (table["metric"] == "n_users")]
            n_users = int(users["value"].max()) if len(users) else 0
            lines += [f"### {title} ({n_users} users)", "", _md_table(frame), ""]
        warm_log = log.get("warm_users", {})
        if warm_log.get("mmr"):
            lines += [
                "MMR re-ranking of the warm lists (diversity: mean pairwise 1 - cosine of the "
                "encoder's item vectors):",
                "",
                "| mmr_lambda | ndcg@10 | diversity@10 |",
                "|---:|---:|---:|",
            ]
            lines += [
                f"| {row['mmr_lambda']:g} | {row[f'ndcg@{K}']:.4f} | {row[f'diversity@{K}']:.4f} |"
                for row in warm_log["mmr"]
            ]
            lines += ["", "Example reasons (`explain`, default cluster labels):", ""]
            lines += [f"- {line}" for line in warm_log.get("explanations", [])]
            lines.append("")
        lines += ["Against the best baseline of each segment:", ""]
        for check in targets(table, result["per_user"], result.get("shared_items")):
            interval = ""
            if "gap_ci95" in check:
                low, high = check["gap_ci95"]
                interval = (
                    f"; gap {check['gap']:+.4f}, 95% CI [{low:+.4f}, {high:+.4f}] over "
                    f"{check['paired_users']} paired users"
                    + (
                        " (clustered by held-out item)"
                        if check.get("interval_clustered_by") == "item"
                        else ""
                    )
                )
            lines.append(
                f"- {check['target']}: {check['value']:.4f} vs {check['reference']} "
                f"{check['reference_value']:.4f} (x{check['ratio']}) - **{check['verdict']}**"
                f"{interval}"
            )
        chosen = {
            segment: record["chosen"]
            for segment, record in log.items()
            if isinstance(record, dict) and "chosen" in record
        }
        lines += ["", "Chosen on validation (training data only):", ""]
        for segment, record in chosen.items():
            weights = ", ".join(f"{k} {v:g}" for k, v in record["weights"].items() if v)
            tuning = record["tuning"] or {}
            if not tuning:
                # e.g. the text-only regime where users' texts are about the items they chose
                # (user_text_reveals_items): a text-only validation would read its targets
                lines.append(f"- {segment}: not tuned, default weights; {weights}")
                continue
            if "skipped" in tuning:
                lines.append(f"- {segment}: not tuned ({tuning['skipped']}); {weights}")
                continue
            comparison = tuning.get("references") or {}
            lines.append(
                f"- {segment}: {weights}; n_clusters {record['n_clusters']}, half_life "
                f"{record['half_life']}; validation NDCG@10 {tuning.get('start_score', 0):.4f} "
                f"({tuning.get('anchor')} alone) -> {tuning.get('score', 0):.4f}; "
                f"{comparison.get('why', '')}"
            )
        lines.append("")
    return "\n".join(lines)


def _md_table(frame: pd.DataFrame) -> str:
    header = "| model | " + " | ".join(frame.columns) + " |"
    rule = "|---|" + "---:|" * len(frame.columns)
    rows = [
        f"| {model} | " + " | ".join(f"{v:.4f}" for v in row) + " |"
        for model, row in frame.iterrows()
    ]
    return "\n".join([header, rule, *rows])


def make_encoder(kind: str, cache: Path = CACHE) -> Any:
    if kind == "hashing":
        return HashingEncoder()
    if kind == "onnx":  # the same MiniLM weights, int8 ONNX (exported next to the cache)
        return CachedEncoder(OnnxEncoder(export_dir=cache.parent / "onnx"), EmbeddingCache(cache))
    if kind == "static":  # the same MiniLM distilled by model2vec (next to the cache)
        encoder = DistilledEncoder(directory=cache.parent / "static")
        return CachedEncoder(encoder, EmbeddingCache(cache))
    return CachedEncoder(SentenceTransformerEncoder(), EmbeddingCache(cache))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    parser.add_argument(
        "--encoder",
        choices=("hashing", "minilm", "onnx", "static"),
        default="minilm",
        help="minilm: all-MiniLM-L6-v2 on torch; onnx: the same weights as int8 ONNX; static: "
        "the same weights distilled into a model2vec static model",
    )
    parser.add_argument("--cache", type=Path, default=CACHE, help="embedding cache file")
    parser.add_argument("--quick", action="store_true", help="30%% of users, one seed")
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds of the cold-user and cold-item splits (default: 1 for MovieLens and with "
        "--quick, else 3)",
    )
    parser.add_argument(
        "--protocols", nargs="+", default=["temporal", "random"], choices=["temporal", "random"]
    )
    parser.add_argument("--no-ablations", dest="ablations", action="store_false")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    encoder = make_encoder(args.encoder, args.cache)
    started = time.perf_counter()
    results = []
    for name, protocol in [(n, p) for n in args.datasets for p in args.protocols]:
        print(f"[{time.perf_counter() - started:6.0f}s] {name} {protocol}", flush=True)
        result = run_dataset(name, encoder, args, protocol)
        results.append(result)
        print(markdown([result], args, time.perf_counter() - started), flush=True)
        payload = {
            "dataset": name,
            "protocol": protocol,
            "load_average": os.getloadavg(),
            "encoder": args.encoder,
            "quick": args.quick,
            "seeds": result["log"]["seeds"],
            "k": K,
            "targets": targets(result["table"], result["per_user"], result.get("shared_items")),
            "log": _jsonable(result["log"]),
            "results": results_to_dict(result["table"])["results"],
            "per_seed": _jsonable(result["per_seed"].to_dict(orient="records")),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        }
        write_json(args.out / f"recommend_{name}_{protocol}.json", payload)
    total = time.perf_counter() - started
    atomic_write_text(args.out / "recommend.md", markdown(results, args, total) + "\n")
    print(f"total {total:.0f}s", flush=True)


if __name__ == "__main__":
    main()
