"""The saved model: a directory of JSON/TOML, ``.npy`` and Parquet files — never pickle.

Layout (format version 1)::

    manifest.json           format name and version, interestlens version, encoder id, fit report
    config.toml             the settings the model was fitted with
    item_ids.json           external item ids, in index order
    user_ids.json           external user ids, in index order
    item_vectors.npy        float32 (n_items, d)
    user_vectors.npy        float32 (n_users, d) interest vectors
    user_text_vectors.rows.npz  float32 (n_users, d) vectors of the users' own text (zero if
                            none), only the non-zero rows stored (``persist.write_rows``);
                            directories written before hold user_text_vectors.npy, still read
    items.parquet           item_id, text
    users.parquet           user_id, text, source (blend / history / text / none)
    interactions.parquet    user_index, item_index, rating, timestamp
    item_titles.json        display titles, when the items have a title column
    user_clusters.npy       int64 (n_users,) cluster per user, -1 = no history and no text
    user_map.npy            float32 (n_users, 2) positions on the report's 2-D map
    membership.npy          float32 (n_users, k) soft membership, where the method has one
    explanations.json       keywords, representative items, medoid users per cluster
    clusters_summary.json   users not clustered, metrics against known labels
    cluster_ids.npy         int64 (k,) stable id of each fitted cluster, when fitted with a
                            previous model (fit --previous, refit); absent: ids = fit indices
    cluster_lineage.json    the previous fit's id, kept / born / split / merged / dissolved
                            clusters and the next free id (interestlens.cluster.identity)
    privacy_release.json    with privacy.epsilon: differentially private cluster sizes and the
    privacy_centroids.npy   budget (ε, δ, clip); float32 (k, d) DP centroids (docs/privacy.md)
    clustering/             the fitted clusterer, k-selection scores and stability
    recommender/            the fitted InterestRecommender (when recommend.enabled), its
                            chosen blend weights and tuning record included
    evaluation.json         written by 'interestlens evaluate --model DIR', shown in the report

The whole directory is written next to its destination and renamed into place, so a reader
(or the HTTP service reloading) sees the old model or the new one, never a mixture.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from interestlens.config import Settings, load_settings, settings_to_dict
from interestlens.data.ids import IdMap
from interestlens.errors import ConfigError, ModelFormatError
from interestlens.interest_clusters import InterestClusters
from interestlens.model_check import (
    check_cluster_labels,
    check_interactions,
    verify_model_dir,
)
from interestlens.persist import (
    atomic_write_bytes,
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
from interestlens.represent import TextInterestBridge, WeightedMeanInterests

BRIDGE_ARRAYS = ("coef", "intercept")

if TYPE_CHECKING:
    from interestlens.pipeline import InterestLens

FORMAT_NAME = "interestlens-model"
FORMAT_VERSION = 1
USER_TEXT_ROWS = "user_text_vectors.rows.npz"


def package_version() -> str:
    try:
        return metadata.version("interestlens")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def write_parquet(path: Path, frame: pd.DataFrame) -> Path:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def read_parquet(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise ModelFormatError(
            f"{path} is missing",
            expected="a model directory written by 'interestlens fit'",
            fix="point --model at the directory that 'interestlens fit --out' wrote",
        )
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise ModelFormatError(
            f"{path} cannot be read as Parquet ({exc})",
            expected="the Parquet file that 'interestlens fit' wrote",
            fix="fit the model again",
        ) from None


def check_destination(destination: Path) -> Path:
    """``destination`` (resolved) if a model may be written there: a new path, an empty
    directory or a previous model directory, in a folder that can be written. Checked before a
    fit starts as well as before the rename, so a bad ``--out`` costs no fitting time."""
    if "\x00" in str(destination):
        raise ModelFormatError(
            f"the output path {str(destination)[:200]!r} contains a NUL byte",
            expected="a directory path without NUL bytes",
            fix="choose another --out path",
        )
    destination = Path(destination).expanduser().resolve()
    if destination.exists() and not destination.is_dir():
        raise ModelFormatError(
            f"{destination} exists and is a file",
            expected="a directory path (new or a previous model directory) for the model",
            fix="choose another --out path",
        )
    if (
        destination.exists()
        and not (destination / "manifest.json").exists()
        and any(destination.iterdir())
    ):
        raise ModelFormatError(
            f"{destination} is a non-empty directory that holds no interestlens model",
            expected="a new path, an empty directory or a previous model directory",
            fix="choose another --out path so that nothing else is overwritten",
        )
    parent = destination.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ModelFormatError(
            f"{parent} cannot be written",
            expected="an --out path in a folder this user may write",
            fix="choose another --out path or check the folder's permissions",
        )
    return destination


def replace_directory(staging: Path, destination: Path) -> None:
    """Move a fully written ``staging`` directory to ``destination``, replacing what was there."""
    check_destination(destination)
    if destination.exists():
        retired = destination.with_name(f".{destination.name}.old-{os.getpid()}")
        os.replace(destination, retired)
        os.replace(staging, destination)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, destination)


def save_model(model: InterestLens, destination: Path) -> Path:
    destination = destination.expanduser().resolve()
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        write_model_files(model, staging)
        replace_directory(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def write_model_files(model: InterestLens, directory: Path) -> None:
    settings = model._settings()
    representer = model.representer_
    write_json(
        directory / "manifest.json",
        {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "interestlens_version": package_version(),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "dataset": model.dataset_name_,
            "encoder": model.encoder_id_,
            "n_items": len(model.item_ids_),
            "n_users": len(model.user_ids_),
            "dimension": int(model.item_vectors_.shape[1]),
            "represent": {"max_rating": representer.max_rating_},
            "fit_report": model.report_.to_dict(),
            "privacy": getattr(model, "privacy_", None),
        },
    )
    write_toml(directory / "config.toml", settings_to_dict(settings))
    write_json(directory / "item_ids.json", model.item_ids_.to_list())
    write_json(directory / "user_ids.json", model.user_ids_.to_list())
    write_npy(directory / "item_vectors.npy", model.item_vectors_)
    write_npy(directory / "user_vectors.npy", model.user_vectors_)
    # mostly zero rows (users without text): only the others are stored
    write_rows(directory / USER_TEXT_ROWS, model.user_text_vectors_)
    write_parquet(
        directory / "items.parquet",
        pd.DataFrame({"item_id": model.item_ids_.to_list(), "text": model.item_texts_}),
    )
    write_parquet(
        directory / "users.parquet",
        pd.DataFrame(
            {
                "user_id": model.user_ids_.to_list(),
                "text": model.user_texts_,
                "source": representer.source_,
            }
        ),
    )
    write_parquet(directory / "interactions.parquet", model.interactions_)
    if model.item_titles_ is not None:
        write_json(directory / "item_titles.json", model.item_titles_)
    model.clusters_.save(directory)
    release = getattr(model, "privacy_release_", None)
    if release is not None:
        release.save(directory)
    bridge = getattr(representer, "bridge_", None)
    if bridge is not None:
        scalars, arrays = bridge.state()
        (directory / "bridge").mkdir(exist_ok=True)
        write_json(directory / "bridge" / "bridge.json", scalars)
        for name, array in arrays.items():
            write_npy(directory / "bridge" / f"{name}.npy", array)
    if getattr(model, "recommender_", None) is not None:
        model.recommender_.save(directory / "recommender")


def read_manifest(directory: Path) -> dict[str, Any]:
    if "\x00" in str(directory):
        raise ModelFormatError(
            f"the model path {str(directory)[:200]!r} contains a NUL byte",
            expected="a directory path without NUL bytes",
            fix="check the --model path",
        )
    if not directory.is_dir():
        raise ModelFormatError(
            f"model directory {directory} does not exist",
            expected="a directory written by 'interestlens fit --out DIR'",
            fix="run 'interestlens fit' first or check the --model path",
        )
    manifest = read_json(directory / "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ModelFormatError(
            f"{directory / 'manifest.json'} is not an interestlens model manifest",
            expected=f'"format": "{FORMAT_NAME}"',
            fix="point --model at a directory written by 'interestlens fit'",
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"model format version {version!r} in {directory}",
            expected=f"format version {FORMAT_VERSION} (interestlens {package_version()})",
            fix="fit the model again with this version of interestlens",
        )
    return manifest


def load_model(directory: Path) -> InterestLens:
    """The model saved in ``directory``, verified against its manifest first
    (:mod:`interestlens.model_check`); any damage raises one :class:`ModelFormatError`."""
    directory = Path(directory).expanduser()
    return guarded_load(directory, lambda: _load_model(directory))


def _load_model(directory: Path) -> InterestLens:
    from interestlens.pipeline import FitReport, InterestLens

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
    model = InterestLens(settings)
    model.item_ids_ = IdMap.from_list(read_json(directory / "item_ids.json"), kind="item")
    model.user_ids_ = IdMap.from_list(read_json(directory / "user_ids.json"), kind="user")
    model.item_vectors_ = read_npy(directory / "item_vectors.npy")
    model.user_vectors_ = read_npy(directory / "user_vectors.npy")
    model.user_text_vectors_ = (
        read_rows(directory / USER_TEXT_ROWS)
        if (directory / USER_TEXT_ROWS).exists()
        or not (directory / "user_text_vectors.npy").exists()
        else read_npy(directory / "user_text_vectors.npy")  # saved before rows-only files
    )
    items = read_parquet(directory / "items.parquet")
    users = read_parquet(directory / "users.parquet")
    model.item_texts_ = items["text"].tolist()
    model.user_texts_ = users["text"].tolist()
    model.interactions_ = read_parquet(directory / "interactions.parquet")
    _check_shapes(directory, model, manifest)
    check_interactions(directory, model.interactions_, len(model.user_ids_), len(model.item_ids_))

    representer = WeightedMeanInterests(
        half_life_days=settings.interests.half_life_days,
        use_ratings=settings.interests.use_ratings,
        text_weight=settings.interests.text_weight,
    )
    representer.vectors_ = model.user_vectors_
    representer.source_ = users["source"].to_numpy(dtype=str)
    representer.max_rating_ = manifest.get("represent", {}).get("max_rating")
    representer.has_history_ = np.isin(representer.source_, ["history", "blend"])
    representer.has_text_ = np.isin(representer.source_, ["text", "blend"])
    representer.users_without_signal_ = np.flatnonzero(representer.source_ == "none")
    representer.bridge_ = None
    if (directory / "bridge" / "bridge.json").exists():
        scalars = read_json(directory / "bridge" / "bridge.json")
        if not isinstance(scalars, dict):
            raise ModelFormatError(
                f"{directory / 'bridge' / 'bridge.json'} holds {type(scalars).__name__}",
                expected="a JSON object with the text bridge's settings",
                fix="fit the model again",
            )
        arrays = {name: read_npy(directory / "bridge" / f"{name}.npy") for name in BRIDGE_ARRAYS}
        try:
            representer.bridge_ = TextInterestBridge.from_state(scalars, arrays)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(
                f"{directory / 'bridge'} cannot be restored ({type(exc).__name__}: {exc})",
                expected="the text bridge written by 'interestlens fit'",
                fix="fit the model again",
            ) from exc
    model.representer_ = representer
    model.encoder_id_ = manifest["encoder"]
    model.dataset_name_ = manifest.get("dataset", "dataset")
    model.report_ = FitReport(dataset=manifest.get("fit_report", {}).get("dataset", {}))
    titles_path = directory / "item_titles.json"
    model.item_titles_ = read_json(titles_path) if titles_path.exists() else None
    clusters = InterestClusters.load(directory)
    if clusters is None:
        raise ModelFormatError(
            f"{directory} holds no clustering",
            expected="clustering/result.json written by 'interestlens fit'",
            fix="fit the model again",
        )
    check_cluster_labels(directory / "user_clusters.npy", clusters)
    model.clusters_ = clusters
    model.privacy_ = manifest.get("privacy")
    model.privacy_release_ = ClusterRelease.load(directory)
    model.recommender_ = None
    if (directory / "recommender").is_dir():
        from interestlens.recommend.interest import InterestRecommender

        # no encoder yet: it is built (and its weights loaded) only when text must be encoded
        model.recommender_ = InterestRecommender.load(directory / "recommender")
    model.manifest_ = manifest
    return model


def _legacy_encoder(directory: Path) -> dict[str, Any]:
    """Models saved before encoder.backend existed were fitted with torch: keep it so."""
    try:
        with (directory / "config.toml").open("rb") as handle:
            encoder = tomllib.load(handle).get("encoder", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}  # load_settings reports the file's problem
    return {} if "backend" in encoder else {"encoder.backend": "torch"}


def _check_shapes(directory: Path, model: InterestLens, manifest: dict[str, Any]) -> None:
    checks = {
        "item_vectors.npy rows": (model.item_vectors_.shape[0], len(model.item_ids_)),
        "user_vectors.npy rows": (model.user_vectors_.shape[0], len(model.user_ids_)),
        "user text vector rows": (model.user_text_vectors_.shape[0], len(model.user_ids_)),
        "items.parquet rows": (len(model.item_texts_), len(model.item_ids_)),
        "users.parquet rows": (len(model.user_texts_), len(model.user_ids_)),
        "n_items in manifest": (manifest.get("n_items"), len(model.item_ids_)),
    }
    for what, (found, expected) in checks.items():
        if found != expected:
            raise ModelFormatError(
                f"{directory}: {what} = {found}",
                expected=f"{expected}, matching the id lists",
                fix="the directory is damaged or mixed from two fits: fit the model again",
            )
