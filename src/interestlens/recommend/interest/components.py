"""The fitted state behind :class:`InterestRecommender` and the raw score of each component.

Components, each a dense ``(n_users, n_items)`` score before per-user normalisation:

``collaborative``
    EASE on the binary interactions, queried with the user's weighted history (with
    ``ease_neighbours``, only that many weights per target item are kept, sparse); above
    ``ease_max_items`` items with interactions, item-item cosine with ``cosine_neighbours``
    neighbours per item (:mod:`.collaborative`). Cold items
    get the text neighbours' mean score (:mod:`.coldstart`).
``factors``
    Truncated SVD of the interactions (PureSVD): ``(q V) V^T``; cold items use factors
    predicted from their text.
``affinity``
    The user's soft cluster membership times the clusters' lifts (:mod:`.cluster_affinity`); cold
    items use their text neighbours' lifts.
``semantic``, ``lexical``
    Cosine between the user's profile (weighted mean of their items' vectors, blended with
    their own text) and each item, in the dense and the TF-IDF space.
``popularity``
    ``log(1 + users)``; cold items use the popularity prior predicted from text.
``attribute_popularity``
    Popularity within the user's attribute groups (age band, occupation, ...; see
    :class:`interestlens.recommend.AttributePopularity`), shrunk to global popularity for small
    groups; global popularity for users whose attributes are unknown. Only with attributes.
``trend``
    Popularity around the user's own time: ``log(1 + kernel-weighted interactions)`` over
    time bins holding equal shares of the training interactions, with a Gaussian kernel of
    ``trend_window`` (a share of the interactions) centred on the user's latest interaction
    (new users: the latest training time). Needs interaction times; zero without them.

Reference components (:data:`REFERENCES`) are the plain baselines the blend must beat on
validation, computed exactly as those baselines rank: ``ease`` (EASE queried with the user's
binary history, as :class:`interestlens.recommend.EASE` scores), ``content`` (cosine of the
unit TF-IDF mean of the user's items, or of the user's own text when they have no history, to
each item, as :class:`interestlens.recommend.ContentKNN` scores). The tuner falls back to one
of them, alone, where the blend does not beat it (see :mod:`.search`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import normalize
from sklearn.utils.extmath import randomized_svd

from interestlens.embed.base import l2_normalise
from interestlens.persist import check_index_range
from interestlens.recommend.attribute_popularity import AttributePopularity
from interestlens.recommend.dense_products import dense_product, small_as_dense
from interestlens.recommend.interest.cluster_affinity import (
    ClusterAffinity,
    fit_cluster_affinity,
    interest_vectors,
    soft_membership,
)
from interestlens.recommend.interest.coldstart import (
    ColdItemMapping,
    fit_cold_item_mapping,
    place_new_items,
)
from interestlens.recommend.interest.collaborative import (
    COSINE_NEIGHBOURS,
    EASE_MAX_ITEMS,
    collaborative_from_weights,
    fit_collaborative,
    kind_of,
)
from interestlens.recommend.interest.text_space import TextSpace
from interestlens.recommend.top_items import top_k

COMPONENTS: tuple[str, ...] = (
    "collaborative",
    "factors",
    "affinity",
    "semantic",
    "lexical",
    "popularity",
    "trend",
    "attribute_popularity",
)
#: time bins of the trend component, each holding the same share of training interactions
TREND_BINS = 50
TEXT_COMPONENTS = frozenset({"semantic", "lexical", "content"})
#: plain baselines, computed like the library's baselines; only ever used alone (a fallback)
REFERENCES: tuple[str, ...] = ("ease", "content", "popularity", "attribute_popularity")


@dataclass(frozen=True)
class CoreSettings:
    ease_l2: float
    n_factors: int
    cluster_shrinkage: float
    top_clusters: int
    membership_temperature: float
    text_weight: float
    text_neighbours: int
    trend_window: float
    random_state: int
    #: keep this many EASE weights per target item (sparse); 0 keeps the dense matrix
    ease_neighbours: int = 0
    #: text-only users: this many items closest to their text stand in for a history
    pseudo_history: int = 20
    #: above this many items with interactions, item cosine replaces EASE (.collaborative)
    ease_max_items: int = EASE_MAX_ITEMS
    #: neighbours per item of the item cosine model
    cosine_neighbours: int = COSINE_NEIGHBOURS


@dataclass
class Query:
    """Users to score: weighted history rows and, optionally, their own text vectors."""

    history: sp.csr_matrix
    text_dense: np.ndarray | None = None
    text_lexical: sp.csr_matrix | None = None
    #: each user's "now" for the trend component (None: the latest training time)
    reference_time: np.ndarray | None = None
    #: what the users really did (binary), before recency, rating weights or a pseudo-history
    #: from text; the reference components read it (None: ``history > 0``)
    observed: sp.csr_matrix | None = None
    #: the users' attribute rows (age band, occupation, ...); None: no attributes known
    attributes: pd.DataFrame | None = None

    def observed_binary(self) -> sp.csr_matrix:
        source = self.observed if self.observed is not None else self.history
        return sp.csr_matrix(source > 0, dtype=np.float32)

    @property
    def has_text(self) -> np.ndarray:
        if self.text_dense is None:
            return np.zeros(self.history.shape[0], dtype=bool)
        lexical = (
            self.text_lexical.getnnz(axis=1) > 0
            if self.text_lexical is not None
            else np.zeros(len(self.text_dense), dtype=bool)
        )
        return (np.linalg.norm(self.text_dense, axis=1) > 0) | lexical


class InterestCore:
    """Everything learned from one interaction matrix (and the shared item text space)."""

    def __init__(
        self,
        settings: CoreSettings,
        text: TextSpace | None,
        user_clusters: np.ndarray | None = None,
        user_attributes: pd.DataFrame | None = None,
    ):
        self.settings = settings
        self.text = text
        #: one attribute row per user of the matrix (only the attribute columns), or None
        self.user_attributes = user_attributes
        #: the pipeline's explained interest clusters (one per user, -1: none), used instead of
        #: the core's own k-means so that scoring and explanations mean the same clusters
        self.user_clusters = user_clusters
        self._transposes: dict[str, tuple[sp.spmatrix, sp.csr_matrix | np.ndarray]] = {}

    def fit(
        self,
        weights: sp.csr_matrix,
        n_clusters: Sequence[int],
        *,
        train_users: Query | None = None,
        times: sp.csr_matrix | None = None,
    ) -> InterestCore:
        """``weights``: rating-weighted interactions (positive entries = interactions);
        ``times``: their times (same entries), for the trend component.

        ``train_users`` (defaults to ``weights`` without text) builds the users' interest
        vectors for clustering.
        """
        settings = self.settings
        binary = sp.csr_matrix(weights > 0, dtype=np.float32)
        n_items = binary.shape[1]
        #: EASE, or item cosine on large catalogues (the name stays: saved models use it)
        self.ease = fit_collaborative(
            binary,
            l2=settings.ease_l2,
            neighbours=settings.ease_neighbours,
            max_ease_items=settings.ease_max_items,
            cosine_neighbours=settings.cosine_neighbours,
        )
        n_factors = min(settings.n_factors, min(binary.shape) - 1)
        if n_factors >= 1 and binary.nnz:
            _, _, vt = randomized_svd(binary, n_factors, random_state=settings.random_state)
            factors = vt.T
        else:
            factors = np.zeros((n_items, 1), dtype=np.float32)
        self._fit_items(binary, factors)
        self.attributes: AttributePopularity | None = None
        if self.user_attributes is not None:
            self.attributes = AttributePopularity(columns=list(self.user_attributes.columns)).fit(
                binary, self.user_attributes
            )
        self.fit_trend(binary, times)
        query = train_users if train_users is not None else Query(weights)
        vectors = self.interest_vectors(query)
        self.clusters: dict[int, ClusterAffinity] = {}
        self.lifts: dict[int, np.ndarray] = {}
        for k in dict.fromkeys(n_clusters):
            fitted = fit_cluster_affinity(
                vectors,
                weights,
                int(k),
                shrinkage=settings.cluster_shrinkage,
                random_state=settings.random_state,
                labels=self.user_clusters,
            )
            self.add_clusters(int(k), fitted)
        return self

    @classmethod
    def from_factors(
        cls,
        settings: CoreSettings,
        text: TextSpace | None,
        weights: sp.csr_matrix,
        factors: np.ndarray,
        *,
        times: sp.csr_matrix | None = None,
        user_clusters: np.ndarray | None = None,
    ) -> InterestCore:
        """A core whose item ``factors`` were learned elsewhere (e.g. ALS on Spark), without
        the collaborative model: popularity, the cold-item mapping and the trend are fitted
        on ``weights``; clusters come with :meth:`add_clusters`."""
        core = cls(settings, text, user_clusters)
        binary = sp.csr_matrix(weights > 0, dtype=np.float32)
        core.ease = None
        core._fit_items(binary, factors)
        core.attributes = None
        core.fit_trend(binary, times)
        core.clusters, core.lifts = {}, {}
        return core

    def _fit_items(self, binary: sp.csr_matrix, factors: np.ndarray) -> None:
        """Popularity, item ``factors`` and, with text, the cold-item mapping (whose
        predictions fill the cold items' factors and popularity)."""
        counts = np.asarray(binary.sum(axis=0)).ravel()
        self.warm = counts > 0
        self.cold_items = np.flatnonzero(~self.warm)
        self.popularity = np.log1p(counts).astype(np.float32)
        # C order: sparse @ factors would copy an F-ordered array on every request
        self.factors = np.ascontiguousarray(factors, dtype=np.float32)
        self.cold_mapping: ColdItemMapping | None = None
        # fitted even without cold items: items added later (add_items) need the mapping
        if self.text is not None and self.warm.any():
            self.cold_mapping = fit_cold_item_mapping(
                self.text.joint_,
                self.text.richness_,
                self.warm,
                self.factors,
                self.popularity,
                n_neighbours=self.settings.text_neighbours,
            )
            self.factors[self.cold_items] = self.cold_mapping.factors
            self.popularity[self.cold_items] = self.cold_mapping.log_popularity

    def add_clusters(self, k: int, clusters: ClusterAffinity) -> None:
        """Score the affinity component with ``clusters`` when asked for ``k`` clusters; cold
        items take their text neighbours' lifts."""
        lift = clusters.lift
        if self.cold_mapping is not None:
            lift[:, self.cold_items] = lift @ self.cold_mapping.neighbours
        self.clusters[int(k)] = clusters
        self.lifts[int(k)] = lift

    def fit_trend(self, binary: sp.csr_matrix, times: sp.csr_matrix | None) -> None:
        """The trend component's time bins and each item's interactions per bin."""
        self.trend_edges: np.ndarray | None = None
        if times is None or times.nnz == 0:
            return
        values = sp.csr_matrix(times).data
        edges = np.unique(np.quantile(values, np.linspace(0, 1, TREND_BINS + 1)[1:-1]))
        coo = sp.csr_matrix(times).tocoo()
        bins = np.searchsorted(edges, coo.data, side="right")
        self.trend_edges = edges
        self.latest_time = float(values.max())
        self.item_bins = sp.csr_matrix(
            (np.ones(len(bins), dtype=np.float32), (coo.col, bins)),
            shape=(binary.shape[1], len(edges) + 1),
        ).toarray()

    # --- state -----------------------------------------------------------------------------

    def state(self, k: int) -> tuple[dict[str, Any], dict[str, np.ndarray | sp.csr_matrix]]:
        """What scoring with ``k`` clusters needs (validation-only state is left out): JSON-able
        ``meta`` (which parts exist, the collaborative model's kind, learned scalars) and the
        arrays, named as in a saved model directory. The text space and the attribute
        popularity have their own ``state``."""
        clusters_meta, clusters = self.clusters[k].state()
        mapping = self.cold_mapping
        meta: dict[str, Any] = {
            "parts": {
                "ease": self.ease is not None,
                "ease_sparse": self.ease is not None and self.ease.is_pruned,
                "cold_mapping": mapping is not None,
                "ridge": mapping is not None and mapping.coef is not None,
                "trend": self.trend_edges is not None,
                "attributes": self.attributes is not None,
            },
            # absent in directories saved before item cosine existed: those hold EASE
            "collaborative": None if self.ease is None else kind_of(self.ease),
            "ridge_alphas": None,
            "latest_time": getattr(self, "latest_time", None),
            "log_floor": clusters_meta["log_floor"],
        }
        arrays: dict[str, np.ndarray | sp.csr_matrix] = {
            "warm": self.warm,
            "popularity": self.popularity,
            "factors": self.factors,
            **{f"cluster_{name}": values for name, values in clusters.items()},
            "cluster_lift": self.lifts[k],
        }
        if self.ease is not None:
            arrays["ease_active_items"] = self.ease.active_items_
            arrays["ease_weights"] = self.ease.weights_
        if mapping is not None:
            mapping_meta, mapping_arrays = mapping.state()
            meta["ridge_alphas"] = mapping_meta["ridge_alphas"]
            for name, values in mapping_arrays.items():
                saved = f"ridge_{name}" if name in ("coef", "intercept") else f"cold_{name}"
                arrays[saved] = values
        if self.trend_edges is not None:
            arrays.update(trend_edges=self.trend_edges, trend_item_bins=self.item_bins)
        return meta, arrays

    @classmethod
    def from_state(
        cls,
        settings: CoreSettings,
        text: TextSpace | None,
        meta: dict[str, Any],
        arrays: dict[str, Any],
        *,
        k: int,
        attributes: AttributePopularity | None = None,
        user_attributes: pd.DataFrame | None = None,
        source: str = "the core state",
    ) -> InterestCore:
        """The core :meth:`state` described, scoring with ``k`` clusters; integer arrays out of
        range raise :class:`ModelFormatError` naming ``source``."""
        parts = meta["parts"]
        core = cls(settings, text, user_attributes=user_attributes)
        core.warm = arrays["warm"]
        n_items = len(core.warm)
        check_index_range(f"{source}: warm", core.warm.astype(np.int64), 0, 2, "entries")
        core.cold_items = np.flatnonzero(~core.warm)
        core.popularity = arrays["popularity"]
        core.factors = np.ascontiguousarray(arrays["factors"])
        core.attributes = attributes
        core.ease = None
        if parts["ease"]:
            active = arrays["ease_active_items"]
            check_index_range(f"{source}: ease_active_items", active, 0, n_items, "entries")
            core.ease = collaborative_from_weights(
                meta.get("collaborative") or "ease",
                active,
                arrays["ease_weights"],
                n_items,
                l2=settings.ease_l2,
                source=source,
            )
        core.cold_mapping = None
        if parts["cold_mapping"]:
            mapping = {
                name: arrays[saved]
                for name, saved in (
                    ("items", "cold_items"),
                    ("neighbours", "cold_neighbours"),
                    ("factors", "cold_factors"),
                    ("log_popularity", "cold_log_popularity"),
                    ("coef", "ridge_coef"),
                    ("intercept", "ridge_intercept"),
                )
                if saved in arrays
            }
            check_index_range(f"{source}: cold_items", mapping["items"], 0, n_items, "entries")
            core.cold_mapping = ColdItemMapping.from_state(
                {"ridge_alphas": meta["ridge_alphas"]}, mapping
            )
        core.trend_edges = None
        if parts["trend"]:
            core.trend_edges = arrays["trend_edges"]
            core.item_bins = arrays["trend_item_bins"]
            core.latest_time = float(meta["latest_time"])
        clusters = ClusterAffinity.from_state(
            {"log_floor": meta["log_floor"]},
            {
                name: arrays[f"cluster_{name}"]
                for name in ("centroids", "labels", "log_share", "log_global", "sizes")
            },
        )
        labels_range = (-1, clusters.n_clusters)
        check_index_range(f"{source}: cluster_labels", clusters.labels, *labels_range, "entries")
        core.clusters = {k: clusters}
        core.lifts = {k: arrays["cluster_lift"]}
        return core

    # --- items added after fitting --------------------------------------------------------

    def add_items(self, n_new: int) -> None:
        """Grow every item-indexed part by ``n_new`` cold items placed from their text (the
        text space must hold them already): text neighbours among the warm items, factors and
        popularity from the fitted ridge mapping, cluster lifts and collaborative scores
        through the neighbours. Nothing learned from interactions changes."""
        assert self.text is not None and self.cold_mapping is not None
        n_old = len(self.warm)
        new = np.arange(n_old, n_old + n_new)
        warm = np.concatenate([self.warm, np.zeros(n_new, dtype=bool)])
        factors = np.vstack([self.factors, np.zeros((n_new, self.factors.shape[1]), np.float32)])
        popularity = np.concatenate([self.popularity, np.zeros(n_new, dtype=np.float32)])
        neighbours, new_factors, new_popularity = place_new_items(
            self.cold_mapping,
            self.text.joint_,
            self.text.richness_,
            warm,
            factors,
            popularity,
            new,
            n_neighbours=self.settings.text_neighbours,
        )
        factors[new] = new_factors
        popularity[new] = new_popularity
        if self.attributes is not None:
            self.attributes.add_empty_items(n_new)
        self.cold_mapping.add_items(new, neighbours, new_factors, new_popularity)
        for k, clusters in self.clusters.items():
            clusters.add_empty_items(n_new)
            lift = np.hstack([self.lifts[k], np.zeros((len(self.lifts[k]), n_new), np.float32)])
            lift[:, new] = lift @ neighbours
            self.lifts[k] = lift
        if self.ease is not None:
            self.ease.add_empty_items(n_new)
        if self.trend_edges is not None:
            empty_bins = np.zeros((n_new, self.item_bins.shape[1]), dtype=self.item_bins.dtype)
            self.item_bins = np.vstack([self.item_bins, empty_bins])
        self.warm, self.factors, self.popularity = warm, factors, popularity
        self.cold_items = np.flatnonzero(~warm)

    def trend(self, reference_time: np.ndarray | None, n_users: int) -> np.ndarray:
        n_items = len(self.warm)
        if self.trend_edges is None:
            return np.zeros((n_users, n_items), dtype=np.float32)
        now = np.full(n_users, self.latest_time) if reference_time is None else reference_time
        now = np.where(np.isfinite(now), now, self.latest_time)
        position = np.searchsorted(self.trend_edges, now, side="right")
        # users share a handful of time bins: each bin's row is computed once (log1p over
        # users x items was a tenth of scoring a batch of known users)
        bins, user_bin = np.unique(position, return_inverse=True)
        width = max(self.settings.trend_window * TREND_BINS, 0.5)
        offsets = np.arange(len(self.trend_edges) + 1)[None, :] - bins[:, None]
        kernel = np.exp(-0.5 * (offsets / width) ** 2).astype(np.float32)
        return np.log1p(kernel @ self.item_bins.T)[user_bin.ravel()]

    # --- user profiles ---------------------------------------------------------------------

    def semantic_profile(self, query: Query) -> np.ndarray:
        """Unit dense profile: the history mean, blended with the user's text where present."""
        if self.text is None:
            return np.zeros((query.history.shape[0], 1), dtype=np.float32)
        history = l2_normalise(np.asarray(query.history @ self.text.dense_))
        return self._with_text(history, query.text_dense, query)

    def lexical_profile(self, query: Query) -> sp.csr_matrix:
        assert self.text is not None
        history = sp.csr_matrix(normalize(query.history @ self.text.lexical_), dtype=np.float32)
        if query.text_lexical is None:
            return history
        text = sp.csr_matrix(normalize(query.text_lexical), dtype=np.float32)
        share = self._text_share(query)
        blended = sp.diags(1.0 - share) @ history + sp.diags(share) @ text
        return sp.csr_matrix(normalize(blended), dtype=np.float32)

    def attribute_popularity(self, attributes: pd.DataFrame | None, n_users: int) -> np.ndarray:
        """Log of the attribute-conditioned popularity (:class:`AttributePopularity`); users
        without known attributes get the global share. Cold items take the popularity prior
        predicted from their text, in the same units."""
        n_items = len(self.warm)
        if self.attributes is None:
            return np.broadcast_to(self.popularity, (n_users, n_items)).astype(np.float32)
        if attributes is None:
            attributes = pd.DataFrame(
                {c: [None] * n_users for c in self.attributes.columns_}, dtype=object
            )
        n_fitted = max(self.attributes.n_users_, 1)
        floor = 0.1 / n_fitted
        share = self.attributes.score(attributes)
        out = np.log(share + floor)
        if len(self.cold_items):
            prior = np.expm1(self.popularity[self.cold_items]) / n_fitted
            out[:, self.cold_items] = np.log(prior + floor)[None, :]
        return out.astype(np.float32)

    def content_profile(self, query: Query) -> sp.csr_matrix:
        """ContentKNN's profile: the unit TF-IDF mean of the items the user interacted with, or
        the user's own text where they have no history."""
        assert self.text is not None
        observed = query.observed_binary()
        profile = observed @ self.text.lexical_
        if query.text_lexical is not None:
            no_history = (observed.getnnz(axis=1) == 0).astype(np.float32)
            profile = profile + sp.diags(no_history) @ query.text_lexical
        return sp.csr_matrix(normalize(profile), dtype=np.float32)

    def _text_share(self, query: Query) -> np.ndarray:
        has_history = query.history.getnnz(axis=1) > 0
        has_text = query.has_text
        share = np.where(has_text, np.where(has_history, self.settings.text_weight, 1.0), 0.0)
        return share.astype(np.float32)

    def _with_text(self, history: np.ndarray, text: np.ndarray | None, query: Query) -> np.ndarray:
        if text is None:
            return history
        share = self._text_share(query)[:, None]
        return l2_normalise((1.0 - share) * history + share * text)

    def interest_vectors(
        self,
        query: Query,
        *,
        semantic: np.ndarray | None = None,
        latent: np.ndarray | None = None,
    ) -> np.ndarray:
        """``semantic`` (:meth:`semantic_profile`) and ``latent`` (history @ factors): the
        query's, when the caller has them already."""
        if latent is None:
            latent = np.asarray(query.history @ self.factors)
        if semantic is None:
            semantic = self.semantic_profile(query)
        return interest_vectors(semantic, latent)

    def membership(self, query: Query, k: int, **known: np.ndarray | None) -> np.ndarray:
        """Soft membership in the ``k`` clusters (``known``: as :meth:`interest_vectors`)."""
        settings = self.settings
        return soft_membership(
            self.interest_vectors(query, **known),
            self.clusters[k].centroids,
            top=settings.top_clusters,
            temperature=settings.membership_temperature,
        )

    def with_pseudo_history(self, query: Query) -> Query:
        """Text-only users (text, no history): the ``pseudo_history`` warm items closest to
        their text (joint dense + LSA space) stand in for a history, weighted by similarity
        relative to the closest; ``observed`` keeps what they really did (nothing)."""
        if self.text is None or query.text_dense is None or query.text_lexical is None:
            return query
        rows = (query.history.getnnz(axis=1) == 0) & query.has_text
        if not rows.any():
            return query
        index = np.flatnonzero(rows)
        joint = self.text.joint_users(query.text_dense[index], query.text_lexical[index])
        similarity = joint @ self.text.joint_.T
        similarity[:, ~self.warm] = -np.inf
        items, values = top_k(similarity, self.settings.pseudo_history)
        keep = (items >= 0) & (values > 0)
        top = np.where(keep, values, 0.0).max(axis=1, keepdims=True)
        scaled = np.where(keep, values / np.where(top > 0, top, 1.0), 0.0)
        pseudo = sp.csr_matrix(
            (scaled[keep], (index[np.nonzero(keep)[0]], items[keep])),
            shape=query.history.shape,
            dtype=np.float32,
        )
        return replace(
            query,
            history=sp.csr_matrix(query.history + pseudo, dtype=np.float32),
            observed=query.observed_binary(),
        )

    # --- component scores ------------------------------------------------------------------

    def _transposed(self, name: str, matrix: sp.spmatrix) -> sp.csr_matrix | np.ndarray:
        """``matrix.T`` as CSR, or dense when small (:func:`small_as_dense`), made once per
        matrix: scipy would convert the transpose of the whole matrix on every product
        (milliseconds per request)."""
        cached = self._transposes.get(name)
        if cached is None or cached[0] is not matrix:
            cached = (matrix, small_as_dense(sp.csr_matrix(matrix.T)))
            self._transposes[name] = cached
        return cached[1]

    def components(
        self, query: Query, k: int, names: Sequence[str] = COMPONENTS
    ) -> dict[str, np.ndarray]:
        n_users, n_items = query.history.shape[0], len(self.warm)
        out: dict[str, np.ndarray] = {}
        history = query.history
        if "collaborative" in names:
            if self.ease is None:
                collaborative = np.zeros((n_users, n_items), dtype=np.float32)
            else:
                collaborative = self.ease.score_new(history)
            if self.cold_mapping is not None:
                by_cold_item = self._transposed("neighbours", self.cold_mapping.neighbours)
                collaborative[:, self.cold_items] = np.asarray(by_cold_item @ collaborative.T).T
            out["collaborative"] = collaborative
        # the user profiles that several components share are computed once
        latent = None
        if "factors" in names or "affinity" in names:
            latent = np.asarray(history @ self.factors)
        semantic = None
        if "affinity" in names or (self.text is not None and "semantic" in names):
            semantic = self.semantic_profile(query)
        if "factors" in names:
            out["factors"] = latent @ self.factors.T
        if "affinity" in names:
            membership = self.membership(query, k, semantic=semantic, latent=latent)
            out["affinity"] = membership @ self.lifts[k]
        if self.text is not None and "semantic" in names:
            out["semantic"] = semantic @ self.text.dense_.T
        if self.text is not None and "lexical" in names:
            by_term = self._transposed("lexical", self.text.lexical_)
            out["lexical"] = dense_product(self.lexical_profile(query), by_term)
        if "ease" in names:
            out["ease"] = (
                np.zeros((n_users, n_items), dtype=np.float32)
                if self.ease is None
                else self.ease.score_new(query.observed_binary())
            )
        if self.text is not None and "content" in names:
            by_term = self._transposed("lexical", self.text.lexical_)
            out["content"] = dense_product(self.content_profile(query), by_term)
        if "popularity" in names:
            out["popularity"] = np.broadcast_to(self.popularity, (n_users, n_items))
        if "attribute_popularity" in names:
            out["attribute_popularity"] = self.attribute_popularity(query.attributes, n_users)
        if "trend" in names and self.trend_edges is not None:
            out["trend"] = self.trend(query.reference_time, n_users)
        return {name: np.asarray(value, dtype=np.float32) for name, value in out.items()}
