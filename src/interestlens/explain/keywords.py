"""Cluster keywords: terms that tell one cluster's texts from the others'.

Each cluster is one document: the texts of the items its members interacted with (each repeated
once per member who did, or once) plus the members' own texts. Two scorings are offered.

``"log_odds"`` (the default) is the weighted log-odds ratio with an informative Dirichlet prior of
Monroe, Colaresi & Quinn, "Fightin' Words" (Political Analysis 16(4), 2008), cluster against the
rest of the clusters. With ``y[c, t]`` the count of term ``t`` in cluster ``c``, ``n[c]`` the
cluster's words, ``y[t]`` and ``n`` the totals over all clusters, ``r`` the other clusters pooled,
and a prior of ``a0`` pseudo-words spread like the whole corpus (``a[t] = a0 * y[t] / n``)::

    delta(t, c) = log((y[c,t] + a[t]) / (n[c] + a0 - y[c,t] - a[t]))
                - log((y[r,t] + a[t]) / (n[r] + a0 - y[r,t] - a[t]))
    score(t, c) = delta(t, c) / sqrt(1 / (y[c,t] + a[t]) + 1 / (y[r,t] + a[t]))    (a z-score)

A term whose share of the cluster's words equals its share of the other clusters' words scores
exactly zero, however frequent, so common words ("drama", "comedy") that fill every cluster's
document top none; a common word leads only the cluster that clearly over-represents it
("action" for the action fans). The prior pulls rare terms' log-odds toward the corpus rate and
the z-score asks for evidence, so a term said a few times cannot beat a well-attested one.
Only terms that score above zero are keywords. ``a0`` (``prior_size``) defaults to the mean words
per cluster; then the ranking inside a cluster does not change when every count is multiplied
by the same number (as ``item_weighting="members"`` does). A lone cluster has nothing to be told
apart from, so it falls back to c-TF-IDF.

Because counts are weighted by members, one item many members saw can lend its proper nouns
(a film's characters) to the keywords; ``min_texts`` > 1 keeps only terms that several distinct
texts of the cluster's document say.

``"ctfidf"`` is the class-based TF-IDF of BERTopic: frequent in the cluster, rare overall::

    score(t, c) = y[c,t] / n[c] * log(1 + (n / number of clusters) / y[t])

It ranks by frequency first, so words shared by every cluster tend to top all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.utils.validation import check_is_fitted

from interestlens.errors import ParameterError
from interestlens.explain.explanation import Keyword

#: words of two or more letters/digits that start with a letter, inner hyphens kept ("sci-fi"):
#: drops numbers and lone letters
TOKEN_PATTERN = r"(?u)\b[^\W\d_](?:-?[^\W_])+\b"

KeywordScoring = Literal["log_odds", "ctfidf"]
KEYWORD_SCORINGS: tuple[str, ...] = ("log_odds", "ctfidf")


def default_vectorizer(extra_stop_words: Sequence[str] = ()) -> CountVectorizer:
    """English stop words (plus ``extra_stop_words``, e.g. column names in templated texts)."""
    stop_words = sorted(ENGLISH_STOP_WORDS | {word.lower() for word in extra_stop_words})
    return CountVectorizer(
        stop_words=stop_words, token_pattern=TOKEN_PATTERN, lowercase=True, dtype=np.float64
    )


class KeywordScorer(BaseEstimator):
    """Term scores per cluster from a ``(n_clusters, n_terms)`` count matrix.

    A transformer in the manner of BERTopic's ``ClassTfidfTransformer``: :meth:`fit` learns
    the corpus (term totals, words, number of clusters, the prior size), :meth:`transform`
    scores rows against it by ``scoring`` (see the module docstring). Scores are sparse and
    positive; a term a cluster does not use or does not over-represent scores zero. Fitted on
    fewer than two clusters, ``"log_odds"`` has nothing to tell apart and scores by c-TF-IDF.
    """

    def __init__(self, scoring: KeywordScoring = "log_odds", prior_size: float | None = None):
        self.scoring = scoring
        self.prior_size = prior_size

    def check(self) -> None:
        """Raise a :class:`ParameterError` naming the first unusable setting."""
        if self.scoring not in KEYWORD_SCORINGS:
            raise ParameterError(
                f"keyword_scoring={self.scoring!r}",
                expected=" or ".join(map(repr, KEYWORD_SCORINGS)),
            )
        prior = self.prior_size
        if prior is not None and (
            isinstance(prior, bool)
            or not isinstance(prior, int | float | np.integer | np.floating)
            or not (np.isfinite(prior) and prior > 0)
        ):
            raise ParameterError(f"keyword_prior_size={prior!r}", expected="a number > 0, or None")

    def fit(self, counts: sp.spmatrix | np.ndarray) -> KeywordScorer:
        self.check()
        counts = sp.csr_matrix(counts, dtype=np.float64)
        self.n_classes_ = int(counts.shape[0])
        self.total_ = float(counts.sum())
        self.term_frequency_ = np.asarray(counts.sum(axis=0)).ravel()
        self.prior_size_ = (
            float(self.prior_size)
            if self.prior_size is not None
            else self.total_ / max(self.n_classes_, 1)
        )
        mean_words = self.total_ / self.n_classes_ if self.n_classes_ else 0.0
        self.idf_ = np.zeros_like(self.term_frequency_)
        present = self.term_frequency_ > 0
        self.idf_[present] = np.log1p(mean_words / self.term_frequency_[present])
        self.scoring_ = "ctfidf" if self.scoring == "ctfidf" or self.n_classes_ < 2 else "log_odds"
        return self

    def transform(self, counts: sp.spmatrix | np.ndarray) -> sp.csr_matrix:
        check_is_fitted(self, "scoring_")
        counts = sp.csr_matrix(counts, dtype=np.float64)
        if counts.shape[1] != len(self.term_frequency_):
            raise ParameterError(
                f"counts have {counts.shape[1]} terms",
                expected=f"{len(self.term_frequency_)} terms, as the counts fit saw",
                fix="score counts made by the same vectorizer",
            )
        if self.scoring_ == "ctfidf":
            return _class_tfidf(counts, self.idf_)
        return _log_odds_z(counts, self.term_frequency_, self.total_, self.prior_size_)

    def fit_transform(self, counts: sp.spmatrix | np.ndarray) -> sp.csr_matrix:
        return self.fit(counts).transform(counts)


def class_tfidf(counts: sp.spmatrix | np.ndarray) -> sp.csr_matrix:
    """c-TF-IDF weights of a ``(n_classes, n_terms)`` term-count matrix.

    Rows with no words stay zero; terms that occur in no class get weight zero.
    """
    counts = sp.csr_matrix(counts, dtype=np.float64)
    if counts.shape[0] == 0:
        return counts
    return KeywordScorer("ctfidf").fit_transform(counts)


def log_odds_z(counts: sp.spmatrix | np.ndarray, prior_size: float | None = None) -> sp.csr_matrix:
    """Fightin'-Words z-scores of each class against the other classes pooled (see the module).

    ``counts`` is ``(n_classes, n_terms)``; ``prior_size`` is ``a0``, the prior's pseudo-words
    (default: the mean words per class). Only terms a class uses and over-represents get a
    (positive) weight; everything else is zero. With one class every weight is zero.
    """
    counts = sp.csr_matrix(counts, dtype=np.float64)
    if counts.shape[0] < 2 or float(counts.sum()) == 0:
        return sp.csr_matrix(counts.shape, dtype=np.float64)
    return KeywordScorer("log_odds", prior_size).fit_transform(counts)


def _class_tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    words_per_class = np.asarray(counts.sum(axis=1)).ravel()
    inverse_length = np.zeros_like(words_per_class)
    nonempty = words_per_class > 0
    inverse_length[nonempty] = 1.0 / words_per_class[nonempty]
    weights = sp.csr_matrix(sp.diags(inverse_length) @ counts @ sp.diags(idf))
    weights.eliminate_zeros()
    weights.sort_indices()
    return weights


def _log_odds_z(
    counts: sp.csr_matrix, term_frequency: np.ndarray, total: float, prior_size: float
) -> sp.csr_matrix:
    """Each row against the corpus without it (``term_frequency`` and ``total`` include it)."""
    if total == 0:
        return sp.csr_matrix(counts.shape, dtype=np.float64)
    words_per_class = np.asarray(counts.sum(axis=1)).ravel()
    coo = counts.tocoo()
    row, column, inside = coo.row, coo.col, coo.data
    prior = prior_size * term_frequency[column] / total
    outside = term_frequency[column] - inside
    words_inside = words_per_class[row]
    words_outside = total - words_inside
    # a term that is every word of a side would divide by zero; it tells nothing apart anyway
    tiny = np.finfo(np.float64).tiny
    log_odds_inside = np.log(inside + prior) - np.log(
        np.maximum(words_inside + prior_size - inside - prior, tiny)
    )
    log_odds_outside = np.log(outside + prior) - np.log(
        np.maximum(words_outside + prior_size - outside - prior, tiny)
    )
    variance = 1.0 / (inside + prior) + 1.0 / (outside + prior)
    z = (log_odds_inside - log_odds_outside) / np.sqrt(variance)
    # equal shares give exactly zero in exact arithmetic; rounding must not make them keywords
    keep = z > 1e-9
    weights = sp.csr_matrix((z[keep], (row[keep], column[keep])), shape=counts.shape)
    weights.sort_indices()
    return weights


def keyword_scores(
    counts: sp.spmatrix | np.ndarray,
    scoring: KeywordScoring = "log_odds",
    prior_size: float | None = None,
) -> sp.csr_matrix:
    """Keyword weights of a ``(n_clusters, n_terms)`` count matrix by ``scoring``."""
    return KeywordScorer(scoring, prior_size).fit_transform(counts)


def top_terms(weights: sp.csr_matrix, terms: np.ndarray, n: int) -> list[list[Keyword]]:
    """The ``n`` best-scored terms of each row; ties go to the term that sorts first."""
    result: list[list[Keyword]] = []
    for row in range(weights.shape[0]):
        start, end = weights.indptr[row], weights.indptr[row + 1]
        columns = weights.indices[start:end]
        scores = weights.data[start:end]
        # vectorizer vocabularies are sorted, so the column index breaks ties alphabetically
        order = np.lexsort((columns, -scores))[:n]
        result.append([Keyword(str(terms[columns[i]]), float(scores[i])) for i in order])
    return result


def cluster_term_counts(
    item_weights: sp.csr_matrix,
    item_texts: Sequence[str] | None,
    member_weights: sp.csr_matrix,
    user_texts: Sequence[str] | None,
    *,
    vectorizer: CountVectorizer | None = None,
    extra_stop_words: Sequence[str] = (),
) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Term counts of each cluster's document, the texts in it that use each term, the terms.

    The first two are ``(n_clusters, n_terms)``: how often the term occurs in the cluster's
    document, and how many distinct texts (items' or users') of that document contain it.

    ``item_weights`` is ``(n_clusters, n_items)``: how many times each item's text enters the
    cluster's document; ``member_weights`` is ``(n_clusters, n_users)`` for users' own texts.
    Either text list may be None (that source is left out). Without any words the matrix has
    no columns. A given ``vectorizer`` is cloned, never fitted in place.
    """
    n_clusters = item_weights.shape[0]
    sources = [
        (weights, texts)
        for weights, texts in ((item_weights, item_texts), (member_weights, user_texts))
        if texts is not None
    ]
    # only texts that enter some cluster's document and say something are counted
    used_rows = [
        np.array(
            [i for i in np.flatnonzero(np.asarray(weights.sum(axis=0)).ravel()) if _says(texts[i])],
            dtype=np.int64,
        )
        for weights, texts in sources
    ]
    documents = [
        texts[int(i)] for (_, texts), rows in zip(sources, used_rows, strict=True) for i in rows
    ]
    counter = default_vectorizer(extra_stop_words) if vectorizer is None else clone(vectorizer)
    analyzer = counter.build_analyzer()
    if not any(analyzer(document) for document in documents):
        empty = sp.csr_matrix((n_clusters, 0), dtype=np.float64)
        return empty, empty.copy(), np.array([], dtype=str)
    try:
        term_counts = sp.csr_matrix(counter.fit_transform(documents), dtype=np.float64)
    except ValueError as exc:
        raise ParameterError(
            f"the vectorizer found no terms to keep in {len(documents)} texts ({exc})",
            expected="vectorizer settings (min_df, max_df, stop words) that keep some terms",
            fix="loosen min_df/max_df or pass vectorizer=None for the default",
        ) from exc
    cluster_counts = sp.csr_matrix((n_clusters, term_counts.shape[1]), dtype=np.float64)
    texts_with_term = cluster_counts.copy()
    offset = 0
    for (weights, _), rows in zip(sources, used_rows, strict=True):
        block = term_counts[offset : offset + len(rows)]
        source_weights = sp.csr_matrix(weights)[:, rows]
        cluster_counts = cluster_counts + source_weights @ block
        texts_with_term = texts_with_term + _present(source_weights) @ _present(block)
        offset += len(rows)
    terms = np.asarray(counter.get_feature_names_out())
    return sp.csr_matrix(cluster_counts), sp.csr_matrix(texts_with_term), terms


