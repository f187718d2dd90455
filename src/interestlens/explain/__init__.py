"""The explain stage: clusters of users turned into names, keywords, items and typical users."""

from interestlens.explain.explainer import explain_clusters
from interestlens.explain.explanation import (
    CentralItem,
    ClusterExplanation,
    Keyword,
    MedoidUser,
    OverRepresentedItem,
    load_explanations,
    save_explanations,
)
from interestlens.explain.keywords import (
    class_tfidf,
    cluster_keywords,
    default_vectorizer,
    keyword_scores,
    log_odds_z,
)
from interestlens.explain.namer import (
    ClusterNamer,
    KeywordNamer,
    NamerError,
    OpenAICompatibleNamer,
    StaticNamer,
)

__all__ = [
    "CentralItem",
    "ClusterExplanation",
    "ClusterNamer",
    "Keyword",
    "KeywordNamer",
    "MedoidUser",
    "NamerError",
    "OpenAICompatibleNamer",
    "OverRepresentedItem",
    "StaticNamer",
    "class_tfidf",
    "cluster_keywords",
    "default_vectorizer",
    "explain_clusters",
    "keyword_scores",
    "load_explanations",
    "log_odds_z",
    "save_explanations",
]
