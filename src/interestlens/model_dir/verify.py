"""Verify a model directory against its manifest before anything is loaded from it.

:func:`verify_model_dir` reads only the manifest, the id lists, the ``.npy`` headers and the
Parquet footers, and checks: every file exists and is a regular file; dtypes; shapes agree with
each other, with the id lists and with the manifest; the vectors have the encoder's width.
Last, every file ``checksums.json`` lists is hashed (:mod:`.checksums`): the one check that
reads every byte, and the only one that sees a flipped byte inside an array or a Parquet
column. It runs after the structural checks, so a file that is plainly broken is named with
its specific problem. :func:`interestlens.persist.guarded_load` runs a loader and turns anything
that still escapes (a ``KeyError`` from a hand-edited JSON file, say) into the same
:class:`ModelFormatError`, so a damaged or crafted directory never surfaces as a traceback,
a 500 or an "aborted".

``recommend``, ``serve`` (start and reload) and ``refit`` all load through
:func:`interestlens.model_dir.load_model`, which starts here; ``serve`` runs
:func:`verify_model_dir` on its own before it accepts a directory.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from interestlens.errors import ModelFormatError
from interestlens.model_dir.checksums import verify_checksums
from interestlens.model_dir.manifest import read_manifest
from interestlens.model_dir.recommender_files import MANIFEST as RECOMMENDER_MANIFEST
from interestlens.persist import (
    FIT_AGAIN,
    checked_file,
    npy_header,
    npz_members,
    read_json,
)

#: the encoder identifiers of interestlens carry their width as ``dim=N``
_DIMENSION = re.compile(r"(?:^|[:;,])dim=(\d+)(?:$|[:;,])")
logger = logging.getLogger(__name__)


def _problem(path: Path | str, problem: str, expected: str) -> ModelFormatError:
    return ModelFormatError(f"{path}: {problem}", expected=expected, fix=FIT_AGAIN)


def _size(manifest: dict[str, Any], key: str, path: Path) -> int:
    value = manifest.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _problem(path, f"{key} is {str(value)[:80]!r}", "a whole number >= 0")
    return value


def _id_list(path: Path, length: int, what: str) -> None:
    values = read_json(path)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _problem(path, f"holds a {type(values).__name__}", f"a JSON list of {what} ids")
    if len(values) != length:
        raise _problem(path, f"holds {len(values)} ids", f"{length} ids (manifest.json)")
    if len(set(values)) != len(values):
        raise _problem(path, "repeats ids", f"distinct {what} ids")


def _array(path: Path, shape: tuple[int | None, ...], kinds: str) -> tuple[int, ...]:
    """The header's shape, checked against ``shape`` (None: any size) and dtype ``kinds``."""
    found, dtype = npy_header(path)
    wanted = "(" + ", ".join("any" if n is None else str(n) for n in shape) + ")"
    if len(found) != len(shape) or any(
        n is not None and n != m for n, m in zip(shape, found, strict=False)
    ):
        raise _problem(path, f"has shape {found}", f"shape {wanted}")
    if dtype.kind not in kinds:
        names = {"f": "floating", "i": "integer", "u": "integer", "b": "boolean"}
        raise _problem(
            path, f"has dtype {dtype}", " or ".join(sorted({names[k] for k in kinds})) + " values"
        )
    return found


def _row_array(path: Path, shape: tuple[int, int]) -> None:
    """A rows-only array (:func:`interestlens.persist.write_rows`): its members' headers, the
    full shape it declares and the range of its row index, before anything large is read."""
    members = npz_members(path)
    if set(members) != {"index", "rows", "shape"}:
        raise _problem(path, f"holds the arrays {sorted(members)}", "index, rows and shape")
    (n_index,), (n_rows, width) = members["index"][0], members["rows"][0]
    if n_rows != n_index or width != shape[1] or members["rows"][1].kind != "f":
        raise _problem(
            path,
            f"holds {n_index} row indices and rows of shape {(n_rows, width)}",
            f"as many rows as indices, {shape[1]} floating columns",
        )
    with np.load(path, allow_pickle=False) as stored:
        declared = tuple(int(n) for n in stored["shape"])
        index = stored["index"]
    if declared != shape:
        raise _problem(path, f"declares shape {declared}", f"shape {shape}")
    if index.size and (index.min() < 0 or index.max() >= shape[0]):
        raise _problem(path, "has row indices out of range", f"indices in [0, {shape[0]})")


