"""The whole model: :class:`SavedModel` (the parts a fitted lens hands over), written by
:func:`save_model` into a staging directory renamed into place, and read back by
:func:`load_model` after the directory was verified against its manifest
(:mod:`interestlens.model_dir.verify`)."""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from interestlens.cluster.interest_clusters import InterestClusters
from interestlens.config import Settings, load_settings, settings_to_dict
from interestlens.data.ids import IdMap
from interestlens.errors import ConfigError, ModelFormatError
from interestlens.model_dir.checksums import write_checksums
from interestlens.model_dir.cluster_files import read_interest_clusters, write_interest_clusters
from interestlens.model_dir.directory import replace_directory
from interestlens.model_dir.manifest import write_manifest
from interestlens.model_dir.privacy_files import read_release, write_release
from interestlens.model_dir.recommender_files import read_recommender, write_recommender
from interestlens.model_dir.tables import read_parquet, write_parquet
from interestlens.model_dir.verify import (
    check_cluster_labels,
    check_interactions,
    verify_model_dir,
)
from interestlens.persist import (
    guarded_load,
    read_json,
    read_npy,
    read_rows,
    write_json,
    write_npy,
    write_rows,
    write_toml,
)
from interestlens.privacy.dp import ClusterRelease
from interestlens.represent import TextInterestBridge

USER_TEXT_ROWS = "user_text_vectors.rows.npz"


@dataclass
class SavedModel:
    """What a model directory holds, as plain parts: :meth:`InterestLens.save
    <interestlens.pipeline.InterestLens.save>` hands one over, :func:`load_model` returns one
    (with the ``manifest`` read back) for :meth:`InterestLens.load
    <interestlens.pipeline.InterestLens.load>` to build itself from.

    ``represent`` is the representer's ``state()``: scalars (``max_rating`` and the text
    bridge's ``bridge`` settings, or None) and arrays (``vectors``: the user interest vectors;
    ``source`` per user; ``bridge_coef`` and ``bridge_intercept`` with a bridge).
    """

    settings: Settings
    dataset_name: str
    encoder_id: str
    fit_report: dict[str, Any]
    item_ids: IdMap
    user_ids: IdMap
    item_vectors: np.ndarray
    user_text_vectors: np.ndarray
    item_texts: list[str]
    user_texts: list[str]
    interactions: pd.DataFrame
    item_titles: list[Any] | None
    represent: tuple[dict[str, Any], dict[str, np.ndarray]]
    clusters: InterestClusters
    privacy: dict[str, Any] | None = None
    privacy_release: ClusterRelease | None = None
    recommender: Any = None
    manifest: dict[str, Any] | None = None

    @property
    def user_vectors(self) -> np.ndarray:
        return self.represent[1]["vectors"]


