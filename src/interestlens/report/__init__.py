"""The HTML report of a fitted model: :func:`write_report` (model in, one HTML file out)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from interestlens.persist import atomic_write_text
from interestlens.privacy import privacy_facts, shown_explanations
from interestlens.report.html import ClusterCard, ReportData, facts_from, render_report
from interestlens.report.over_time import over_time_section
from interestlens.represent import describe_bridge

if TYPE_CHECKING:
    from interestlens.pipeline import InterestLens

__all__ = ["ClusterCard", "ReportData", "render_report", "report_data_from_model", "write_report"]

TRUTH_FACTS = {
    "ARI": "adjusted_rand",
    "NMI": "normalized_mutual_info",
    "purity": "purity",
    "pairwise F1": "pairwise_f1",
}
K_SCORE_COLUMNS = ("inertia", "silhouette", "calinski_harabasz", "davies_bouldin")


def _k_scores(selection: Mapping | None) -> pd.DataFrame | None:
    if not selection or not selection.get("ks"):
        return None
    frame = pd.DataFrame({c: selection[c] for c in K_SCORE_COLUMNS if c in selection})
    frame.index = pd.Index(selection["ks"], name="k")
    return frame.astype(float)


def report_data_from_model(
    model: InterestLens,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    previous: InterestLens | None = None,
) -> ReportData:
    model.check_fitted()
    clusters = model.clusters_
    result = clusters.result
    titles = model.item_titles_ or [t.splitlines()[0][:80] if t else "" for t in model.item_texts_]
    interactions = model.interactions_
    recent: dict[int, list[int]] = {}
    for user, item in zip(
        interactions["user_index"].to_numpy(), interactions["item_index"].to_numpy(), strict=True
    ):
        recent.setdefault(int(user), []).append(int(item))

    hover = []
    for index, user_id in enumerate(model.user_ids_.ids):
        cluster = int(clusters.user_labels[index])
        lines = [f"<b>{user_id}</b> · cluster {cluster}: {clusters.label_of(cluster)}"]
        text = model.user_texts_[index]
        if text:
            lines.append(text[:90].replace("\n", " "))
        items = recent.get(index, [])[-3:]
        if items:
            lines.append("recent: " + "; ".join(titles[i][:40] for i in items))
        hover.append("<br>".join(lines))

    stability = (result.stability or {}).get("mean_ari")
    privacy = model.active_settings.privacy
    release = getattr(model, "privacy_release_", None)
    explanations, n_withheld = shown_explanations(clusters.explanations, privacy, release)
    cards = [
        ClusterCard(
            cluster_id=e.cluster_id,
            label=e.label,
            size=e.size,
            share=e.share,
            keywords=[k.term for k in e.keywords],
            central_items=[c.title for c in e.central_items],
            overrepresented_items=[
                f"{o.title} (×{(o.smoothed_lift or o.lift):.1f}, {o.n_members} members)"
                for o in e.over_represented_items
            ],
            medoid_users=[m.user_id for m in e.medoid_users],
            mean_rating=e.mean_rating,
            stability=stability,
            medoids_withheld=privacy.enabled,
        )
        for e in explanations
    ]
    selection = result.k_selection or {}
    elbow = selection.get("elbow_k")
    clustered = clusters.user_labels >= 0
    facts = facts_from(
        {
            "users": len(model.user_ids_),
            "items": len(model.item_ids_),
            "interactions": len(interactions),
            "method": result.method
            + (f" (reduced: {result.reduce})" if result.reduce != "none" else ""),
            "clusters (k)": f"{result.n_clusters} ({result.k_source})",
            "silhouette": result.scores.get("silhouette"),
            "stability (mean ARI)": stability,
            "noise share": result.noise_share,
            "users not clustered (no history, no text)": clusters.unclustered,
            "encoder": model.encoder_id_.split("@")[0][:60],
        }
    )
    facts.update(privacy_facts(privacy, release, n_withheld))
    placed = clusters.placed_by()
    if (placed == "predict").any():
        facts["users placed from their text (bridge + predict)"] = str(
            int((placed == "predict").sum())
        )
    bridge = text_bridge_report(model)
    if bridge:
        facts["text bridge"] = describe_bridge(bridge)
    truth = clusters.truth_metrics or {}
    for name, key in TRUTH_FACTS.items():
        if isinstance(truth.get(key), float):
            facts[f"vs known labels: {name}"] = f"{truth[key]:.3f}"
    user_ids, user_map, labels = model.user_ids_.ids, clusters.user_map, clusters.user_labels
    if privacy.enabled:
        # a point per person, with their id and words on hover, is not a group statistic
        user_ids, user_map, labels, hover = [], np.zeros((0, 2), np.float32), labels[:0], []
    return ReportData(
        title=f"interestlens — interest clusters of {model.dataset_name_}",
        subtitle=f"{int(clustered.sum())} users in {result.n_clusters} interest clusters",
        user_ids=user_ids,
        user_map=user_map,
        labels=np.where(labels >= 0, labels, -1),
        hover=hover,
        cards=cards,
        k_scores=_k_scores(selection),
        chosen_k=result.n_clusters if result.k_source == "auto" else None,
        k_rule=str(selection.get("rule", "")) + (f"; elbow at k = {elbow}" if elbow else ""),
        facts=facts,
        tables={**recommender_tables(model), **dict(tables or {})},
        evaluation=None if evaluation is None else dict(evaluation),
        # per-period shares of small groups are exactly what k-anonymity withholds: with
        # privacy on, the over-time section is left out (docs/privacy.md)
        over_time=None
        if model.active_settings.privacy.enabled
        else over_time_section(model, previous),
    )


def write_report(
    model: InterestLens,
    path: str | Path,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    model_dir: str | Path | None = None,
    previous: InterestLens | None = None,
) -> Path:
    """Write the HTML page. ``evaluation`` (an ``interestlens evaluate`` result, as
    :func:`~interestlens.evaluate.job.read_evaluation` returns it) adds the evaluation section;
    without it, ``model_dir``'s ``evaluation.json`` is shown when that file exists."""
    if evaluation is None and model_dir is not None:
        saved = Path(model_dir).expanduser() / "evaluation.json"
        if saved.is_file():
            from interestlens.evaluate.job import read_evaluation

            evaluation = read_evaluation(saved)
    data = report_data_from_model(model, tables=tables, evaluation=evaluation, previous=previous)
    return atomic_write_text(Path(path), render_report(data))


