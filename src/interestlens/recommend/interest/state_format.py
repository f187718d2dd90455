"""What :meth:`InterestRecommender.state` holds, and the checks of a state before it is used.

The state is ``(meta, arrays)``. ``meta`` is JSON-able: the format name and version, the
settings (``params``; ``tuple_params`` names those that were tuples), the learned values
(``learned``), the encoder's identifier (``encoder``), the text space's settings (``text``),
the collaborative model's kind, which optional parts exist (``parts``), the sizes
(``shapes``), and ``item_names``, ``text_vocabulary``, ``user_attributes`` and
``attribute_popularity``. ``arrays`` maps names to numpy arrays or CSR matrices: the names of
:data:`SHAPES` (their shapes in terms of ``shapes``) and ``attributes/<name>`` for the
attribute popularity's arrays.

:mod:`interestlens.model_dir.recommender_files` writes a state to a model directory and reads
it back; this module is what both sides agree on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from interestlens.errors import ModelFormatError, ParameterError

FORMAT = "interestlens.InterestRecommender"
VERSION = 1
#: settings not saved: the encoder is passed to load, the times were only fit input, the reused
#: tuning is recorded in ``tuning_`` (and would nest every earlier fit's choices)
UNSAVED_PARAMS = frozenset({"encoder", "interaction_times", "reuse_tuning"})
#: settings added after version 1 was written: a state without them gets their default
LATER_PARAMS = frozenset({"ease_max_items", "cosine_neighbours"})
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
FIT_AGAIN = "fit the model again and save it (interestlens.model_dir.write_recommender)"
#: the prefix of the attribute popularity's arrays
ATTRIBUTES_PREFIX = "attributes/"

#: every array: its shape in terms of the ``shapes`` entries of the meta
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
#: arrays that are CSR matrices (``ease_weights`` too when ``parts.ease_sparse``)
SPARSE = frozenset(
    {"interactions", "weighted", "times", "cold_neighbours", "text_lexical", "user_text_lexical"}
)
#: the arrays each optional part brings
PART_ARRAYS: dict[str, tuple[str, ...]] = {
    "times": ("times",),
    "ease": ("ease_active_items", "ease_weights"),
    "cold_mapping": ("cold_items", "cold_neighbours", "cold_factors", "cold_log_popularity"),
    "ridge": ("ridge_coef", "ridge_intercept"),
    "trend": ("trend_edges", "trend_item_bins"),
    "text": ("text_dense", "text_lexical", "text_joint", "text_richness", "text_idf"),
    "lsa": ("text_lsa_axes",),
    "user_text": ("user_text_dense", "user_text_lexical"),
}
ALWAYS = (
    "interactions",
    "weighted",
    "warm",
    "popularity",
    "factors",
    "cluster_centroids",
    "cluster_labels",
    "cluster_log_share",
    "cluster_log_global",
    "cluster_sizes",
    "cluster_lift",
)


def entry(meta: Any, *keys: str, source: str) -> Any:
    """``meta[keys[0]][keys[1]]...``, or a :class:`ModelFormatError` naming the missing entry
    and ``source`` (the state's file)."""
    value: Any = meta
    for depth, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            raise ModelFormatError(
                f"{source} has no entry {'.'.join(keys[: depth + 1])}",
                expected=f"the state that model_dir.write_recommender writes ({FORMAT} "
                f"version {VERSION})",
                fix=FIT_AGAIN,
            )
        value = value[key]
    return value


def check_format(meta: Any, *, source: str) -> None:
    """The format name and version this interestlens reads."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ModelFormatError(
            f"{source} has format {found!r}", expected=f"format {FORMAT!r}", fix=FIT_AGAIN
        )
    if meta.get("version") != VERSION:
        raise ModelFormatError(
            f"{source} has version {meta.get('version')!r}",
            expected=f"version {VERSION} (this interestlens reads that one)",
            fix=FIT_AGAIN,
        )


def parts_of(meta: Any, *, source: str) -> dict[str, bool]:
    return {name: bool(entry(meta, "parts", name, source=source)) for name in PARTS}


def array_names(parts: dict[str, bool]) -> list[str]:
    """The arrays a state with these ``parts`` holds."""
    names = list(ALWAYS)
    for part, part_names in PART_ARRAYS.items():
        if parts[part]:
            names.extend(part_names)
    return names


def is_sparse(name: str, parts: dict[str, bool]) -> bool:
    return name in SPARSE or (name == "ease_weights" and parts["ease_sparse"])


def expected_shape(meta: Any, name: str, *, source: str) -> tuple[int, ...]:
    """The shape of array ``name`` given the ``shapes`` entries of ``meta``."""
    sizes = []
    for key in SHAPES[name]:
        if isinstance(key, int):
            sizes.append(key)
            continue
        size = entry(meta, "shapes", key, source=source)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ModelFormatError(
                f"{source} has shapes.{key} = {str(size)[:80]!r}",
                expected="a size (a whole number >= 0)",
                fix=FIT_AGAIN,
            )
        sizes.append(size)
    return tuple(sizes)


def shapes_of(arrays: dict[str, Any], n_users: int, n_items: int) -> dict[str, int]:
    """The ``shapes`` entries describing ``arrays``."""
    shapes = {"n_users": int(n_users), "n_items": int(n_items)}
    for name, template in SHAPES.items():
        if name in arrays:
            for key, size in zip(template, arrays[name].shape, strict=True):
                if isinstance(key, str):
                    shapes[key] = int(size)
    return shapes


def check_arrays(meta: Any, arrays: dict[str, Any], *, source: str) -> dict[str, bool]:
    """Every array the parts call for is there, with the shape the sizes give; returns the
    parts."""
    parts = parts_of(meta, source=source)
    for name in array_names(parts):
        if name not in arrays:
            raise ModelFormatError(
                f"{source} lists no array {name}",
                expected=f"the arrays of {FORMAT} version {VERSION}",
                fix=FIT_AGAIN,
            )
        shape = expected_shape(meta, name, source=source)
        if tuple(arrays[name].shape) != shape:
            raise ModelFormatError(
                f"{source}: array {name} has shape {tuple(arrays[name].shape)}",
                expected=f"shape {shape}",
                fix=FIT_AGAIN,
            )
    return parts


def plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars and arrays become Python values, tuples lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if hasattr(value, "items"):  # other mappings (e.g. MappingProxyType)
        return {str(k): plain(v) for k, v in value.items()}
    raise ParameterError(
        f"cannot save a {type(value).__name__} ({value!r}) as JSON",
        expected="settings and learned values made of numbers, strings, lists and dicts",
        fix="pass plain Python values as settings",
    )


def plain_value(value: Any) -> Any:
    """An attribute value as JSON: numbers and strings as they are, missing as null."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, int | float | str) else str(value)
