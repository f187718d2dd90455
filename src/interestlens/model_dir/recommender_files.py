"""An :class:`InterestRecommender` as the files of a model directory's ``recommender/``.

:func:`write_recommender` and :func:`read_recommender` save and load a fitted recommender
through its state (:meth:`InterestRecommender.state` / :meth:`InterestRecommender.from_state`,
format in :mod:`interestlens.recommend.interest.state_format`); :func:`write_state` and
:func:`read_state` only convert between ``(meta, arrays)`` and files, with the
:mod:`interestlens.persist` primitives. The directory holds ``recommender.json`` (the meta,
with a listing of the array files), ``item_names.json``, ``text_vocabulary.json`` (TF-IDF
terms in column order, with text), ``user_attributes.json`` and ``attributes/`` (with user
attributes), and one file per array: ``.npy`` (dense), ``.npz`` (sparse CSR) or ``.rows.npz``
(only the non-zero rows, :func:`interestlens.persist.write_rows`). Every write is atomic and
the manifest goes last; arrays are read with ``allow_pickle=False`` after their header is
checked against the sizes in the manifest, so a missing, damaged or swapped file raises
:class:`ModelFormatError` naming it and loading never runs code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from interestlens.embed.base import Encoder
from interestlens.errors import ModelFormatError
from interestlens.persist import (
    check_finite,
    guarded_load,
    npy_header,
    npz_members,
    read_json,
    read_npy,
    read_rows,
    write_csr,
    write_json,
    write_npy,
    write_rows,
)
from interestlens.recommend.interest import InterestRecommender
from interestlens.recommend.interest.state_format import (
    ATTRIBUTES_PREFIX,
    FIT_AGAIN,
    array_names,
    check_format,
    entry,
    expected_shape,
    is_sparse,
    parts_of,
)

MANIFEST = "recommender.json"
ITEM_NAMES = "item_names.json"
VOCABULARY = "text_vocabulary.json"
USER_ATTRIBUTES = "user_attributes.json"
ATTRIBUTES_DIR = "attributes"
ATTRIBUTE_POPULARITY = "attribute_popularity.json"
#: arrays saved as their non-zero rows (listed with format "rows"): users × dimension text
#: vectors are zero for every user without text
ROWS_ONLY = frozenset({"user_text_dense"})
#: meta entries kept in files of their own
OWN_FILES = {
    "item_names": ITEM_NAMES,
    "text_vocabulary": VOCABULARY,
    "user_attributes": USER_ATTRIBUTES,
}


# --- the recommender -------------------------------------------------------------------------


def write_recommender(directory: str | Path, model: InterestRecommender) -> Path:
    """Write the fitted ``model`` to ``directory`` (created if needed): ``recommender.json``
    (settings, chosen weights, shapes, the encoder's identifier) and ``.npy``/``.npz`` arrays,
    each written atomically. No pickle: :func:`read_recommender` never runs code. The encoder
    itself is not saved; pass it to :func:`read_recommender`. Returns the directory."""
    meta, arrays = model.state()
    return write_state(directory, meta, arrays)


def read_recommender(
    directory: str | Path, encoder: Encoder | None = None, *, mmap: bool = False
) -> InterestRecommender:
    """The recommender :func:`write_recommender` wrote to ``directory``.

    ``encoder`` must be the one the model was fitted with (same ``identifier``, else
    :class:`ModelFormatError`); it is needed only for new text (``score_new`` with texts,
    ``add_items``), which raise :class:`ParameterError` without it. A model fitted with the
    default encoder (``encoder=None``, the weight-free hashing encoder) gets it back without
    being given one. Missing or damaged files raise :class:`ModelFormatError` naming the file.
    ``mmap``: the large dense arrays (:data:`MAPPED_ARRAYS`) are read-only memory maps.
    """
    directory = Path(directory)

    def load() -> InterestRecommender:
        meta, arrays = read_state(directory, mmap=mmap)
        return InterestRecommender.from_state(
            meta, arrays, encoder=encoder, source=str(directory / MANIFEST)
        )

    return guarded_load(directory, load, fix=FIT_AGAIN)


# --- writing the state -----------------------------------------------------------------------


def write_state(directory: str | Path, meta: dict[str, Any], arrays: dict[str, Any]) -> Path:
    """Write a state to ``directory`` (created if needed); returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {k: v for k, v in meta.items() if k not in OWN_FILES}
    popularity = manifest.pop("attribute_popularity", None)
    listing: dict[str, dict[str, Any]] = {}
    for name, array in arrays.items():
        if not name.startswith(ATTRIBUTES_PREFIX):
            listing[name] = _write_array(directory, name, array)
    for key, file_name in OWN_FILES.items():
        if meta.get(key) is not None:
            write_json(directory / file_name, meta[key])
    if popularity is not None:
        folder = directory / ATTRIBUTES_DIR
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in arrays.items():
            if name.startswith(ATTRIBUTES_PREFIX):
                short = name.removeprefix(ATTRIBUTES_PREFIX)
                if sp.issparse(array):
                    write_csr(folder / f"{short}.npz", sp.csr_matrix(array))
                else:
                    write_npy(folder / f"{short}.npy", np.asarray(array))
        write_json(folder / ATTRIBUTE_POPULARITY, popularity)
    manifest["arrays"] = listing
    # the manifest goes last: a directory without it was never completely written
    write_json(directory / MANIFEST, manifest)
    return directory


def _write_array(directory: Path, name: str, array: Any) -> dict[str, Any]:
    if sp.issparse(array):
        matrix = sp.csr_matrix(array)
        write_csr(directory / f"{name}.npz", matrix)
        return {
            "file": f"{name}.npz",
            "format": "csr",
            "dtype": matrix.dtype.name,
            "shape": list(matrix.shape),
            "nnz": int(matrix.nnz),
        }
    dense = np.asarray(array)
    if name in ROWS_ONLY:
        write_rows(directory / f"{name}.rows.npz", dense)
        file_name, kind = f"{name}.rows.npz", "rows"
    else:
        write_npy(directory / f"{name}.npy", dense)
        file_name, kind = f"{name}.npy", "dense"
    return {
        "file": file_name,
        "format": kind,
        "dtype": dense.dtype.name,
        "shape": list(dense.shape),
    }


# --- reading the state -----------------------------------------------------------------------


def read_state(
    directory: str | Path, *, mmap: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The state :func:`write_state` wrote to ``directory``: the meta (with ``item_names``,
    ``text_vocabulary``, ``user_attributes`` and ``attribute_popularity`` back in it) and the
    arrays. A missing or damaged file raises :class:`ModelFormatError` naming it."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise ModelFormatError(
            f"{path} is missing",
            expected="a directory written by model_dir.write_recommender",
            fix=f"check the path, or {FIT_AGAIN}",
        )
    meta = read_json(path)
    check_format(meta, source=str(path))
    reader = Reader(directory, meta, mmap=mmap)
    parts = parts_of(meta, source=str(path))
    arrays = {name: reader.array(name, is_sparse(name, parts)) for name in array_names(parts)}
    n_items = entry(meta, "shapes", "n_items", source=str(path))
    meta["item_names"] = reader.json_list(ITEM_NAMES, n_items)
    meta["text_vocabulary"] = None
    if parts["text"]:
        n_terms = entry(meta, "shapes", "n_terms", source=str(path))
        meta["text_vocabulary"] = reader.json_list(VOCABULARY, n_terms)
    meta["user_attributes"] = None
    meta["attribute_popularity"] = None
    if parts["attributes"]:
        meta["user_attributes"] = read_json(directory / USER_ATTRIBUTES)
        popularity, attribute_arrays = _read_attribute_popularity(directory / ATTRIBUTES_DIR)
        meta["attribute_popularity"] = popularity
        arrays.update(attribute_arrays)
    return meta, arrays


def _read_attribute_popularity(folder: Path) -> tuple[Any, dict[str, Any]]:
    popularity = read_json(folder / ATTRIBUTE_POPULARITY)
    keys = popularity.get("keys") if isinstance(popularity, dict) else None
    n_keys = len(keys) if isinstance(keys, list) else 0
    arrays: dict[str, Any] = {f"{ATTRIBUTES_PREFIX}item_share": read_npy(folder / "item_share.npy")}
    for position in range(n_keys):
        arrays[f"{ATTRIBUTES_PREFIX}sizes_{position}"] = read_npy(folder / f"sizes_{position}.npy")
        path = folder / f"counts_{position}.npz"
        try:
            counts = sp.csr_matrix(sp.load_npz(path))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ModelFormatError(
                f"{path} cannot be read ({exc})",
                expected="the attribute popularity written by model_dir.write_recommender",
                fix=FIT_AGAIN,
            ) from None
        arrays[f"{ATTRIBUTES_PREFIX}counts_{position}"] = counts
    return popularity, arrays


#: the recommender's large dense arrays that scoring only reads: memory-mapped when a service
#: runs several workers (they share the pages); the engine replaces them, never writes them
MAPPED_ARRAYS = frozenset({"text_dense", "text_joint", "text_lsa_axes"})


class Reader:
    """Reads the files of one model directory, checking each against the manifest."""

    def __init__(self, directory: Path, manifest: dict[str, Any], *, mmap: bool = False):
        self.directory = directory
        self.mmap = mmap
        self.manifest = manifest
        self.source = str(directory / MANIFEST)
        self.listing: dict[str, dict[str, Any]] = entry(manifest, "arrays", source=self.source)

    def array(self, name: str, sparse: bool = False) -> Any:
        rows = self.listing.get(name, {}).get("format") == "rows"
        suffix = ".npz" if sparse else ".rows.npz" if rows else ".npy"
        path = self.directory / f"{name}{suffix}"
        expected = expected_shape(self.manifest, name, source=self.source)
        what = f"the {'sparse CSR' if sparse else 'dense'} array {name} of shape {expected}"
        if not path.is_file():
            raise ModelFormatError(
                f"{path} is missing",
                expected=f"{what}, written by write_recommender",
                fix=FIT_AGAIN,
            )
        # the header first: a damaged shape must not make numpy allocate before we compare
        if sparse or rows:
            declared = npz_members(path).get("shape")
            found_shape = tuple(np.load(path, allow_pickle=False)["shape"]) if declared else ()
        else:
            found_shape = npy_header(path)[0]
        if tuple(int(n) for n in found_shape) != expected:
            raise ModelFormatError(
                f"{path} declares shape {tuple(found_shape)}", expected=what, fix=FIT_AGAIN
            )
        try:
            if sparse:
                loaded = sp.load_npz(path)
                # indices in range, indptr monotone: damaged ones fail here, not when scoring
                sp.csr_matrix(loaded).check_format(full_check=True)
            else:
                mapped = self.mmap and name in MAPPED_ARRAYS
                loaded = read_rows(path) if rows else read_npy(path, mmap=mapped)
        except ModelFormatError:
            raise
        except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            raise ModelFormatError(
                f"{path} is damaged ({type(exc).__name__}: {exc})", expected=what, fix=FIT_AGAIN
            ) from None
        check_finite(loaded, path)
        dtype = self.listing.get(name, {}).get("dtype")
        if tuple(loaded.shape) != expected or (dtype and loaded.dtype.name != dtype):
            raise ModelFormatError(
                f"{path} holds a {loaded.dtype.name} array of shape {tuple(loaded.shape)}",
                expected=f"{what} and dtype {dtype}",
                fix=FIT_AGAIN,
            )
        return sp.csr_matrix(loaded) if sparse else loaded

    def json_list(self, name: str, length: int) -> list[str]:
        path = self.directory / name
        if not path.is_file():
            raise ModelFormatError(
                f"{path} is missing",
                expected=f"a JSON list of {length} strings, written by write_recommender",
                fix=FIT_AGAIN,
            )
        values = read_json(path)
        if not isinstance(values, list) or len(values) != length:
            size = len(values) if isinstance(values, list) else type(values).__name__
            raise ModelFormatError(
                f"{path} holds {size} entries",
                expected=f"a JSON list of {length} strings",
                fix=FIT_AGAIN,
            )
        return [str(v) for v in values]
