"""Where bio-only users land: the text bridge against other ways of placing them (issue 9).

The demo with bio-only users (``make_demo_dataset(bio_only_share=0.2, foreign_bio_share=0.1)``)
is fitted (MiniLM, recommender off). The clusterer is fitted on users with history; the bio-only
users are then placed by each method below from their text vector alone (the one the fit placed
them with), and scored
against the known interests (ARI over all users, share of bio-only users in the cluster whose
users with history mostly share their primary interest):

* ``bridge`` (what ``fit`` does): ridge map from text vector to interest vector, nearest centroid,
  the text vector weighing its first clause once more where that lowers the bridge's
  leave-one-out error (``interests.lead_clause``; the fit's choice is printed);
* ``bridge, whole text only``: the same fit with ``interests.lead_clause = false``;
* ``logistic``: a classifier from text vector to cluster, trained on users with history and a bio;
* ``bio centroid``: the nearest mean bio vector of each cluster's users with history;
* ``raw text``: the bio vector against the clusters' interest centroids, no bridge;
* ``item votes``: the 5 items whose text is nearest the bio, each voting P(cluster | item).

The bios that the bridge misplaces are listed, so the reader can see why.

    nice -n 5 python benchmarks/bio_placement.py      # ~1 min with a warm embedding cache
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score

from interestlens import InterestLens
from interestlens.config import Settings
from interestlens.data.synthetic import make_demo_dataset
from interestlens.persist import atomic_write_text
from interestlens.represent import describe_bridge

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    dataset, truth = make_demo_dataset(seed=0, bio_only_share=0.2, foreign_bio_share=0.1)
    settings = Settings(seed=0)
    settings.encoder.kind = "minilm"
    settings.encoder.show_progress = False
    settings.recommend.enabled = False
    model = InterestLens(settings).fit(dataset, labels_true=truth.user_primary_theme)
    whole_text = settings.model_copy(deep=True)
    whole_text.interests.lead_clause = False
    plain = InterestLens(whole_text).fit(dataset).cluster_table()
    table = model.cluster_table()
    assert table["user_id"].tolist() == plain["user_id"].tolist()
    theme = table["user_id"].map(truth.user_primary_theme).to_numpy()
    bio = table["user_id"].isin(set(truth.bio_only_users)).to_numpy()
    labels = table["cluster"].to_numpy()
    cluster_theme = (
        pd.Series(theme[~bio]).groupby(labels[~bio]).agg(lambda s: s.value_counts().index[0])
    )
    texts = (
        dataset.users.set_index("user_id")
        .reindex(table["user_id"])["bio"]
        .fillna("")
        .astype(str)
        .tolist()
    )
    vectors = model.user_text_vectors_
    has_text = np.array([bool(t.strip()) for t in texts])
    train = ~bio & has_text
    clusters = np.unique(labels[~bio])

    def scored(placed: np.ndarray, fitted: np.ndarray = labels) -> dict[str, float]:
        """``placed``: clusters of the bio-only users; ``fitted``: everyone's, from one fit."""
        everyone = fitted.copy()
        everyone[bio] = placed
        themes = (
            pd.Series(theme[~bio]).groupby(fitted[~bio]).agg(lambda s: s.value_counts().index[0])
        )
        right = pd.Series(placed).map(themes).to_numpy() == theme[bio]
        return {
            "ari_all_users": round(float(adjusted_rand_score(theme, everyone)), 4),
            "bio_only_placed_right": round(float(right.mean()), 4),
        }

    methods: dict[str, dict[str, float]] = {
        "bridge": scored(labels[bio]),
        # a fit of its own: its users with history may be clustered a little differently
        "bridge, whole text only": scored(
            plain["cluster"].to_numpy()[bio], plain["cluster"].to_numpy()
        ),
    }
    classifier = LogisticRegression(C=1.0, max_iter=2000).fit(vectors[train], labels[train])
    methods["logistic"] = scored(classifier.predict(vectors[bio]))
    bio_centroids = np.stack([vectors[train & (labels == c)].mean(0) for c in clusters])
    methods["bio centroid"] = scored(clusters[np.argmax(vectors[bio] @ bio_centroids.T, 1)])
    interest = model.user_vectors_
    centroids = np.stack([interest[~bio & (labels == c)].mean(0) for c in clusters])
    methods["raw text"] = scored(clusters[np.argmax(vectors[bio] @ centroids.T, 1)])
    methods["item votes"] = scored(item_votes(model, dataset, labels, bio, clusters, vectors))

    wrong = pd.Series(labels[bio]).map(cluster_theme).to_numpy() != theme[bio]
    misplaced = [
        {"user": u, "interest": t, "bio": b}
        for u, t, b in zip(
            table["user_id"].to_numpy()[bio][wrong],
            theme[bio][wrong],
            np.array(texts)[bio][wrong],
            strict=True,
        )
    ]
    result = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "k": len(clusters),
        "bio_only_users": int(bio.sum()),
        "users_with_history_and_bio": int(train.sum()),
        "text_bridge": model.report_.text_bridge,
        "methods": methods,
        "misplaced_by_bridge": misplaced,
    }
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / "bio_placement.json", json.dumps(result, indent=1) + "\n")
    atomic_write_text(RESULTS / "bio_placement.md", markdown(result))
    print(markdown(result))


def item_votes(model, dataset, labels, bio, clusters, vectors) -> np.ndarray:
    """Each bio's 5 nearest items (text vectors) vote with P(cluster | item) from the
    interactions of the users with history."""
    index = {u: i for i, u in enumerate(model.user_ids_.ids)}
    items = {i: j for j, i in enumerate(model.item_ids_.ids)}
    counts = np.zeros((len(clusters), len(items)))
    position = {c: p for p, c in enumerate(clusters)}
    for user, item in zip(
        dataset.interactions["user_id"], dataset.interactions["item_id"], strict=True
    ):
        row = index[str(user)]
        if not bio[row]:
            counts[position[labels[row]], items[str(item)]] += 1
    share = (counts + 0.1) / (counts + 0.1).sum(0, keepdims=True)
    nearest = np.argsort(-(vectors[bio] @ model.item_vectors_.T), axis=1)[:, :5]
    votes = np.stack([share[:, row].mean(1) for row in nearest])
    return clusters[np.argmax(votes, 1)]


def markdown(result: dict) -> str:
    lines = [
        "# Placing bio-only users (demo, MiniLM)",
        "",
        f"`python benchmarks/bio_placement.py`; k = {result['k']}; "
        f"{result['bio_only_users']} bio-only users; "
        f"{result['users_with_history_and_bio']} users with history and a bio to learn from; "
        f"load average {result['load_average']}.",
        "",
        f"Text bridge: {describe_bridge(result['text_bridge'])}.",
        "",
        "| method | ARI all users | bio-only users in their interest's cluster |",
        "|---|---:|---:|",
    ]
    for name, row in result["methods"].items():
        lines.append(
            f"| {name} | {row['ari_all_users']:.4f} | {row['bio_only_placed_right']:.1%} |"
        )
    lines += ["", "Bios the bridge misplaces:", "", "| user | interest | bio |", "|---|---|---|"]
    lines += [
        f"| {m['user']} | {m['interest']} | {m['bio']} |" for m in result["misplaced_by_bridge"]
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
