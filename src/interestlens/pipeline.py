"""The whole job in one estimator: data → texts → vectors → user interests → clusters → …

``InterestLens.from_settings(settings)`` builds every stage the settings describe (the one
place where configuration becomes objects: :func:`representer_from_settings`,
:func:`clusterer_from_settings`, :func:`explainer_from_settings`,
:func:`recommender_from_settings`); ``InterestLens(settings, encoder=..., representer=...,
clusterer=..., explainer=..., recommender=...)`` takes any stage you give it (a test double
of :mod:`interestlens.testing`, another implementation) and builds the others from the
settings when it fits. ``fit(dataset)`` runs the stages; ``save(dir)`` hands their state to
:mod:`interestlens.model_dir`, ``InterestLens.load(dir)`` builds a model from what it reads,
without running any code from it.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from interestlens.cluster import InterestClusters, cluster_interests, make_clusterer
from interestlens.cluster.identity import ClusterSnapshot, IdentityMatch, aligned_to_previous
from interestlens.config import DriftConfig, Settings
from interestlens.data.ids import IdMap
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.embed import make_encoder
from interestlens.embed.base import Encoder
from interestlens.embed.batch import EmbeddingStats, build_encoder, embed_texts
from interestlens.embed.memo import MemoEncoder
from interestlens.errors import DataError, NotFittedError, ParameterError
from interestlens.explain import (
    ClusterEvidence,
    ClusterExplainer,
    ClusterExplanation,
    ClusterKeywords,
    ClusterNamer,
    ClusterRepresentatives,
    Explainer,
    KeywordNamer,
    KeywordScorer,
    OpenAICompatibleNamer,
)
from interestlens.model_dir import SavedModel, load_model, save_model
from interestlens.privacy import (
    manifest_record,
    pseudonymize_dataset,
    pseudonymizer_for,
    release_model_clusters,
)
from interestlens.recommend.interest import InterestRecommender
from interestlens.recommend.interest.reuse import ReusedTuning
from interestlens.recommend.matrix import history_matrices
from interestlens.represent import (
    BRIDGE_MIN_USERS,
    InterestRepresenter,
    TextInterestBridge,
    WeightedMeanInterests,
    bridge_report,
    lead_vectors,
    user_text_vectors,
)
from interestlens.text import build_texts

# --- configuration to stages: the one place ------------------------------------------------------


def representer_from_settings(settings: Settings) -> WeightedMeanInterests:
    """The represent stage ``settings.interests`` describes."""
    config = settings.interests
    return WeightedMeanInterests(
        half_life_days=config.half_life_days,
        use_ratings=config.use_ratings,
        text_weight=config.text_weight,
        bridge=TextInterestBridge() if config.bridge_text else None,
    )


def clusterer_from_settings(settings: Settings, *, show_progress: bool = False) -> Any:
    """The clusterer ``settings.cluster`` describes (reduction and k scan included)."""
    return make_clusterer(settings.cluster, settings.seed, show_progress=show_progress)


def namer_from_settings(settings: Settings) -> ClusterNamer:
    """:class:`KeywordNamer`, or the chat model of ``explain.namer = "openai"`` (its HTTP
    client built here, with the configured timeout)."""
    config = settings.explain
    if config.namer == "openai":
        return OpenAICompatibleNamer(
            config.namer_base_url,
            config.namer_model,
            api_key=config.namer_api_key,
            timeout=config.namer_timeout,
            client=httpx.Client(timeout=config.namer_timeout),
        )
    return KeywordNamer()


def explainer_from_settings(settings: Settings) -> ClusterExplainer:
    """The explain stage ``settings.explain`` describes."""
    config = settings.explain
    return ClusterExplainer(
        ClusterKeywords(
            config.top_keywords,
            scorer=KeywordScorer(config.keyword_scoring, config.keyword_prior_size),
            min_texts=config.keyword_min_texts,
            extra_stop_words=list(config.extra_stop_words),
        ),
        ClusterRepresentatives(
            top_items=config.top_items,
            top_users=config.top_users,
            min_support=config.min_support,
            min_support_share=config.min_support_share,
            central_pool=config.central_pool,
            lift_prior=config.lift_prior,
        ),
        namer_from_settings(settings),
        item_weighting=config.item_weighting,
        include_user_texts=config.include_user_texts,
    )


def reused_tuning(previous: Any, settings: Settings) -> ReusedTuning | None:
    """The earlier model's tuned choices when ``recommend.reuse_tuning`` is on (else None)."""
    if not settings.recommend.reuse_tuning or not settings.recommend.enabled:
        return None
    if not isinstance(previous, InterestLens):
        received = "no earlier model" if previous is None else type(previous).__name__
        raise ParameterError(
            f"recommend.reuse_tuning is on, but fit got {received}",
            expected="the earlier fitted or loaded InterestLens whose tuning to take",
            fix="pass it (fit(dataset, previous=model); interestlens fit --previous DIR "
            "--reuse-tuning), or turn recommend.reuse_tuning off to tune again",
        )
    recommender = getattr(previous, "recommender_", None)
    created = (getattr(previous, "manifest_", None) or {}).get("created_at")
    source = f"the model fitted {created}" if created else "the earlier model"
    if recommender is None:
        raise ParameterError(
            f"recommend.reuse_tuning is on, but {source} has no recommender",
            expected="an earlier model fitted with recommend.enabled = true",
            fix="turn recommend.reuse_tuning off to tune again",
        )
    return ReusedTuning.from_recommender(recommender, source)


