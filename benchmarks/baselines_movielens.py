"""Sanity run: all baselines on MovieLens ml-latest-small, per-user temporal holdout 20 %.

usage: python benchmarks/baselines_movielens.py [DATA_DIR] [OUT.json]
"""

import json
import sys
import time
from pathlib import Path

import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer

from interestlens.evaluate import (
    evaluate_models,
    prepare_split,
    temporal_holdout,
    validation_split,
    write_results,
)
from interestlens.recommend import ALS, EASE, ContentKNN, ItemKNN, MostPop, RandomScores

DATA = Path(
    sys.argv[1]
    if len(sys.argv) > 1
    else Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-latest-small"
)
OUT = Path(sys.argv[2]) if len(sys.argv) > 2 else None
started = time.perf_counter()
ratings = pd.read_csv(DATA / "ratings.csv")
interactions = pd.DataFrame(
    {
        "user_id": ratings["userId"].astype(str),
        "item_id": ratings["movieId"].astype(str),
        "rating": ratings["rating"].astype("float64"),
        "timestamp": ratings["timestamp"].astype("int64"),
    }
)
movies = pd.read_csv(DATA / "movies.csv")
items = pd.DataFrame(
    {
        "item_id": movies["movieId"].astype(str),
        "text": movies["title"] + " " + movies["genres"].str.replace("|", " ", regex=False),
        "genres": movies["genres"],
    }
)
split = temporal_holdout(interactions, 0.2)
prepared = prepare_split(split, items=items, item_text_column="text")
assert len(prepared.item_map) == len(items)  # every rated movie is in movies.csv
# genre multi-hot vectors, in catalogue order, for intra-list diversity
genres = CountVectorizer(tokenizer=lambda s: s.split("|"), lowercase=False, token_pattern=None)
genre_vectors = genres.fit_transform(items["genres"]).astype("float32")

# EASE's l2 is tuned on a validation split carved out of the training part only
validation = prepare_split(validation_split(split, "temporal", fraction=0.2), items=items)
search = EASE.tune_lambda(validation.train, validation.test_matrix(), (50, 100, 200, 500, 1000))
print("EASE l2 -> validation ndcg@10:", {k: round(v, 4) for k, v in search.scores.items()})

models = {
    "Random": RandomScores(random_state=0),
    "MostPop": MostPop(),
    "ItemKNN": ItemKNN(n_neighbors=100),
    "EASE": EASE(l2=search.best_lambda),
    "ALS": ALS(factors=64, regularization=0.05, iterations=15, random_state=0),
    "ContentKNN": ContentKNN(),
}
table = evaluate_models(models, prepared, k=10, item_vectors=genre_vectors)
wide = table.pivot_table(index=["segment", "model"], columns="metric", values="value", sort=False)
pd.set_option("display.width", 250)
print(wide.round(4).to_string())
print(json.dumps({key: table.attrs[key] for key in ("split", "notes", "fit_seconds")}, indent=1))
if OUT is not None:
    write_results(OUT, table)
print(f"total {time.perf_counter() - started:.1f}s")