def recommender_tables(model: InterestLens) -> dict[str, pd.DataFrame]:
    """The model card of the recommender: per regime, what tuning chose and why."""
    recommender = getattr(model, "recommender_", None)
    if recommender is None or not recommender.tuning_:
        return {}
    rows = []
    for regime, record in recommender.tuning_.items():
        if "skipped" in record:
            rows.append({"regime": regime, "chosen": "defaults", "why": record["skipped"]})
            continue
        if "reused" in record:
            weights = ", ".join(
                f"{name} {weight:g}" for name, weight in record["weights"].items() if weight
            )
            rows.append({"regime": regime, "chosen": f"reused ({weights})", "why": record["why"]})
            continue
        comparison = record.get("references") or {}
        scores = comparison.get("scores", {})
        weights = ", ".join(
            f"{name} {weight:g}" for name, weight in record["weights"].items() if weight
        )
        rows.append(
            {
                "regime": regime,
                "chosen": comparison.get("fallback") or f"blend ({weights})",
                "validation NDCG@10": " · ".join(f"{k} {v:.3f}" for k, v in scores.items()),
                "why": comparison.get("why", ""),
            }
        )
    title = f"Recommender: tuned for {recommender.validation} hold-out"
    return {title: pd.DataFrame(rows).fillna("")}


def text_bridge_report(model: Any) -> dict[str, Any]:
    """What the fit said of its text bridge: from the fit just run, or the saved manifest."""
    report = getattr(model, "report_", None)
    if report is not None and getattr(report, "text_bridge", None):
        return dict(report.text_bridge)
    manifest = getattr(model, "manifest_", None) or {}
    saved = (manifest.get("fit_report") or {}).get("text_bridge")
    return dict(saved) if isinstance(saved, dict) else {}