def recommender_from_settings(
    settings: Settings, *, show_progress: bool = False
) -> InterestRecommender | None:
    """The recommender ``settings.recommend`` describes; None when it is off. Its encoder and
    whether user texts reveal items are set at fit time (they depend on the data)."""
    config = settings.recommend
    if not config.enabled:
        return None
    return InterestRecommender(
        tune=config.tune,
        n_clusters=tuple(config.n_clusters),
        ease_l2=config.ease_l2,
        ease_neighbours=config.ease_neighbours or None,
        ease_max_items=config.ease_max_items,
        cosine_neighbours=config.cosine_neighbours,
        rating_power=config.rating_power,
        mmr_lambda=config.mmr_lambda,
        validation=config.validation,
        reference_z=config.reference_z,
        random_state=settings.seed,
        show_progress=show_progress,
    )


@dataclass
class FitReport:
    """What ``fit`` did, for the CLI, the manifest and the HTML report."""

    dataset: dict[str, Any] = field(default_factory=dict)
    items: EmbeddingStats = field(default_factory=EmbeddingStats)
    users: EmbeddingStats = field(default_factory=EmbeddingStats)
    interest_sources: dict[str, int] = field(default_factory=dict)
    users_without_signal: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    #: the text bridge: users it learned from, and whether the first clause is weighed in
    text_bridge: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "item_embedding": self.items.to_dict(),
            "user_text_embedding": self.users.to_dict(),
            "interest_sources": self.interest_sources,
            "users_without_signal": self.users_without_signal,
            "seconds": self.seconds,
            "text_bridge": self.text_bridge,
        }


@dataclass
class Stages:
    """The stage objects one fit uses: those given to :class:`InterestLens`, the others built
    from its settings."""

    encoder: Encoder
    representer: InterestRepresenter
    clusterer: Any
    explainer: Explainer
    recommender: Any


