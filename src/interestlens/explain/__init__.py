"""The explain stage: clusters of users turned into names, keywords, items and typical users.

:class:`ClusterExplainer` (the stage) composes a :class:`ClusterKeywords` (terms scored by a
:class:`KeywordScorer`), a :class:`ClusterRepresentatives` and a :class:`ClusterNamer`;
:class:`StaticExplainer` and :class:`StaticNamer` are the test doubles.
"""

from interestlens.explain.explainer import (
    ClusterEvidence,
    ClusterExplainer,
    Explainer,
    StaticExplainer,
)
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
    ClusterKeywords,
    KeywordScorer,
    class_tfidf,
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
from interestlens.explain.representatives import ClusterRepresentatives

__all__ = [
    "CentralItem",
    "ClusterEvidence",
    "ClusterExplainer",
    "ClusterExplanation",
    "ClusterKeywords",
    "ClusterNamer",
    "ClusterRepresentatives",
    "Explainer",
    "Keyword",
    "KeywordNamer",
    "KeywordScorer",
    "MedoidUser",
    "NamerError",
    "OpenAICompatibleNamer",
    "OverRepresentedItem",
    "StaticExplainer",
    "StaticNamer",
    "class_tfidf",
    "default_vectorizer",
    "keyword_scores",
    "load_explanations",
    "log_odds_z",
    "save_explanations",
]
