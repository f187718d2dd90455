"""The whole job in one estimator: data → texts → vectors → user interests (→ clusters → …).

``InterestLens(settings).fit(dataset)`` runs every stage; ``save(dir)`` writes the model
directory (see :mod:`interestlens.model_dir`), ``InterestLens.load(dir)`` reads it back without
running any code from it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from interestlens.config import Settings
from interestlens.data.ids import IdMap
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.embed import make_encoder
from interestlens.embed.base import Encoder
from interestlens.embed.cache import CachedEncoder, EmbeddingCache
from interestlens.embed.memo import MemoEncoder
from interestlens.errors import NotFittedError
from interestlens.interest_clusters import fit_interest_clusters
from interestlens.recommend.interest import InterestRecommender
from interestlens.recommend.matrix import history_matrices
from interestlens.represent import WeightedMeanInterests
from interestlens.text import build_texts


@dataclass
class EmbeddingStats:
    texts: int = 0
    unique_texts: int = 0
    empty_texts: int = 0
    truncated_texts: int = 0
    encoder_calls: int = 0
    encoded_texts: int = 0
    cache_hits: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FitReport:
    """What ``fit`` did, for the CLI, the manifest and the HTML report."""

    dataset: dict[str, Any] = field(default_factory=dict)
    items: EmbeddingStats = field(default_factory=EmbeddingStats)
    users: EmbeddingStats = field(default_factory=EmbeddingStats)
    interest_sources: dict[str, int] = field(default_factory=dict)
    users_without_signal: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "item_embedding": self.items.to_dict(),
            "user_text_embedding": self.users.to_dict(),
            "interest_sources": self.interest_sources,
            "users_without_signal": self.users_without_signal,
            "seconds": self.seconds,
        }


def embed_texts(
    encoder: Encoder, texts: list[str], *, batch_size: int, show_progress: bool
) -> tuple[np.ndarray, EmbeddingStats]:
    """Encode texts (empty ones become zero vectors) and report counts and truncation."""
    started = time.perf_counter()
    stats = EmbeddingStats(texts=len(texts))
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    non_empty = [i for i, text in enumerate(texts) if text.strip()]
    stats.empty_texts = len(texts) - len(non_empty)
    if non_empty:
        unique = list(dict.fromkeys(texts[i] for i in non_empty))
        stats.unique_texts = len(unique)
        stats.truncated_texts = int(np.sum(encoder.count_tokens(unique) > encoder.max_tokens))
        hits_before, misses_before = _cache_counters(encoder)
        encoded = encoder.encode(unique, batch_size=batch_size, show_progress=show_progress)
        hits_after, misses_after = _cache_counters(encoder)
        stats.cache_hits = hits_after - hits_before
        stats.encoded_texts = (
            misses_after - misses_before if isinstance(encoder, CachedEncoder) else len(unique)
        )
        row_of = {text: row for row, text in enumerate(unique)}
        vectors[non_empty] = encoded[[row_of[texts[i]] for i in non_empty]]
    stats.seconds = time.perf_counter() - started
    return vectors, stats


def _cache_counters(encoder: Encoder) -> tuple[int, int]:
    if isinstance(encoder, CachedEncoder):
        return encoder.hits, encoder.misses
    return 0, 0


class InterestLens:
    """Fit user interest vectors (and later stages) from a :class:`Dataset`.

    Parameters
    ----------
    settings:
        The typed configuration; defaults when None.
    encoder:
        An encoder to use instead of the one ``settings.encoder`` describes (tests pass a
        hashing or static encoder here). It is still wrapped by the embedding cache when
        ``settings.encoder.cache`` is on.
    show_progress:
        Progress bars for long stages (the CLI turns them on).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        encoder: Encoder | None = None,
        show_progress: bool = False,
    ):
        self.settings = settings
        self.encoder = encoder
        self.show_progress = show_progress

    # --- fitting ------------------------------------------------------------------------------

    def _settings(self) -> Settings:
        return self.settings if self.settings is not None else Settings()

    def build_encoder(self) -> Encoder:
        settings = self._settings()
        encoder = (
            self.encoder
            if self.encoder is not None
            else make_encoder(settings.encoder, seed=settings.seed)
        )
        if settings.encoder.cache:
            cache_dir = Path(settings.encoder.cache_dir).expanduser()
            encoder = CachedEncoder(encoder, EmbeddingCache(cache_dir / "embeddings.sqlite"))
        return encoder

    def fit(
        self, dataset: Dataset, *, labels_true: Mapping[str, object] | None = None
    ) -> InterestLens:
        """Run every stage on ``dataset``; ``labels_true`` (user id → known group) adds
        ARI/NMI/purity/pairwise F1 of the clustering against it."""
        settings = self._settings()
        timings: dict[str, float] = {}
        report = FitReport(dataset=dataset.summary())
        interactions = dataset.interactions

        started = time.perf_counter()
        self.item_ids_ = IdMap.from_unique(dataset.items[ITEM_ID].tolist(), kind="item")
        user_ids = IdMap(interactions[USER_ID].tolist(), kind="user")
        if dataset.users is not None:
            for user_id in dataset.users[USER_ID].tolist():
                user_ids.add(user_id)
        self.user_ids_ = user_ids
        user_idx = user_ids.indices(interactions[USER_ID])
        item_idx = self.item_ids_.indices(interactions[ITEM_ID])
        ratings = interactions[RATING].to_numpy(dtype=np.float64) if dataset.has_ratings else None
        timestamps = (
            interactions[TIMESTAMP].to_numpy(dtype=np.float64) if dataset.has_timestamps else None
        )
        self.interactions_ = pd.DataFrame(
            {
                "user_index": user_idx.astype(np.int32),
                "item_index": item_idx.astype(np.int32),
                RATING: ratings if ratings is not None else np.nan,
                TIMESTAMP: timestamps if timestamps is not None else np.nan,
            }
        )
        timings["index"] = time.perf_counter() - started

        started = time.perf_counter()
        self.item_texts_ = build_texts(
            dataset.items,
            id_col=ITEM_ID,
            columns=settings.text.item_columns,
            template=settings.text.item_template,
        )
        self.user_texts_ = self._user_texts(dataset, settings)
        timings["texts"] = time.perf_counter() - started

        encoder = self.build_encoder()
        self.encoder_id_ = encoder.identifier
        batch_size = settings.encoder.batch_size
        progress = self.show_progress and settings.encoder.show_progress
        started = time.perf_counter()
        self.item_vectors_, report.items = embed_texts(
            encoder, self.item_texts_, batch_size=batch_size, show_progress=progress
        )
        user_text_vectors, report.users = embed_texts(
            encoder, self.user_texts_, batch_size=batch_size, show_progress=progress
        )
        timings["embed"] = time.perf_counter() - started

        started = time.perf_counter()
        self.representer_ = WeightedMeanInterests(
            half_life_days=settings.interests.half_life_days,
            use_ratings=settings.interests.use_ratings,
            text_weight=settings.interests.text_weight,
        ).fit(
            user_idx,
            item_idx,
            self.item_vectors_,
            n_users=len(user_ids),
            ratings=ratings,
            timestamps=timestamps,
            user_text_vectors=user_text_vectors,
            user_has_text=np.array([bool(t.strip()) for t in self.user_texts_], dtype=bool),
        )
        self.user_vectors_ = self.representer_.vectors_
        self.user_text_vectors_ = user_text_vectors
        timings["represent"] = time.perf_counter() - started

        started = time.perf_counter()
        item_titles = (
            dataset.items["title"].astype(str).tolist() if "title" in dataset.items else None
        )
        text_columns = [c for c in dataset.items.columns if c != ITEM_ID]
        if dataset.users is not None:
            text_columns += [c for c in dataset.users.columns if c != USER_ID]
        self.clusters_ = fit_interest_clusters(
            settings=settings,
            user_ids=user_ids.ids,
            user_vectors=self.user_vectors_,
            has_signal=self.representer_.source_ != "none",
            user_texts=self.user_texts_,
            item_ids=self.item_ids_.ids,
            item_texts=self.item_texts_,
            item_titles=item_titles,
            item_vectors=self.item_vectors_,
            interactions=self.interactions_,
            text_columns=text_columns,
            labels_true=labels_true,
            show_progress=self.show_progress,
        )
        self.item_titles_ = item_titles
        timings["cluster_explain"] = time.perf_counter() - started

        self.recommender_ = None
        if settings.recommend.enabled:
            started = time.perf_counter()
            self.recommender_ = self._fit_recommender(
                encoder, user_idx, item_idx, ratings, timestamps
            )
            timings["recommender"] = time.perf_counter() - started

        report.interest_sources = self.representer_.summary()
        report.users_without_signal = user_ids.ids_of(self.representer_.users_without_signal_)
        report.seconds = timings
        self.report_ = report
        self.dataset_name_ = dataset.name
        return self

    def _fit_recommender(
        self,
        encoder: Encoder,
        user_idx: np.ndarray,
        item_idx: np.ndarray,
        ratings: np.ndarray | None,
        timestamps: np.ndarray | None,
    ) -> InterestRecommender:
        settings = self._settings()
        config = settings.recommend
        values, times = history_matrices(
            user_idx,
            item_idx,
            (len(self.user_ids_), len(self.item_ids_)),
            ratings=ratings if settings.interests.use_ratings else None,
            timestamps=timestamps,
        )
        # the recommender's text space needs the item (and user) vectors embed just computed:
        # hand them over instead of encoding (or reading the cache) a second time
        known = MemoEncoder(encoder, size=None)
        for texts, vectors in (
            (self.item_texts_, self.item_vectors_),
            (self.user_texts_, self.user_text_vectors_),
        ):
            filled = [i for i, text in enumerate(texts) if text.strip()]
            known.remember([texts[i] for i in filled], vectors[filled])
        recommender = InterestRecommender(
            known,
            tune=config.tune,
            n_clusters=tuple(config.n_clusters),
            ease_l2=config.ease_l2,
            ease_neighbours=config.ease_neighbours or None,
            ease_max_items=config.ease_max_items,
            rating_power=config.rating_power,
            mmr_lambda=config.mmr_lambda,
            random_state=settings.seed,
            show_progress=self.show_progress,
        )
        recommender.fit(
            values, item_texts=self.item_texts_, user_texts=self.user_texts_, timestamps=times
        )
        return recommender.set_encoder(encoder)  # the remembered vectors are not needed now

    def _user_texts(self, dataset: Dataset, settings: Settings) -> list[str]:
        texts = [""] * len(self.user_ids_)
        if dataset.users is None or len(dataset.users.columns) <= 1:
            return texts
        built = build_texts(
            dataset.users,
            id_col=USER_ID,
            columns=settings.text.user_columns,
            template=settings.text.user_template,
        )
        for user_id, text in zip(dataset.users[USER_ID].tolist(), built, strict=True):
            texts[self.user_ids_.index(user_id)] = text
        return texts

    def cluster_table(self) -> pd.DataFrame:
        """One row per known user: ``user_id, cluster, label, probability, source``."""
        self.check_fitted()
        clusters = self.clusters_
        table = pd.DataFrame(
            {
                "user_id": self.user_ids_.ids,
                "cluster": clusters.user_labels,
                "label": [clusters.label_of(int(c)) for c in clusters.user_labels],
            }
        )
        probability = clusters.user_probability()
        if probability is not None:
            table["probability"] = np.round(probability, 4)
        table["source"] = self.representer_.source_
        return table

    # --- persistence --------------------------------------------------------------------------

    def check_fitted(self) -> None:
        if not hasattr(self, "user_vectors_"):
            raise NotFittedError(
                "this InterestLens model is not fitted",
                expected="fit(dataset) or InterestLens.load(model_dir) first",
                fix="call fit() or load a saved model directory",
            )

    def save(self, directory: str | Path) -> Path:
        from interestlens.model_dir import save_model

        self.check_fitted()
        return save_model(self, Path(directory))

    @classmethod
    def load(cls, directory: str | Path) -> InterestLens:
        from interestlens.model_dir import load_model

        return load_model(Path(directory))