class InterestLens:
    """Fit user interest vectors, clusters, their explanations and a recommender from a
    :class:`Dataset`.

    Parameters
    ----------
    settings:
        The typed configuration; defaults when None. Stages not given below are built from
        it when :meth:`fit` runs (:meth:`from_settings` builds them all at once).
    encoder:
        The :class:`~interestlens.embed.base.Encoder` (tests pass a hashing or static
        encoder). It is still wrapped by the embedding cache when ``settings.encoder.cache``
        is on.
    representer:
        An :class:`~interestlens.represent.InterestRepresenter` (e.g.
        :class:`~interestlens.represent.StaticInterests`, the test double).
    clusterer:
        A :class:`~interestlens.cluster.base.Clusterer`; an unfitted copy is fitted.
        ``settings.cluster`` still sets the stability runs and the multi-interest membership.
    explainer:
        An :class:`~interestlens.explain.Explainer` (default :class:`~interestlens.explain.
        ClusterExplainer` from ``settings.explain``).
    recommender:
        A recommender (``fit(interactions, *, item_texts, user_texts, ...)``, e.g.
        :class:`~interestlens.recommend.interest.InterestRecommender`); fit passes it the
        extra inputs its ``fit`` accepts and its ``encoder`` when it has one.
    show_progress:
        Progress bars for long stages (the CLI turns them on).

    Like a scikit-learn ``Pipeline``, fit fits the given stage objects in place; what it
    learned is in the attributes ending in ``_`` (``representer_``, ``clusters_``,
    ``recommender_`` ...).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        encoder: Encoder | None = None,
        representer: InterestRepresenter | None = None,
        clusterer: Any = None,
        explainer: Explainer | None = None,
        recommender: Any = None,
        show_progress: bool = False,
    ):
        self.settings = settings
        self.encoder = encoder
        self.representer = representer
        self.clusterer = clusterer
        self.explainer = explainer
        self.recommender = recommender
        self.show_progress = show_progress

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        encoder: Encoder | None = None,
        show_progress: bool = False,
    ) -> InterestLens:
        """Every stage ``settings`` describes, built now (``encoder``: use this one instead);
        fitting it gives the same model as ``InterestLens(settings)``."""
        settings = settings if settings is not None else Settings()
        return cls(
            settings,
            encoder=encoder
            if encoder is not None
            else make_encoder(settings.encoder, seed=settings.seed),
            representer=representer_from_settings(settings),
            clusterer=clusterer_from_settings(settings, show_progress=show_progress),
            explainer=explainer_from_settings(settings),
            recommender=recommender_from_settings(settings, show_progress=show_progress),
            show_progress=show_progress,
        )

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The settings and stages given to ``__init__``, unchanged (``deep`` is accepted for
        scikit-learn's sake; the stages' own settings are theirs to report)."""
        return {
            name: getattr(self, name)
            for name in inspect.signature(type(self).__init__).parameters
            if name != "self"
        }

    # --- fitting ------------------------------------------------------------------------------

    @property
    def active_settings(self) -> Settings:
        """The settings in use: those given, else the defaults."""
        return self.settings if self.settings is not None else Settings()

    def align_to(self, previous: Any, config: DriftConfig | None = None) -> IdentityMatch:
        """Give this model's clusters the ids (and labels) of ``previous`` (a fitted model or a
        :class:`~interestlens.cluster.identity.ClusterSnapshot`) where they match
        (:mod:`interestlens.cluster.identity`); thresholds from ``config``, default
        ``settings.drift``. Returns the match, also kept as ``identity_``."""
        self.check_fitted()
        config = config if config is not None else self.active_settings.drift
        self.clusters_, self.identity_ = aligned_to_previous(self, previous, config)
        return self.identity_

    def build_encoder(self) -> Encoder:
        """The encoder fit uses: the given one (else the configured one), behind the embedding
        cache when ``settings.encoder.cache`` is on."""
        return build_encoder(self.active_settings, self.encoder)

    def stages(self) -> Stages:
        """The stage objects a fit uses now: the given ones, the others from the settings."""
        settings = self.active_settings
        progress = self.show_progress
        return Stages(
            encoder=self.build_encoder(),
            representer=self.representer
            if self.representer is not None
            else representer_from_settings(settings),
            clusterer=self.clusterer
            if self.clusterer is not None
            else clusterer_from_settings(settings, show_progress=progress),
            explainer=self.explainer
            if self.explainer is not None
            else explainer_from_settings(settings),
            recommender=self.recommender
            if self.recommender is not None
            else recommender_from_settings(settings, show_progress=progress),
        )

    def fit(
        self,
        dataset: Dataset,
        *,
        labels_true: Mapping[str, object] | None = None,
        previous: InterestLens | ClusterSnapshot | None = None,
        tuning_from: InterestLens | None = None,
        ids_are_pseudonyms: bool = False,
    ) -> InterestLens:
        """Run every stage on ``dataset``; ``labels_true`` (user id → known group) adds
        ARI/NMI/purity/pairwise F1 of the clustering against it. ``previous`` (a fitted model
        or its :class:`~interestlens.timeline.ClusterSnapshot`) keeps its cluster ids and labels
        where the new clusters match its own (:mod:`interestlens.cluster.identity`). With
        ``recommend.reuse_tuning`` the recommender takes the tuned choices of ``tuning_from``
        (default: ``previous``, when it is a model) instead of searching them again. With
        ``privacy.pseudonymize`` the user ids are replaced by their pseudonyms first, unless
        ``ids_are_pseudonyms`` says the dataset holds pseudonyms already (a refit)."""
        settings = self.active_settings
        # checked before any work: a missing earlier model fails now, not after the embedding
        reuse = reused_tuning(previous if tuning_from is None else tuning_from, settings)
        pseudonymizer = pseudonymizer_for(settings.privacy)
        if pseudonymizer is not None and not ids_are_pseudonyms:
            dataset, labels_true = pseudonymize_dataset(dataset, pseudonymizer, labels_true)
        self.privacy_ = manifest_record(pseudonymizer, settings.privacy)
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

        stages = self.stages()
        encoder = stages.encoder
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
        user_has_text = np.array([bool(t.strip()) for t in self.user_texts_], dtype=bool)
        user_leads = None
        if self._may_weigh_lead_clause(settings, user_idx, user_has_text):
            user_leads = lead_vectors(
                encoder,
                self.user_texts_,
                user_text_vectors,
                batch_size=batch_size,
                show_progress=progress,
            )
        timings["embed"] = time.perf_counter() - started

        started = time.perf_counter()
        self.representer_ = stages.representer.fit(
            user_idx,
            item_idx,
            self.item_vectors_,
            n_users=len(user_ids),
            ratings=ratings,
            timestamps=timestamps,
            user_text_vectors=user_text_vectors,
            user_has_text=user_has_text,
            user_lead_vectors=user_leads,
        )
        self.user_vectors_ = self.representer_.vectors_
        # the text vectors the users were placed with (first clause weighed in where chosen)
        self.user_text_vectors_ = getattr(self.representer_, "text_vectors_", user_text_vectors)
        report.text_bridge = bridge_report(self.representer_)
        timings["represent"] = time.perf_counter() - started

        started = time.perf_counter()
        self.item_titles_ = (
            dataset.items["title"].astype(str).tolist() if "title" in dataset.items else None
        )
        self.clusters_ = self._cluster_and_explain(
            dataset, stages, settings, labels_true=labels_true
        )
        self.identity_ = None
        if previous is not None:
            self.align_to(previous)
        timings["cluster_explain"] = time.perf_counter() - started
        self.privacy_release_ = release_model_clusters(
            settings.privacy, self.user_vectors_, self.clusters_, self.item_vectors_
        )

        self.recommender_ = None
        if stages.recommender is not None:
            started = time.perf_counter()
            reveals = config_reveals = settings.recommend.user_text_reveals_items
            if config_reveals is None:
                reveals = dataset.notes.get("user_text_source") == "interactions"
            self.recommender_ = self._fit_recommender(
                stages.recommender,
                encoder,
                user_idx,
                item_idx,
                ratings,
                timestamps,
                user_text_vectors=user_text_vectors,
                user_text_reveals_items=bool(reveals),
                users=dataset.users,
                reuse_tuning=reuse,
            )
            timings["recommender"] = time.perf_counter() - started

        report.interest_sources = self.representer_.summary()
        report.users_without_signal = user_ids.ids_of(self.representer_.users_without_signal_)
        report.seconds = timings
        self.report_ = report
        self.dataset_name_ = dataset.name
        return self

    @staticmethod
    def _may_weigh_lead_clause(
        settings: Settings, user_idx: np.ndarray, user_has_text: np.ndarray
    ) -> bool:
        """Whether fit should encode the first clause of each user text: only when the bridge
        is on and has enough users with both text and a history to learn from."""
        if not (settings.interests.bridge_text and settings.interests.lead_clause):
            return False
        has_history = np.bincount(user_idx, minlength=len(user_has_text)) > 0
        return int(np.sum(has_history & user_has_text)) >= BRIDGE_MIN_USERS

    def _cluster_and_explain(
        self,
        dataset: Dataset,
        stages: Stages,
        settings: Settings,
        *,
        labels_true: Mapping[str, object] | None,
    ) -> InterestClusters:
        """Cluster the users' interest vectors, then explain the clusters."""
        representer = self.representer_
        has_signal = representer.source_ != "none"
        clusters = cluster_interests(
            self.user_vectors_,
            has_signal,
            config=settings.cluster,
            seed=settings.seed,
            clusterer=stages.clusterer,
            user_ids=self.user_ids_.ids,
            item_vectors=self.item_vectors_,
            interactions=self.interactions_,
            half_life_days=settings.interests.half_life_days,
            labels_true=labels_true,
            show_progress=self.show_progress,
            fit_mask=representer.has_history_ if settings.cluster.fit_on_behaviour else None,
        )
        # column names that templated texts repeat ("genres: ...") are never keywords
        template_words = [c for c in dataset.items.columns if c != ITEM_ID]
        if dataset.users is not None:
            template_words += [c for c in dataset.users.columns if c != USER_ID]
        rating = self.interactions_[RATING].to_numpy(dtype=np.float64)
        evidence = ClusterEvidence(
            user_ids=list(self.user_ids_.ids),
            item_ids=list(self.item_ids_.ids),
            user_idx=self.interactions_["user_index"].to_numpy(),
            item_idx=self.interactions_["item_index"].to_numpy(),
            rating=None if np.isnan(rating).all() else rating,
            user_texts=list(self.user_texts_),
            item_texts=list(self.item_texts_),
            item_titles=self.item_titles_,
            item_vectors=self.item_vectors_,
            template_words=template_words,
        )
        explanations = stages.explainer.explain(
            clusters.user_labels,
            self.user_vectors_,
            evidence,
            centroids=clusters.centroids_by_label(),
        )
        return replace(clusters, explanations=list(explanations))

    def _fit_recommender(
        self,
        recommender: Any,
        encoder: Encoder,
        user_idx: np.ndarray,
        item_idx: np.ndarray,
        ratings: np.ndarray | None,
        timestamps: np.ndarray | None,
        *,
        user_text_vectors: np.ndarray,
        user_text_reveals_items: bool = False,
        users: pd.DataFrame | None = None,
        reuse_tuning: ReusedTuning | None = None,
    ) -> Any:
        settings = self.active_settings
        config = settings.recommend
        values, times = history_matrices(
            user_idx,
            item_idx,
            (len(self.user_ids_), len(self.item_ids_)),
            ratings=ratings if settings.interests.use_ratings else None,
            timestamps=timestamps,
        )
        # the recommender's text space needs the item (and user) vectors embed just computed:
        # hand them over instead of encoding (or reading the cache) a second time. The users'
        # are the plain vectors of their texts (``user_text_vectors``): the encoder's answer
        # for those texts, which is what the recommender gets for new text when it serves
        known = MemoEncoder(encoder, size=None)
        for texts, vectors in (
            (self.item_texts_, self.item_vectors_),
            (self.user_texts_, user_text_vectors),
        ):
            filled = [i for i, text in enumerate(texts) if text.strip()]
            known.remember([texts[i] for i in filled], vectors[filled])
        params = recommender.get_params(deep=False) if hasattr(recommender, "get_params") else {}
        changes = {
            name: value
            for name, value in (
                ("encoder", known),
                ("user_text_reveals_items", user_text_reveals_items),
                ("reuse_tuning", reuse_tuning),
            )
            if name in params
        }
        if reuse_tuning is not None and "reuse_tuning" not in params:
            raise ParameterError(
                f"recommend.reuse_tuning is on, but {type(recommender).__name__} takes no "
                "reused tuning",
                expected="the built-in InterestRecommender",
                fix="turn recommend.reuse_tuning off for this recommender",
            )
        if changes:
            recommender.set_params(**changes)
        extras = {
            "timestamps": times,
            # one meaning of "interest cluster": the recommender scores with the explained ones
            "user_clusters": self.clusters_.user_labels if config.use_interest_clusters else None,
            # attribute columns of the users file (age band, occupation ...), row per user
            "user_attributes": None
            if users is None
            else users.drop_duplicates(USER_ID).set_index(USER_ID).reindex(self.user_ids_.ids),
        }
        accepted = inspect.signature(recommender.fit).parameters
        recommender.fit(
            values,
            item_texts=self.item_texts_,
            user_texts=self.user_texts_,
            **{name: value for name, value in extras.items() if name in accepted},
        )
        if hasattr(recommender, "set_encoder"):
            recommender.set_encoder(encoder)  # the remembered vectors are not needed now
        return recommender

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
        """One row per known user: ``user_id, cluster, label[, probability], source,
        placed_by[, confidence]``. ``placed_by``: ``fit`` (the clusterer was fitted on them),
        ``predict`` (known only by text: assigned through the text bridge) or ``none``."""
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
        table["placed_by"] = clusters.placed_by()
        if clusters.confidence is not None:
            table["confidence"] = np.round(clusters.confidence, 4)
        return table

    # --- placing users ----------------------------------------------------------------------

    def transform(self, users: Sequence[str] | pd.DataFrame, *, encoder: Encoder | None = None):
        """Interest vectors ``(n, d)`` of ``users``.

        ``users``: known user ids (their fitted vectors), or a frame with any of the columns
        ``user_id`` (a known user: their fitted vector, unless the row brings its own text or
        items), ``text`` (what the person wrote), ``items`` (a list of item ids they interacted
        with), ``ratings`` and ``timestamps`` (lists aligned with ``items``). A row with items is
        the rating- and recency-weighted mean of their vectors (blended with the text); a row
        with text only goes through the text bridge (:class:`~interestlens.represent.
        TextInterestBridge`). ``encoder``: for texts, default the model's own (built on first
        use). A row with nothing gives a zero vector.
        """
        self.check_fitted()
        if not isinstance(users, pd.DataFrame):
            ids = list(users)
            return self.user_vectors_[self.user_ids_.indices(pd.Series(ids, dtype=object))]
        rows = users.reset_index(drop=True)
        texts = rows["text"].fillna("").astype(str).tolist() if "text" in rows else None
        text_vectors: np.ndarray | None = None
        if texts is not None and any(t.strip() for t in texts):
            text_vectors = self.user_text_vectors(texts, encoder=encoder)
        out = np.zeros((len(rows), self.user_vectors_.shape[1]), dtype=np.float32)
        for position in range(len(rows)):
            items = _listed(rows, "items", position)
            text_vector = None if text_vectors is None else text_vectors[position]
            has_text = text_vector is not None and bool(np.linalg.norm(text_vector) > 0)
            user_id = rows.at[position, "user_id"] if "user_id" in rows else None
            if not items and not has_text and user_id is not None and not pd.isna(user_id):
                out[position] = self.user_vectors_[self.user_ids_.index(str(user_id))]
                continue
            item_idx = self.item_ids_.indices(pd.Series(items, dtype=object)) if items else []
            ratings = _listed(rows, "ratings", position)
            timestamps = _listed(rows, "timestamps", position)
            out[position] = self.representer_.transform_one(
                np.asarray(item_idx, dtype=np.int64),
                self.item_vectors_,
                ratings=np.asarray(ratings, dtype=np.float64) if ratings else None,
                timestamps=np.asarray(timestamps, dtype=np.float64) if timestamps else None,
                text_vector=text_vector,
            )
        return out

    def assign(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest interest cluster of each vector (-1 for a zero vector) and the confidence:
        the softmax share of that cluster over the cosines to every centroid."""
        self.check_fitted()
        return self.clusters_.assign(vectors)

    def predict(
        self, users: Sequence[str] | pd.DataFrame, *, encoder: Encoder | None = None
    ) -> pd.DataFrame:
        """Interest cluster of each of ``users`` (as :meth:`transform` takes them):
        ``cluster, label, confidence, placed_by``. Known users keep the cluster they were given
        at fit time (``placed_by`` ``fit`` or ``predict``); new rows are assigned now
        (``history``, ``text`` through the bridge, or ``history+text``)."""
        self.check_fitted()
        frame = users if isinstance(users, pd.DataFrame) else pd.DataFrame({"user_id": list(users)})
        frame = frame.reset_index(drop=True)
        labels, confidence = self.assign(self.transform(frame, encoder=encoder))
        # as transform reads them: a missing text (None, NaN) is no text
        texts = frame["text"].fillna("").astype(str) if "text" in frame else None
        placed_by = []
        for position in range(len(frame)):
            items = bool(_listed(frame, "items", position))
            text = texts is not None and texts.iat[position].strip() != ""
            placed_by.append(
                "history+text"
                if items and text
                else "history"
                if items
                else "text"
                if text
                else "none"
            )
        known = [
            position
            for position in range(len(frame))
            if placed_by[position] == "none"
            and "user_id" in frame
            and not pd.isna(frame.at[position, "user_id"])
        ]
        if known:
            index = self.user_ids_.indices(frame.loc[known, "user_id"].astype(str))
            labels[known] = self.clusters_.user_labels[index]
            if self.clusters_.confidence is not None:
                confidence[known] = self.clusters_.confidence[index]
            fitted = self.clusters_.placed_by()[index]
            for position, how in zip(known, fitted, strict=True):
                placed_by[position] = how
        result = pd.DataFrame(
            {
                "cluster": labels,
                "label": [self.clusters_.label_of(int(c)) for c in labels],
                "confidence": np.round(confidence, 4),
                "placed_by": placed_by,
            }
        )
        if "user_id" in frame:
            result.insert(0, "user_id", frame["user_id"].to_numpy())
        return result

    # --- read by the recommendation engine (interestlens.engine) ------------------------------

    def user_clusters(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Each known user's cluster id (-1: none), membership in it (None when the clusterer
        gives none; NaN for users in none) and the source of their interest vector
        (``history``, ``text``, ``blend`` or ``none``): copies, the caller may change them."""
        self.check_fitted()
        probability = self.clusters_.user_probability()
        return (
            np.asarray(self.clusters_.user_labels, dtype=np.int64).copy(),
            None if probability is None else np.asarray(probability, dtype=np.float32).copy(),
            np.asarray(self.representer_.source_, dtype=object).copy(),
        )

    def cluster_label(self, cluster: int) -> str:
        """The label of an interest cluster (``cluster N`` unexplained, ``no signal`` for -1)."""
        self.check_fitted()
        return self.clusters_.label_of(int(cluster))

    def cluster_explanations(self) -> list[ClusterExplanation]:
        """Label, keywords and central items of each interest cluster."""
        self.check_fitted()
        return list(self.clusters_.explanations)

    def interest_vector(
        self,
        items: np.ndarray,
        *,
        item_vectors: np.ndarray | None = None,
        ratings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        text_vector: np.ndarray | None = None,
    ) -> np.ndarray:
        """Interest vector of one history given by item indices (as :meth:`transform` places a
        row with items and text). ``item_vectors``: default the fitted items' vectors; pass a
        longer array when items were added after fitting; ``text_vector``: an embedded text."""
        self.check_fitted()
        vectors = self.item_vectors_ if item_vectors is None else item_vectors
        items = np.asarray(items, dtype=np.int64).ravel()
        outside = items[(items < 0) | (items >= len(vectors))]
        if outside.size:
            raise ParameterError(
                f"item index {int(outside[0])} is outside the {len(vectors)} item vectors",
                expected=f"item indices in [0, {len(vectors)})",
                fix="map item ids with item_ids_ (or pass the longer item_vectors)",
            )
        for name, values in (("ratings", ratings), ("timestamps", timestamps)):
            if values is not None and len(values) != len(items):
                raise ParameterError(
                    f"{len(values)} {name} for {len(items)} items",
                    expected=f"one of {name} per item, or None",
                    fix=f"align {name} with items",
                )
        return self.representer_.transform_one(
            items, vectors, ratings=ratings, timestamps=timestamps, text_vector=text_vector
        )

    def user_text_vectors(
        self, texts: Sequence[str], *, encoder: Encoder | None = None
    ) -> np.ndarray:
        """Vectors of what people wrote, as this model places users' own text: each text's
        vector, with its first clause weighed in where the fit chose that (the fit summary's
        text bridge line). ``encoder``: default the model's own. Empty texts give zero rows."""
        self.check_fitted()
        encoder = encoder if encoder is not None else self._text_encoder()
        return user_text_vectors(
            encoder, texts, lead_weight=float(getattr(self.representer_, "lead_weight_", 0.0))
        )

    def _text_encoder(self) -> Encoder:
        encoder = getattr(self, "_encoder_for_text", None)
        if encoder is None:
            encoder = self.build_encoder()
            self._encoder_for_text = encoder
        return encoder

    # --- persistence --------------------------------------------------------------------------

    def check_fitted(self) -> None:
        if not hasattr(self, "user_vectors_"):
            raise NotFittedError(
                "this InterestLens model is not fitted",
                expected="fit(dataset) or InterestLens.load(model_dir) first",
                fix="call fit() or load a saved model directory",
            )

    def save(self, directory: str | Path) -> Path:
        """Write the model directory (:mod:`interestlens.model_dir`) atomically; the path."""
        self.check_fitted()
        if not hasattr(self.representer_, "state"):
            raise ParameterError(
                f"the representer {type(self.representer_).__name__} has no state() to save",
                expected="a representer that saves, such as WeightedMeanInterests",
                fix="fit with the configured representer to save the model",
            )
        saved = SavedModel(
            settings=self.active_settings,
            dataset_name=self.dataset_name_,
            encoder_id=self.encoder_id_,
            fit_report=self.report_.to_dict(),
            item_ids=self.item_ids_,
            user_ids=self.user_ids_,
            item_vectors=self.item_vectors_,
            user_text_vectors=self.user_text_vectors_,
            item_texts=self.item_texts_,
            user_texts=self.user_texts_,
            interactions=self.interactions_,
            item_titles=self.item_titles_,
            represent=self.representer_.state(),
            clusters=self.clusters_,
            privacy=getattr(self, "privacy_", None),
            privacy_release=getattr(self, "privacy_release_", None),
            recommender=self.recommender_,
        )
        return save_model(saved, Path(directory))

    @classmethod
    def load(cls, directory: str | Path, *, mmap: bool = False) -> InterestLens:
        """The model saved in ``directory``, verified first; nothing in it is executed.
        ``mmap``: its large read-only arrays stay in their files, memory-mapped (processes
        that serve one model share them)."""
        saved = load_model(Path(directory), mmap=mmap)
        model = cls(saved.settings)
        model._restore(saved)
        return model

    def _restore(self, saved: SavedModel) -> None:
        settings = self.active_settings
        configured = representer_from_settings(settings)
        represent_meta, represent_arrays = saved.represent
        self.representer_ = WeightedMeanInterests.from_state(
            {
                "half_life_days": configured.half_life_days,
                "use_ratings": configured.use_ratings,
                "text_weight": configured.text_weight,
                **represent_meta,
            },
            represent_arrays,
        )
        self.item_ids_, self.user_ids_ = saved.item_ids, saved.user_ids
        self.item_vectors_ = saved.item_vectors
        self.user_vectors_ = self.representer_.vectors_
        self.user_text_vectors_ = saved.user_text_vectors
        self.item_texts_, self.user_texts_ = saved.item_texts, saved.user_texts
        self.interactions_ = saved.interactions
        self.item_titles_ = saved.item_titles
        self.encoder_id_ = saved.encoder_id
        self.dataset_name_ = saved.dataset_name
        self.report_ = FitReport(dataset=saved.fit_report.get("dataset", {}))
        self.clusters_ = saved.clusters
        self.privacy_ = saved.privacy
        self.privacy_release_ = saved.privacy_release
        self.recommender_ = saved.recommender
        self.manifest_ = saved.manifest


def _listed(frame: pd.DataFrame, column: str, position: int) -> list:
    """The list in ``frame[column]`` at ``position`` ([] when the column or value is absent)."""
    if column not in frame:
        return []
    value = frame.at[position, column]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        raise DataError(
            f"{column}={value!r} in row {position} is a string",
            expected=f"a list in the {column!r} column (e.g. ['i1', 'i2'])",
            fix=f"give {column} as a Python list per row",
        )
    return list(value)
