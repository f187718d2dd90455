"""The recommend stage's contract, in index space, and the shared base class of the models.

Ranking goes through one helper, :func:`interestlens.recommend.top_items.top_k`.

Users and items are contiguous indices (map external ids with :class:`interestlens.data.IdMap`);
interactions are a ``scipy.sparse.csr_matrix`` of shape ``(n_users, n_items)`` holding float32
weights (1.0 for "interacted", or a rating, or a count).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol, Self, runtime_checkable

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted as sklearn_check_is_fitted

from interestlens.errors import NotFittedError, ParameterError
from interestlens.recommend.top_items import check_candidates, check_index_array, check_k, top_k


def check_is_fitted(estimator: object, attributes: str | Sequence[str] = "n_items_") -> None:
    """scikit-learn's ``check_is_fitted`` (``attributes``: what ``fit`` sets), raising this
    project's :class:`NotFittedError` with what to do instead of scikit-learn's error."""
    try:
        sklearn_check_is_fitted(estimator, attributes)
    except SklearnNotFittedError:
        name = type(estimator).__name__
        raise NotFittedError(
            f"this {name} is not fitted yet",
            expected="fit(...) before scoring, recommending or saving",
            fix=f"call {name}(...).fit(interactions) first",
        ) from None


#: inputs a model can use to score a user it did not see at fit time
__all__ = [
    "HISTORY",
    "TEXT",
    "BaseRecommender",
    "Recommender",
    "as_interaction_matrix",
    "check_candidates",
    "check_is_fitted",
    "check_k",
    "checked_texts",
    "row_normalised",
    "top_k",
]

HISTORY = "history"
TEXT = "text"


@runtime_checkable
class Recommender(Protocol):
    """Scores every item for a user; ``recommend`` keeps the best ``k``.

    ``new_user_inputs`` names what :meth:`score_new` can use (``"history"``, ``"text"``); an
    empty set means it needs nothing (a popularity model scores anyone).
    ``handles_cold_items`` says whether items without interactions get meaningful scores.
    """

    new_user_inputs: ClassVar[frozenset[str]]
    handles_cold_items: ClassVar[bool]

    def fit(
        self,
        interactions: sp.csr_matrix,
        *,
        item_texts: Sequence[str] | None = None,
        user_texts: Sequence[str] | None = None,
    ) -> Self: ...

    def score(self, user_indices: np.ndarray) -> np.ndarray:
        """Dense float32 ``(len(user_indices), n_items)``; higher is better."""
        ...

    def score_new(
        self, history: sp.csr_matrix | None = None, texts: Sequence[str] | None = None
    ) -> np.ndarray:
        """Scores for users unknown at fit time, from history rows and/or their texts."""
        ...

    def recommend(
        self,
        user_indices: np.ndarray,
        k: int,
        *,
        exclude_seen: bool = True,
        candidates: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Item indices ``(len, k)`` and their scores; padded with -1 / -inf."""
        ...


# --- shared helpers --------------------------------------------------------------------------


def as_interaction_matrix(interactions: object) -> sp.csr_matrix:
    """Validate and convert to ``csr_matrix`` float32 with sorted indices."""
    if not sp.issparse(interactions):
        raise ParameterError(
            f"interactions is a {type(interactions).__name__}",
            expected="a scipy.sparse matrix of shape (n_users, n_items)",
            fix="build it with interestlens.recommend.interaction_matrix",
        )
    matrix = sp.csr_matrix(interactions, dtype=np.float32)
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ParameterError(
            f"interactions has shape {matrix.shape}",
            expected="at least one user and one item",
            fix="check that the training split is not empty",
        )
    if not np.isfinite(matrix.data).all():
        raise ParameterError(
            "interactions contain NaN or infinite weights",
            expected="finite weights",
            fix="fill or drop missing ratings before building the matrix",
        )
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