def save_model(model: SavedModel, destination: Path) -> Path:
    destination = destination.expanduser().resolve()
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        write_model_files(model, staging)
        write_checksums(staging)
        replace_directory(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def write_settings(directory: Path, settings: Settings) -> Path:
    """``config.toml``: the settings the model was fitted with."""
    return write_toml(directory / "config.toml", settings_to_dict(settings))


def write_item_files(
    directory: Path,
    item_ids: list[str],
    item_vectors: np.ndarray,
    item_texts: list[str],
    item_titles: list[Any] | None,
) -> None:
    """The catalogue: ``item_ids.json``, ``item_vectors.npy``, ``items.parquet`` (id, text) and
    ``item_titles.json`` where the items have titles."""
    write_json(directory / "item_ids.json", item_ids)
    write_npy(directory / "item_vectors.npy", item_vectors)
    write_parquet(
        directory / "items.parquet", pd.DataFrame({"item_id": item_ids, "text": item_texts})
    )
    if item_titles is not None:
        write_json(directory / "item_titles.json", item_titles)


def write_bridge(
    directory: Path, scalars: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> None:
    """The text bridge (:meth:`TextInterestBridge.state`) in ``directory / "bridge"``."""
    (directory / "bridge").mkdir(exist_ok=True)
    write_json(directory / "bridge" / "bridge.json", dict(scalars))
    for name in TextInterestBridge.ARRAYS:
        write_npy(directory / "bridge" / f"{name}.npy", arrays[name])


def write_model_files(model: SavedModel, directory: Path) -> None:
    represent_meta, represent_arrays = model.represent
    write_manifest(
        directory,
        {
            "dataset": model.dataset_name,
            "encoder": model.encoder_id,
            "n_items": len(model.item_ids),
            "n_users": len(model.user_ids),
            "dimension": int(model.item_vectors.shape[1]),
            "represent": {
                "max_rating": represent_meta.get("max_rating"),
                "lead_weight": represent_meta.get("lead_weight", 0.0),
            },
            "fit_report": model.fit_report,
            "privacy": model.privacy,
        },
    )
    write_settings(directory, model.settings)
    write_item_files(
        directory, model.item_ids.to_list(), model.item_vectors, model.item_texts, model.item_titles
    )
    write_json(directory / "user_ids.json", model.user_ids.to_list())
    write_npy(directory / "user_vectors.npy", model.user_vectors)
    # mostly zero rows (users without text): only the others are stored
    write_rows(directory / USER_TEXT_ROWS, model.user_text_vectors)
    write_parquet(
        directory / "users.parquet",
        pd.DataFrame(
            {
                "user_id": model.user_ids.to_list(),
                "text": model.user_texts,
                "source": represent_arrays["source"],
            }
        ),
    )
    write_parquet(directory / "interactions.parquet", model.interactions)
    write_interest_clusters(directory, model.clusters)
    if model.privacy_release is not None:
        write_release(directory, model.privacy_release)
    if represent_meta.get("bridge") is not None:
        write_bridge(
            directory,
            represent_meta["bridge"],
            {name: represent_arrays[f"bridge_{name}"] for name in TextInterestBridge.ARRAYS},
        )
    if model.recommender is not None:
        write_recommender(directory / "recommender", model.recommender)


def load_model(directory: Path, *, mmap: bool = False) -> SavedModel:
    """The model saved in ``directory``, verified against its manifest first
    (:mod:`interestlens.model_dir.verify`); any damage raises one :class:`ModelFormatError`.
    ``mmap``: the item vectors and the recommender's large text arrays are read-only memory
    maps (processes serving one model share their pages)."""
    directory = Path(directory).expanduser()
    return guarded_load(directory, lambda: read_model_files(directory, mmap=mmap))


def read_model_files(directory: Path, *, mmap: bool = False) -> SavedModel:
    manifest = verify_model_dir(directory)
    try:
        settings: Settings = load_settings(
            directory / "config.toml", environ={}, overrides=_legacy_encoder(directory)
        )
    except ConfigError as exc:
        raise ModelFormatError(
            f"{directory / 'config.toml'} holds settings this interestlens refuses: {exc.problem}",
            expected="the settings file 'interestlens fit' wrote",
            fix="fit the model again with this version",
        ) from None
    item_ids = IdMap.from_list(read_json(directory / "item_ids.json"), kind="item")
    user_ids = IdMap.from_list(read_json(directory / "user_ids.json"), kind="user")
    item_vectors = read_npy(directory / "item_vectors.npy", mmap=mmap)
    user_vectors = read_npy(directory / "user_vectors.npy")
    user_text_vectors = (
        read_rows(directory / USER_TEXT_ROWS)
        if (directory / USER_TEXT_ROWS).exists()
        or not (directory / "user_text_vectors.npy").exists()
        else read_npy(directory / "user_text_vectors.npy")  # saved before rows-only files
    )
    items = read_parquet(directory / "items.parquet")
    users = read_parquet(directory / "users.parquet")
    interactions = read_parquet(directory / "interactions.parquet")
    item_texts, user_texts = items["text"].tolist(), users["text"].tolist()
    shapes = {
        "item_vectors.npy rows": (item_vectors.shape[0], len(item_ids)),
        "user_vectors.npy rows": (user_vectors.shape[0], len(user_ids)),
        "user text vector rows": (user_text_vectors.shape[0], len(user_ids)),
        "items.parquet rows": (len(item_texts), len(item_ids)),
        "users.parquet rows": (len(user_texts), len(user_ids)),
        "n_items in manifest": (manifest.get("n_items"), len(item_ids)),
    }
    _check_shapes(directory, shapes)
    check_interactions(directory, interactions, len(user_ids), len(item_ids))

    represent_meta: dict[str, Any] = {
        "max_rating": manifest.get("represent", {}).get("max_rating"),
        "lead_weight": _lead_weight(directory, manifest.get("represent", {})),
        "bridge": None,
    }
    represent_arrays = {"vectors": user_vectors, "source": users["source"].to_numpy(dtype=str)}
    if (directory / "bridge" / "bridge.json").exists():
        scalars = read_json(directory / "bridge" / "bridge.json")
        if not isinstance(scalars, dict):
            raise ModelFormatError(
                f"{directory / 'bridge' / 'bridge.json'} holds {type(scalars).__name__}",
                expected="a JSON object with the text bridge's settings",
                fix="fit the model again",
            )
        arrays = {
            name: read_npy(directory / "bridge" / f"{name}.npy")
            for name in TextInterestBridge.ARRAYS
        }
        try:
            TextInterestBridge.from_state(scalars, arrays)  # damage is reported here
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(
                f"{directory / 'bridge'} cannot be restored ({type(exc).__name__}: {exc})",
                expected="the text bridge written by 'interestlens fit'",
                fix="fit the model again",
            ) from exc
        represent_meta["bridge"] = scalars
        represent_arrays.update({f"bridge_{name}": array for name, array in arrays.items()})
    titles_path = directory / "item_titles.json"
    clusters = read_interest_clusters(directory)
    if clusters is None:
        raise ModelFormatError(
            f"{directory} holds no clustering",
            expected="clustering/result.json written by 'interestlens fit'",
            fix="fit the model again",
        )
    check_cluster_labels(directory / "user_clusters.npy", clusters)
    recommender = None
    if (directory / "recommender").is_dir():
        # no encoder yet: it is built (and its weights loaded) only when text must be encoded
        recommender = read_recommender(directory / "recommender", mmap=mmap)
    return SavedModel(
        settings=settings,
        dataset_name=manifest.get("dataset", "dataset"),
        encoder_id=manifest["encoder"],
        fit_report=manifest.get("fit_report", {}),
        item_ids=item_ids,
        user_ids=user_ids,
        item_vectors=item_vectors,
        user_text_vectors=user_text_vectors,
        item_texts=item_texts,
        user_texts=user_texts,
        interactions=interactions,
        item_titles=read_json(titles_path) if titles_path.exists() else None,
        represent=(represent_meta, represent_arrays),
        clusters=clusters,
        privacy=manifest.get("privacy"),
        privacy_release=read_release(directory),
        recommender=recommender,
        manifest=manifest,
    )


def _legacy_encoder(directory: Path) -> dict[str, Any]:
    """Models saved before encoder.backend existed were fitted with torch: keep it so."""
    try:
        with (directory / "config.toml").open("rb") as handle:
            encoder = tomllib.load(handle).get("encoder", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}  # load_settings reports the file's problem
    return {} if "backend" in encoder else {"encoder.backend": "torch"}


def _check_shapes(directory: Path, checks: dict[str, tuple[Any, Any]]) -> None:
    for what, (found, expected) in checks.items():
        if found != expected:
            raise ModelFormatError(
                f"{directory}: {what} = {found}",
                expected=f"{expected}, matching the id lists",
                fix="the directory is damaged or mixed from two fits: fit the model again",
            )


def _lead_weight(directory: Path, represent: Any) -> float:
    """The first-clause weight the fit chose (0 for directories written before it could)."""
    value = represent.get("lead_weight", 0.0) if isinstance(represent, dict) else 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 10:
        raise ModelFormatError(
            f"{directory / 'manifest.json'} gives represent.lead_weight {value!r}",
            expected="a number from 0 to 10 (the weight of a user text's first clause)",
            fix="fit the model again",
        )
    return float(value)
