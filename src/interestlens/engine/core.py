"""The :class:`RecommendationEngine`: construction, id lookups and histories; scoring,
reasons, clusters and online updates come from the mixins beside this module."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from interestlens.config import Settings
from interestlens.data.ids import IdMap
from interestlens.embed import make_encoder
from interestlens.embed.base import Encoder
from interestlens.embed.memo import MemoEncoder
from interestlens.engine.clusters import ClustersMixin
from interestlens.engine.ranking import RankingMixin
from interestlens.engine.reasons import ReasonsMixin
from interestlens.engine.records import _Event
from interestlens.engine.updates import OnlineUpdatesMixin
from interestlens.errors import ModelFormatError, UnknownIdError
from interestlens.privacy import Pseudonymizer, withheld_clusters
from interestlens.recommend.interest.reasons import item_names
from interestlens.recommend.matrix import history_matrices

if TYPE_CHECKING:
    from interestlens.pipeline import InterestLens
    from interestlens.recommend.interest import InterestRecommender


class RecommendationEngine(RankingMixin, ReasonsMixin, ClustersMixin, OnlineUpdatesMixin):
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
        self.settings: Settings = model._settings()
        self.model_dir = model_dir
        self.manifest: dict[str, Any] = getattr(model, "manifest_", {})
        self.recommender: InterestRecommender = recommender
        self._base_encoder = encoder
        self._encoder: MemoEncoder | None = None
        self.cache_k = int(self.settings.recommend.cache_k)
        self._lock = threading.RLock()

        self.item_ids = IdMap.from_list(model.item_ids_.to_list(), kind="item")
        self.user_ids = IdMap.from_list(model.user_ids_.to_list(), kind="user")
        if pseudonymizer is not None:
            # raw ids in, pseudonyms inside: the model holds nothing else
            pseudonymizer.check_manifest(self.manifest)
            self.user_ids = pseudonymizer.wrap(self.user_ids)
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
        self.privacy = self.settings.privacy
        self.privacy_release = getattr(model, "privacy_release_", None)
        #: clusters too small to describe (privacy on): no label, size or words are shown
        self._withheld = withheld_clusters(
            clusters.explanations, self.privacy, self.privacy_release
        )
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
        pseudonymizer: Pseudonymizer | None = None,
    ) -> RecommendationEngine:
        """Load a model directory. ``settings`` (e.g. the service's) override the saved
        ``recommend.cache_k`` and encoder cache location; the fitted model is unchanged.
        ``pseudonymizer`` (for a pseudonymized model) lets callers use raw user ids."""
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

    def encoder(self) -> MemoEncoder:
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
                    memo = MemoEncoder(base)
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