def _rows(path: Path, length: int, columns: tuple[str, ...]) -> None:
    checked_file(path, "Parquet table")
    try:
        metadata = pq.read_metadata(path)
    except (pa.ArrowException, OSError) as exc:
        raise _problem(path, f"is not readable Parquet ({exc})", "a Parquet table") from None
    names = set(metadata.schema.names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise _problem(path, f"lacks the columns {missing}", f"the columns {list(columns)}")
    if length >= 0 and metadata.num_rows != length:
        raise _problem(path, f"holds {metadata.num_rows} rows", f"{length} rows")


def verify_model_dir(directory: str | Path, *, checksums: bool = True) -> dict[str, Any]:
    """Check ``directory`` against its manifest and its checksums; the manifest, or
    :class:`ModelFormatError` naming the first file that is missing, of the wrong kind, shape
    or dtype, inconsistent with the others, or whose bytes differ from those it was saved
    with. A directory without ``checksums.json`` (saved before it existed) passes with a
    warning logged: its bytes cannot be checked. ``checksums=False``: the structure only,
    for a caller that runs :func:`~interestlens.model_dir.verify_checksums` itself."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    path = directory / "manifest.json"
    n_items = _size(manifest, "n_items", path)
    n_users = _size(manifest, "n_users", path)
    dimension = _size(manifest, "dimension", path)
    encoder = manifest.get("encoder")
    if not isinstance(encoder, str) or not encoder:
        raise _problem(path, f"encoder is {str(encoder)[:80]!r}", "an encoder identifier")
    width = _DIMENSION.search(encoder)
    if width is not None and int(width.group(1)) != dimension:
        raise _problem(
            path,
            f"dimension {dimension} but the encoder {encoder!r} gives {width.group(1)}",
            "the encoder's width",
        )
    checked_file(directory / "config.toml", "settings file")
    _id_list(directory / "item_ids.json", n_items, "item")
    _id_list(directory / "user_ids.json", n_users, "user")
    _array(directory / "item_vectors.npy", (n_items, dimension), "f")
    _array(directory / "user_vectors.npy", (n_users, dimension), "f")
    if (directory / "user_text_vectors.rows.npz").exists():
        _row_array(directory / "user_text_vectors.rows.npz", (n_users, dimension))
    else:  # written before rows-only files
        _array(directory / "user_text_vectors.npy", (n_users, dimension), "f")
    _array(directory / "user_clusters.npy", (n_users,), "iu")
    _array(directory / "user_map.npy", (n_users, 2), "f")
    if (directory / "membership.npy").exists():
        _array(directory / "membership.npy", (n_users, None), "f")
    _rows(directory / "items.parquet", n_items, ("item_id", "text"))
    _rows(directory / "users.parquet", n_users, ("user_id", "text", "source"))
    _rows(directory / "interactions.parquet", -1, ("user_index", "item_index"))
    for name in ("explanations.json", "clusters_summary.json", "clustering/result.json"):
        checked_file(directory / name, "clustering file")
    titles = directory / "item_titles.json"
    if titles.exists() or titles.is_symlink():
        _id_list_any(titles, n_items)
    recommender = directory / "recommender"
    if recommender.exists() and not recommender.is_dir():
        raise _problem(recommender, "is not a directory", "the recommender's directory")
    if (recommender / RECOMMENDER_MANIFEST).exists():
        saved = read_json(recommender / RECOMMENDER_MANIFEST)
        shapes = saved.get("shapes") if isinstance(saved, dict) else None
        text_width = shapes.get("text_dimension") if isinstance(shapes, dict) else None
        if text_width is not None and text_width != dimension:
            raise _problem(
                recommender / RECOMMENDER_MANIFEST,
                f"text_dimension {str(text_width)[:40]} but the model's vectors have {dimension}",
                "one encoder width for the whole model",
            )
    if checksums:
        report = verify_checksums(directory)
        if not report.present:
            logger.warning("%s", report.describe())
    return manifest


def _id_list_any(path: Path, length: int) -> None:
    values = read_json(path)
    if not isinstance(values, list) or len(values) != length:
        size = len(values) if isinstance(values, list) else type(values).__name__
        raise _problem(path, f"holds {size} entries", f"a JSON list of {length} titles")


def check_interactions(directory: Path, frame: Any, n_users: int, n_items: int) -> None:
    """The interactions table's indices are in range and its values finite."""
    path = directory / "interactions.parquet"
    for column, limit in (("user_index", n_users), ("item_index", n_items)):
        values = np.asarray(frame[column])
        if values.dtype.kind not in "iu":
            raise _problem(path, f"{column} has dtype {values.dtype}", "integer indices")
        if len(values) and (values.min() < 0 or values.max() >= limit):
            raise _problem(
                path, f"{column} runs from {values.min()} to {values.max()}", f"0 to {limit - 1}"
            )
    for column in ("rating", "timestamp"):
        if column in frame:
            values = np.asarray(frame[column], dtype=np.float64)
            if np.isinf(values).any():
                raise _problem(path, f"{column} holds infinite values", "finite values or none")


def check_cluster_labels(path: Path, clusters: Any) -> None:
    """The users' labels are -1 or ids of the model's clusters (stable ids across refits may
    exceed the number of clusters): a damaged label must fail here, not make numpy allocate
    ``max(label)`` rows of cluster statistics later."""
    labels = np.asarray(clusters.user_labels)
    known = {int(e.cluster_id) for e in clusters.explanations}
    if getattr(clusters, "cluster_ids", None) is not None:
        known |= {int(i) for i in np.asarray(clusters.cluster_ids).ravel()}
    if not known:
        known = set(range(int(clusters.result.n_clusters)))
    if labels.dtype.kind not in "iu":
        raise _problem(path, f"holds {labels.dtype} cluster labels", "integer cluster labels")
    unknown = np.setdiff1d(labels, np.array(sorted(known | {-1}), dtype=np.int64))
    if unknown.size:
        raise _problem(
            path,
            f"holds cluster labels {unknown[:5].tolist()} that no cluster has",
            f"-1 or the ids of the model's clusters ({min(known)} to {max(known)})",
        )
