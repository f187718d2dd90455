"""``interestlens demo``: the whole job on a dataset generated here, with nothing downloaded."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from interestlens.config import Settings
from interestlens.csv_output import csv_text
from interestlens.data.synthetic import DemoTruth, make_demo_dataset
from interestlens.data.synthetic.vocab import THEMES
from interestlens.engine import RecommendationEngine
from interestlens.evaluate.job import run_evaluation, write_evaluation
from interestlens.persist import atomic_write_text
from interestlens.pipeline import InterestLens
from interestlens.report import write_report


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    return atomic_write_text(path, frame.to_csv(index=False))


def run_demo(
    out_dir: Path, settings: Settings, *, console: Console, show_progress: bool = True
) -> dict[str, Path]:
    started = time.perf_counter()
    out_dir = out_dir.expanduser().resolve()
    dataset, truth = make_demo_dataset(seed=settings.seed)
    data_dir = out_dir / "data"
    paths = {
        "interactions": write_csv(data_dir / "interactions.csv", dataset.interactions),
        "items": write_csv(data_dir / "items.csv", dataset.items),
        "users": write_csv(data_dir / "users.csv", dataset.users),
        "truth": write_csv(
            data_dir / "truth_users.csv",
            pd.DataFrame(
                {
                    "user_id": list(truth.user_primary_theme),
                    "primary_theme": list(truth.user_primary_theme.values()),
                }
            ),
        ),
    }
    console.print(
        f"Generated the demo dataset (seed {settings.seed}): {len(dataset.items)} items in "
        f"{len(truth.theme_names)} themes, {dataset.interactions['user_id'].nunique()} users with "
        f"history, {len(dataset.interactions)} interactions → {data_dir}"
    )
    model = InterestLens(settings, show_progress=show_progress).fit(
        dataset, labels_true=truth.user_primary_theme
    )
    paths["model"] = model.save(out_dir / "model")
    paths["clusters"] = atomic_write_text(out_dir / "clusters.csv", csv_text(model.cluster_table()))
    engine = RecommendationEngine.from_model(model)
    recommendations, _ = engine.recommend_users(model.user_ids_.ids, settings.recommend.k)
    paths["recommendations"] = atomic_write_text(
        out_dir / "recommendations.csv", csv_text(recommendations)
    )
    on_theme = _on_theme_share(recommendations, truth)
    example = "I love " + ", ".join(THEMES[0].topics[:3])
    cold = engine.recommend_new(text=example, k=5)
    evaluation = run_evaluation(
        dataset, settings, encoder=model.build_encoder(), show_progress=show_progress
    )
    write_evaluation(evaluation, paths["model"])
    paths["report"] = write_report(model, out_dir / "report.html", model_dir=paths["model"])
    result = model.clusters_.result
    metrics = model.clusters_.truth_metrics or {}

    table = Table(title="interestlens demo", show_header=False)
    table.add_row("encoder", model.encoder_id_)
    table.add_row(
        "item texts embedded",
        f"{model.report_.items.encoded_texts} ({model.report_.items.cache_hits} from cache)",
    )
    table.add_row(
        "interest vectors",
        ", ".join(f"{k}={v}" for k, v in model.report_.interest_sources.items()),
    )
    table.add_row(
        "clusters",
        f"k = {result.n_clusters} ({result.k_source}), silhouette "
        f"{result.scores.get('silhouette', float('nan')):.3f}, stability (mean ARI) "
        f"{(result.stability or {}).get('mean_ari') or float('nan'):.3f}",
    )
    if metrics:
        table.add_row(
            "vs the known themes",
            f"ARI {metrics['adjusted_rand']:.3f}, NMI {metrics['normalized_mutual_info']:.3f}, "
            f"purity {metrics['purity']:.3f}",
        )
    for explanation in sorted(model.clusters_.explanations, key=lambda e: -e.size)[:3]:
        table.add_row(
            f"cluster {explanation.cluster_id}", f"{explanation.label} ({explanation.size} users)"
        )
    table.add_row(
        "recommendations",
        f"{len(recommendations)} rows; {on_theme:.1%} of recommended items are from one of the "
        "user's known themes",
    )
    table.add_row(
        f'new person: "{example}"',
        "; ".join(f"{r.item_id} ({truth.item_theme[r.item_id]})" for r in cold[:3]),
    )
    for number, line in enumerate(evaluation.summary_lines()):
        table.add_row("evaluation" if number == 0 else "", line)
    table.add_row("data", str(data_dir))
    table.add_row("model", str(paths["model"]))
    table.add_row("clusters.csv", str(paths["clusters"]))
    table.add_row("recommendations.csv", str(paths["recommendations"]))
    table.add_row("report", str(paths["report"]))
    table.add_row("time", f"{time.perf_counter() - started:.1f}s")
    console.print(table)
    return paths


def _on_theme_share(recommendations: pd.DataFrame, truth: DemoTruth) -> float:
    """Share of recommended items whose theme is among the user's own (known) themes."""
    if recommendations.empty:
        return float("nan")
    themes = {user: {name for name, _ in pairs} for user, pairs in truth.user_themes.items()}
    hits = [
        truth.item_theme.get(item) in themes.get(user, set())
        for user, item in zip(recommendations["user_id"], recommendations["item_id"], strict=True)
    ]
    return float(sum(hits) / len(hits))


__all__ = ["run_demo"]
