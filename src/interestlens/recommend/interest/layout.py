"""The layout of a saved :class:`InterestRecommender` directory, and checked reading of it.

``recommender.json`` (the manifest) names the format and version, and holds the settings, the
learned scalars, the encoder's identifier, which optional parts exist (``parts``), the sizes
(``shapes``) and a listing of the array files. :data:`SHAPES` gives every array's shape in
terms of those sizes; :class:`Reader` checks each file against it, so a missing, damaged or
swapped file raises :class:`ModelFormatError` naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import scipy.sparse as sp

from interestlens.errors import ModelFormatError
from interestlens.persist import read_json, read_npy

FORMAT = "interestlens.InterestRecommender"
VERSION = 1
MANIFEST = "recommender.json"
ITEM_NAMES = "item_names.json"
VOCABULARY = "text_vocabulary.json"
#: settings not saved: the encoder is passed to load, the times were only fit input
UNSAVED_PARAMS = frozenset({"encoder", "interaction_times"})
PARTS = (
    "times",
    "ease",
    "ease_sparse",
    "cold_mapping",
    "ridge",
    "trend",
    "text",
    "lsa",
    "user_text",
    "attributes",
)
LEARNED = (
    "clusters_given",
    "weights_",
    "n_clusters_",
    "half_life_",
    "max_value_",
    "tuning_",
    "ridge_alphas",
    "latest_time",
    "log_floor",
)
FIT_AGAIN = "fit the model again and save it (InterestRecommender.save)"

#: every array: its shape in terms of the ``shapes`` entries of recommender.json
SHAPES: dict[str, tuple[str | int, ...]] = {
    "interactions": ("n_users", "n_items"),
    "weighted": ("n_users", "n_items"),
    "times": ("n_users", "n_items"),
    "warm": ("n_items",),
    "popularity": ("n_items",),
    "factors": ("n_items", "n_factors"),
    "ease_active_items": ("n_active",),
    "ease_weights": ("n_active", "n_active"),
    "cold_items": ("n_cold",),
    "cold_neighbours": ("n_items", "n_cold"),
    "cold_factors": ("n_cold", "n_factors"),
    "cold_log_popularity": ("n_cold",),
    "ridge_coef": ("n_targets", "n_features"),
    "ridge_intercept": ("n_targets",),
    "trend_edges": ("n_edges",),
    "trend_item_bins": ("n_items", "n_bins"),
    "cluster_centroids": ("n_clusters", "interest_dimension"),
    "cluster_labels": ("n_users",),
    "cluster_log_share": ("n_clusters", "n_items"),
    "cluster_log_global": ("n_items",),
    "cluster_sizes": ("n_clusters",),
    "cluster_lift": ("n_clusters", "n_items"),
    "text_dense": ("n_items", "text_dimension"),
    "text_lexical": ("n_items", "n_terms"),
    "text_joint": ("n_items", "joint_dimension"),
    "text_richness": ("n_items", 1),
    "text_lsa_axes": ("n_lsa", "n_terms"),
    "text_idf": ("n_terms",),
    "user_text_dense": ("n_users", "text_dimension"),
    "user_text_lexical": ("n_users", "n_terms"),
}


class Reader:
    """Reads the files of one model directory, checking each against the manifest."""

    def __init__(self, directory: Path, manifest: dict[str, Any]):
        self.directory = directory
        self.manifest = manifest
        self.shapes: dict[str, int] = self.field("shapes")
        self.listing: dict[str, dict[str, Any]] = self.field("arrays")

    def field(self, *keys: str) -> Any:
        value: Any = self.manifest
        for depth, key in enumerate(keys):
            if not isinstance(value, dict) or key not in value:
                raise ModelFormatError(
                    f"{self.directory / MANIFEST} has no entry {'.'.join(keys[: depth + 1])}",
                    expected=f"the manifest that InterestRecommender.save writes ({FORMAT} "
                    f"version {VERSION})",
                    fix=FIT_AGAIN,
                )
            value = value[key]
        return value

    def array(self, name: str, sparse: bool = False) -> Any:
        path = self.directory / f"{name}{'.npz' if sparse else '.npy'}"
        expected = self._expected_shape(name)
        what = f"the {'sparse CSR' if sparse else 'dense'} array {name} of shape {expected}"
        if not path.is_file():
            raise ModelFormatError(
                f"{path} is missing", expected=f"{what}, written by save", fix=FIT_AGAIN
            )
        try:
            loaded = sp.load_npz(path) if sparse else read_npy(path)
        except ModelFormatError:
            raise
        except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            raise ModelFormatError(
                f"{path} is damaged ({type(exc).__name__}: {exc})", expected=what, fix=FIT_AGAIN
            ) from None
        dtype = self.listing.get(name, {}).get("dtype")
        if tuple(loaded.shape) != expected or (dtype and loaded.dtype.name != dtype):
            raise ModelFormatError(
                f"{path} holds a {loaded.dtype.name} array of shape {tuple(loaded.shape)}",
                expected=f"{what} and dtype {dtype}",
                fix=FIT_AGAIN,
            )
        return sp.csr_matrix(loaded) if sparse else loaded

    def _expected_shape(self, name: str) -> tuple[int, ...]:
        sizes = []
        for key in SHAPES[name]:
            if isinstance(key, int):
                sizes.append(key)
            else:
                sizes.append(int(self.field("shapes", key)))
        return tuple(sizes)

    def json_list(self, name: str, length: int) -> list[str]:
        path = self.directory / name
        if not path.is_file():
            raise ModelFormatError(
                f"{path} is missing",
                expected=f"a JSON list of {length} strings, written by save",
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
