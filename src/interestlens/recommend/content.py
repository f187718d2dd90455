"""Text-only recommendations: TF-IDF profiles of users against TF-IDF vectors of items."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from interestlens.errors import ParameterError
from interestlens.recommend.base import HISTORY, TEXT, BaseRecommender, row_normalised


class ContentKNN(BaseRecommender):
    """``score(u, i) = cos(profile_u, tfidf_i)``.

    The TF-IDF vocabulary is learned from the item texts. A user's profile is the
    weight-averaged TF-IDF vector of the items in their history (positive weights only); a user
    without history uses
    their own text (if any), otherwise their scores are all zero. Items without any
    interaction are scored like the others, which makes this model usable for cold items.
    """

    new_user_inputs: ClassVar[frozenset[str]] = frozenset({HISTORY, TEXT})
    handles_cold_items: ClassVar[bool] = True

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 1),
        min_df: int | float = 1,
        max_features: int | None = None,
        sublinear_tf: bool = True,
        stop_words: str | None = "english",
    ):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.stop_words = stop_words

    def _fit(self, interactions, item_texts, user_texts) -> None:
        if item_texts is None:
            raise ParameterError(
                "ContentKNN.fit received item_texts=None",
                expected="one text per item (title, description, genres ...)",
                fix="pass item_texts=[...] aligned with the item IdMap",
            )
        vectorizer = TfidfVectorizer(
            ngram_range=tuple(self.ngram_range),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
            stop_words=self.stop_words,
            dtype=np.float32,
        )
        try:
            item_vectors = vectorizer.fit_transform(item_texts)
        except ValueError as exc:  # sklearn's "empty vocabulary" when no text has a word
            raise ParameterError(
                f"no vocabulary could be learned from the {len(item_texts)} item texts ({exc})",
                expected="item texts containing words",
                fix="check the text column; lower min_df or drop stop_words",
            ) from exc
        self.vectorizer_ = vectorizer
        self.item_vectors_ = sp.csr_matrix(item_vectors, dtype=np.float32)
        self.user_profiles_ = self._profiles(interactions, user_texts)

    def _profiles(self, history: sp.csr_matrix | None, texts: list[str] | None) -> sp.csr_matrix:
        """Unit-length profile rows: history mean where there is history, else the text."""
        if history is not None:
            # a negative weight (a dislike) says nothing about what to show, so it is left out
            liked = sp.csr_matrix(history.multiply(history > 0), dtype=np.float32)
            liked.eliminate_zeros()
            profiles = row_normalised(liked) @ self.item_vectors_
            has_history = liked.getnnz(axis=1) > 0
        else:
            n_rows = len(texts) if texts is not None else 0
            profiles = sp.csr_matrix((n_rows, self.item_vectors_.shape[1]), dtype=np.float32)
            has_history = np.zeros(n_rows, dtype=bool)
        if texts is not None:
            text_rows = sp.csr_matrix(self.vectorizer_.transform(texts), dtype=np.float32)
            use_text = sp.diags((~has_history).astype(np.float32))
            profiles = profiles + use_text @ text_rows
        return sp.csr_matrix(normalize(profiles, norm="l2"), dtype=np.float32)

    def _cosine(self, profiles: sp.csr_matrix) -> np.ndarray:
        return (profiles @ self.item_vectors_.T).toarray()

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return self._cosine(self.user_profiles_[users])

    def _score_new(self, history, texts, n_new: int) -> np.ndarray:
        return self._cosine(self._profiles(history, texts))