class ClusterKeywords(BaseEstimator):
    """The top ``n`` keywords of each cluster's document (see the module docstring).

    ``scorer`` (default ``KeywordScorer()``, log-odds) scores the terms; ``vectorizer``
    (default :func:`default_vectorizer` with ``extra_stop_words``) splits the texts and is
    cloned, never fitted in place. A keyword must occur in at least ``min_texts`` distinct
    texts of the cluster's document: above 1 this drops words that only one item says, such as
    names in one film's synopsis, however many members saw it.
    """

    def __init__(
        self,
        n: int = 10,
        *,
        scorer: KeywordScorer | None = None,
        min_texts: int = 1,
        vectorizer: CountVectorizer | None = None,
        extra_stop_words: Sequence[str] = (),
    ):
        self.n = n
        self.scorer = scorer
        self.min_texts = min_texts
        self.vectorizer = vectorizer
        self.extra_stop_words = extra_stop_words

    def check(self) -> None:
        """Raise a :class:`ParameterError` naming the first unusable setting."""
        for name, value, low in (
            ("top_keywords", self.n, 0),
            ("keyword_min_texts", self.min_texts, 1),
        ):
            if not isinstance(value, int | np.integer) or value < low:
                raise ParameterError(f"{name}={value!r}", expected=f"an integer >= {low}")
        (self.scorer or KeywordScorer()).check()

    def extract(
        self,
        item_weights: sp.csr_matrix,
        item_texts: Sequence[str] | None,
        member_weights: sp.csr_matrix,
        user_texts: Sequence[str] | None,
        *,
        extra_stop_words: Sequence[str] = (),
    ) -> list[list[Keyword]]:
        """Keywords of each cluster, arguments as for :func:`cluster_term_counts`;
        ``extra_stop_words`` add to the scorer's own. Clusters whose documents hold no words,
        or no word they over-represent, get an empty list."""
        self.check()
        counts, texts_with_term, terms = cluster_term_counts(
            item_weights,
            item_texts,
            member_weights,
            user_texts,
            vectorizer=self.vectorizer,
            extra_stop_words=[*self.extra_stop_words, *extra_stop_words],
        )
        if counts.shape[1] == 0:
            return [[] for _ in range(counts.shape[0])]
        scorer = KeywordScorer() if self.scorer is None else clone(self.scorer)
        scores = scorer.fit_transform(counts)
        if self.min_texts > 1:
            widespread = sp.csr_matrix(texts_with_term >= self.min_texts, dtype=np.float64)
            scores = sp.csr_matrix(scores.multiply(widespread))
            scores.eliminate_zeros()
            scores.sort_indices()
        return top_terms(scores, terms, self.n)


def _present(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """1 where ``matrix`` is non-zero."""
    present = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    present.data = (present.data != 0).astype(np.float64)
    return present


def _says(text: str | None) -> bool:
    return bool(text and not text.isspace())