class BaseRecommender(BaseEstimator):
    """Validation, ``recommend`` and ``recommend_new`` on top of ``_fit``/``_score*``.

    Subclasses implement ``_fit(interactions, item_texts, user_texts)``,
    ``_score_users(users)`` and, where supported, ``_score_new(history, texts, n_new)``.
    """

    new_user_inputs: ClassVar[frozenset[str]] = frozenset()
    handles_cold_items: ClassVar[bool] = False

    # --- fitting ---------------------------------------------------------------------------

    def fit(
        self,
        interactions: sp.csr_matrix,
        *,
        item_texts: Sequence[str] | None = None,
        user_texts: Sequence[str] | None = None,
    ) -> Self:
        matrix = as_interaction_matrix(interactions)
        n_users, n_items = matrix.shape
        item_texts = checked_texts(item_texts, n_items, "item_texts", "n_items")
        user_texts = checked_texts(user_texts, n_users, "user_texts", "n_users")
        self.interactions_ = matrix
        self.n_users_ = n_users
        self.n_items_ = n_items
        self._fit(matrix, item_texts, user_texts)
        return self

    def _fit(
        self,
        interactions: sp.csr_matrix,
        item_texts: list[str] | None,
        user_texts: list[str] | None,
    ) -> None:
        raise NotImplementedError

    # --- scoring ---------------------------------------------------------------------------

    def score(self, user_indices: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        users = self._check_users(user_indices)
        scores = np.asarray(self._score_users(users), dtype=np.float32)
        return scores.reshape(len(users), self.n_items_)

    def score_new(
        self, history: sp.csr_matrix | None = None, texts: Sequence[str] | None = None
    ) -> np.ndarray:
        check_is_fitted(self)
        history, texts, n_new = self._check_new(history, texts)
        scores = np.asarray(self._score_new(history, texts, n_new), dtype=np.float32)
        return scores.reshape(n_new, self.n_items_)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _score_new(
        self, history: sp.csr_matrix | None, texts: list[str] | None, n_new: int
    ) -> np.ndarray:
        raise NotImplementedError

    # --- recommending ----------------------------------------------------------------------

    def recommend(
        self,
        user_indices: np.ndarray,
        k: int,
        *,
        exclude_seen: bool = True,
        candidates: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self)
        k = check_k(k)
        users = self._check_users(user_indices)
        candidates = check_candidates(candidates, self.n_items_)
        scores = self.score(users)
        exclude = self.interactions_[users] if exclude_seen else None
        return self._rank(scores, k, exclude, candidates)

    def recommend_new(
        self,
        history: sp.csr_matrix | None = None,
        texts: Sequence[str] | None = None,
        *,
        k: int,
        exclude_seen: bool = True,
        candidates: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`recommend` for users unknown at fit time.

        ``exclude_seen`` removes the items in ``history``.
        """
        check_is_fitted(self)
        k = check_k(k)
        candidates = check_candidates(candidates, self.n_items_)
        scores = self.score_new(history, texts)
        exclude = sp.csr_matrix(history) if exclude_seen and history is not None else None
        return self._rank(scores, k, exclude, candidates)

    def _rank(
        self,
        scores: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        # the one step a subclass may change (e.g. a re-ranking for diversity)
        return top_k(scores, k, exclude=exclude, candidates=candidates)

    # --- validation ------------------------------------------------------------------------

    def _check_users(self, user_indices: object) -> np.ndarray:
        users = check_index_array(
            user_indices, name="user_indices", kind="user", example="np.array([u])"
        )
        too_big = users[users >= self.n_users_]
        if too_big.size:
            raise ParameterError(
                f"user index {int(too_big[0])} should be < n_users={self.n_users_}",
                expected="indices of users seen at fit time",
                fix="score users unknown at fit time with score_new(history, texts)",
            )
        negative = users[users < 0]
        if negative.size:
            raise ParameterError(
                f"user index {int(negative[0])} should be >= 0",
                expected="indices of users seen at fit time",
                fix="drop unknown users (IdMap.indices(..., missing='skip') gives -1)",
            )
        return users.astype(np.int64)

    def _check_new(
        self, history: object, texts: Sequence[str] | None
    ) -> tuple[sp.csr_matrix | None, list[str] | None, int]:
        name = type(self).__name__
        if history is None and texts is None:
            raise ParameterError(
                f"{name}.score_new received neither history nor texts",
                expected="a history matrix (n_new, n_items) and/or one text per new user",
                fix="pass history=... or texts=...",
            )
        n_new: int | None = None
        matrix = None
        if history is not None:
            if not sp.issparse(history):
                raise ParameterError(
                    f"history is a {type(history).__name__}",
                    expected=f"a scipy.sparse matrix with n_items={self.n_items_} columns",
                    fix="build it with interaction_matrix using the model's item IdMap",
                )
            matrix = sp.csr_matrix(history, dtype=np.float32)
            if matrix.shape[1] != self.n_items_:
                raise ParameterError(
                    f"history has {matrix.shape[1]} columns; it should equal "
                    f"n_items={self.n_items_}",
                    expected="one column per item the model was fitted on",
                    fix="build history with the same item IdMap as the training matrix",
                )
            matrix.sum_duplicates()
            matrix.sort_indices()
            n_new = matrix.shape[0]
        text_list = None
        if texts is not None:
            text_list = checked_texts(texts, n_new, "texts", "the number of history rows")
            n_new = len(text_list)
        needs = self.new_user_inputs
        given = {HISTORY} if matrix is not None else set()
        if text_list is not None:
            given.add(TEXT)
        if needs and not (needs & given):
            raise ParameterError(
                f"{name} scores new users from {' or '.join(sorted(needs))}; "
                f"received only {' and '.join(sorted(given))}",
                expected=f"{' or '.join(sorted(needs))} for each new user",
                fix=f"pass {' or '.join(sorted(needs))}, or use a model that reads "
                f"{' and '.join(sorted(given))}",
            )
        assert n_new is not None
        return matrix, text_list, n_new


def checked_texts(
    texts: Sequence[str] | None, expected_len: int | None, name: str, what: str
) -> list[str] | None:
    if texts is None:
        return None
    if isinstance(texts, str):
        raise ParameterError(
            f"{name} is a single string",
            expected="a list with one string per row",
            fix=f"wrap it: {name}=[text]",
        )
    text_list = list(texts)
    if expected_len is not None and len(text_list) != expected_len:
        raise ParameterError(
            f"{name} has {len(text_list)} entries; it should equal {what}={expected_len}",
            expected=f"one text per row, in index order ({what})",
            fix="align the texts with the IdMap used for the interaction matrix",
        )
    bad = [i for i, text in enumerate(text_list) if not isinstance(text, str)]
    if bad:
        raise ParameterError(
            f"{name}[{bad[0]}] is a {type(text_list[bad[0]]).__name__}, not a string",
            expected="strings (use '' for an item or user without text)",
            fix="fill missing texts with '' before fitting",
        )
    return text_list


def row_normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows divided by their sum (empty rows stay empty): a weighted mean as a matrix product."""
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums, dtype=np.float64), where=sums != 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ matrix)
