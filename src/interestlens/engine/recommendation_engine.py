"""The :class:`RecommendationEngine`: ids in, ranked items with clusters and reasons out. It
owns small collaborators, each holding one piece of state and changing it only through its
own methods:

* :class:`~interestlens.engine.catalogue.ItemCatalogue`: item ids, titles, vectors;
* :class:`~interestlens.engine.histories.UserHistories`: fitted interactions, events,
  forgotten users;
* :class:`~interestlens.engine.cluster_assignments.ClusterAssignments`: each user's cluster
  now, labels and summaries;
* :class:`~interestlens.engine.placement.InterestPlacer`: interest vectors and clusters
  through the fitted :class:`~interestlens.pipeline.InterestLens`;
* :class:`~interestlens.engine.ranker.Ranker`: scores and the kept ranked lists;
* :class:`~interestlens.engine.reason_writer.ReasonWriter`: reasons and their cache;
* :class:`~interestlens.engine.bulk_ranker.BulkRanker`: many users' tables as arrays;
* :class:`~interestlens.engine.online_updates.OnlineUpdater`: events, new items, forgetting.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from interestlens.config import PrivacyConfig, Settings
from interestlens.data.ids import IdMap
from interestlens.embed import make_encoder
from interestlens.embed.base import Encoder
from interestlens.embed.memo import MemoEncoder
from interestlens.engine.bulk_ranker import BulkRanker
from interestlens.engine.catalogue import ItemCatalogue
from interestlens.engine.cluster_assignments import ClusterAssignments
from interestlens.engine.histories import UserHistories
from interestlens.engine.online_updates import OnlineUpdater, accepted_ratings
from interestlens.engine.placement import InterestPlacer
from interestlens.engine.ranker import Ranker
from interestlens.engine.reason_writer import ReasonWriter, explained_cluster_lift
from interestlens.engine.records import ROW_COLUMNS, ClusterSummary, Recommendation, UserCluster
from interestlens.errors import InvalidValueError, ModelFormatError, ParameterError, UnknownIdError
from interestlens.pipeline import InterestLens
from interestlens.privacy import Pseudonymizer
from interestlens.recommend.interest import InterestRecommender
from interestlens.recommend.interest.reasons import item_names
from interestlens.recommend.top_items import check_k, top_k

#: the columns of :meth:`RecommendationEngine.recommend_users`' table
TABLE_COLUMNS = ["user_id", *ROW_COLUMNS]


class RecommendationEngine:
    """Recommendations, clusters and online updates by external id (see :mod:`interestlens.engine`).

    Reads are safe from several threads; mutations (:meth:`add_events`, :meth:`add_item`,
    :meth:`forget_user`) take a lock, as does scoring, which they change.
    """

    def __init__(
        self,
        model: InterestLens,
        *,
        encoder: Encoder | None = None,
        model_dir: Path | None = None,
        pseudonymizer: Pseudonymizer | None = None,
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
        self.settings: Settings = model.active_settings
        self.model_dir = model_dir
        self.manifest: dict[str, Any] = getattr(model, "manifest_", {})
        self.recommender: InterestRecommender = recommender
        self._given_encoder = encoder
        self._encoder: MemoEncoder | None = None
        self._lock = threading.RLock()

        item_ids = IdMap.from_list(model.item_ids_.to_list(), kind="item")
        self.user_ids = IdMap.from_list(model.user_ids_.to_list(), kind="user")
        if pseudonymizer is not None:
            # raw ids in, pseudonyms inside: the model holds nothing else
            pseudonymizer.check_manifest(self.manifest)
            self.user_ids = pseudonymizer.wrap(self.user_ids)
        n_users, n_items = len(self.user_ids), len(item_ids)
        titles = model.item_titles_ or item_names(model.item_texts_, n_items)
        self.catalogue = ItemCatalogue(item_ids, titles, model.item_vectors_)
        frame = model.interactions_
        self.histories = UserHistories(
            frame,
            n_users=n_users,
            n_items=n_items,
            user_texts=model.user_texts_,
            use_ratings=self.settings.interests.use_ratings,
        )
        labels, probability, source = model.user_clusters()
        self.cluster_assignments = ClusterAssignments(
            labels,
            probability,
            source,
            explanations=model.cluster_explanations(),
            label_of=model.cluster_label,
            privacy=self.settings.privacy,
            privacy_release=getattr(model, "privacy_release_", None),
        )
        self.placer = InterestPlacer(model, self.catalogue, self.histories)
        self.ranker = Ranker(
            recommender,
            self.histories,
            cache_k=self.settings.recommend.cache_k,
            lock=self._lock,
            threads=self.settings.recommend.threads,
        )
        self.reasons = ReasonWriter(
            explained_cluster_lift(frame, labels, n_items),
            recommender=recommender,
            catalogue=self.catalogue,
            histories=self.histories,
            clusters=self.cluster_assignments,
            lock=self._lock,
        )
        self.bulk = BulkRanker(
            recommender=recommender,
            ranker=self.ranker,
            reasons=self.reasons,
            histories=self.histories,
            clusters=self.cluster_assignments,
            catalogue=self.catalogue,
        )
        self.updates = OnlineUpdater(
            user_ids=self.user_ids,
            catalogue=self.catalogue,
            histories=self.histories,
            clusters=self.cluster_assignments,
            placer=self.placer,
            ranker=self.ranker,
            reasons=self.reasons,
            recommender=recommender,
            encoder=self.encoder,
            limits=self.settings.limits,
            rating_range=accepted_ratings(frame, self.settings.limits),
            lock=self._lock,
        )

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        *,
        settings: Settings | None = None,
        encoder: Encoder | None = None,
        pseudonymizer: Pseudonymizer | None = None,
        mmap: bool = False,
    ) -> RecommendationEngine:
        """Load a model directory. ``settings`` (e.g. the service's) override the saved
        ``recommend.cache_k`` and ``recommend.threads`` and the encoder cache location; the
        fitted model is unchanged.
        ``pseudonymizer`` (for a pseudonymized model) lets callers use raw user ids. ``mmap``:
        the large read-only arrays are memory-mapped (several worker processes share them)."""
        model_dir = Path(model_dir).expanduser()
        model = InterestLens.load(model_dir, mmap=mmap)
        if settings is not None:
            saved = model.active_settings
            model.settings = saved.model_copy(
                update={
                    "recommend": saved.recommend.model_copy(
                        update={
                            "cache_k": settings.recommend.cache_k,
                            "threads": settings.recommend.threads,
                        }
                    ),
                    "limits": settings.limits,
                    "encoder": saved.encoder.model_copy(
                        update={
                            "cache": settings.encoder.cache,
                            "cache_dir": settings.encoder.cache_dir,
                            "device": settings.encoder.device,
                            "export_dir": settings.encoder.export_dir,
                            "threads": settings.encoder.threads,
                        }
                    ),
                }
            )
        return cls(model, encoder=encoder, model_dir=model_dir, pseudonymizer=pseudonymizer)

    @classmethod
    def from_model(
        cls,
        model: InterestLens,
        *,
        encoder: Encoder | None = None,
        pseudonymizer: Pseudonymizer | None = None,
    ) -> RecommendationEngine:
        return cls(model, encoder=encoder, pseudonymizer=pseudonymizer)

    @property
    def base_encoder(self) -> Encoder | None:
        """The encoder given at construction (None: the model's own, built on first use)."""
        return self._given_encoder

    def encoder(self) -> MemoEncoder:
        """The model's encoder (built on first use: loading weights takes seconds)."""
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    # no embedding cache: request texts are people's own words and are not
                    # written to disk (and one short text costs less to encode than a lookup)
                    base = self._given_encoder or make_encoder(
                        self.settings.encoder, seed=self.settings.seed
                    )
                    if base.identifier != self.model.encoder_id_:
                        raise ModelFormatError(
                            f"the encoder given is {base.identifier!r} but the model was "
                            f"fitted with {self.model.encoder_id_!r}",
                            expected="the encoder the model was fitted with",
                            fix="use the model's saved encoder settings (config.toml)",
                        )
                    memo = MemoEncoder(base)
                    self.recommender.set_encoder(memo)
                    self._encoder = memo
        return self._encoder

    # --- what the engine holds -------------------------------------------------------------

    @property
    def item_ids(self) -> IdMap:
        return self.catalogue.ids

    @property
    def n_items(self) -> int:
        return len(self.catalogue)

    @property
    def titles(self) -> tuple[str, ...]:
        return self.catalogue.titles

    @property
    def item_vectors(self) -> np.ndarray:
        return self.catalogue.vectors

    @property
    def n_fitted_users(self) -> int:
        return self.histories.n_fitted_users

    @property
    def user_texts(self) -> tuple[str, ...]:
        return self.histories.user_texts

    @property
    def user_labels(self) -> np.ndarray:
        """Each user's cluster id now (-1: none), by user index (read-only)."""
        return self.cluster_assignments.user_labels

    @property
    def privacy(self) -> PrivacyConfig:
        return self.cluster_assignments.privacy

    @property
    def privacy_release(self) -> Any:
        """The model's differentially private cluster release (None without one)."""
        return self.cluster_assignments.privacy_release

    @property
    def rating_range(self) -> tuple[float, float]:
        return self.updates.rating_range

    @property
    def cache_k(self) -> int:
        """Items kept per known user after their first request (``recommend.cache_k``)."""
        return self.ranker.cache_k

    @cache_k.setter
    def cache_k(self, value: int) -> None:
        self.ranker.resize(value)

    @property
    def n_cached_lists(self) -> int:
        """Known users whose ranked list is kept."""
        return self.ranker.n_cached

    def has_user(self, user_id: str) -> bool:
        index = self.user_ids.get(user_id)
        return index >= 0 and not self.histories.is_forgotten(index)

    def has_item(self, item_id: str) -> bool:
        return item_id in self.catalogue

    def _user_index(self, user_id: str) -> int:
        index = self.user_ids.get(user_id)
        forgotten = index >= 0 and self.histories.is_forgotten(index)
        if index < 0 or forgotten:
            raise UnknownIdError(
                f"unknown user id {user_id!r}" + (" (forgotten on request)" if forgotten else ""),
                expected=f"one of the {len(self.user_ids) - self.histories.n_forgotten} known "
                "users",
                fix="check the id, or ask for recommendations for a new user from text or "
                "item ids instead",
            )
        return index

    def _bounded_k(self, k: object) -> int:
        """``k`` checked, and no longer than the catalogue: a list cannot hold more items, and
        ``-k 200000000`` must not allocate gigabytes of padding."""
        return min(check_k(k), max(self.n_items, 1))

    # --- recommendations -------------------------------------------------------------------

    def precompute(self, *, show_progress: bool = False) -> None:
        """Rank every known user's best ``cache_k`` items now (batched)."""
        self.ranker.precompute(show_progress=show_progress)

    def recommend_user(
        self, user_id: str, k: int, candidates: Sequence[str] | None = None
    ) -> list[Recommendation]:
        """The ``k`` best unseen items for a known user (restricted to ``candidates``)."""
        k = self._bounded_k(k)
        user = self._user_index(user_id)
        wanted = self.catalogue.candidate_indices(candidates)
        items, scores = self.ranker.ranked(user)
        # the kept list stops at cache_k: past it (or with candidates below it), rank anew
        truncated = len(items) >= self.ranker.depth()
        if wanted is not None:
            inside = np.isin(items, wanted)
            items, scores = items[inside], scores[inside]
        if len(items) < k and truncated:
            items, scores = self.ranker.ranked_anew(user, k, wanted)
        history, _, _ = self.histories.history(user)
        return self._package(
            items[:k],
            scores[:k],
            user=user,
            cluster=self.cluster_assignments.of(user),
            history=history,
            has_text=self.histories.text(user) is not None,
        )

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
        k = self._bounded_k(k)
        text = text if text is not None and text.strip() else None
        items = (
            self.catalogue.indices(list(history), "history item") if history else np.zeros(0, int)
        )
        if text is None and len(items) == 0:
            raise InvalidValueError(
                "neither text nor history was given",
                expected="a non-empty text, at least one known item id, or both",
                fix="send {'text': 'what the person likes'} or {'history': ['item id', ...]}",
            )
        wanted = self.catalogue.candidate_indices(candidates)
        row = None
        if len(items):
            max_value = float(getattr(self.recommender, "max_value_", 1.0))
            row = sp.csr_matrix(
                (np.full(len(items), max_value, dtype=np.float32), (np.zeros(len(items)), items)),
                shape=(1, self.n_items),
            )
            row.sum_duplicates()
            row.data[:] = max_value
        text_vector = None
        with self._lock:
            if text is not None:
                # first: the text and its first clause in one encoder pass, after which the
                # recommender finds the text's vector remembered
                text_vector = self.model.user_text_vectors([text], encoder=self.encoder())[0]
            scores = self.recommender.score_new(
                history=row, texts=[text] if text is not None else None
            )
        ranked, values = top_k(scores, k, exclude=row, candidates=wanted)
        keep = ranked[0] >= 0
        cluster = self.placer.cluster(self.placer.vector(items, text_vector=text_vector))
        return self._package(
            ranked[0][keep], values[0][keep], cluster=cluster, history=items, has_text=bool(text)
        )

    def popular(self, k: int, candidates: Sequence[str] | None = None) -> list[Recommendation]:
        """The most interacted-with items (for unknown users, when asked to fall back)."""
        k = self._bounded_k(k)
        wanted = self.catalogue.candidate_indices(candidates)
        scores = self.histories.popularity_scores()
        ranked, values = top_k(scores[None, :], k, candidates=wanted)
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
        k = self._bounded_k(k)
        ids = [str(u) for u in user_ids]
        # each id looked up once: -1 for unknown and forgotten users
        lookup = self.user_ids.get
        index = np.fromiter((lookup(u) for u in ids), np.int64, len(ids))
        known = index >= 0
        known[known] = ~self.histories.forgotten_mask(index[known])
        index[~known] = -1
        missing = list(dict.fromkeys(u for u, ok in zip(ids, known, strict=True) if not ok))
        if missing and unknown == "error":
            shown = ", ".join(repr(u) for u in missing[:5])
            raise UnknownIdError(
                f"{len(missing)} user id{'s' if len(missing) > 1 else ''} not in the model: "
                f"{shown}{' …' if len(missing) > 5 else ''}",
                expected="ids of users in the fitted data (interactions or users file)",
                fix="check the ids, or pass --unknown popular to give them popular items",
            )
        self.catalogue.candidate_indices(candidates)  # fail before the long loop
        popular = self.popular(k, candidates) if missing else []
        table = self.bulk.table(
            ids,
            index,
            k,
            candidates=candidates,
            one_user=lambda user_id: (
                self.recommend_user(user_id, k, candidates) if self.has_user(user_id) else popular
            ),
            show_progress=show_progress,
        )
        frame = pd.DataFrame({name: table[name] for name in TABLE_COLUMNS}, columns=TABLE_COLUMNS)
        return frame, missing

    def _package(
        self,
        items: np.ndarray,
        scores: np.ndarray,
        *,
        cluster: int,
        user: int | None = None,
        history: np.ndarray | None = None,
        has_text: bool = False,
        popular: bool = False,
    ) -> list[Recommendation]:
        cluster = int(cluster)
        reasons = self.reasons.for_list(
            items,
            user=user,
            cluster=cluster,
            history=np.zeros(0, dtype=np.int64) if history is None else history,
            has_text=has_text,
            popular=popular,
        )
        label = self.cluster_assignments.label(cluster) if cluster >= 0 else ""
        return [
            Recommendation(
                item_id=self.catalogue.ids.id_of(int(item)),
                score=round(float(score), 6),
                rank=rank,
                cluster=cluster,
                cluster_label=label,
                reason=reason,
            )
            for rank, (item, score, reason) in enumerate(
                zip(items, scores, reasons, strict=True), start=1
            )
        ]

    # --- clusters --------------------------------------------------------------------------

    def interest_vector(self, user_id: str) -> np.ndarray:
        """A known user's interest vector now (fitted history, events and own text)."""
        return self.placer.user_vector(self._user_index(user_id))

    def user_cluster(self, user_id: str) -> UserCluster:
        return self.cluster_assignments.user_cluster(user_id, self._user_index(user_id))

    def clusters(self) -> list[ClusterSummary]:
        """Every cluster that may be shown (with privacy on, small groups are left out)."""
        return self.cluster_assignments.summaries()

    def cluster(self, cluster_id: int) -> ClusterSummary:
        return self.cluster_assignments.summary(cluster_id)

    # --- online changes (in memory; the service makes them durable) ------------------------

    def add_events(
        self,
        user_id: str,
        item_ids: Sequence[str],
        ratings: Sequence[float | None] | None = None,
        timestamps: Sequence[float | None] | None = None,
    ) -> None:
        """See :meth:`OnlineUpdater.add_events` (events without a time are stamped now)."""
        self.updates.add_events(user_id, item_ids, ratings, timestamps)

    def check_event(
        self, user_id: str, item_id: str, rating: float | None, timestamp: float | None
    ) -> None:
        """Raise what :meth:`add_events` would refuse for one event."""
        self.updates.check_event(user_id, item_id, rating, timestamp)

    def check_new_item(self, item_id: str, text: str) -> None:
        """Raise what :meth:`add_item` would refuse (callers that store first check here)."""
        self.catalogue.check_new(item_id, text)

    def add_item(self, item_id: str, text: str) -> None:
        """A new item, embedded now and recommendable at once (:meth:`OnlineUpdater.add_item`)."""
        self.updates.add_item(item_id, text)

    def forget_user(self, user_id: str) -> bool:
        """Forget a user's events, list and cluster; False if the id was not known
        (:meth:`OnlineUpdater.forget_user`)."""
        return self.updates.forget_user(user_id)
