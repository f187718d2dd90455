"""Cluster keywords by class-based TF-IDF (the c-TF-IDF of BERTopic).

Each cluster is one document: the texts of the items its members interacted with plus the
members' own texts. A term scores high when it is frequent in the cluster's document and rare
across all clusters' documents:

    score(t, c) = count(t, c) / words(c) * log(1 + mean words per cluster / count(t, all))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from interestlens.errors import ParameterError
from interestlens.explain.explanation import Keyword

#: words of two or more letters/digits that start with a letter, inner hyphens kept ("sci-fi"):
#: drops numbers and lone letters
TOKEN_PATTERN = r"(?u)\b[^\W\d_](?:-?[^\W_])+\b"


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


def cluster_keywords(
    item_weights: sp.csr_matrix,
    item_texts: Sequence[str] | None,
    member_weights: sp.csr_matrix,
    user_texts: Sequence[str] | None,
    *,
    n: int = 10,
    vectorizer: CountVectorizer | None = None,
    extra_stop_words: Sequence[str] = (),
) -> list[list[Keyword]]:
    """Top ``n`` c-TF-IDF keywords of each cluster.

    ``item_weights`` is ``(n_clusters, n_items)``: how many times each item's text enters the
    cluster's document; ``member_weights`` is ``(n_clusters, n_users)`` for users' own texts.
    Either text list may be None (that source is left out). Clusters whose documents hold no
    words get an empty list. A given ``vectorizer`` is cloned, never fitted in place.
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
        return [[] for _ in range(n_clusters)]
    try:
        term_counts = sp.csr_matrix(counter.fit_transform(documents), dtype=np.float64)
    except ValueError as exc:
        raise ParameterError(
            f"the vectorizer found no terms to keep in {len(documents)} texts ({exc})",
            expected="vectorizer settings (min_df, max_df, stop words) that keep some terms",
            fix="loosen min_df/max_df or pass vectorizer=None for the default",
        ) from exc
    cluster_counts = sp.csr_matrix((n_clusters, term_counts.shape[1]), dtype=np.float64)
    offset = 0
    for (weights, _), rows in zip(sources, used_rows, strict=True):
        block = term_counts[offset : offset + len(rows)]
        cluster_counts = cluster_counts + sp.csr_matrix(weights)[:, rows] @ block
        offset += len(rows)
    terms = np.asarray(counter.get_feature_names_out())
    return top_terms(class_tfidf(cluster_counts), terms, n)


def _says(text: str | None) -> bool:
    return bool(text and not text.isspace())
