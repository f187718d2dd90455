"""The represent stage: one interest vector per user, from what they did and what they wrote.

* history vector: the mean of the user's item vectors, each weighted by rating (``rating /
  max_rating``, so a 5-star counts five times a 1-star) and by recency (an interaction loses half
  its weight every ``half_life_days`` before the user's latest one);
* text vector: the user's own text (bio, tags, reviews) through the same encoder;
* blend: ``(1 - text_weight) * history + text_weight * text``, L2-normalised.

Users with text only get the text vector — through a :class:`TextInterestBridge` when one is
given (``bridge``), which maps their text to where a history like theirs would put them; users
with history only get the history vector; users with neither get a zero vector and are listed
in ``users_without_signal_`` — never dropped.

With the vectors of each text's first clause (``user_lead_vectors``, see :func:`lead_vectors`),
:meth:`WeightedMeanInterests.fit` also tries the text vector with that clause weighed once more
(:func:`emphasise_lead`) and keeps it only where the bridge's leave-one-out error is lower with
it; ``lead_weight_`` says which (0 or :data:`LEAD_WEIGHT`), and ``text_vectors_`` holds the
text vectors it used.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from interestlens.embed.base import Encoder, l2_normalise
from interestlens.embed.batch import embed_texts
from interestlens.errors import NotFittedError, ParameterError
from interestlens.text import lead_clause

SECONDS_PER_DAY = 86_400.0

SOURCE_BLEND = "blend"
SOURCE_HISTORY = "history"
SOURCE_TEXT = "text"
SOURCE_NONE = "none"

#: the weight of a text's first clause when it is weighed once more (the whole text weighs 1)
LEAD_WEIGHT = 1.0


@runtime_checkable
class InterestRepresenter(Protocol):
    """Turns interactions + item vectors (+ user text vectors) into user vectors.

    After ``fit``: ``vectors_`` (float32 ``(n_users, d)``, zero rows for users without any
    signal), ``source_`` (per user :data:`SOURCE_BLEND`, :data:`SOURCE_HISTORY`,
    :data:`SOURCE_TEXT` or :data:`SOURCE_NONE`), ``has_history_`` and
    ``users_without_signal_``. ``transform_one`` places one new user; ``summary`` counts the
    users per source. ``user_lead_vectors`` (the first clause of each user's text) may be
    ignored; a representer that uses them says so in ``lead_weight_`` and ``text_vectors_``.
    :class:`WeightedMeanInterests` is the stage; :class:`StaticInterests` is its test double.
    """

    def fit(
        self,
        user_idx: np.ndarray,
        item_idx: np.ndarray,
        item_vectors: np.ndarray,
        *,
        n_users: int,
        ratings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        user_text_vectors: np.ndarray | None = None,
        user_has_text: np.ndarray | None = None,
        user_lead_vectors: np.ndarray | None = None,
    ) -> InterestRepresenter: ...

    @property
    def vectors_(self) -> np.ndarray: ...

    @property
    def source_(self) -> np.ndarray: ...

    @property
    def has_history_(self) -> np.ndarray: ...

    @property
    def users_without_signal_(self) -> np.ndarray: ...

    def transform_one(
        self,
        item_idx: np.ndarray,
        item_vectors: np.ndarray,
        *,
        ratings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        text_vector: np.ndarray | None = None,
    ) -> np.ndarray: ...

    def summary(self) -> dict[str, int]: ...


class WeightedMeanInterests:
    """Rating- and recency-weighted mean of item vectors, blended with the user's text vector."""

    def __init__(
        self,
        half_life_days: float | None = 365.0,
        use_ratings: bool = True,
        text_weight: float = 0.3,
        bridge: TextInterestBridge | None = None,
    ):
        self.half_life_days = half_life_days
        self.use_ratings = use_ratings
        self.text_weight = text_weight
        self.bridge = bridge

    def _check_params(self) -> None:
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise ParameterError(
                f"half_life_days={self.half_life_days} should be > 0",
                expected="a positive number of days, or None to turn recency weighting off",
                fix="set interests.half_life_days to e.g. 365",
            )
        if not 0.0 <= self.text_weight <= 1.0:
            raise ParameterError(
                f"text_weight={self.text_weight} should be within [0, 1]",
                expected="the share of the user's own text in the blend",
                fix="set interests.text_weight between 0 and 1",
            )

    def interaction_weights(
        self,
        user_idx: np.ndarray,
        ratings: np.ndarray | None,
        timestamps: np.ndarray | None,
        *,
        n_users: int,
        max_rating: float | None = None,
    ) -> np.ndarray:
        """Weight of each interaction: rating share times recency decay (1.0 when unused)."""
        weights = np.ones(len(user_idx), dtype=np.float64)
        if self.use_ratings and ratings is not None:
            rating_values = np.asarray(ratings, dtype=np.float64)
            known = ~np.isnan(rating_values)
            top = max_rating if max_rating is not None else np.nanmax(rating_values, initial=0.0)
            if top > 0:
                weights[known] *= np.clip(rating_values[known] / top, 0.05, None)
        if self.half_life_days is not None and timestamps is not None:
            times = np.asarray(timestamps, dtype=np.float64)
            known = ~np.isnan(times)
            latest = np.full(n_users, -np.inf)
            np.maximum.at(latest, user_idx[known], times[known])
            age_days = (latest[user_idx[known]] - times[known]) / SECONDS_PER_DAY
            weights[known] *= 0.5 ** (age_days / self.half_life_days)
        return weights

    def fit(
        self,
        user_idx: np.ndarray,
        item_idx: np.ndarray,
        item_vectors: np.ndarray,
        *,
        n_users: int,
        ratings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        user_text_vectors: np.ndarray | None = None,
        user_has_text: np.ndarray | None = None,
        user_lead_vectors: np.ndarray | None = None,
    ) -> WeightedMeanInterests:
        self._check_params()
        user_idx = np.asarray(user_idx, dtype=np.int64)
        item_idx = np.asarray(item_idx, dtype=np.int64)
        if len(user_idx) != len(item_idx):
            raise ParameterError(
                f"user_idx has {len(user_idx)} entries but item_idx has {len(item_idx)}",
                expected="one user index and one item index per interaction",
                fix="pass aligned arrays",
            )
        if len(user_idx) and user_idx.max() >= n_users:
            raise ParameterError(
                f"user index {int(user_idx.max())} should be < n_users={n_users}",
                expected="user indices from the same IdMap as n_users",
                fix="build both from one IdMap",
            )
        dimension = item_vectors.shape[1]
        self.max_rating_ = (
            float(np.nanmax(ratings)) if ratings is not None and len(ratings) else None
        )
        weights = self.interaction_weights(
            user_idx, ratings, timestamps, n_users=n_users, max_rating=self.max_rating_
        )
        weight_matrix = sp.csr_matrix(
            (weights, (user_idx, item_idx)), shape=(n_users, item_vectors.shape[0])
        )
        history = l2_normalise(weight_matrix @ item_vectors.astype(np.float64))
        has_history = np.bincount(user_idx, minlength=n_users) > 0

        if user_text_vectors is None:
            text = np.zeros((n_users, dimension), dtype=np.float32)
            has_text = np.zeros(n_users, dtype=bool)
        else:
            text = l2_normalise(user_text_vectors)
            has_text = (
                np.asarray(user_has_text, dtype=bool)
                if user_has_text is not None
                else np.linalg.norm(text, axis=1) > 0
            )

        both = has_history & has_text
        leads = None if user_lead_vectors is None else np.asarray(user_lead_vectors, np.float32)
        if leads is not None and leads.shape != (n_users, dimension):
            raise ParameterError(
                f"user_lead_vectors of shape {leads.shape} for n_users={n_users} and item "
                f"vectors of width {dimension}",
                expected=f"({n_users}, {dimension}): one first-clause vector per user",
                fix="build them with represent.lead_vectors from the users' texts",
            )
        self.learn_bridge(text[both], history[both], None if leads is None else leads[both])
        self.vectors_, source, self.text_vectors_ = self.place(
            history, has_history, text, has_text, leads
        )
        self.source_ = source
        fitted_bridge = self.bridge_ is not None and self.bridge_.fitted_
        self.bridged_ = ~has_history & has_text & fitted_bridge
        self.has_history_ = has_history
        self.has_text_ = has_text
        self.users_without_signal_ = np.flatnonzero(~has_history & ~has_text)
        return self

    def learn_bridge(
        self,
        text_vectors: np.ndarray,
        history_vectors: np.ndarray,
        lead_vectors: np.ndarray | None = None,
    ) -> WeightedMeanInterests:
        """Fit the text bridge (when ``bridge`` is set) on users who have both a text and a
        history, one row of each per user, and with ``lead_vectors`` (their texts' first
        clauses) choose whether a text weighs its first clause once more: only where that
        lowers the bridge's leave-one-out error. Sets ``bridge_``, ``lead_weight_`` and
        ``lead_trial_``; :meth:`fit` calls it on every such user, the Spark path on a sample."""
        self.bridge_: TextInterestBridge | None = None
        self.lead_weight_ = 0.0
        # the bridge's leave-one-out error without and with the first clause, when tried
        self.lead_trial_: dict[str, float] | None = None
        if self.bridge is None:
            return self
        text = l2_normalise(np.asarray(text_vectors, dtype=np.float32))
        history = np.asarray(history_vectors, dtype=np.float64)
        self.bridge_ = copy.deepcopy(self.bridge).fit(text, history)
        if lead_vectors is not None and self.bridge_.fitted_:
            emphasised = emphasise_lead(text, lead_vectors)
            with_lead = copy.deepcopy(self.bridge).fit(emphasised, history)
            self.lead_trial_ = {
                "loo_mse_without": self.bridge_.loo_mse_,
                "loo_mse_with": with_lead.loo_mse_,
            }
            if with_lead.loo_mse_ < self.bridge_.loo_mse_:
                self.bridge_, self.lead_weight_ = with_lead, LEAD_WEIGHT
        return self

    def place(
        self,
        history: np.ndarray,
        has_history: np.ndarray,
        text: np.ndarray,
        has_text: np.ndarray,
        lead: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Interest vectors, sources and the text vectors used, for users given by their
        history vectors and text vectors (zero rows where they have none), with what
        :meth:`learn_bridge` learned: texts weigh their first clause (``lead``) where it chose
        that, users known only by text go through the bridge, users with both get the blend."""
        if not hasattr(self, "lead_weight_"):
            raise NotFittedError(
                "WeightedMeanInterests has not learned its text bridge",
                expected="learn_bridge() or fit() to be called first",
                fix="call fit(), or learn_bridge() on users with both text and a history",
            )
        has_history = np.asarray(has_history, dtype=bool)
        has_text = np.asarray(has_text, dtype=bool)
        if self.lead_weight_ > 0:
            if lead is None:
                raise ParameterError(
                    "no first-clause vectors for a representer that weighs them",
                    expected=f"lead vectors: lead_weight_ is {self.lead_weight_}",
                    fix="pass lead= (represent.lead_vectors of the same texts)",
                )
            text = emphasise_lead(text, lead)
        else:
            text = l2_normalise(text)
        # both are fresh arrays, changed in place: users x dimensions floats are the memory
        # of a million-user fit
        text[~has_text] = 0.0
        both = has_history & has_text
        text_only = ~has_history & has_text
        vectors = np.array(history, dtype=np.float32)
        vectors[~has_history] = 0.0
        vectors[text_only] = (
            self.bridge_.transform(text[text_only]) if self.bridge_ is not None else text[text_only]
        )
        if self.text_weight > 0:
            vectors[both] = l2_normalise(
                (1 - self.text_weight) * history[both] + self.text_weight * text[both]
            )
        source = np.full(len(has_history), SOURCE_NONE, dtype=object)
        source[has_history] = SOURCE_HISTORY
        source[text_only] = SOURCE_TEXT
        if self.text_weight > 0:
            source[both] = SOURCE_BLEND
        return vectors, source.astype(str), text

    def transform_one(
        self,
        item_idx: np.ndarray,
        item_vectors: np.ndarray,
        *,
        ratings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        text_vector: np.ndarray | None = None,
    ) -> np.ndarray:
        """Interest vector of one user not seen at fit time (cold start)."""
        if not hasattr(self, "vectors_"):
            raise NotFittedError(
                "WeightedMeanInterests is not fitted",
                expected="fit() to be called first",
                fix="call fit() or load a fitted model",
            )
        item_idx = np.asarray(item_idx, dtype=np.int64)
        user_idx = np.zeros(len(item_idx), dtype=np.int64)
        history = None
        if len(item_idx):
            weights = self.interaction_weights(
                user_idx, ratings, timestamps, n_users=1, max_rating=self.max_rating_
            )
            history = l2_normalise((weights @ item_vectors[item_idx])[None, :])[0]
        if text_vector is not None and np.linalg.norm(text_vector) > 0:
            text = l2_normalise(np.asarray(text_vector)[None, :])[0]
            if history is None:
                bridge = getattr(self, "bridge_", None)
                return text if bridge is None else bridge.transform(text[None, :])[0]
            blended = (1 - self.text_weight) * history + self.text_weight * text
            return l2_normalise(blended[None, :])[0]
        if history is None:
            return np.zeros(item_vectors.shape[1], dtype=np.float32)
        return history

    def summary(self) -> dict[str, int]:
        return source_counts(self.source_)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Settings and scalars (JSON) and arrays that :meth:`from_state` restores: the user
        vectors, their sources and the text bridge's arrays (``bridge_coef``,
        ``bridge_intercept``) when there is one."""
        if not hasattr(self, "vectors_"):
            raise NotFittedError(
                "WeightedMeanInterests is not fitted",
                expected="fit() to be called first",
                fix="call fit() or load a fitted model",
            )
        meta: dict[str, Any] = {
            "half_life_days": self.half_life_days,
            "use_ratings": self.use_ratings,
            "text_weight": self.text_weight,
            "max_rating": self.max_rating_,
            "lead_weight": float(getattr(self, "lead_weight_", 0.0)),
            "bridge": None,
        }
        arrays = {"vectors": self.vectors_, "source": np.asarray(self.source_, dtype=str)}
        bridge = getattr(self, "bridge_", None)
        if bridge is not None:
            meta["bridge"], bridge_arrays = bridge.state()
            arrays.update({f"bridge_{name}": array for name, array in bridge_arrays.items()})
        return meta, arrays

    @classmethod
    def from_state(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> WeightedMeanInterests:
        """The fitted representer :meth:`state` describes; which users have a history or
        text follows from their sources."""
        representer = cls(
            half_life_days=meta["half_life_days"],
            use_ratings=bool(meta["use_ratings"]),
            text_weight=float(meta["text_weight"]),
        )
        source = np.asarray(arrays["source"], dtype=str)
        vectors = np.asarray(arrays["vectors"], dtype=np.float32)
        if vectors.ndim != 2 or len(source) != len(vectors):
            raise ParameterError(
                f"{len(source)} sources for user vectors of shape {vectors.shape}",
                expected="one source per row of a 2-D array of user vectors",
                fix="fit the model again",
            )
        representer.vectors_ = vectors
        representer.source_ = source
        representer.max_rating_ = meta.get("max_rating")
        # models saved before the first clause could be weighed did not weigh it
        representer.lead_weight_ = float(meta.get("lead_weight", 0.0))
        representer.has_history_ = np.isin(source, [SOURCE_HISTORY, SOURCE_BLEND])
        representer.has_text_ = np.isin(source, [SOURCE_TEXT, SOURCE_BLEND])
        representer.users_without_signal_ = np.flatnonzero(source == SOURCE_NONE)
        representer.bridge_ = None
        if meta.get("bridge") is not None:
            representer.bridge_ = TextInterestBridge.from_state(
                meta["bridge"],
                {name: arrays[f"bridge_{name}"] for name in TextInterestBridge.ARRAYS},
            )
        fitted_bridge = representer.bridge_ is not None and representer.bridge_.fitted_
        representer.bridged_ = (source == SOURCE_TEXT) & fitted_bridge
        return representer


def source_counts(source: np.ndarray) -> dict[str, int]:
    """Users per source, every source named (zero counts included)."""
    return {
        name: int(np.sum(source == name))
        for name in (SOURCE_BLEND, SOURCE_HISTORY, SOURCE_TEXT, SOURCE_NONE)
    }


class StaticInterests:
    """Test double of the represent stage: the interest vectors are given in advance.

    ``vectors`` (``(n_users, d)``) become ``vectors_`` unchanged; a zero row is a user without
    any signal, every other user counts as ``history``. ``transform_one`` returns the plain
    mean of the given items' vectors (else the text vector, else zeros). Each ``fit`` call's
    ``n_users`` is recorded in :attr:`calls`.
    """

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors
        self.calls: list[int] = []

    def fit(
        self,
        user_idx: np.ndarray,
        item_idx: np.ndarray,
        item_vectors: np.ndarray,
        *,
        n_users: int,
        ratings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        user_text_vectors: np.ndarray | None = None,
        user_has_text: np.ndarray | None = None,
        user_lead_vectors: np.ndarray | None = None,
    ) -> StaticInterests:
        vectors = np.asarray(self.vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != n_users:
            raise ParameterError(
                f"StaticInterests holds vectors of shape {vectors.shape} for n_users={n_users}",
                expected=f"({n_users}, d): one given vector per user",
                fix="give StaticInterests one row per user of the dataset",
            )
        self.calls.append(n_users)
        placed = np.linalg.norm(vectors, axis=1) > 0
        self.vectors_ = vectors
        self.source_ = np.where(placed, SOURCE_HISTORY, SOURCE_NONE).astype(str)
        self.has_history_ = placed
        self.users_without_signal_ = np.flatnonzero(~placed)
        self.max_rating_ = None
        return self

    def transform_one(
        self,
        item_idx: np.ndarray,
        item_vectors: np.ndarray,
        *,
        ratings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        text_vector: np.ndarray | None = None,
    ) -> np.ndarray:
        item_idx = np.asarray(item_idx, dtype=np.int64)
        if len(item_idx):
            return l2_normalise(item_vectors[item_idx].mean(axis=0)[None, :])[0]
        if text_vector is not None:
            return l2_normalise(np.asarray(text_vector, dtype=np.float32)[None, :])[0]
        return np.zeros(item_vectors.shape[1], dtype=np.float32)

    def summary(self) -> dict[str, int]:
        return source_counts(self.source_)


#: fewer users with both their own text and a history than this cannot teach the bridge
BRIDGE_MIN_USERS = 20
#: ridge penalties the bridge chooses among by efficient leave-one-out cross-validation
BRIDGE_ALPHAS: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)


class TextInterestBridge:
    """A learned map from what users write to where their behaviour puts them.

    A bio and the mean of the items someone chose sit in different regions of the embedding
    space, even when they are about the same interest: clustering both kinds of vector
    together separates users by where the vector came from, not by interest. The bridge is a
    ridge regression from the user's text vector to their *history* interest vector, fitted on
    the users who have both (penalty chosen by leave-one-out cross-validation, sklearn's
    ``RidgeCV``, whose error at that penalty is ``loo_mse_``); a user known only by text is
    placed at the (unit) prediction.

    ``fit`` needs at least ``min_users`` users with both; with fewer, :meth:`fit` leaves the
    bridge unfitted (``fitted_ = False``) and :meth:`transform` returns the text vectors
    unchanged, which :attr:`fitted_` and the fit report make visible.
    """

    #: the arrays of :meth:`state`
    ARRAYS = ("coef", "intercept")

    def __init__(
        self, alphas: tuple[float, ...] = BRIDGE_ALPHAS, min_users: int = BRIDGE_MIN_USERS
    ):
        self.alphas = alphas
        self.min_users = min_users

    def fit(self, text_vectors: np.ndarray, interest_vectors: np.ndarray) -> TextInterestBridge:
        """``text_vectors`` and ``interest_vectors``: one row each per user having both."""
        from sklearn.linear_model import RidgeCV

        text_vectors = np.asarray(text_vectors, dtype=np.float64)
        interest_vectors = np.asarray(interest_vectors, dtype=np.float64)
        if text_vectors.shape[0] != interest_vectors.shape[0]:
            raise ParameterError(
                f"text_vectors has {text_vectors.shape[0]} rows but interest_vectors has "
                f"{interest_vectors.shape[0]}",
                expected="one row of each per user having both text and a history",
                fix="pass aligned rows",
            )
        self.n_users_ = int(text_vectors.shape[0])
        self.fitted_ = self.n_users_ >= self.min_users
        self.input_dimension_ = int(text_vectors.shape[1])
        self.output_dimension_ = int(interest_vectors.shape[1])
        if not self.fitted_:
            self.coef_ = np.zeros((self.output_dimension_, self.input_dimension_), np.float32)
            self.intercept_ = np.zeros(self.output_dimension_, np.float32)
            self.alpha_ = float("nan")
            self.fit_cosine_ = float("nan")
            self.loo_mse_ = float("nan")
            return self
        ridge = RidgeCV(alphas=self.alphas).fit(l2_normalise(text_vectors), interest_vectors)
        self.coef_ = np.asarray(ridge.coef_, dtype=np.float32)
        self.intercept_ = np.asarray(ridge.intercept_, dtype=np.float32)
        self.alpha_ = float(ridge.alpha_)
        # RidgeCV's score is the negated leave-one-out mean squared error at the chosen alpha
        self.loo_mse_ = -float(ridge.best_score_)
        predicted = self.transform(text_vectors)
        self.fit_cosine_ = float(np.mean(np.sum(predicted * l2_normalise(interest_vectors), 1)))
        return self

    def transform(self, text_vectors: np.ndarray) -> np.ndarray:
        """Unit interest vectors of users known by these text vectors (zero rows stay zero)."""
        if not hasattr(self, "fitted_"):
            raise NotFittedError(
                "TextInterestBridge is not fitted",
                expected="fit() to be called first",
                fix="call fit() or load a fitted model",
            )
        text_vectors = np.asarray(text_vectors, dtype=np.float32)
        if text_vectors.ndim != 2 or text_vectors.shape[1] != self.input_dimension_:
            raise ParameterError(
                f"text vectors of shape {text_vectors.shape}",
                expected=f"(n, {self.input_dimension_}) vectors from the model's encoder",
                fix="encode the texts with the encoder the model was fitted with",
            )
        if not self.fitted_:
            return l2_normalise(text_vectors)
        empty = np.linalg.norm(text_vectors, axis=1) == 0
        mapped = l2_normalise(l2_normalise(text_vectors) @ self.coef_.T + self.intercept_)
        mapped[empty] = 0.0
        return mapped.astype(np.float32)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Scalars (JSON) and arrays (``.npy``) that :meth:`from_state` restores."""
        scalars = {
            "fitted": bool(self.fitted_),
            "n_users": self.n_users_,
            "alpha": self.alpha_,
            "fit_cosine": self.fit_cosine_,
            "loo_mse": self.loo_mse_,
            "alphas": list(self.alphas),
            "min_users": self.min_users,
        }
        return scalars, {"coef": self.coef_, "intercept": self.intercept_}

    @classmethod
    def from_state(
        cls, scalars: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> TextInterestBridge:
        bridge = cls(alphas=tuple(scalars["alphas"]), min_users=int(scalars["min_users"]))  # type: ignore[arg-type]
        coef = np.asarray(arrays["coef"], dtype=np.float32)
        intercept = np.asarray(arrays["intercept"], dtype=np.float32)
        if coef.ndim != 2 or intercept.shape != (coef.shape[0],):
            raise ParameterError(
                f"bridge arrays of shapes {coef.shape} and {intercept.shape}",
                expected="coef (d_out, d_in) and intercept (d_out,)",
                fix="fit the model again",
            )
        bridge.coef_, bridge.intercept_ = coef, intercept
        bridge.fitted_ = bool(scalars["fitted"])
        bridge.n_users_ = int(scalars["n_users"])  # type: ignore[arg-type]
        bridge.alpha_ = float(scalars["alpha"])  # type: ignore[arg-type]
        bridge.fit_cosine_ = float(scalars["fit_cosine"])  # type: ignore[arg-type]
        bridge.loo_mse_ = float(scalars.get("loo_mse", float("nan")))  # type: ignore[arg-type]
        bridge.output_dimension_, bridge.input_dimension_ = (int(n) for n in coef.shape)
        return bridge


def emphasise_lead(text_vectors: np.ndarray, lead_vectors: np.ndarray) -> np.ndarray:
    """Unit text vectors with their first clause weighed :data:`LEAD_WEIGHT` more: the unit sum
    of the text's and the clause's unit vectors. A zero clause row leaves the text as it is."""
    text_vectors = l2_normalise(np.asarray(text_vectors, dtype=np.float32))
    lead_vectors = np.asarray(lead_vectors, dtype=np.float32)
    if lead_vectors.shape != text_vectors.shape:
        raise ParameterError(
            f"lead vectors of shape {lead_vectors.shape} for text vectors of shape "
            f"{text_vectors.shape}",
            expected="one first-clause vector per text vector (lead_vectors)",
            fix="build them with represent.lead_vectors from the same texts",
        )
    summed = text_vectors + LEAD_WEIGHT * l2_normalise(lead_vectors)
    return l2_normalise(summed)


def lead_vectors(
    encoder: Encoder,
    texts: Sequence[str],
    text_vectors: np.ndarray,
    *,
    batch_size: int = 64,
    show_progress: bool = False,
) -> np.ndarray:
    """Unit vectors of each text's first clause (:func:`~interestlens.text.lead_clause`).

    A text that is one clause keeps its own vector (from ``text_vectors``, so it is not
    encoded again); a text without a word gets a zero row."""
    out = l2_normalise(np.asarray(text_vectors, dtype=np.float32)).copy()
    leads = [lead_clause(text) for text in texts]
    todo = [
        i
        for i, (text, lead) in enumerate(zip(texts, leads, strict=True))
        if lead and lead != text.strip()
    ]
    if todo:
        encoded, _ = embed_texts(
            encoder, [leads[i] for i in todo], batch_size=batch_size, show_progress=show_progress
        )
        out[todo] = l2_normalise(encoded)
    return out


def user_text_vectors(
    encoder: Encoder, texts: Sequence[str], *, lead_weight: float, batch_size: int = 64
) -> np.ndarray:
    """The vectors a fitted representer places users' own texts with: each text's vector,
    with its first clause weighed in when the fit chose that (``lead_weight_`` > 0). The texts
    and their first clauses go to the encoder together: one pass for a single request."""
    texts = list(texts)
    if lead_weight <= 0 or not any(text.strip() for text in texts):
        vectors, _ = embed_texts(encoder, texts, batch_size=batch_size, show_progress=False)
        return vectors
    # a clause that is its whole text is encoded once; a text without a word has no clause
    leads = [lead_clause(text) for text in texts]
    vectors, _ = embed_texts(encoder, texts + leads, batch_size=batch_size, show_progress=False)
    return emphasise_lead(vectors[: len(texts)], vectors[len(texts) :])


def bridge_report(representer: Any) -> dict[str, Any]:
    """What the text bridge of a fitted representer learned, for the fit summary and report:
    ``{}`` without a bridge; else the users it learned from and whether the first clause of
    each text is weighed in (``lead_clause``: ``"weighed"``, ``"not weighed"`` when that did
    not lower the bridge's leave-one-out error, ``"not tried"``), with both errors."""
    bridge = getattr(representer, "bridge_", None)
    if bridge is None:
        return {}
    trial = getattr(representer, "lead_trial_", None)
    report: dict[str, Any] = {
        "fitted": bool(bridge.fitted_),
        "users": int(bridge.n_users_),
        "lead_clause": "not tried",
    }
    if trial is not None:
        weighed = float(getattr(representer, "lead_weight_", 0.0)) > 0
        report["lead_clause"] = "weighed" if weighed else "not weighed"
        report.update({key: float(value) for key, value in trial.items()})
    return report


def describe_bridge(report: Mapping[str, Any]) -> str:
    """One line for a :func:`bridge_report`."""
    if not report:
        return "off"
    if not report["fitted"]:
        return (
            f"not fitted: {report['users']} users with text and a history "
            f"({BRIDGE_MIN_USERS} needed); text-only users keep their text vectors"
        )
    line = f"learned from {report['users']} users with text and a history"
    if report["lead_clause"] == "not tried":
        return line
    verdict = "weighed in" if report["lead_clause"] == "weighed" else "not weighed in"
    return (
        f"{line}; first clause {verdict} (leave-one-out error {report['loo_mse_with']:.3g} "
        f"with it, {report['loo_mse_without']:.3g} without)"
    )
