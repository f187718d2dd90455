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
from sklearn.base import clone
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

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


def class_tfidf(counts: sp.spmatrix | np.ndarray) -> sp.csr_matrix:
    """c-TF-IDF weights of a ``(n_classes, n_terms)`` term-count matrix.

    Rows with no words stay zero; terms that occur in no class get weight zero.
    """
    counts = sp.csr_matrix(counts, dtype=np.float64)
    if counts.shape[0] == 0:
        return counts
    words_per_class = np.asarray(counts.sum(axis=1)).ravel()
    term_frequency = np.asarray(counts.sum(axis=0)).ravel()
    mean_words = words_per_class.sum() / counts.shape[0]
    idf = np.zeros_like(term_frequency)
    present = term_frequency > 0
    idf[present] = np.log1p(mean_words / term_frequency[present])
    inverse_length = np.zeros_like(words_per_class)
    nonempty = words_per_class > 0
    inverse_length[nonempty] = 1.0 / words_per_class[nonempty]
    weights = sp.diags(inverse_length) @ counts @ sp.diags(idf)
    weights = sp.csr_matrix(weights)
    weights.eliminate_zeros()
    weights.sort_indices()
    return weights


def log_odds_z(counts: sp.spmatrix | np.ndarray, prior_size: float | None = None) -> sp.csr_matrix:
    """Fightin'-Words z-scores of each class against the other classes pooled (see the module).

    ``counts`` is ``(n_classes, n_terms)``; ``prior_size`` is ``a0``, the prior's pseudo-words
    (default: the mean words per class). Only terms a class uses and over-represents get a
    (positive) weight; everything else is zero. With one class every weight is zero.
    """
    counts = sp.csr_matrix(counts, dtype=np.float64)
    n_classes = counts.shape[0]
    total = float(counts.sum())
    if n_classes < 2 or total == 0:
        return sp.csr_matrix(counts.shape, dtype=np.float64)
    if prior_size is None:
        prior_size = total / n_classes
    words_per_class = np.asarray(counts.sum(axis=1)).ravel()
    term_frequency = np.asarray(counts.sum(axis=0)).ravel()
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
    if scoring not in KEYWORD_SCORINGS:
        raise ParameterError(
            f"keyword_scoring={scoring!r}", expected=" or ".join(map(repr, KEYWORD_SCORINGS))
        )
    if prior_size is not None and not prior_size > 0:
        raise ParameterError(f"keyword_prior_size={prior_size!r}", expected="a number > 0, or None")
    if scoring == "ctfidf" or sp.csr_matrix(counts).shape[0] < 2:
        return class_tfidf(counts)
    return log_odds_z(counts, prior_size)


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


def cluster_keywords(
    item_weights: sp.csr_matrix,
    item_texts: Sequence[str] | None,
    member_weights: sp.csr_matrix,
    user_texts: Sequence[str] | None,
    *,
    n: int = 10,
    vectorizer: CountVectorizer | None = None,
    extra_stop_words: Sequence[str] = (),
    scoring: KeywordScoring = "log_odds",
    prior_size: float | None = None,
    min_texts: int = 1,
) -> list[list[Keyword]]:
    """Top ``n`` keywords of each cluster by ``scoring`` (see the module docstring).

    Arguments as for :func:`cluster_term_counts`. A keyword of a cluster must occur in at
    least ``min_texts`` distinct texts of the cluster's document: above 1 this drops words
    that only one item says, such as names in one film's synopsis, however many members saw
    it. Clusters whose documents hold no words, or no word they over-represent, get an empty
    list.
    """
    counts, texts_with_term, terms = cluster_term_counts(
        item_weights,
        item_texts,
        member_weights,
        user_texts,
        vectorizer=vectorizer,
        extra_stop_words=extra_stop_words,
    )
    if counts.shape[1] == 0:
        return [[] for _ in range(counts.shape[0])]
    scores = keyword_scores(counts, scoring, prior_size)
    if min_texts > 1:
        widespread = sp.csr_matrix(texts_with_term >= min_texts, dtype=np.float64)
        scores = sp.csr_matrix(scores.multiply(widespread))
        scores.eliminate_zeros()
        scores.sort_indices()
    return top_terms(scores, terms, n)


def _present(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """1 where ``matrix`` is non-zero."""
    present = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    present.data = (present.data != 0).astype(np.float64)
    return present


def _says(text: str | None) -> bool:
    return bool(text and not text.isspace())
