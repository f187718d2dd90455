"""Print each cluster's label, keywords, central and over-represented items for a fitted model.

Usage::

    .venv/bin/python scripts/explain_check.py MODEL_DIR [--saved] [NAME=VALUE ...]

By default the clusters of MODEL_DIR are explained again with the explain stage of this checkout
(the settings of the model's config.toml), so a change to ``interestlens.explain`` shows at once
without re-fitting. ``--saved`` prints the explanations stored in the model instead.
``NAME=VALUE`` overrides a setting of ``[explain]`` (docs/configuration.md), the value read as
a Python literal (``min_support=3``, ``keyword_scoring='ctfidf'``) or else as a string.

The column names of the texts ("title: ...", "genres: ...") are stop words when the model was
fitted; a saved model does not store them, so every ``name:`` that starts a line in at least 1%
of the item or user texts is taken for a column name here.
"""

from __future__ import annotations

import ast
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import ValidationError

from interestlens import InterestLens
from interestlens.config import ExplainConfig, Settings
from interestlens.explain import ClusterEvidence, ClusterExplanation
from interestlens.pipeline import explainer_from_settings

FIELD_PREFIX = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_ ]{0,40}):", flags=re.MULTILINE)


def column_names(texts: Sequence[str], min_share: float = 0.01) -> list[str]:
    """Line prefixes like ``genres:`` that start a line in at least ``min_share`` of the texts."""
    seen: Counter[str] = Counter()
    for text in texts:
        seen.update({match.lower() for match in FIELD_PREFIX.findall(text or "")})
    needed = max(1, int(min_share * len(texts)))
    return sorted(name for name, count in seen.items() if count >= needed)


def reexplain(model: InterestLens, overrides: dict[str, Any]) -> list[ClusterExplanation]:
    """The explain stage the model's settings describe (``overrides`` replacing some of its
    ``explain.*`` settings), run on the model's clusters."""
    settings = model.settings if model.settings is not None else Settings()
    try:
        explain = ExplainConfig.model_validate(settings.explain.model_dump() | overrides)
    except ValidationError as error:
        raise SystemExit(f"override refused: {error}") from None
    clusters = model.clusters_
    interactions = model.interactions_
    ratings = interactions["rating"].to_numpy(dtype=np.float64)
    columns = column_names(model.item_texts_) + column_names(model.user_texts_)
    evidence = ClusterEvidence(
        user_ids=list(model.user_ids_.ids),
        item_ids=list(model.item_ids_.ids),
        user_idx=interactions["user_index"].to_numpy(),
        item_idx=interactions["item_index"].to_numpy(),
        rating=None if np.isnan(ratings).all() else ratings,
        user_texts=list(model.user_texts_),
        item_texts=list(model.item_texts_),
        item_titles=None if model.item_titles_ is None else list(model.item_titles_),
        item_vectors=model.item_vectors_,
        template_words=sorted({word for column in columns for word in column.split()}),
    )
    explainer = explainer_from_settings(settings.model_copy(update={"explain": explain}))
    return explainer.explain(
        clusters.user_labels,
        model.user_vectors_,
        evidence,
        centroids=clusters.centroids_by_label(),
    )


def print_cards(explanations: Sequence[ClusterExplanation]) -> None:
    for e in sorted(explanations, key=lambda e: -e.size):
        rating = "" if e.mean_rating is None else f", mean rating {e.mean_rating:.2f}"
        print(f"\nCluster {e.cluster_id}: {e.label} — {e.size} users ({e.share:.1%}){rating}")
        print("  keywords: " + ", ".join(k.term for k in e.keywords))
        central = [f"{c.title} ({c.n_members}m, cos {c.similarity:.2f})" for c in e.central_items]
        print("  central items: " + "; ".join(central))
        over = [
            f"{o.title} (x{o.lift:.1f}{_smoothed(o.smoothed_lift)}, {o.n_members}m)"
            for o in e.over_represented_items
        ]
        print("  over-represented: " + "; ".join(over))


def _smoothed(value: float | None) -> str:
    """The smoothed lift that ranks the items, when the explanation has it."""
    return "" if value is None else f", smoothed x{value:.1f}"


def parse_override(text: str) -> tuple[str, Any]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise SystemExit(f"override {text!r} should be NAME=VALUE")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    model = InterestLens.load(argv[0])
    rest = list(argv[1:])
    if "--saved" in rest:
        print_cards(model.clusters_.explanations)
        return 0
    overrides = dict(parse_override(text) for text in rest)
    started = time.perf_counter()
    explanations = reexplain(model, overrides)
    seconds = time.perf_counter() - started
    print(f"{model.dataset_name_}: {len(explanations)} clusters explained in {seconds:.1f}s")
    print_cards(explanations)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
