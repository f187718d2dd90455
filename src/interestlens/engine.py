"""Recommendations by external id: the layer the CLI's ``recommend`` and the HTTP service share.

:class:`RecommendationEngine` wraps a fitted :class:`~interestlens.pipeline.InterestLens` (its
interest clusters, explanations and :class:`~interestlens.recommend.InterestRecommender`) and
answers in ids, with a cluster and a reason per recommended item:

* known users: the recommender's warm scores (users known only from their text are scored from
  it, as new users would be); each user's best ``recommend.cache_k`` items are kept after the
  first request (or :meth:`~RecommendationEngine.precompute`), so later requests only slice;
* new people: text and/or a few item ids, scored as cold users;
* online changes, in memory: events (a known user's history grows, an unknown user id becomes a
  user), new items (embedded and recommendable at once), forgetting a user. The HTTP service
  makes them durable and replays them when it starts or reloads.

The ``cluster`` of a recommendation is the user's interest cluster from ``interestlens
clusters`` (the labelled, explained one); the reason names it when the item is over-represented
there, and the rated item that does most for the recommended one.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from interestlens.config import Settings
from interestlens.data.ids import IdMap
from interestlens.embed import make_encoder
from interestlens.embed.base import Encoder, l2_normalise
from interestlens.errors import (
    DuplicateIdError,
    InvalidValueError,
    ModelFormatError,
    ParameterError,
    UnknownIdError,
)
from interestlens.recommend.interest.reasons import item_names
from interestlens.recommend.matrix import history_matrices
from interestlens.recommend.ranking import check_k, top_k

if TYPE_CHECKING:
    from interestlens.pipeline import InterestLens
    from interestlens.recommend.interest import InterestRecommender

#: smoothing of a cluster's item shares toward the global share (interactions), as in the
#: recommender's own cluster affinity
REASON_SHRINKAGE = 50.0
#: a cluster "likes" an item when its share there is this many times its global share
REASON_LIFT = 1.2
PRECOMPUTE_BATCH = 256


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    rank: int
    cluster: int
    cluster_label: str
    reason: str


@dataclass(frozen=True)
class ClusterSummary:
    cluster_id: int
    label: str
    size: int
    keywords: list[str]
    representative_items: list[str]


@dataclass(frozen=True)
class UserCluster:
    user_id: str
    cluster: int
    label: str
    probability: float | None
    source: str


@dataclass
class _Event:
    item: int
    rating: float | None
    timestamp: float


class _MemoEncoder:
    """Remembers the last few hundred texts, so one request's text is encoded once although
    the recommender and the cluster assignment both ask for it."""

    def __init__(self, encoder: Encoder, size: int = 512):
        self.encoder = encoder
        self.size = size
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.encoder, name)

    @property
    def identifier(self) -> str:
        return self.encoder.identifier

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    def encode(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            known = {t: self._memo[t] for t in texts if t in self._memo}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            encoded = np.asarray(self.encoder.encode(missing, **kwargs), dtype=np.float32)
            with self._lock:
                for text, vector in zip(missing, encoded, strict=True):
                    known[text] = vector
                    self._memo[text] = vector
                    self._memo.move_to_end(text)
                while len(self._memo) > self.size:
                    self._memo.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([known[t] for t in texts]).astype(np.float32)


class RecommendationEngine:
    """Recommendations, clusters and online updates by external id (see the module docstring).

    Reads are safe from several threads; mutations (:meth:`add_events`, :meth:`add_item`,
    :meth:`forget_user`) take a lock, as does scoring, which they change.
    """

    def __init__(
        self,
        model: InterestLens,
        *,
        encoder: Encoder | None = None,
        model_dir: Path | None = None,
    ):
        model.check_fitted()
        recommender = getattr(model, "recommender_", None)
        if recommender is None:
            raise ModelFormatError(
                "the model holds no recommender",
                expected="a model fitted with recommend.enabled = true (the default)",
                fix="fit the model again without turning recommend.enabled off",
            )
        self.model = model
        self.settings: Settings = model._settings()
        self.model_dir = model_dir
        self.manifest: dict[str, Any] = getattr(model, "manifest_", {})
        self.recommender: InterestRecommender = recommender
        self._base_encoder = encoder
        self._encoder: _MemoEncoder | None = None
        self.cache_k = int(self.settings.recommend.cache_k)
        self._lock = threading.RLock()

        self.item_ids = IdMap.from_list(model.item_ids_.to_list(), kind="item")
        self.user_ids = IdMap.from_list(model.user_ids_.to_list(), kind="user")
        self.n_fitted_users = len(self.user_ids)
        titles = model.item_titles_ or item_names(model.item_texts_, len(self.item_ids))
        self.titles = [str(t) for t in titles]
        self.user_texts = list(model.user_texts_)
        self.item_vectors = np.asarray(model.item_vectors_, dtype=np.float32)

        frame = model.interactions_
        order = np.argsort(frame["user_index"].to_numpy(), kind="stable")
        self._history_frame = frame.iloc[order].reset_index(drop=True)
        counts = np.bincount(frame["user_index"].to_numpy(), minlength=self.n_fitted_users)
        self._history_start = np.concatenate([[0], np.cumsum(counts)])
        self._item_counts = np.bincount(
            frame["item_index"].to_numpy(), minlength=len(self.item_ids)
        ).astype(np.float64)
        self._has_timestamps = bool(frame["timestamp"].notna().any())

        clusters = model.clusters_
        self.user_labels = np.asarray(clusters.user_labels, dtype=np.int64).copy()
        probability = clusters.user_probability()
        self.user_probability = (
            None if probability is None else np.asarray(probability, dtype=np.float32).copy()
        )
        self.user_source = np.asarray(model.representer_.source_, dtype=object).copy()
        self._explanations = {e.cluster_id: e for e in clusters.explanations}
        self._lift = self._cluster_lift(frame, self.user_labels, len(self.item_ids))

        self._events: dict[int, list[_Event]] = {}
        self._forgotten: set[int] = set()
        #: forgotten users whose fitted interactions and text no longer count
        self._dropped: set[int] = set()
        self._lists: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._reasons: dict[tuple[int, int], str] = {}

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        *,
        settings: Settings | None = None,
        encoder: Encoder | None = None,
    ) -> RecommendationEngine:
        """Load a model directory. ``settings`` (e.g. the service's) override the saved
        ``recommend.cache_k`` and encoder cache location; the fitted model is unchanged."""
        from interestlens.pipeline import InterestLens

        model_dir = Path(model_dir).expanduser()
        model = InterestLens.load(model_dir)
        if settings is not None:
            saved = model._settings()
            model.settings = saved.model_copy(
                update={
                    "recommend": saved.recommend.model_copy(
                        update={"cache_k": settings.recommend.cache_k}
                    ),
                    "encoder": saved.encoder.model_copy(
                        update={
                            "cache": settings.encoder.cache,
                            "cache_dir": settings.encoder.cache_dir,
                            "device": settings.encoder.device,
                        }
                    ),
                }
            )
        return cls(model, encoder=encoder, model_dir=model_dir)

    @classmethod
    def from_model(
        cls, model: InterestLens, *, encoder: Encoder | None = None
    ) -> RecommendationEngine:
        return cls(model, encoder=encoder)

    def encoder(self) -> _MemoEncoder:
        """The model's encoder (built on first use: loading weights takes seconds)."""
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    # no embedding cache: request texts are people's own words and are not
                    # written to disk (and one short text costs less to encode than a lookup)
                    base = self._base_encoder or make_encoder(
                        self.settings.encoder, seed=self.settings.seed
                    )
                    if base.identifier != self.model.encoder_id_:
                        raise ModelFormatError(
                            f"the encoder given is {base.identifier!r} but the model was "
                            f"fitted with {self.model.encoder_id_!r}",
                            expected="the encoder the model was fitted with",
                            fix="use the model's saved encoder settings (config.toml)",
                        )
                    memo = _MemoEncoder(base)
                    self.recommender.set_encoder(memo)
                    self._encoder = memo
        return self._encoder

    # --- lookups ---------------------------------------------------------------------------

    def has_user(self, user_id: str) -> bool:
        index = self.user_ids.get(user_id)
        return index >= 0 and index not in self._forgotten

    def has_item(self, item_id: str) -> bool:
        return item_id in self.item_ids

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def _user_index(self, user_id: str) -> int:
        index = self.user_ids.get(user_id)
        if index < 0 or index in self._forgotten:
            raise UnknownIdError(
                f"unknown user id {user_id!r}"
                + (" (forgotten on request)" if index in self._forgotten else ""),
                expected=f"one of the {len(self.user_ids) - len(self._forgotten)} known users",
                fix="check the id, or ask for recommendations for a new user from text or "
                "item ids instead",
            )
        return index

    def _item_indices(self, item_ids: Sequence[str], what: str) -> np.ndarray:
        indices = self.item_ids.indices(item_ids, missing="skip")
        unknown = [item_ids[i] for i in np.flatnonzero(indices < 0)]
        if unknown:
            shown = ", ".join(repr(str(i)) for i in unknown[:5])
            raise UnknownIdError(
                f"{len(unknown)} {what} id{'s' if len(unknown) > 1 else ''} not in the model: "
                f"{shown}{' …' if len(unknown) > 5 else ''}",
                expected=f"item ids the model knows ({self.n_items} items)",
                fix="check the ids, or add new items first",
            )
        return indices

    def _candidate_indices(self, candidates: Sequence[str] | None) -> np.ndarray | None:
        if candidates is None:
            return None
        return np.unique(self._item_indices(list(candidates), "candidate item"))

    # --- histories -------------------------------------------------------------------------

    def _history(self, user: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Item indices, ratings and times of a user's fitted interactions plus events."""
        if user < self.n_fitted_users and user not in self._dropped:
            rows = self._history_frame.iloc[
                self._history_start[user] : self._history_start[user + 1]
            ]
            items = rows["item_index"].to_numpy(dtype=np.int64)
            ratings = rows["rating"].to_numpy(dtype=np.float64)
            times = rows["timestamp"].to_numpy(dtype=np.float64)
        else:
            items = np.zeros(0, dtype=np.int64)
            ratings = np.zeros(0)
            times = np.zeros(0)
        events = self._events.get(user, [])
        if events:
            items = np.concatenate([items, [e.item for e in events]])
            ratings = np.concatenate(
                [ratings, [np.nan if e.rating is None else e.rating for e in events]]
            )
            times = np.concatenate([times, [e.timestamp for e in events]])
        has_ratings = self.settings.interests.use_ratings and bool(np.isfinite(ratings).any())
        return (
            items,
            ratings if has_ratings else None,
            times if self._has_timestamps or events else None,
        )

    def _user_text(self, user: int) -> str | None:
        if user >= len(self.user_texts) or user in self._dropped:
            return None
        text = self.user_texts[user]
        return text if text.strip() else None

    def _history_row(self, user: int) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
        items, ratings, times = self._history(user)
        return history_matrices(
            np.zeros(len(items), dtype=np.int64),
            items,
            (1, self.n_items),
            ratings=ratings,
            timestamps=times,
        )

    # --- scoring ---------------------------------------------------------------------------

    def _scores(self, user: int) -> tuple[np.ndarray, sp.csr_matrix]:
        """All item scores of one user and the user's history row (seen items)."""
        recommender = self.recommender
        values, times = self._history_row(user)
        with self._lock:
            fitted = user < self.n_fitted_users and user not in self._dropped
            if fitted and user not in self._events:
                if values.nnz:
                    return recommender.score(np.array([user]))[0], values
                text = self._user_text(user)
                if text is not None:
                    self.encoder()
                    return recommender.score_new(texts=[text])[0], values
                return self._popularity_scores(), values
            if fitted:
                return recommender.score_histories(values, times, np.array([user]))[0], values
            return recommender.score_new(history=values)[0], values

    def _popularity_scores(self) -> np.ndarray:
        return np.log1p(self._item_counts).astype(np.float32)

    def _ranked(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        cached = self._lists.get(user)
        if cached is not None:
            return cached
        scores, seen = self._scores(user)
        items, values = top_k(scores[None, :], min(self.cache_k, self.n_items), exclude=seen)
        keep = items[0] >= 0
        ranked = (items[0][keep], values[0][keep])
        self._lists[user] = ranked
        return ranked

    def precompute(self, *, show_progress: bool = False) -> None:
        """Rank every known user's best ``cache_k`` items now (batched)."""
        users = np.array(
            [
                u
                for u in range(self.n_fitted_users)
                if u not in self._events and u not in self._forgotten and u not in self._lists
            ],
            dtype=np.int64,
        )
        has_history = np.diff(self._history_start)[users] > 0 if len(users) else users
        warm = users[has_history.astype(bool)] if len(users) else users
        k = min(self.cache_k, self.n_items)
        batches = range(0, len(warm), PRECOMPUTE_BATCH)
        for start in tqdm(batches, desc="ranking users", disable=not show_progress):
            batch = warm[start : start + PRECOMPUTE_BATCH]
            with self._lock:
                items, values = self.recommender.recommend(batch, k)
            for row, user in enumerate(batch):
                keep = items[row] >= 0
                self._lists[int(user)] = (items[row][keep], values[row][keep])
        for user in users[~has_history.astype(bool)] if len(users) else []:
            self._ranked(int(user))

    # --- recommendations -------------------------------------------------------------------

    def recommend_user(
        self, user_id: str, k: int, candidates: Sequence[str] | None = None
    ) -> list[Recommendation]:
        """The ``k`` best unseen items for a known user (restricted to ``candidates``)."""
        k = check_k(k)
        user = self._user_index(user_id)
        wanted = self._candidate_indices(candidates)
        items, scores = self._ranked(user)
        # the cached list stops at cache_k: past it (or with candidates below it), rank anew
        truncated = len(items) >= min(self.cache_k, self.n_items)
        if wanted is not None:
            inside = np.isin(items, wanted)
            items, scores = items[inside], scores[inside]
        if len(items) < k and truncated:
            all_scores, seen = self._scores(user)
            ranked, values = top_k(all_scores[None, :], k, exclude=seen, candidates=wanted)
            keep = ranked[0] >= 0
            items, scores = ranked[0][keep], values[0][keep]
        return self._package(items[:k], scores[:k], user=user)

    def recommend_new(
        self,
        *,
        text: str | None = None,
        history: Sequence[str] = (),
        k: int,
        candidates: Sequence[str] | None = None,
    ) -> list[Recommendation]:
        """Recommendations for someone the model has never seen: a description and/or the
        ids of items they liked (most recent last)."""
        k = check_k(k)
        text = text if text is not None and text.strip() else None
        items = self._item_indices(list(history), "history item") if history else np.zeros(0, int)
        if text is None and len(items) == 0:
            raise InvalidValueError(
                "neither text nor history was given",
                expected="a non-empty text, at least one known item id, or both",
                fix="send {'text': 'what the person likes'} or {'history': ['item id', ...]}",
            )
        wanted = self._candidate_indices(candidates)
        row = None
        if len(items):
            max_value = float(getattr(self.recommender, "max_value_", 1.0))
            row = sp.csr_matrix(
                (np.full(len(items), max_value, dtype=np.float32), (np.zeros(len(items)), items)),
                shape=(1, self.n_items),
            )
            row.sum_duplicates()
            row.data[:] = max_value
        with self._lock:
            if text is not None:
                self.encoder()
            scores = self.recommender.score_new(
                history=row, texts=[text] if text is not None else None
            )
        ranked, values = top_k(scores, k, exclude=row, candidates=wanted)
        keep = ranked[0] >= 0
        cluster = self._cluster_of_new(items, text)
        return self._package(
            ranked[0][keep], values[0][keep], cluster=cluster, history=items, has_text=bool(text)
        )

    def popular(self, k: int, candidates: Sequence[str] | None = None) -> list[Recommendation]:
        """The most interacted-with items (for unknown users, when asked to fall back)."""
        k = check_k(k)
        wanted = self._candidate_indices(candidates)
        ranked, values = top_k(self._popularity_scores()[None, :], k, candidates=wanted)
        keep = ranked[0] >= 0
        return self._package(ranked[0][keep], values[0][keep], cluster=-1, popular=True)

    def recommend_users(
        self,
        user_ids: Sequence[str],
        k: int,
        *,
        candidates: Sequence[str] | None = None,
        unknown: Literal["error", "popular"] = "error",
        show_progress: bool = False,
    ) -> tuple[pd.DataFrame, list[str]]:
        """One table ``user_id, rank, item_id, score, cluster, cluster_label, reason`` for many
        users, and the ids that were unknown (``unknown="popular"``: they get the most popular
        items; ``"error"``: an :class:`UnknownIdError` lists them before anything is scored)."""
        if unknown not in ("error", "popular"):
            raise ParameterError(
                f"unknown={unknown!r}",
                expected="'error' or 'popular'",
                fix="pass --unknown popular to fall back to popular items",
            )
        k = check_k(k)
        ids = [str(u) for u in user_ids]
        missing = [u for u in dict.fromkeys(ids) if not self.has_user(u)]
        if missing and unknown == "error":
            shown = ", ".join(repr(u) for u in missing[:5])
            raise UnknownIdError(
                f"{len(missing)} user id{'s' if len(missing) > 1 else ''} not in the model: "
                f"{shown}{' …' if len(missing) > 5 else ''}",
                expected="ids of users in the fitted data (interactions or users file)",
                fix="check the ids, or pass --unknown popular to give them popular items",
            )
        self._candidate_indices(candidates)  # fail before the long loop
        known = [u for u in ids if self.has_user(u)]
        if candidates is None and len(known) > PRECOMPUTE_BATCH:
            self.precompute(show_progress=show_progress)
        popular = self.popular(k, candidates) if missing else []
        rows: list[dict[str, Any]] = []
        for user_id in tqdm(ids, desc="recommending", disable=not show_progress):
            recs = (
                self.recommend_user(user_id, k, candidates) if self.has_user(user_id) else popular
            )
            rows.extend({"user_id": user_id, **_row(r)} for r in recs)
        columns = ["user_id", "rank", "item_id", "score", "cluster", "cluster_label", "reason"]
        return pd.DataFrame(rows, columns=columns), missing

    # --- reasons ---------------------------------------------------------------------------

    @staticmethod
    def _cluster_lift(frame: pd.DataFrame, labels: np.ndarray, n_items: int) -> np.ndarray:
        """``(k, n_items)`` log share of each item in each cluster over its global share."""
        k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
        if k == 0 or len(frame) == 0:
            return np.zeros((max(k, 1), n_items), dtype=np.float32)
        user_cluster = labels[frame["user_index"].to_numpy()]
        inside = user_cluster >= 0
        counts = sp.csr_matrix(
            (
                np.ones(int(inside.sum())),
                (user_cluster[inside], frame["item_index"].to_numpy()[inside]),
            ),
            shape=(k, n_items),
        ).toarray()
        total = max(counts.sum(), 1.0)
        global_share = counts.sum(axis=0) / total
        share = (counts + REASON_SHRINKAGE * global_share) / (
            counts.sum(axis=1, keepdims=True) + REASON_SHRINKAGE
        )
        floor = 0.1 / total
        return (np.log(share + floor) - np.log(global_share + floor)).astype(np.float32)

    def _label(self, cluster: int) -> str:
        return self.model.clusters_.label_of(int(cluster))

    def _reason(
        self,
        item: int,
        *,
        cluster: int,
        history: np.ndarray,
        has_text: bool,
        popular: bool = False,
    ) -> str:
        if popular:
            return "popular overall"
        parts = []
        fitted_item = item < self._lift.shape[1] and self._item_counts[item] > 0
        if cluster >= 0 and cluster < len(self._lift):
            label = self._label(cluster)
            if not fitted_item:
                parts.append("new item")
            elif self._lift[cluster, item] > np.log(REASON_LIFT):
                parts.append(f"popular among {label}")
            else:
                parts.append(f"fits the interests of {label}")
        similar = None
        if len(history):
            with self._lock:
                similar = self.recommender.most_similar_item(int(item), np.unique(history))
        if similar is not None:
            parts.append(f"similar to {self.titles[similar]}, which you rated")
        elif has_text:
            parts.append("close to what you wrote")
        return "; ".join(parts) if parts else "popular overall"

    def _package(
        self,
        items: np.ndarray,
        scores: np.ndarray,
        *,
        user: int | None = None,
        cluster: int | None = None,
        history: np.ndarray | None = None,
        has_text: bool = False,
        popular: bool = False,
    ) -> list[Recommendation]:
        if user is not None:
            cluster = self._cluster_index(user)
            history, _, _ = self._history(user)
            has_text = self._user_text(user) is not None
        cluster = -1 if cluster is None else int(cluster)
        history = np.zeros(0, dtype=np.int64) if history is None else history
        out = []
        for rank, (item, score) in enumerate(zip(items, scores, strict=True), start=1):
            key = (user, int(item)) if user is not None else None
            reason = self._reasons.get(key) if key is not None else None
            if reason is None:
                reason = self._reason(
                    int(item), cluster=cluster, history=history, has_text=has_text, popular=popular
                )
                if key is not None:
                    self._reasons[key] = reason
            out.append(
                Recommendation(
                    item_id=self.item_ids.id_of(int(item)),
                    score=round(float(score), 6),
                    rank=rank,
                    cluster=cluster,
                    cluster_label=self._label(cluster) if cluster >= 0 else "",
                    reason=reason,
                )
            )
        return out

    # --- clusters --------------------------------------------------------------------------

    def _cluster_index(self, user: int) -> int:
        return int(self.user_labels[user]) if user < len(self.user_labels) else -1

    def _cluster_of_new(self, items: np.ndarray, text: str | None) -> int:
        """Interest cluster of a history and/or text, through the fitted representation."""
        text_vector = None
        if text is not None:
            text_vector = l2_normalise(self.encoder().encode([text]))[0]
        return self._predict_cluster(items, None, None, text_vector)

    def _predict_cluster(
        self,
        items: np.ndarray,
        ratings: np.ndarray | None,
        times: np.ndarray | None,
        text_vector: np.ndarray | None,
    ) -> int:
        vector = self.model.representer_.transform_one(
            items, self.item_vectors, ratings=ratings, timestamps=times, text_vector=text_vector
        )
        if not np.linalg.norm(vector) > 0:
            return -1
        return int(self.model.clusters_.result.predict(vector[None, :].astype(np.float32))[0])

    def user_cluster(self, user_id: str) -> UserCluster:
        user = self._user_index(user_id)
        cluster = self._cluster_index(user)
        probability = None
        if self.user_probability is not None and user < len(self.user_probability):
            value = float(self.user_probability[user])
            probability = None if np.isnan(value) else round(value, 4)
        return UserCluster(
            user_id=user_id,
            cluster=cluster,
            label=self._label(cluster),
            probability=probability,
            source=str(self.user_source[user]) if user < len(self.user_source) else "history",
        )

    def clusters(self) -> list[ClusterSummary]:
        return [self._summary(e) for e in sorted(self._explanations.values(), key=_by_id)]

    def cluster(self, cluster_id: int) -> ClusterSummary:
        explanation = self._explanations.get(int(cluster_id))
        if explanation is None:
            raise UnknownIdError(
                f"no cluster {cluster_id}",
                expected=f"a cluster id among {sorted(self._explanations)}",
                fix="list the clusters with GET /clusters or 'interestlens describe'",
            )
        return self._summary(explanation)

    def _summary(self, explanation: Any) -> ClusterSummary:
        size = int(np.sum(self.user_labels == explanation.cluster_id))
        return ClusterSummary(
            cluster_id=int(explanation.cluster_id),
            label=explanation.label,
            size=size,
            keywords=[k.term for k in explanation.keywords],
            representative_items=[c.title for c in explanation.central_items],
        )

    # --- online updates --------------------------------------------------------------------

    def add_events(
        self,
        user_id: str,
        item_ids: Sequence[str],
        ratings: Sequence[float | None] | None = None,
        timestamps: Sequence[float | None] | None = None,
    ) -> None:
        """Append interactions of one user (a new id becomes a user); their list, vector and
        cluster follow at once. Events without a time are stamped now."""
        items = self._item_indices([str(i) for i in item_ids], "event item")
        n = len(items)
        ratings = list(ratings) if ratings is not None else [None] * n
        timestamps = list(timestamps) if timestamps is not None else [None] * n
        if len(ratings) != n or len(timestamps) != n:
            raise ParameterError(
                f"{n} item ids but {len(ratings)} ratings and {len(timestamps)} timestamps",
                expected="one rating and one timestamp (or None) per item id",
                fix="pass lists of the same length",
            )
        for value in ratings:
            if value is not None and not np.isfinite(value):
                raise InvalidValueError(
                    f"rating {value!r} is not a finite number",
                    expected="a finite rating or none",
                    fix="send a number such as 4.5, or leave the rating out",
                )
        now = time.time()
        with self._lock:
            user = self.user_ids.get(user_id)
            if user < 0:
                user = self.user_ids.add(user_id)
            self._forgotten.discard(user)
            events = self._events.setdefault(user, [])
            for item, rating, stamp in zip(items, ratings, timestamps, strict=True):
                events.append(_Event(int(item), rating, float(stamp) if stamp is not None else now))
            self._invalidate_user(user)
            self._update_cluster(user)

    def _invalidate_user(self, user: int) -> None:
        self._lists.pop(user, None)
        for key in [key for key in self._reasons if key[0] == user]:
            del self._reasons[key]

    def _update_cluster(self, user: int) -> None:
        items, ratings, times = self._history(user)
        text_vector = None
        if self._user_text(user) is not None:
            text_vector = self.model.user_text_vectors_[user]
        cluster = self._predict_cluster(items, ratings, times, text_vector)
        if user >= len(self.user_labels):
            grow = user + 1 - len(self.user_labels)
            self.user_labels = np.concatenate([self.user_labels, np.full(grow, -1)])
            self.user_source = np.concatenate([self.user_source, np.full(grow, "history")])
            if self.user_probability is not None:
                self.user_probability = np.concatenate(
                    [self.user_probability, np.full(grow, np.nan, dtype=np.float32)]
                )
        self.user_labels[user] = cluster
        if self.user_probability is not None:
            self.user_probability[user] = np.nan
        if self.user_source[user] in ("none", "text"):
            self.user_source[user] = "blend" if self.user_source[user] == "text" else "history"

    def check_new_item(self, item_id: str, text: str) -> None:
        """Raise what :meth:`add_item` would refuse (callers that store first check here)."""
        if str(item_id) in self.item_ids:
            raise DuplicateIdError(
                f"item id {item_id!r} already exists",
                expected="a new item id",
                fix="use another id; changing an existing item needs a refit",
            )
        if not text.strip():
            raise InvalidValueError(
                f"item {item_id!r} has an empty text",
                expected="a title or description to embed",
                fix="send the item's text (or fields whose values give one)",
            )

    def add_item(self, item_id: str, text: str) -> None:
        """A new item, embedded now and recommendable at once (scored from its text)."""
        item_id = str(item_id)
        self.check_new_item(item_id, text)
        with self._lock:
            encoder = self.encoder()
            vector = l2_normalise(encoder.encode([text]))[0]
            new = self.recommender.add_items([text])
            index = self.item_ids.add(item_id)
            if int(new[0]) != index:
                raise ModelFormatError(
                    f"the recommender gave the new item index {int(new[0])}, the engine {index}",
                    expected="one item index space",
                    fix="reload the model; this is a bug worth reporting",
                )
            self.item_vectors = np.vstack([self.item_vectors, vector[None, :]])
            self.titles.append(item_names([text], 1)[0])
            self._item_counts = np.append(self._item_counts, 0.0)
            self._lift = np.hstack([self._lift, np.zeros((len(self._lift), 1), np.float32)])
            self._lists.clear()
            self._reasons.clear()

    def forget_user(self, user_id: str) -> bool:
        """Forget a user's events, list and cluster (False if the id was not known). The fitted
        interactions stay in this model's arrays until a refit leaves them out."""
        with self._lock:
            user = self.user_ids.get(user_id)
            if user < 0 or user in self._forgotten:
                return False
            self._forgotten.add(user)
            self._dropped.add(user)
            self._events.pop(user, None)
            self._invalidate_user(user)
            if user < len(self.user_labels):
                self.user_labels[user] = -1
            return True


def _by_id(explanation: Any) -> int:
    return int(explanation.cluster_id)


def _row(recommendation: Recommendation) -> dict[str, Any]:
    return {
        "rank": recommendation.rank,
        "item_id": recommendation.item_id,
        "score": recommendation.score,
        "cluster": recommendation.cluster,
        "cluster_label": recommendation.cluster_label,
        "reason": recommendation.reason,
    }
