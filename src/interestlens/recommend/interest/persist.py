"""Saving and loading :class:`InterestRecommender` without pickle.

A model directory (layout: :mod:`.layout`) holds ``recommender.json`` (format name and
version, the settings, the learned scalars and weights, the encoder's identifier, the shapes,
and a list of the array files), ``item_names.json``, ``text_vocabulary.json`` (TF-IDF terms in
column order, with text) and one file per array: ``.npy`` (dense,
:func:`interestlens.persist.write_npy`) or ``.npz`` (sparse CSR, ``scipy.sparse.save_npz`` to
memory, then an atomic write). Arrays are read with ``allow_pickle=False``
(``scipy.sparse.load_npz`` passes it too), so loading never runs code. Each array is checked
against the shapes in ``recommender.json``; a missing or damaged file raises
:class:`ModelFormatError` naming it.

Validation-only state (the cores fitted on validation carves) is not saved: it only served
the search whose result is ``weights_``/``n_clusters_``/``half_life_``/``tuning_``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from interestlens.embed.base import Encoder
from interestlens.errors import ModelFormatError, ParameterError
from interestlens.persist import read_json, write_csr, write_json, write_npy
from interestlens.recommend.attribute_popularity import (
    load_attribute_popularity,
    save_attribute_popularity,
)
from interestlens.recommend.ease import EASE
from interestlens.recommend.interest.clusters import ClusterAffinity
from interestlens.recommend.interest.coldstart import ColdItemMapping
from interestlens.recommend.interest.core import InterestCore
from interestlens.recommend.interest.layout import (
    FIT_AGAIN,
    FORMAT,
    ITEM_NAMES,
    LEARNED,
    MANIFEST,
    PARTS,
    SHAPES,
    UNSAVED_PARAMS,
    VERSION,
    VOCABULARY,
    Reader,
)
from interestlens.recommend.interest.settings import check_settings
from interestlens.recommend.interest.text import TextSpace

if TYPE_CHECKING:
    from interestlens.recommend.interest.model import InterestRecommender


# --- saving ----------------------------------------------------------------------------------


def save(model: InterestRecommender, directory: str | Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = _arrays(model)
    listing: dict[str, dict[str, Any]] = {}
    for name, array in arrays.items():
        if sp.issparse(array):
            matrix = sp.csr_matrix(array)
            write_csr(directory / f"{name}.npz", matrix)
            listing[name] = {
                "file": f"{name}.npz",
                "format": "csr",
                "dtype": matrix.dtype.name,
                "shape": list(matrix.shape),
                "nnz": int(matrix.nnz),
            }
        else:
            write_npy(directory / f"{name}.npy", np.asarray(array))
            listing[name] = {
                "file": f"{name}.npy",
                "format": "dense",
                "dtype": np.asarray(array).dtype.name,
                "shape": list(np.shape(array)),
            }
    write_json(directory / ITEM_NAMES, list(model.item_names_))
    text = model.text_
    if text is not None:
        terms = sorted(text.vectorizer_.vocabulary_, key=text.vectorizer_.vocabulary_.get)
        write_json(directory / VOCABULARY, terms)
    core = model.core_
    params = {k: v for k, v in model.get_params(deep=False).items() if k not in UNSAVED_PARAMS}
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "params": _plain(params),
        # JSON has lists only: these settings were tuples
        "tuple_params": sorted(name for name, value in params.items() if isinstance(value, tuple)),
        "learned": _plain(
            {
                "clusters_given": getattr(model, "user_clusters_", None) is not None,
                "weights_": model.weights_,
                "n_clusters_": model.n_clusters_,
                "half_life_": model.half_life_,
                "max_value_": model.max_value_,
                "tuning_": model.tuning_,
                "ridge_alphas": core.cold_mapping.ridge_alphas if core.cold_mapping else None,
                "latest_time": getattr(core, "latest_time", None),
                "log_floor": model.clusters_.log_floor,
            }
        ),
        "encoder": {
            "identifier": text.encoder_identifier_ if text is not None else None,
            # a model loaded without its (non-default) encoder has no encoder in its text space
            "default": model.encoder is None and (text is None or text.encoder is not None),
        },
        "text": None if text is None else _text_settings(text),
        "parts": {
            "times": model.times_ is not None,
            "ease": core.ease is not None,
            "ease_sparse": core.ease is not None and core.ease.is_pruned,
            "cold_mapping": core.cold_mapping is not None,
            "ridge": core.cold_mapping is not None and core.cold_mapping.coef is not None,
            "trend": core.trend_edges is not None,
            "text": text is not None,
            "lsa": text is not None and text.lsa_axes_ is not None,
            "user_text": model.user_text_ is not None,
            "attributes": core.attributes is not None,
        },
        "shapes": _shapes(arrays, model),
        "arrays": listing,
    }
    if core.attributes is not None and model.user_attributes_ is not None:
        save_attribute_popularity(core.attributes, directory / ATTRIBUTES_DIR)
        table = model.user_attributes_
        write_json(
            directory / USER_ATTRIBUTES,
            {str(c): [_plain_value(v) for v in table[c].tolist()] for c in table.columns},
        )
    # the manifest goes last: a directory without it was never completely written
    write_json(directory / MANIFEST, manifest)
    return directory


def _arrays(model: InterestRecommender) -> dict[str, np.ndarray | sp.csr_matrix]:
    core = model.core_
    clusters = model.clusters_
    out: dict[str, np.ndarray | sp.csr_matrix] = {
        "interactions": model.interactions_,
        "weighted": model.weighted_,
        "warm": core.warm,
        "popularity": core.popularity,
        "factors": core.factors,
        "cluster_centroids": clusters.centroids,
        "cluster_labels": clusters.labels,
        "cluster_log_share": clusters.log_share,
        "cluster_log_global": clusters.log_global,
        "cluster_sizes": clusters.sizes,
        "cluster_lift": core.lifts[model.n_clusters_],
    }
    if model.times_ is not None:
        out["times"] = model.times_
    if core.ease is not None:
        out["ease_active_items"] = core.ease.active_items_
        out["ease_weights"] = core.ease.weights_
    mapping = core.cold_mapping
    if mapping is not None:
        out.update(
            cold_items=mapping.cold_items,
            cold_neighbours=mapping.neighbours,
            cold_factors=mapping.factors,
            cold_log_popularity=mapping.log_popularity,
        )
        if mapping.coef is not None and mapping.intercept is not None:
            out.update(ridge_coef=mapping.coef, ridge_intercept=mapping.intercept)
    if core.trend_edges is not None:
        out.update(trend_edges=core.trend_edges, trend_item_bins=core.item_bins)
    text = model.text_
    if text is not None:
        out.update(
            text_dense=text.dense_,
            text_lexical=text.lexical_,
            text_joint=text.joint_,
            text_richness=text.richness_,
            text_idf=np.asarray(text.vectorizer_.idf_),
        )
        if text.lsa_axes_ is not None:
            out["text_lsa_axes"] = text.lsa_axes_
    if model.user_text_ is not None:
        out["user_text_dense"], out["user_text_lexical"] = model.user_text_
    return out


def _shapes(arrays: dict[str, Any], model: InterestRecommender) -> dict[str, int]:
    shapes = {"n_users": int(model.n_users_), "n_items": int(model.n_items_)}
    for name, template in SHAPES.items():
        if name in arrays:
            for key, size in zip(template, arrays[name].shape, strict=True):
                if isinstance(key, str):
                    shapes[key] = int(size)
    return shapes


def _text_settings(text: TextSpace) -> dict[str, Any]:
    tfidf = {}
    for key, value in text.vectorizer_.get_params().items():
        if key == "dtype":
            value = np.dtype(value).name
        elif isinstance(value, tuple):
            value = list(value)
        if value is not None and not isinstance(value, str | bool | int | float | list):
            raise ParameterError(
                f"the TF-IDF setting {key}={value!r} cannot be saved as JSON",
                expected="TF-IDF settings made of strings, numbers and lists",
                fix="keep the TF-IDF settings of TextSpace (TFIDF_SETTINGS)",
            )
        tfidf[key] = value
    return {
        "lsa_components": int(text.lsa_components),
        "random_state": int(text.random_state),
        "tfidf": tfidf,
    }


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars and arrays become Python values, tuples lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if hasattr(value, "items"):  # other mappings (e.g. MappingProxyType)
        return {str(k): _plain(v) for k, v in value.items()}
    raise ParameterError(
        f"cannot save a {type(value).__name__} ({value!r}) as JSON",
        expected="settings and learned values made of numbers, strings, lists and dicts",
        fix="pass plain Python values as settings",
    )


# --- loading ---------------------------------------------------------------------------------


def load(
    cls: type[InterestRecommender], directory: str | Path, encoder: Encoder | None
) -> InterestRecommender:
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise ModelFormatError(
            f"{path} is missing",
            expected="a directory written by InterestRecommender.save",
            fix=f"check the path, or {FIT_AGAIN}",
        )
    manifest = read_json(path)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise ModelFormatError(
            f"{path} has format {found!r}", expected=f"format {FORMAT!r}", fix=FIT_AGAIN
        )
    if manifest.get("version") != VERSION:
        raise ModelFormatError(
            f"{path} has version {manifest.get('version')!r}",
            expected=f"version {VERSION} (this interestlens reads that one)",
            fix=FIT_AGAIN,
        )
    reader = Reader(directory, manifest)
    model = _model_with_params(cls, reader, encoder)
    parts = {name: bool(reader.field("parts", name)) for name in PARTS}
    learned = {name: reader.field("learned", name) for name in LEARNED}

    model.interactions_ = reader.array("interactions", sparse=True)
    model.weighted_ = reader.array("weighted", sparse=True)
    model.times_ = reader.array("times", sparse=True) if parts["times"] else None
    model.n_users_ = int(reader.field("shapes", "n_users"))
    model.n_items_ = int(reader.field("shapes", "n_items"))
    model.max_value_ = float(learned["max_value_"])
    model.weights_ = {
        regime: {name: float(w) for name, w in weights.items()}
        for regime, weights in learned["weights_"].items()
    }
    model.n_clusters_ = int(learned["n_clusters_"])
    model.half_life_ = None if learned["half_life_"] is None else float(learned["half_life_"])
    model.tuning_ = learned["tuning_"]
    model.item_names_ = reader.json_list(ITEM_NAMES, model.n_items_)
    model.text_ = _text_space(reader, model, encoder) if parts["text"] else None
    model.user_text_ = None
    if parts["user_text"]:
        model.user_text_ = (
            reader.array("user_text_dense"),
            reader.array("user_text_lexical", sparse=True),
        )
    model.user_attributes_ = None
    if parts["attributes"]:
        model.user_attributes_ = _user_attributes(reader, model.n_users_)
    model.core_ = _core(reader, model, parts, learned)
    if parts["attributes"]:
        model.core_.user_attributes = model.user_attributes_
        model.core_.attributes = load_attribute_popularity(reader.directory / ATTRIBUTES_DIR)
    model.clusters_ = model.core_.clusters[model.n_clusters_]
    model.cluster_labels_ = model.clusters_.labels
    # the pipeline's clusters, when the model scored with them (see InterestRecommender.fit)
    model.user_clusters_ = model.cluster_labels_ if learned["clusters_given"] else None
    return model


def _model_with_params(
    cls: type[InterestRecommender], reader: Reader, encoder: Encoder | None
) -> InterestRecommender:
    params = dict(reader.field("params"))
    known = set(cls().get_params(deep=False)) - UNSAVED_PARAMS
    if set(params) != known:
        raise ModelFormatError(
            f"{reader.directory / MANIFEST} has settings {sorted(set(params) ^ known)} that do "
            "not match this InterestRecommender",
            expected=f"exactly the settings {sorted(known)}",
            fix=FIT_AGAIN,
        )
    for name in reader.field("tuple_params"):
        if isinstance(params.get(name), list):
            params[name] = tuple(params[name])
    identifier = reader.field("encoder", "identifier")
    default = bool(reader.field("encoder", "default"))
    model = cls(encoder, **params)
    if encoder is not None:
        check_encoder(identifier, encoder, f"the model in {reader.directory}")
    if encoder is None and default and identifier is not None:
        rebuilt = model._encoder()  # the weight-free default of fit
        if rebuilt.identifier != identifier:
            raise ModelFormatError(
                f"the model in {reader.directory} was fitted with the default encoder "
                f"{identifier!r}, which this interestlens builds as {rebuilt.identifier!r}",
                expected="the same default encoder",
                fix=f"pass the encoder with identifier {identifier!r}, or {FIT_AGAIN}",
            )
    return model


def check_encoder(identifier: str | None, encoder: Encoder, model: str) -> None:
    """:class:`ModelFormatError` unless ``encoder`` is the one a model with text was fitted
    with (``identifier`` None: the model has no text, any encoder will do)."""
    if identifier is not None and encoder.identifier != identifier:
        raise ModelFormatError(
            f"{model} was fitted with encoder {identifier!r}; the encoder given has identifier "
            f"{encoder.identifier!r}",
            expected="the encoder the model was fitted with",
            fix=f"pass the encoder the model was fitted with (identifier {identifier!r})",
        )


def set_encoder(model: InterestRecommender, encoder: Encoder) -> None:
    text = model.text_
    if text is not None:
        check_encoder(text.encoder_identifier_, encoder, "this InterestRecommender")
        text.encoder = encoder
    model.encoder = encoder


def _text_space(reader: Reader, model: InterestRecommender, encoder: Encoder | None) -> TextSpace:
    default = bool(reader.field("encoder", "default"))
    space_encoder = encoder if encoder is not None else (model._encoder() if default else None)
    space = TextSpace(
        space_encoder,
        lsa_components=int(reader.field("text", "lsa_components")),
        random_state=int(reader.field("text", "random_state")),
    )
    space.encoder_identifier_ = reader.field("encoder", "identifier")
    tfidf = dict(reader.field("text", "tfidf"))
    tfidf["dtype"] = np.dtype(reader.field("text", "tfidf", "dtype")).type
    if isinstance(tfidf.get("ngram_range"), list):
        tfidf["ngram_range"] = tuple(tfidf["ngram_range"])
    try:
        vectorizer = TfidfVectorizer(**tfidf)
    except TypeError as exc:
        raise ModelFormatError(
            f"{reader.directory / MANIFEST} has TF-IDF settings this scikit-learn refuses ({exc})",
            expected="the settings of TfidfVectorizer",
            fix=FIT_AGAIN,
        ) from None
    terms = reader.json_list(VOCABULARY, int(reader.field("shapes", "n_terms")))
    vocabulary = {term: i for i, term in enumerate(terms)}
    if len(vocabulary) != len(terms):
        raise ModelFormatError(
            f"{reader.directory / VOCABULARY} repeats terms",
            expected="distinct TF-IDF terms in column order",
            fix=FIT_AGAIN,
        )
    vectorizer.vocabulary_ = vocabulary
    vectorizer.idf_ = reader.array("text_idf")
    space.vectorizer_ = vectorizer
    space.dense_ = reader.array("text_dense")
    space.lexical_ = reader.array("text_lexical", sparse=True)
    space.joint_ = reader.array("text_joint")
    space.richness_ = reader.array("text_richness")
    space.lsa_axes_ = reader.array("text_lsa_axes") if reader.field("parts", "lsa") else None
    return space


ATTRIBUTES_DIR = "attributes"
USER_ATTRIBUTES = "user_attributes.json"


def _plain_value(value: Any) -> Any:
    """An attribute value as JSON: numbers and strings as they are, missing as null."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, int | float | str) else str(value)


