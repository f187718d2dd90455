"""EASE with pruned weights: ranking quality, time and memory against the dense matrix.

MovieLens ml-latest-small, temporal holdout (each user's latest 20 % of interactions), binary
training matrix; EASE alone (``l2`` fixed at 200, the value ``EASE.tune_lambda`` picked for
this split in ``benchmarks/results/recommend_movielens_temporal.json``), warm-user NDCG@10 and
Recall@10 for the dense ``B`` and for ``EASE.prune(n)`` with n in 512/256/128/64 neighbours per
target item. Times: one dense fit, each prune, and scoring every test user (batches of 512).
Bytes: the weights in memory (dense array, or CSR data + indices + indptr) and as written by
``model_dir.write_recommender`` (uncompressed ``.npz``).

Then one :class:`InterestRecommender` (``ease_neighbours=256``, untuned, hashing encoder,
texts: title, year, genres, TMDB keywords and overview) is fitted, saved and loaded: the
directory's size, the save and load times, and whether the loaded model scores the same.

usage: python benchmarks/ease_pruning.py [--neighbours 512 256 128 64] [--no-model]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.data import load_movielens
from interestlens.data.schema import ITEM_ID, TIMESTAMP, USER_ID
from interestlens.evaluate import prepare_split, temporal_holdout
from interestlens.evaluate.metrics import ndcg_at_k, recall_at_k
from interestlens.model_dir import read_recommender, write_recommender
from interestlens.persist import atomic_write_text, write_json
from interestlens.recommend import EASE, top_k
from interestlens.recommend.interest import InterestRecommender

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
K = 10
L2 = 200.0
BATCH = 512


def weight_bytes(weights: np.ndarray | sp.csr_matrix) -> int:
    if sp.issparse(weights):
        return int(weights.data.nbytes + weights.indices.nbytes + weights.indptr.nbytes)
    return int(weights.nbytes)


def file_bytes(weights: np.ndarray | sp.csr_matrix) -> int:
    buffer = io.BytesIO()
    if sp.issparse(weights):
        sp.save_npz(buffer, weights, compressed=False)
    else:
        np.save(buffer, weights, allow_pickle=False)
    return len(buffer.getvalue())


def evaluate(model: EASE, users: np.ndarray, relevant: sp.csr_matrix, train: sp.csr_matrix):
    started = time.perf_counter()
    ranked = []
    for start in range(0, len(users), BATCH):
        batch = users[start : start + BATCH]
        scores = model.score(batch)
        items, _ = top_k(scores, K, exclude=train[batch])
        ranked.append(items)
    seconds = time.perf_counter() - started
    ranked_all = np.vstack(ranked)
    return (
        float(np.nanmean(ndcg_at_k(ranked_all, relevant, K))),
        float(np.nanmean(recall_at_k(ranked_all, relevant, K))),
        seconds,
    )


def item_texts(items: pd.DataFrame) -> list[str]:
    texts = []
    for row in items.itertuples():
        parts = [f"{row.title} ({row.year})" if row.year else row.title]
        if row.genres:
            parts.append(f"Genres: {row.genres}")
        if row.keywords:
            parts.append(f"Keywords: {row.keywords}")
        if row.overview:
            parts.append(row.overview)
        texts.append(". ".join(parts))
    return texts


def saved_model(dataset: Any, prepared: Any, split: Any) -> dict[str, Any]:
    """Fit, save and load one InterestRecommender with ease_neighbours=256."""
    rating = prepare_split(split, items=dataset.items, train_weight="rating")
    texts = item_texts(dataset.items)
    train = split.train
    rows = rating.user_map.indices(train[USER_ID].astype(str))
    cols = rating.item_map.indices(train[ITEM_ID].astype(str))
    times = sp.coo_matrix(
        (train[TIMESTAMP].to_numpy(dtype=np.float64), (rows, cols)), shape=rating.train.shape
    ).tocsr()
    times.sum_duplicates()
    started = time.perf_counter()
    model = InterestRecommender(tune=False, n_clusters=16, half_life=10.0, ease_neighbours=256)
    model.fit(rating.train, item_texts=texts, timestamps=times)
    fit_seconds = time.perf_counter() - started
    users = prepared.segments["warm_users"].users[:200]
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        write_recommender(folder, model)
        save_seconds = time.perf_counter() - started
        sizes = {path.name: path.stat().st_size for path in Path(folder).iterdir()}
        started = time.perf_counter()
        loaded = read_recommender(folder)
        load_seconds = time.perf_counter() - started
        difference = float(np.abs(model.score(users) - loaded.score(users)).max())
    started = time.perf_counter()
    for user in users[:50]:
        model.score_histories(model.interactions_[[user]], model.times_[[user]], [user])
    per_history_ms = (time.perf_counter() - started) / 50 * 1000
    started = time.perf_counter()
    model.add_items(["Space Voyage (2030). Genres: Sci-Fi. An astronaut crew heads to Mars"])
    add_ms = (time.perf_counter() - started) * 1000
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:6]
    return {
        "settings": "tune=False, n_clusters=16, half_life=10, ease_neighbours=256, hashing encoder",
        "n_items": int(rating.train.shape[1]),
        "n_users": int(rating.train.shape[0]),
        "fit_seconds": round(fit_seconds, 2),
        "save_seconds": round(save_seconds, 3),
        "load_seconds": round(load_seconds, 3),
        "directory_bytes": int(sum(sizes.values())),
        "largest_files": dict(largest),
        "max_abs_score_difference_after_load": difference,
        "score_histories_ms_per_user": round(per_history_ms, 2),
        "add_items_ms_one_item": round(add_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neighbours", type=int, nargs="+", default=[512, 256, 128, 64])
    parser.add_argument("--no-model", action="store_true", help="skip the saved-model part")
    args = parser.parse_args()
    root = DATA / "ml-latest-small"
    if not root.is_dir():
        sys.exit(f"needs {root} (MovieLens ml-latest-small, see ../shared/data/SOURCES.md)")
    begun = time.perf_counter()
    dataset = load_movielens(root, tmdb=DATA / "tmdb-5000-movies" / "tmdb_5000_movies.csv.gz")
    split = temporal_holdout(dataset.interactions, 0.2)
    prepared = prepare_split(split, items=dataset.items)
    segment = prepared.segments["warm_users"]
    train = prepared.train

    started = time.perf_counter()
    dense = EASE(l2=L2).fit(train)
    fit_seconds = time.perf_counter() - started
    full_weights = dense.weights_
    rows = []
    ndcg, recall, score_seconds = evaluate(dense, segment.users, segment.relevant, train)
    rows.append(
        {
            "neighbours": "full",
            "ndcg@10": ndcg,
            "recall@10": recall,
            "fit_seconds": round(fit_seconds, 2),
            "prune_seconds": 0.0,
            "score_seconds": round(score_seconds, 2),
            "weight_bytes": weight_bytes(full_weights),
            "file_bytes": file_bytes(full_weights),
            "nnz": int(np.count_nonzero(full_weights)),
        }
    )
    for n in args.neighbours:
        dense.weights_ = full_weights
        started = time.perf_counter()
        dense.prune(n)
        prune_seconds = time.perf_counter() - started
        ndcg, recall, score_seconds = evaluate(dense, segment.users, segment.relevant, train)
        rows.append(
            {
                "neighbours": n,
                "ndcg@10": ndcg,
                "recall@10": recall,
                "fit_seconds": round(fit_seconds, 2),
                "prune_seconds": round(prune_seconds, 2),
                "score_seconds": round(score_seconds, 2),
                "weight_bytes": weight_bytes(dense.weights_),
                "file_bytes": file_bytes(dense.weights_),
                "nnz": int(dense.weights_.nnz),
            }
        )
        print(rows[-1], flush=True)
    result: dict[str, Any] = {
        "dataset": "ml-latest-small",
        "split": "temporal holdout, latest 20% per user; warm users",
        "l2": L2,
        "k": K,
        "n_items": int(train.shape[1]),
        "n_active_items": len(dense.active_items_),
        "n_test_users": len(segment.users),
        "rows": rows,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
    }
    if not args.no_model:
        result["saved_model"] = saved_model(dataset, prepared, split)
    result["seconds"] = round(time.perf_counter() - begun, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / "ease_pruning.json", result)
    atomic_write_text(RESULTS / "ease_pruning.md", markdown(result))
    print(markdown(result))


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# EASE pruning (MovieLens ml-latest-small)",
        "",
        f"{result['split']}; {result['n_test_users']} test users, {result['n_items']} items "
        f"({result['n_active_items']} with training interactions), l2={result['l2']:g}. "
        "Produced by `python benchmarks/ease_pruning.py`.",
        "",
        "| neighbours | NDCG@10 | Recall@10 | prune s | score s (all test users) "
        "| weights MB (memory) | .npz/.npy MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['neighbours']} | {row['ndcg@10']:.4f} | {row['recall@10']:.4f} "
            f"| {row['prune_seconds']:.2f} | {row['score_seconds']:.2f} "
            f"| {row['weight_bytes'] / 1e6:.1f} | {row['file_bytes'] / 1e6:.1f} |"
        )
    lines.append("")
    lines.append(f"Dense fit: {result['rows'][0]['fit_seconds']:.2f} s.")
    saved = result.get("saved_model")
    if saved:
        lines += [
            "",
            "## InterestRecommender saved with ease_neighbours=256",
            "",
            f"{saved['settings']}; {saved['n_users']} users x {saved['n_items']} items.",
            "",
            f"- fit {saved['fit_seconds']} s, save {saved['save_seconds']} s, "
            f"load {saved['load_seconds']} s",
            f"- directory: {saved['directory_bytes'] / 1e6:.1f} MB; largest files: "
            + ", ".join(
                f"{name} {size / 1e6:.1f} MB" for name, size in saved["largest_files"].items()
            ),
            f"- max |score difference| after load: {saved['max_abs_score_difference_after_load']}",
            f"- score_histories: {saved['score_histories_ms_per_user']} ms per user; "
            f"add_items (one item): {saved['add_items_ms_one_item']} ms",
        ]
    lines.append("")
    lines.append(f"Total run: {result['seconds']} s on {result['machine']['cpus']} CPUs.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
