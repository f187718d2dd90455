"""The interest-cluster recommender: interest clusters, text and collaborative signals, blended.

See :class:`InterestRecommender`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from interestlens.embed.base import Encoder, l2_normalise
from interestlens.embed.hashing import HashingEncoder
from interestlens.errors import ModelFormatError, ParameterError
from interestlens.recommend.attribute_popularity import AttributePopularity, attribute_columns
from interestlens.recommend.base import (
    HISTORY,
    TEXT,
    BaseRecommender,
    as_interaction_matrix,
    check_is_fitted,
    checked_texts,
    top_k,
)
from interestlens.recommend.interest.blend import blend, mmr_rerank
from interestlens.recommend.interest.budget import validation_users
from interestlens.recommend.interest.cluster_affinity import ClusterAffinity, affinity_from_counts
from interestlens.recommend.interest.collaborative import COSINE_NEIGHBOURS, EASE_MAX_ITEMS
from interestlens.recommend.interest.components import (
    COMPONENTS,
    REFERENCES,
    TEXT_COMPONENTS,
    CoreSettings,
    InterestCore,
    Query,
)
from interestlens.recommend.interest.history import (
    aligned_times,
    check_times_cover,
    checked_history,
    checked_user_indices,
    latest,
    rating_weights,
    recency,
)
from interestlens.recommend.interest.reasons import (
    checked_labels,
    checked_names,
    item_names,
    most_similar_rated,
    most_similar_rated_many,
    reason,
)
from interestlens.recommend.interest.reuse import ReusedTuning
from interestlens.recommend.interest.search import (
    REFERENCE_Z,
    CarveSettings,
    SearchSpace,
    tune_regime,
)
from interestlens.recommend.interest.settings import (
    ANCHORS,
    REGIME_REFERENCES,
    SMALL_DATA,
    check_settings,
    cluster_candidates,
    half_life_candidates,
    regimes_to_tune,
    start_weights,
)
from interestlens.recommend.interest.state_format import (
    ATTRIBUTES_PREFIX,
    FIT_AGAIN,
    FORMAT,
    LATER_PARAMS,
    LEARNED,
    UNSAVED_PARAMS,
    VERSION,
    check_arrays,
    check_format,
    entry,
    plain,
    plain_value,
    shapes_of,
)
from interestlens.recommend.interest.text_space import TextSpace, check_encoder
from interestlens.recommend.interest.tuning import (
    COLD_ITEMS,
    COLD_TEXT,
    COLD_USERS,
    REGIMES,
    WARM,
)
from interestlens.recommend.top_items import check_index_array


def query_rows(query: Query, rows: np.ndarray) -> Query:
    """The users ``rows`` of ``query``."""
    return Query(
        query.history[rows],
        None if query.text_dense is None else query.text_dense[rows],
        None if query.text_lexical is None else query.text_lexical[rows],
        None if query.reference_time is None else query.reference_time[rows],
        None if query.observed is None else query.observed[rows],
        None if query.attributes is None else query.attributes.iloc[rows].reset_index(drop=True),
    )


def checked_attributes(
    attributes: pd.DataFrame | None, n_rows: int, columns: Sequence[str] | None = None
) -> pd.DataFrame | None:
    """The attribute columns of ``attributes`` (one row per user), or None when it has none.

    ``columns``: those a fitted model reads (missing ones are an error); None chooses them
    (:func:`~interestlens.recommend.attribute_popularity.attribute_columns`).
    """
    if attributes is None:
        return None
    if not isinstance(attributes, pd.DataFrame) or len(attributes) != n_rows:
        got = len(attributes) if isinstance(attributes, pd.DataFrame) else type(attributes)
        raise ParameterError(
            f"user attributes: {got} rows",
            expected=f"a DataFrame with one attribute row per user ({n_rows})",
            fix="align the users table with the users scored (reindex it by their ids)",
        )
    frame = attributes.reset_index(drop=True)
    if columns is None:
        columns, _ = attribute_columns(frame)
        if not columns:
            return None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(
            f"user attributes lack the columns {missing}",
            expected=f"the attribute columns the model was fitted with: {list(columns)}",
            fix="pass rows with those columns (unknown values may be None)",
        )
    return frame[list(columns)].astype(object)


class InterestRecommender(BaseRecommender):
    """Blends per-user-normalised signals about who the user is like and what they read.

    Components (see :mod:`interestlens.recommend.interest.components`): ``collaborative`` (EASE,
    ``ease_l2``; ``ease_neighbours=n`` keeps the ``n`` largest weights per item, sparse, for a
    model a tenth the size; None or 0 keeps the dense matrix; above ``ease_max_items`` items
    with interactions, item-item cosine with ``cosine_neighbours`` (default 256) neighbours per
    item replaces EASE, whose cost grows with the cube of the items), ``factors`` (PureSVD,
    ``n_factors``), ``affinity`` (the item's lift in the user's interest clusters: shrunk by
    ``cluster_shrinkage``, rating-aware, averaged over a soft membership of the
    ``top_clusters`` nearest clusters), ``semantic`` (dense text
    vectors from ``encoder``, default the weight-free :class:`HashingEncoder`), ``lexical``
    (TF-IDF), ``popularity`` and ``trend`` (popularity around the user's time, within
    ``trend_window``; needs times). Each becomes a per-user z-score over the warm items; the
    score is their weighted sum, with one set of weights per regime: ``warm`` (known users),
    ``cold_users`` (users scored by :meth:`score_new`) and ``cold_items`` (items without
    interactions, whose components come from text: neighbours, a ridge mapping to
    collaborative factors and a popularity prior, see :mod:`.coldstart`).

    Tuning (``tune``: True for every regime, False for none, or a list of regimes) carves
    validation parts out of the matrix given to ``fit`` (never a test split, see
    :mod:`.tuning`) and searches the weights by coordinate ascent on NDCG@10, starting from
    the regime's anchor alone (``collaborative``, or ``popularity`` for cold items); another
    component only gets weight for a significant paired gain over the validation users
    (:func:`.blend.coordinate_ascent`). ``warm`` also picks ``half_life`` (recency; needs
    times) and the first tuned regime picks ``n_clusters`` among the candidates. Small data
    (and the cold-item regime) average ``validation_repeats`` carves (default: 3 there, else
    1). Untuned regimes use ``weights`` or :data:`DEFAULT_WEIGHTS`. The chosen values are in
    ``weights_``, ``n_clusters_``, ``half_life_`` and the search in ``tuning_``.
    ``reuse_tuning`` (a :class:`.reuse.ReusedTuning`, e.g. from an earlier fit's model) takes
    those choices instead of searching them: a refit that only fits the components. Users' own
    texts never enter validation (reviews of held-out items would leak); they join the
    profiles with ``text_weight``.

    Times: give each training interaction's time (``timestamps`` in :meth:`fit`, or
    ``interaction_times`` here for callers such as ``evaluate_models`` that pass only the
    matrix); a history entry then weighs ``0.5 ** (position / half_life)``, position 0 being
    the user's latest interaction, and ``trend`` becomes available. Ratings: an entry weighs
    ``(value / max value) ** rating_power`` (1 for binary data; non-positive values drop out).

    New users (:meth:`score_new`): history and/or text. A text-only user gets a pseudo-history
    of the ``pseudo_history`` items closest to the text, so every component applies.
    ``mmr_lambda < 1`` re-ranks :meth:`recommend` lists by maximal marginal relevance over
    the best ``mmr_pool`` items. :meth:`explain` gives a short reason per recommendation.

    Serving: :meth:`state` / :meth:`from_state` (saved and loaded as a directory of JSON and
    ``.npy``/``.npz`` files, no pickle, by :func:`interestlens.model_dir.write_recommender` /
    :func:`~interestlens.model_dir.read_recommender`), :meth:`add_items` (new catalogue
    entries from text), :meth:`score_histories` (histories given at query time, scored as
    known users) and :meth:`most_similar_item`.
    """

    new_user_inputs: ClassVar[frozenset[str]] = frozenset({HISTORY, TEXT})
    handles_cold_items: ClassVar[bool] = True
    #: fit takes ``user_attributes`` and score_new ``attributes`` (the evaluation runner and
    #: the pipeline pass them when the users table has attribute columns)
    reads_attributes: ClassVar[bool] = True

    def __init__(
        self,
        encoder: Encoder | None = None,
        *,
        weights: Mapping[str, Mapping[str, float]] | None = None,
        tune: bool | Sequence[str] = True,
        n_clusters: int | Sequence[int] = (8, 16, 32),
        cluster_shrinkage: float = 50.0,
        top_clusters: int = 3,
        membership_temperature: float = 0.05,
        ease_l2: float = 250.0,
        ease_neighbours: int | None = None,
        ease_max_items: int = EASE_MAX_ITEMS,
        cosine_neighbours: int = COSINE_NEIGHBOURS,
        n_factors: int = 64,
        half_life: float | Sequence[float | None] | None = (None, 5.0, 10.0, 20.0),
        rating_power: float = 1.0,
        text_weight: float = 0.3,
        text_neighbours: int = 20,
        trend_window: float = 0.05,
        pseudo_history: int = 20,
        mmr_lambda: float = 1.0,
        mmr_pool: int = 100,
        validation_fraction: float = 0.2,
        cold_user_history: int = 3,
        cold_item_fraction: float = 0.2,
        max_validation_users: int = 2000,
        validation_repeats: int | None = None,
        validation: str = "temporal",
        reference_z: float = REFERENCE_Z,
        user_text_reveals_items: bool = False,
        reuse_tuning: ReusedTuning | None = None,
        interaction_times: sp.csr_matrix | None = None,
        random_state: int = 0,
        show_progress: bool = False,
    ):
        self.encoder = encoder
        self.weights = weights
        self.tune = tune
        self.n_clusters = n_clusters
        self.cluster_shrinkage = cluster_shrinkage
        self.top_clusters = top_clusters
        self.membership_temperature = membership_temperature
        self.ease_l2 = ease_l2
        self.ease_neighbours = ease_neighbours
        self.ease_max_items = ease_max_items
        self.cosine_neighbours = cosine_neighbours
        self.n_factors = n_factors
        self.half_life = half_life
        self.rating_power = rating_power
        self.text_weight = text_weight
        self.text_neighbours = text_neighbours
        self.trend_window = trend_window
        self.pseudo_history = pseudo_history
        self.mmr_lambda = mmr_lambda
        self.mmr_pool = mmr_pool
        self.validation_fraction = validation_fraction
        self.cold_user_history = cold_user_history
        self.cold_item_fraction = cold_item_fraction
        self.max_validation_users = max_validation_users
        self.validation_repeats = validation_repeats
        self.validation = validation
        self.reference_z = reference_z
        self.user_text_reveals_items = user_text_reveals_items
        self.reuse_tuning = reuse_tuning
        self.interaction_times = interaction_times
        self.random_state = random_state
        self.show_progress = show_progress

    # --- fitting ---------------------------------------------------------------------------

    def fit(
        self,
        interactions: sp.csr_matrix,
        *,
        item_texts: Sequence[str] | None = None,
        user_texts: Sequence[str] | None = None,
        timestamps: sp.csr_matrix | None = None,
        user_clusters: np.ndarray | None = None,
        user_attributes: pd.DataFrame | None = None,
    ) -> Self:
        """Fit on ``interactions`` (binary, counts or ratings); ``timestamps``: the time of each
        interaction (same shape, same stored entries; overrides ``interaction_times``).

        ``user_clusters``: the interest clusters people see (one per user, -1 for none, e.g.
        ``InterestLens.clusters_.user_labels``); the cluster component then scores with them
        (``n_clusters`` is not searched) instead of clusters of its own.

        ``user_attributes``: one row per user of the matrix (e.g. age band, gender,
        occupation; free-text and id-like columns are left out, see
        :func:`~interestlens.recommend.attribute_popularity.attribute_columns`); they give the
        ``attribute_popularity`` component, a reference new users' blends must beat.
        """
        self._fit_timestamps = timestamps if timestamps is not None else self.interaction_times
        self._fit_user_clusters = user_clusters
        self._fit_user_attributes = user_attributes
        try:
            return super().fit(interactions, item_texts=item_texts, user_texts=user_texts)
        finally:
            del self._fit_timestamps, self._fit_user_clusters, self._fit_user_attributes

    def _fit(self, interactions, item_texts, user_texts) -> None:
        settings = check_settings(self)
        times = aligned_times(interactions, self._fit_timestamps)
        self.max_value_ = float(interactions.data.max()) if interactions.nnz else 1.0
        weights = rating_weights(interactions, self.max_value_, self.rating_power)
        self.text_ = None
        if item_texts is not None and any(text.strip() for text in item_texts):
            self.text_ = TextSpace(self._encoder(), random_state=self.random_state).fit(item_texts)
        self.item_names_ = item_names(item_texts, interactions.shape[1])
        self.user_text_ = None
        if user_texts is not None and self.text_ is not None:
            self.user_text_ = self.text_.encode_users(user_texts)

        self.user_clusters_ = None
        if self._fit_user_clusters is not None:
            self.user_clusters_ = np.asarray(self._fit_user_clusters, dtype=np.int64)
            if self.user_clusters_.shape != (interactions.shape[0],):
                raise ParameterError(
                    f"user_clusters has shape {self.user_clusters_.shape}",
                    expected=f"one cluster per user of the matrix: ({interactions.shape[0]},)",
                    fix="pass clusters_.user_labels of the pipeline fitted on the same users",
                )
        self.user_attributes_ = checked_attributes(self._fit_user_attributes, interactions.shape[0])
        regimes = regimes_to_tune(self)
        self.weights_ = {regime: start_weights(self, regime) for regime in REGIMES}
        self.n_clusters_ = self._cluster_options()[0]
        self.half_life_ = half_life_candidates(self)[0] if times is not None else None
        self.tuning_: dict[str, Any] = {}
        if self.reuse_tuning is not None:
            self._take_reused(self.reuse_tuning, times)
            regimes = []
        progress = tqdm(regimes, desc="tuning", disable=not self.show_progress)
        for regime in progress:
            self.tuning_[regime] = self._tune(regime, weights, times, settings)
            if "skipped" not in self.tuning_[regime]:
                self.weights_[regime] = dict(self.tuning_[regime]["weights"])

        self.times_ = times
        self.weighted_ = weights
        train_users = Query(weights, *(self.user_text_ or (None, None)))
        self.core_ = InterestCore(
            settings, self.text_, self.user_clusters_, self.user_attributes_
        ).fit(weights, [self.n_clusters_], train_users=train_users, times=times)
        self.clusters_: ClusterAffinity = self.core_.clusters[self.n_clusters_]
        self.cluster_labels_ = self.clusters_.labels

    def fit_with_factors(
        self,
        interactions: sp.csr_matrix,
        *,
        item_factors: np.ndarray,
        user_clusters: np.ndarray,
        cluster_weights: sp.csr_matrix,
        item_texts: Sequence[str] | None = None,
        timestamps: sp.csr_matrix | None = None,
        note: str = "item factors and clusters given: weights as set, not tuned",
        centroid_sample: int = 20_000,
    ) -> Self:
        """Fit with item factors and interest clusters learned elsewhere (the Spark engine: ALS
        item factors, its clusters and their aggregated interactions), for catalogues where
        the collaborative model (EASE) and tuning cannot run on one machine.

        ``item_factors``: ``(n_items, f)``; ``user_clusters``: one cluster per user (-1:
        none); ``cluster_weights``: ``(k, n_items)`` rating-weighted interactions per cluster.
        No ``collaborative`` component and no tuning: the blend uses ``weights`` (or the
        defaults) and ``tuning_`` holds ``note``. The clusters' centres in the interest space
        are the mean interest vector of a seeded sample of ``centroid_sample`` clustered users
        with a history.
        """
        matrix = as_interaction_matrix(interactions)
        n_users, n_items = matrix.shape
        texts = checked_texts(item_texts, n_items, "item_texts", "n_items")
        factors = np.asarray(item_factors, dtype=np.float32)
        labels = np.asarray(user_clusters, dtype=np.int64)
        counts = sp.csr_matrix(cluster_weights, dtype=np.float64)
        k = counts.shape[0]
        for name, shape, wanted, ok in (
            (
                "item_factors",
                factors.shape,
                f"(n_items={n_items}, f)",
                factors.ndim == 2 and factors.shape[0] == n_items,
            ),
            ("user_clusters", labels.shape, f"(n_users={n_users},)", labels.shape == (n_users,)),
            (
                "cluster_weights",
                counts.shape,
                f"(k, n_items={n_items})",
                counts.shape[1] == n_items and k >= 1,
            ),
        ):
            if not ok:
                raise ParameterError(
                    f"{name} has shape {shape}",
                    expected=f"shape {wanted}",
                    fix="pass the factors, labels and cluster sums of the same users and items",
                )
        if labels.size and labels.max() >= k:
            raise ParameterError(
                f"user_clusters holds cluster {int(labels.max())} but cluster_weights has {k} rows",
                expected="cluster labels in [-1, k)",
                fix="aggregate the interactions of every cluster into cluster_weights",
            )
        settings = check_settings(self)
        self.interactions_, self.n_users_, self.n_items_ = matrix, n_users, n_items
        given_times = timestamps if timestamps is not None else self.interaction_times
        self.times_ = aligned_times(matrix, given_times)
        self.max_value_ = float(matrix.data.max()) if matrix.nnz else 1.0
        self.weighted_ = rating_weights(matrix, self.max_value_, self.rating_power)
        self.text_ = None
        if texts is not None and any(text.strip() for text in texts):
            self.text_ = TextSpace(self._encoder(), random_state=self.random_state).fit(texts)
        self.item_names_ = item_names(texts, n_items)
        self.user_text_ = None
        # the given clusters score the affinity component, as fit does with user_clusters
        self.user_clusters_ = labels
        self.user_attributes_ = None
        self.weights_ = {regime: start_weights(self, regime) for regime in REGIMES}
        self.n_clusters_ = k
        self.half_life_ = None
        self.tuning_ = {regime: {"skipped": note} for regime in REGIMES}
        core = InterestCore.from_factors(
            settings, self.text_, self.weighted_, factors, times=self.times_, user_clusters=labels
        )
        centroids = self._sampled_centroids(core, labels, k, centroid_sample)
        clusters = affinity_from_counts(
            centroids, labels, counts.toarray(), settings.cluster_shrinkage
        )
        core.add_clusters(k, clusters)
        self.core_ = core
        self.clusters_ = clusters
        self.cluster_labels_ = clusters.labels
        return self

    def _sampled_centroids(
        self, core: InterestCore, labels: np.ndarray, k: int, sample_size: int
    ) -> np.ndarray:
        """Cluster centres in the interest space (semantic + factor profile), from a seeded
        sample of the clustered users with a history."""
        rng = np.random.default_rng(self.random_state)
        with_history = np.flatnonzero((np.diff(self.weighted_.indptr) > 0) & (labels >= 0))
        if len(with_history) > sample_size:
            with_history = np.sort(rng.choice(with_history, sample_size, replace=False))
        text_dimension = self.text_.dense_.shape[1] if self.text_ is not None else 1
        centroids = np.zeros((k, text_dimension + core.factors.shape[1]), dtype=np.float32)
        if len(with_history):
            vectors = core.interest_vectors(Query(self.weighted_[with_history]))
            np.add.at(centroids, labels[with_history], vectors)
        return l2_normalise(centroids)

    def _encoder(self) -> Encoder:
        if self.encoder is not None:
            return self.encoder
        return HashingEncoder(seed=self.random_state)

    # --- tuning ----------------------------------------------------------------------------

    def _tune(
        self,
        regime: str,
        weights: sp.csr_matrix,
        times: sp.csr_matrix | None,
        settings: CoreSettings,
    ) -> dict[str, Any]:
        first_tuned = not any("score" in record for record in self.tuning_.values())
        available = self._component_names(times, references=True)
        space = SearchSpace(
            names=self._component_names(times),
            anchor=ANCHORS[regime],
            cluster_options=self._cluster_options() if first_tuned else [self.n_clusters_],
            half_lives=(
                half_life_candidates(self) if regime == WARM and times is not None else [None]
            ),
            cold_weights=self.weights_[COLD_ITEMS],
            references=[name for name in REGIME_REFERENCES[regime] if name in available],
        )
        small = weights.nnz < SMALL_DATA
        # small data gives noisy validation parts, and which items are held out sways the
        # cold-item part at any size: several carves are averaged there
        repeats = self.validation_repeats or (3 if small or regime == COLD_ITEMS else 1)
        carving = CarveSettings(
            fraction=self.cold_item_fraction if regime == COLD_ITEMS else self.validation_fraction,
            history_per_user=self.cold_user_history,
            max_users=validation_users(
                weights.shape[1], len(space.names), int(repeats), self.max_validation_users
            ),
            repeats=int(repeats),
            seed=int(self.random_state),
            protocol=str(self.validation),
        )
        record = tune_regime(
            regime,
            weights,
            times,
            settings=settings,
            text=self.text_,
            space=space,
            carving=carving,
            user_text=self.user_text_,
            user_clusters=self.user_clusters_,
            user_attributes=self.user_attributes_,
            reference_z=float(self.reference_z),
        )
        if "skipped" not in record:
            if first_tuned:
                self.n_clusters_ = record["n_clusters"]
            if regime == WARM:
                self.half_life_ = record["half_life"]
        return record

    def _take_reused(self, reused: ReusedTuning, times: sp.csr_matrix | None) -> None:
        """Every regime's weights, the half-life and the cluster count from ``reused``."""
        if reused.protocol != self.validation:
            raise ParameterError(
                f"the tuning reused from {reused.source} was chosen for the {reused.protocol} "
                f"hold-out, but this fit asks for validation={self.validation!r}",
                expected="the hold-out protocol the earlier model was tuned for",
                fix=f"set validation={reused.protocol!r} (recommend.validation), or tune again "
                "(drop reuse_tuning)",
            )
        names = list(dict.fromkeys([*COMPONENTS, *REFERENCES]))
        self.weights_ = {
            regime: {name: float(reused.weights[regime].get(name, 0.0)) for name in names}
            for regime in REGIMES
        }
        self.half_life_ = reused.half_life if times is not None else None
        if self.user_clusters_ is None:  # given clusters set their own count
            self.n_clusters_ = reused.n_clusters
        self.tuning_ = {regime: reused.record(regime) for regime in REGIMES}

    def _cluster_options(self) -> list[int]:
        if self.user_clusters_ is not None:
            labels = self.user_clusters_
            return [max(int(labels.max()) + 1, 1) if len(labels) else 1]
        return cluster_candidates(self)

    def _component_names(self, times: sp.csr_matrix | None, references: bool = False) -> list[str]:
        """The blend's components available on this data; with ``references`` also the plain
        baselines a regime may fall back to."""
        names = list(dict.fromkeys([*COMPONENTS, *REFERENCES])) if references else list(COMPONENTS)
        if getattr(self, "user_attributes_", None) is None:
            names.remove("attribute_popularity")
        if self.text_ is None:
            names = [n for n in names if n not in TEXT_COMPONENTS]
        if times is None:
            names.remove("trend")
        return names

    # --- scoring ---------------------------------------------------------------------------

    def _blend(self, query: Query, regime: str) -> np.ndarray:
        core = self.core_
        if query.history.shape[0] == 0:
            return np.zeros((0, self.n_items_), dtype=np.float32)
        raw = core.components(query, self.n_clusters_, self._used_components(regime))
        return blend(
            raw,
            self.weights_[regime],
            np.flatnonzero(core.warm),
            cold_items=core.cold_items,
            cold_weights=self.weights_[COLD_ITEMS],
        )

    def _used_components(self, regime: str) -> list[str]:
        """Components with a weight in ``regime`` (or, where there are cold items, in the cold-item
        blend): the others would be computed only to be multiplied by zero — for a new user's
        single request that was half the scoring time."""
        names = self._component_names(self.times_, references=True)
        has_cold = len(self.core_.cold_items) > 0
        used = [
            name
            for name in names
            if self.weights_[regime].get(name, 0.0)
            or (has_cold and self.weights_[COLD_ITEMS].get(name, 0.0))
        ]
        return used or names[:1]

    def _warm_query(self, users: np.ndarray) -> Query:
        history = self.weighted_[users]
        times = self.times_[users] if self.times_ is not None else None
        observed = self.interactions_[users]
        history = recency(history, times, self.half_life_)
        attributes = None
        if self.user_attributes_ is not None:
            attributes = self.user_attributes_.iloc[users].reset_index(drop=True)
        if self.user_text_ is None:
            return Query(
                history, reference_time=latest(times), observed=observed, attributes=attributes
            )
        dense, lexical = self.user_text_
        return Query(
            history, dense[users], lexical[users], latest(times), observed, attributes=attributes
        )

    def _new_query(
        self,
        history: sp.csr_matrix | None,
        texts: list[str] | None,
        n: int,
        attributes: pd.DataFrame | None = None,
    ) -> Query:
        if history is None:
            history = sp.csr_matrix((n, self.n_items_), dtype=np.float32)
        weights = rating_weights(history, self.max_value_, self.rating_power)
        observed = sp.csr_matrix(history > 0, dtype=np.float32)
        if texts is None or self.text_ is None:
            return Query(weights, observed=observed, attributes=attributes)
        dense, lexical = self.text_.encode_users(texts)
        query = Query(weights, dense, lexical, observed=observed, attributes=attributes)
        return self.core_.with_pseudo_history(query)

    def score_new(
        self,
        history: sp.csr_matrix | None = None,
        texts: Sequence[str] | None = None,
        attributes: pd.DataFrame | None = None,
    ) -> np.ndarray:
        """As :meth:`BaseRecommender.score_new`; ``attributes``: the new users' attribute rows
        (same columns as at fit time, one row per user; unknown values count as unknown)."""
        check_is_fitted(self)
        history, texts, n_new = self._check_new(history, texts)
        rows = None
        if attributes is not None and self.user_attributes_ is not None:
            rows = checked_attributes(attributes, n_new, self.user_attributes_.columns)
        scores = self._score_new(history, texts, n_new, rows)
        return np.asarray(scores, dtype=np.float32).reshape(n_new, self.n_items_)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Known users with a history use the ``warm`` blend; known users without one (only
        their own text, e.g. from the users file) are scored as text-only users (``cold_text``)
        from their stored text vectors; users with neither get the ``cold_text`` blend of
        nothing, which ranks by its popularity-like components."""
        query = self._warm_query(users)
        no_history = query.observed_binary().getnnz(axis=1) == 0
        if not no_history.any():
            return self._blend(query, WARM)
        scores = np.empty((len(users), self.n_items_), dtype=np.float32)
        warm = np.flatnonzero(~no_history)
        if len(warm):
            scores[warm] = self._blend(query_rows(query, warm), WARM)
        cold = np.flatnonzero(no_history)
        text_query = self.core_.with_pseudo_history(query_rows(query, cold))
        scores[cold] = self._blend(text_query, COLD_TEXT)
        return scores

    def _score_new(self, history, texts, n_new: int, attributes=None) -> np.ndarray:
        """New users with some history use the ``cold_users`` blend; users known only by their
        text the ``cold_text`` blend (tuned on text-only validation users)."""
        query = self._new_query(history, texts, n_new, attributes)
        text_only = (query.observed_binary().getnnz(axis=1) == 0) & query.has_text
        if not text_only.any():
            return self._blend(query, COLD_USERS)
        if text_only.all():
            return self._blend(query, COLD_TEXT)
        scores = np.empty((n_new, self.n_items_), dtype=np.float32)
        for rows, regime in ((~text_only, COLD_USERS), (text_only, COLD_TEXT)):
            index = np.flatnonzero(rows)
            scores[index] = self._blend(query_rows(query, index), regime)
        return scores

    # --- recommending with diversification -------------------------------------------------

    def _rank(
        self,
        scores: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """With ``mmr_lambda < 1`` the lists are re-ranked by maximal marginal relevance and
        the scores are the MMR objective values; else the plain top k."""
        if self.mmr_lambda >= 1.0:
            return super()._rank(scores, k, exclude, candidates)
        return self._diversified(scores, k, exclude, candidates)

    def _diversified(self, scores, k, exclude, candidates) -> tuple[np.ndarray, np.ndarray]:
        # top_k with k = n_items applies exclusions and candidates, then MMR takes the pool
        masked_items, masked_scores = top_k(
            scores,
            min(self.n_items_, max(k, self.mmr_pool)),
            exclude=exclude,
            candidates=candidates,
        )
        full = np.full(scores.shape, -np.inf, dtype=np.float32)
        rows = np.repeat(np.arange(len(scores)), masked_items.shape[1])
        valid = masked_items.ravel() >= 0
        full[rows[valid], masked_items.ravel()[valid]] = masked_scores.ravel()[valid]
        return mmr_rerank(
            full,
            k,
            self._item_vectors(),
            diversity_lambda=float(self.mmr_lambda),
            pool=self.mmr_pool,
        )

    def _item_vectors(self) -> np.ndarray:
        if self.text_ is not None:
            return self.text_.joint_
        return l2_normalise(self.core_.factors)

    # --- explanations ----------------------------------------------------------------------

    def explain(
        self,
        user: int,
        item: int,
        *,
        cluster_labels: Sequence[str] | None = None,
        item_names: Sequence[str] | None = None,
    ) -> str:
        """A short reason, e.g. ``"popular among sci-fi fans; similar to Alien, which you rated"``

        ``cluster_labels``: one name per fitted cluster (``clusters_.n_clusters``), default
        ``"cluster N"``; ``item_names``: one per item, default the start of each item text.
        """
        check_is_fitted(self)
        user = int(self._check_users(np.array([user]))[0])
        if isinstance(item, bool) or not isinstance(item, int | np.integer):
            raise ParameterError(
                f"item={item!r} is not an integer", expected="an item index", fix="pass an int"
            )
        if not 0 <= int(item) < self.n_items_:
            raise ParameterError(
                f"item index {item} should be in [0, n_items={self.n_items_})",
                expected="an item index the model was fitted on",
                fix="map the item id with the item IdMap",
            )
        item = int(item)
        labels = checked_labels(cluster_labels, self.clusters_.n_clusters)
        names = checked_names(item_names, self.item_names_)
        query = self._warm_query(np.array([user]))
        similar = most_similar_rated(self.core_, self.text_, self.weighted_[user].indices, item)
        return reason(
            self.core_.membership(query, self.n_clusters_)[0],
            self.core_.lifts[self.n_clusters_][:, item],
            warm_item=bool(self.core_.warm[item]),
            labels=labels,
            similar=None if similar is None else names[similar],
            has_text=bool(self.user_text_ is not None and query.has_text[0]),
        )

    # --- state -----------------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray | sp.csr_matrix]]:
        """The fitted model as ``(meta, arrays)`` (see :mod:`.state_format`): ``meta`` is
        JSON-able (settings, learned values, shapes, item names, vocabulary ...), ``arrays``
        maps names to numpy arrays and CSR matrices. :meth:`from_state` rebuilds the model;
        validation-only state (the cores fitted on validation carves) is left out, it only
        served the search whose result is ``weights_``/``n_clusters_``/``tuning_``."""
        check_is_fitted(self)
        core, text = self.core_, self.text_
        core_meta, arrays = core.state(self.n_clusters_)
        arrays = {"interactions": self.interactions_, "weighted": self.weighted_, **arrays}
        if self.times_ is not None:
            # after the core's always-present arrays: the listing keeps the order of version 1
            at = list(arrays).index("cluster_lift") + 1
            items = list(arrays.items())
            arrays = dict([*items[:at], ("times", self.times_), *items[at:]])
        text_meta: dict[str, Any] | None = None
        if text is not None:
            text_meta, text_arrays = text.state()
            arrays.update({f"text_{name}": values for name, values in text_arrays.items()})
        if self.user_text_ is not None:
            arrays["user_text_dense"], arrays["user_text_lexical"] = self.user_text_
        popularity_meta = None
        if core.attributes is not None and self.user_attributes_ is not None:
            popularity_meta, popularity_arrays = core.attributes.state()
            arrays.update(
                {f"{ATTRIBUTES_PREFIX}{name}": values for name, values in popularity_arrays.items()}
            )
        params = {k: v for k, v in self.get_params(deep=False).items() if k not in UNSAVED_PARAMS}
        parts = core_meta["parts"]
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "params": plain(params),
            # JSON has lists only: these settings were tuples
            "tuple_params": sorted(
                name for name, value in params.items() if isinstance(value, tuple)
            ),
            "learned": plain(
                {
                    "clusters_given": self.user_clusters_ is not None,
                    "weights_": self.weights_,
                    "n_clusters_": self.n_clusters_,
                    "half_life_": self.half_life_,
                    "max_value_": self.max_value_,
                    "tuning_": self.tuning_,
                    "ridge_alphas": core_meta["ridge_alphas"],
                    "latest_time": core_meta["latest_time"],
                    "log_floor": core_meta["log_floor"],
                }
            ),
            "encoder": {
                "identifier": None if text_meta is None else text_meta["encoder_identifier"],
                # a model loaded without its (non-default) encoder has no encoder in its space
                "default": self.encoder is None and (text is None or text.encoder is not None),
            },
            "text": None
            if text_meta is None
            else {key: text_meta[key] for key in ("lsa_components", "random_state", "tfidf")},
            "collaborative": core_meta["collaborative"],
            "parts": {
                "times": self.times_ is not None,
                "ease": parts["ease"],
                "ease_sparse": parts["ease_sparse"],
                "cold_mapping": parts["cold_mapping"],
                "ridge": parts["ridge"],
                "trend": parts["trend"],
                "text": text is not None,
                "lsa": text is not None and text.lsa_axes_ is not None,
                "user_text": self.user_text_ is not None,
                "attributes": parts["attributes"],
            },
            "shapes": shapes_of(arrays, self.n_users_, self.n_items_),
            "item_names": list(self.item_names_),
            "text_vocabulary": None if text_meta is None else text_meta["vocabulary"],
            "user_attributes": None
            if popularity_meta is None or self.user_attributes_ is None
            else {
                str(c): [plain_value(v) for v in self.user_attributes_[c].tolist()]
                for c in self.user_attributes_.columns
            },
            "attribute_popularity": popularity_meta,
        }
        return meta, arrays

    @classmethod
    def from_state(
        cls,
        meta: dict[str, Any],
        arrays: dict[str, Any],
        *,
        encoder: Encoder | None = None,
        source: str = "the recommender state",
    ) -> InterestRecommender:
        """The model :meth:`state` described. ``encoder``: the one the model was fitted with
        (same ``identifier``, else :class:`ModelFormatError`), needed only for new text; a
        model fitted with the default encoder gets it back without one. A state of
        another format or version, missing entries or arrays, wrong shapes and indices out of
        range raise :class:`ModelFormatError` naming ``source`` (e.g. the manifest's path)."""
        check_format(meta, source=source)
        parts = check_arrays(meta, arrays, source=source)
        learned = {name: entry(meta, "learned", name, source=source) for name in LEARNED}
        model = cls._with_saved_params(meta, encoder, source)
        model.interactions_ = sp.csr_matrix(arrays["interactions"])
        model.weighted_ = sp.csr_matrix(arrays["weighted"])
        model.times_ = sp.csr_matrix(arrays["times"]) if parts["times"] else None
        model.n_users_ = int(entry(meta, "shapes", "n_users", source=source))
        model.n_items_ = int(entry(meta, "shapes", "n_items", source=source))
        model.max_value_ = float(learned["max_value_"])
        model.weights_ = {
            regime: {name: float(w) for name, w in weights.items()}
            for regime, weights in learned["weights_"].items()
        }
        model.n_clusters_ = int(learned["n_clusters_"])
        model.half_life_ = None if learned["half_life_"] is None else float(learned["half_life_"])
        model.tuning_ = learned["tuning_"]
        model.item_names_ = [str(name) for name in entry(meta, "item_names", source=source)]
        if len(model.item_names_) != model.n_items_:
            raise ModelFormatError(
                f"{source} has {len(model.item_names_)} item names",
                expected=f"one per item ({model.n_items_})",
                fix=FIT_AGAIN,
            )
        model.text_ = None
        if parts["text"]:
            default = bool(entry(meta, "encoder", "default", source=source))
            space_encoder = (
                encoder if encoder is not None else (model._encoder() if default else None)
            )
            text_meta = {
                **entry(meta, "text", source=source),
                "vocabulary": entry(meta, "text_vocabulary", source=source),
                "encoder_identifier": entry(meta, "encoder", "identifier", source=source),
            }
            prefix = "text_"
            text_arrays = {
                k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)
            }
            model.text_ = TextSpace.from_state(text_meta, text_arrays, space_encoder, source=source)
        model.user_text_ = None
        if parts["user_text"]:
            model.user_text_ = (
                arrays["user_text_dense"],
                sp.csr_matrix(arrays["user_text_lexical"]),
            )
        model.user_attributes_ = None
        attributes = None
        if parts["attributes"]:
            model.user_attributes_ = cls._saved_user_attributes(meta, model.n_users_, source)
            attributes = AttributePopularity.from_state(
                entry(meta, "attribute_popularity", source=source),
                {
                    name.removeprefix(ATTRIBUTES_PREFIX): values
                    for name, values in arrays.items()
                    if name.startswith(ATTRIBUTES_PREFIX)
                },
                source=source,
            )
        model.core_ = InterestCore.from_state(
            check_settings(model),
            model.text_,
            {
                "parts": parts,
                "collaborative": meta.get("collaborative"),
                **{name: learned[name] for name in ("ridge_alphas", "latest_time", "log_floor")},
            },
            arrays,
            k=model.n_clusters_,
            attributes=attributes,
            user_attributes=model.user_attributes_,
            source=source,
        )
        model.clusters_ = model.core_.clusters[model.n_clusters_]
        model.cluster_labels_ = model.clusters_.labels
        # the pipeline's clusters, when the model scored with them (see fit)
        model.user_clusters_ = model.cluster_labels_ if learned["clusters_given"] else None
        return model

    @classmethod
    def _with_saved_params(
        cls, meta: dict[str, Any], encoder: Encoder | None, source: str
    ) -> InterestRecommender:
        params = dict(entry(meta, "params", source=source))
        known = set(cls().get_params(deep=False)) - UNSAVED_PARAMS
        if set(params) - known or known - set(params) - LATER_PARAMS:
            raise ModelFormatError(
                f"{source} has settings {sorted(set(params) ^ known)} that do not match this "
                "InterestRecommender",
                expected=f"exactly the settings {sorted(known)}",
                fix=FIT_AGAIN,
            )
        for name in entry(meta, "tuple_params", source=source):
            if isinstance(params.get(name), list):
                params[name] = tuple(params[name])
        identifier = entry(meta, "encoder", "identifier", source=source)
        default = bool(entry(meta, "encoder", "default", source=source))
        model = cls(encoder, **params)
        if encoder is not None:
            check_encoder(identifier, encoder, f"the model in {source}")
        if encoder is None and default and identifier is not None:
            rebuilt = model._encoder()  # the weight-free default of fit
            if rebuilt.identifier != identifier:
                raise ModelFormatError(
                    f"the model in {source} was fitted with the default encoder "
                    f"{identifier!r}, which this interestlens builds as {rebuilt.identifier!r}",
                    expected="the same default encoder",
                    fix=f"pass the encoder with identifier {identifier!r}, or {FIT_AGAIN}",
                )
        return model

    @staticmethod
    def _saved_user_attributes(meta: dict[str, Any], n_users: int, source: str) -> pd.DataFrame:
        columns = entry(meta, "user_attributes", source=source)
        if not isinstance(columns, dict) or any(
            not isinstance(v, list) or len(v) != n_users for v in columns.values()
        ):
            raise ModelFormatError(
                f"{source}: the user attributes are not one list of {n_users} values per column",
                expected="the user attributes written by model_dir.write_recommender",
                fix=FIT_AGAIN,
            )
        return pd.DataFrame(columns, dtype=object)

    # --- serving ---------------------------------------------------------------------------

    def set_encoder(self, encoder: Encoder) -> Self:
        """Give a model loaded without its encoder the encoder for new text (a service can
        load first and build the encoder when text first arrives); returns ``self``.

        Raises :class:`ModelFormatError` unless ``encoder.identifier`` is the one the model was
        fitted with.
        """
        check_is_fitted(self)
        if self.text_ is not None:
            self.text_.set_encoder(encoder)
        self.encoder = encoder
        return self

    def add_items(self, texts: Sequence[str]) -> np.ndarray:
        """Append one item per text at the end of the catalogue; returns their indices
        (``n_items_`` before the call, onwards).

        New items are treated as ``fit`` treats cold items: dense and TF-IDF vectors (fitted
        vocabulary), their ``text_neighbours`` most similar warm items in the joint text space,
        collaborative factors and log popularity predicted by the fitted ridge mapping, cluster
        lifts and collaborative scores averaged over the neighbours; they are blended with the
        ``cold_items`` weights. Nothing learned from interactions changes: existing items keep
        their scores. ``interactions_`` and the other item-indexed state grow by empty columns.

        Raises :class:`ParameterError` when the model has no item texts, or was loaded without
        its encoder.
        """
        check_is_fitted(self)
        text_list = checked_texts(texts, None, "texts", "the number of new items")
        assert text_list is not None
        space = self.text_
        if space is None:
            raise ParameterError(
                "this InterestRecommender was fitted without item texts, so new items cannot be "
                "placed from their text",
                expected="a model fitted with item_texts",
                fix="fit again with item_texts=... (one text per item)",
            )
        if self.core_.cold_mapping is None:
            raise ParameterError(
                "the training matrix had no interactions, so there are no items to place new "
                "items near",
                expected="a model fitted on a matrix with interactions",
                fix="fit on interactions before adding items",
            )
        space.require_encoder()
        n_old, n_new = self.n_items_, len(text_list)
        new = np.arange(n_old, n_old + n_new, dtype=np.int64)
        if n_new == 0:
            return new
        space.add_items(text_list)  # encodes first: a failing encoder leaves the model as it was
        self.core_.add_items(n_new)
        self.interactions_ = with_empty_columns(self.interactions_, n_new)
        self.weighted_ = with_empty_columns(self.weighted_, n_new)
        if self.times_ is not None:
            self.times_ = with_empty_columns(self.times_, n_new)
        self.item_names_ = [*self.item_names_, *item_names(text_list, n_new, start=n_old)]
        self.n_items_ = n_old + n_new
        return new

    def score_histories(
        self,
        history: sp.csr_matrix,
        times: sp.csr_matrix | None = None,
        user_indices: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scores ``(n, n_items)`` of users given by their raw histories, as :meth:`score` scores
        known users (``warm`` weights).

        ``history``: ``(n, n_items)`` ratings or 1s, as given to ``fit`` (non-positive values
        drop out); ``times``: the time of each entry (same shape and entries) for recency and
        the trend component, None to weigh every entry the same and take the trend at the
        latest training time; ``user_indices``: one per row, a user seen at fit time keeps
        their own text vectors, -1 has none. ``score_histories(interactions_[[u]],
        times_[[u]], [u])`` equals ``score([u])``.
        """
        check_is_fitted(self)
        matrix = checked_history(history, self.n_items_)
        n_rows = matrix.shape[0]
        aligned = aligned_times(matrix, times)
        if aligned is not None:
            check_times_cover(matrix, times)
        users = checked_user_indices(user_indices, n_rows, self.n_users_)
        weights = rating_weights(matrix, self.max_value_, self.rating_power)
        query = Query(recency(weights, aligned, self.half_life_), reference_time=latest(aligned))
        if self.user_text_ is not None and users is not None and (users >= 0).any():
            known = np.flatnonzero(users >= 0)
            select = sp.csr_matrix(
                (np.ones(len(known), dtype=np.float32), (known, users[known])),
                shape=(n_rows, self.n_users_),
            )
            dense, lexical = self.user_text_
            query.text_dense = np.asarray(select @ dense, dtype=np.float32)
            query.text_lexical = sp.csr_matrix(select @ lexical, dtype=np.float32)
        return self._blend(query, WARM)

    def most_similar_item(self, item: int, among: np.ndarray) -> int | None:
        """The item of ``among`` (e.g. the user's rated items) that best explains ``item``: the
        largest EASE weight towards it, text similarity breaking ties and deciding alone when
        ``item`` is cold. None when ``among`` holds no other item."""
        check_is_fitted(self)
        n_items = self.n_items_
        if isinstance(item, bool) or not isinstance(item, int | np.integer):
            raise ParameterError(
                f"item={item!r} is not an integer",
                expected="an item index",
                fix="map the item id with the item IdMap",
            )
        if not 0 <= int(item) < n_items:
            raise ParameterError(
                f"item index {item} should be in [0, n_items={n_items})",
                expected="an item index of the model",
                fix="map the item id with the item IdMap",
            )
        rated = check_index_array(among, name="among", kind="item", example="np.array([3, 7])")
        bad = rated[(rated < 0) | (rated >= n_items)]
        if bad.size:
            raise ParameterError(
                f"among holds item index {int(bad[0])}; it should be in [0, n_items={n_items})",
                expected="item indices of the model",
                fix="drop unknown items (IdMap.indices(..., missing='skip') gives -1)",
            )
        return most_similar_rated(self.core_, self.text_, np.unique(rated), int(item))

    def most_similar_items(self, items: np.ndarray, among: sp.csr_matrix) -> np.ndarray:
        """:meth:`most_similar_item` for many users at once: ``items`` ``(n, k)`` item indices
        (-1 = none), ``among`` ``(n, n_items)`` sparse, row ``u`` storing user ``u``'s rated
        items; returns ``(n, k)`` item indices, -1 where a row offers no other item."""
        check_is_fitted(self)
        items = np.asarray(items)
        among = sp.csr_matrix(among)
        if items.ndim != 2 or among.shape != (len(items), self.n_items_):
            raise ParameterError(
                f"items has shape {items.shape} and among {among.shape}",
                expected=f"items (n, k) and among (n, n_items={self.n_items_})",
                fix="pass one row of rated items per row of items",
            )
        if items.size and (items.min() < -1 or items.max() >= self.n_items_):
            raise ParameterError(
                f"items holds {int(items.min())}..{int(items.max())}",
                expected=f"item indices in [0, {self.n_items_}) or -1",
                fix="map the item ids with the item IdMap",
            )
        return most_similar_rated_many(self.core_, self.text_, among, items)


def with_empty_columns(matrix: sp.csr_matrix, n_new: int) -> sp.csr_matrix:
    """``matrix`` with ``n_new`` empty columns appended (items added after fitting)."""
    empty = sp.csr_matrix((matrix.shape[0], n_new), dtype=matrix.dtype)
    return sp.hstack([matrix, empty], format="csr", dtype=matrix.dtype)
