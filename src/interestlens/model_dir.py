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
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from interestlens.cluster import ClusteringResult
from interestlens.cluster.interest_clusters import (
    OPTIONAL_ARRAYS,
    REQUIRED_ARRAYS,
    InterestClusters,
)
from interestlens.config import Settings, load_settings, settings_to_dict
from interestlens.data.ids import IdMap
from interestlens.errors import ConfigError, InterestLensError, ModelFormatError
from interestlens.explain import load_explanations, save_explanations
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
from interestlens.recommend.interest import InterestRecommender
from interestlens.represent import TextInterestBridge

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
        replace_directory(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def write_model_files(model: SavedModel, directory: Path) -> None:
    represent_meta, represent_arrays = model.represent
    write_json(
        directory / "manifest.json",
        {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "interestlens_version": package_version(),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "dataset": model.dataset_name,
            "encoder": model.encoder_id,
            "n_items": len(model.item_ids),
            "n_users": len(model.user_ids),
            "dimension": int(model.item_vectors.shape[1]),
            "represent": {"max_rating": represent_meta.get("max_rating")},
            "fit_report": model.fit_report,
            "privacy": model.privacy,
        },
    )
    write_toml(directory / "config.toml", settings_to_dict(model.settings))
    write_json(directory / "item_ids.json", model.item_ids.to_list())
    write_json(directory / "user_ids.json", model.user_ids.to_list())
    write_npy(directory / "item_vectors.npy", model.item_vectors)
    write_npy(directory / "user_vectors.npy", model.user_vectors)
    # mostly zero rows (users without text): only the others are stored
    write_rows(directory / USER_TEXT_ROWS, model.user_text_vectors)
    write_parquet(
        directory / "items.parquet",
        pd.DataFrame({"item_id": model.item_ids.to_list(), "text": model.item_texts}),
    )
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
    if model.item_titles is not None:
        write_json(directory / "item_titles.json", model.item_titles)
    write_interest_clusters(directory, model.clusters)
    if model.privacy_release is not None:
        model.privacy_release.save(directory)
    if represent_meta.get("bridge") is not None:
        (directory / "bridge").mkdir(exist_ok=True)
        write_json(directory / "bridge" / "bridge.json", represent_meta["bridge"])
        for name in TextInterestBridge.ARRAYS:
            write_npy(directory / "bridge" / f"{name}.npy", represent_arrays[f"bridge_{name}"])
    if model.recommender is not None:
        model.recommender.save(directory / "recommender")


def write_interest_clusters(directory: Path, clusters: InterestClusters) -> None:
    """The clustering (``clustering/``), the per-user arrays, the explanations and the
    summary of ``clusters`` in the model directory ``directory``."""
    clusters.result.save(directory / "clustering")
    meta, arrays = clusters.state()
    for name in (*REQUIRED_ARRAYS, *OPTIONAL_ARRAYS):
        if name in arrays:
            write_npy(directory / f"{name}.npy", arrays[name])
    save_explanations(directory / "explanations.json", clusters.explanations)
    if meta.get("lineage") is not None:
        write_json(directory / "cluster_lineage.json", meta["lineage"])
    write_json(
        directory / "clusters_summary.json",
        {"unclustered": meta["unclustered"], "truth_metrics": meta["truth_metrics"]},
    )


def read_interest_clusters(directory: Path) -> InterestClusters | None:
    """The :class:`InterestClusters` :func:`write_interest_clusters` wrote in ``directory``;
    None where it holds no clustering."""
    if not (directory / "clustering" / "result.json").exists():
        return None
    summary = read_json(directory / "clusters_summary.json")
    try:
        result = ClusteringResult.load(directory / "clustering")
    except (TypeError, KeyError, ValueError, IndexError) as exc:
        if isinstance(exc, InterestLensError):
            raise
        # the saved state does not match this version's clusterers
        raise ModelFormatError(
            f"{directory / 'clustering'} cannot be restored ({type(exc).__name__}: {exc})",
            expected="a clustering saved by this version of interestlens",
            fix="fit the model again with this version",
        ) from exc
    # NaN: users without any signal have no place on the map, nor a confidence
    arrays = {
        name: read_npy(directory / f"{name}.npy", allow_nan=name != "user_clusters")
        for name in (*REQUIRED_ARRAYS, *OPTIONAL_ARRAYS)
        if name in REQUIRED_ARRAYS or (directory / f"{name}.npy").exists()
    }
    lineage_path = directory / "cluster_lineage.json"
    meta = {
        "unclustered": summary.get("unclustered", 0),
        "truth_metrics": summary.get("truth_metrics"),
        "lineage": read_json(lineage_path) if lineage_path.exists() else None,
    }
    return InterestClusters.from_state(
        meta,
        arrays,
        result=result,
        explanations=load_explanations(directory / "explanations.json"),
    )


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


def load_model(directory: Path) -> SavedModel:
    """The model saved in ``directory``, verified against its manifest first
    (:mod:`interestlens.model_check`); any damage raises one :class:`ModelFormatError`."""
    directory = Path(directory).expanduser()
    return guarded_load(directory, lambda: read_model_files(directory))


def read_model_files(directory: Path) -> SavedModel:
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
    item_vectors = read_npy(directory / "item_vectors.npy")
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
        recommender = InterestRecommender.load(directory / "recommender")
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
        privacy_release=ClusterRelease.load(directory),
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