def _user_attributes(reader: Reader, n_users: int) -> pd.DataFrame:
    path = reader.directory / USER_ATTRIBUTES
    columns = read_json(path)
    if not isinstance(columns, dict) or any(
        not isinstance(v, list) or len(v) != n_users for v in columns.values()
    ):
        raise ModelFormatError(
            f"{path} does not hold one list of {n_users} values per attribute column",
            expected="the user attributes written by InterestRecommender.save",
            fix=FIT_AGAIN,
        )
    return pd.DataFrame(columns, dtype=object)


def _core(
    reader: Reader, model: InterestRecommender, parts: dict[str, bool], learned: dict[str, Any]
) -> InterestCore:
    core = InterestCore(check_settings(model), model.text_)
    core.warm = reader.array("warm")
    core.cold_items = np.flatnonzero(~core.warm)
    core.popularity = reader.array("popularity")
    core.factors = np.ascontiguousarray(reader.array("factors"))
    core.attributes = None
    core.ease = None
    if parts["ease"]:
        ease = EASE(l2=core.settings.ease_l2)
        ease.active_items_ = reader.array("ease_active_items")
        ease.weights_ = reader.array("ease_weights", sparse=bool(parts["ease_sparse"]))
        # only the weights are kept: the model scores histories, never its own users
        ease.interactions_ = sp.csr_matrix((0, model.n_items_), dtype=np.float32)
        ease.n_users_, ease.n_items_ = 0, model.n_items_
        core.ease = ease
    core.cold_mapping = None
    if parts["cold_mapping"]:
        ridge = bool(parts["ridge"])
        core.cold_mapping = ColdItemMapping(
            cold_items=reader.array("cold_items"),
            neighbours=reader.array("cold_neighbours", sparse=True),
            factors=reader.array("cold_factors"),
            log_popularity=reader.array("cold_log_popularity"),
            ridge_alphas=[float(a) for a in learned["ridge_alphas"] or []],
            coef=reader.array("ridge_coef") if ridge else None,
            intercept=reader.array("ridge_intercept") if ridge else None,
        )
    core.trend_edges = None
    if parts["trend"]:
        core.trend_edges = reader.array("trend_edges")
        core.item_bins = reader.array("trend_item_bins")
        core.latest_time = float(learned["latest_time"])
    clusters = ClusterAffinity(
        centroids=reader.array("cluster_centroids"),
        labels=reader.array("cluster_labels"),
        log_share=reader.array("cluster_log_share"),
        log_global=reader.array("cluster_log_global"),
        sizes=reader.array("cluster_sizes"),
        log_floor=float(learned["log_floor"]),
    )
    core.clusters = {model.n_clusters_: clusters}
    core.lifts = {model.n_clusters_: reader.array("cluster_lift")}
    return core
