"""Popularity within the user's attribute groups: the baseline for users known only by a profile.

A users file often holds only structured attributes (age, gender, occupation). Read as text
("age: 24; occupation: technician") they say little; read as groups they give
*attribute-conditioned popularity*: what people of the same occupation, age band ... interact
with. :class:`AttributePopularity` estimates, per attribute column ``c`` and value ``v``, the
share of users in the group who interacted with item ``i``, shrunk towards the global share::

    p_c(i | v) = (n_vi + m * p(i)) / (n_v + m)        p(i) = n_i / n_users

where ``n_v`` is the group's size, ``n_vi`` how many of its users interacted with ``i`` and
``m = shrinkage`` a pseudo-count: a group of ``m`` users moves halfway from the global share
to its own. Columns are combined as independent evidence (naive Bayes)::

    score(i) = p(i) * prod_c  p_c(i | v_c) / p(i)

so a user whose attributes are all unknown (unseen in training, missing, NaN) gets plain
global popularity, and a column whose groups behave alike changes nothing. With
``groups="joint"`` the combination of all the columns' values is one group instead (sparser,
more shrinkage, no independence assumption).

Categorical columns are used as they are; numeric columns are cut at their training
quantiles into ``n_bins`` bins. With ``columns=None`` the columns are chosen from the table
(:func:`attribute_columns`): numeric columns, and text columns with at most
``max_categories`` distinct values shared by at least two rows each on average (a free-text
bio is not an attribute).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal, Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from interestlens.data.schema import USER_ID
from interestlens.errors import MissingColumnsError, ModelFormatError, ParameterError
from interestlens.recommend.base import as_interaction_matrix, check_is_fitted

__all__ = [
    "ATTRIBUTES",
    "AttributePopularity",
    "AttributeRecommender",
    "attribute_columns",
]

#: what an :class:`AttributeRecommender` scores users from
ATTRIBUTES = "attributes"
_JOINT = "(joint)"


@runtime_checkable
class AttributeRecommender(Protocol):
    """Scores users from rows of a user attribute table, not from history or text.

    ``fit(interactions, attributes)``: ``attributes`` has one row per row of the
    ``(n_users, n_items)`` matrix; ``score(attributes)`` gives ``(len(attributes), n_items)``.
    """

    scores_from: ClassVar[str]

    def fit(self, interactions: sp.csr_matrix, attributes: pd.DataFrame) -> Self: ...

    def score(self, attributes: pd.DataFrame) -> np.ndarray: ...


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _present(values: pd.Series) -> pd.Series:
    """The non-missing values as strings (NaN, None and blank strings are missing)."""
    kept = values.dropna().astype(str).str.strip()
    return kept[kept != ""]


def attribute_columns(
    users: pd.DataFrame, *, max_categories: int = 50
) -> tuple[list[str], dict[str, str]]:
    """The columns of ``users`` usable as attributes, and why each other column is not.

    Numeric columns (binned later) and text/categorical columns with 2 to ``max_categories``
    distinct values, at least two rows per value on average; ``user_id`` is never one.
    """
    chosen: list[str] = []
    skipped: dict[str, str] = {}
    for column in users.columns:
        name = str(column)
        if name == USER_ID:
            continue
        values = users[column]
        if _is_numeric(values):
            if values.notna().sum() < 2:
                skipped[name] = "fewer than two numeric values"
            else:
                chosen.append(name)
            continue
        distinct = _present(values).nunique()
        if distinct < 2:
            skipped[name] = f"{distinct} distinct value(s)"
        elif distinct > max_categories:
            skipped[name] = f"{distinct} distinct values > max_categories={max_categories}"
        elif 2 * distinct > len(users):
            skipped[name] = f"{distinct} distinct values in {len(users)} rows (mostly unique)"
        else:
            chosen.append(name)
    return chosen, skipped


class AttributePopularity(BaseEstimator):
    """Item popularity within the user's attribute groups, shrunk to global popularity.

    ``columns``: attribute columns (None: chosen by :func:`attribute_columns`);
    ``n_bins``: quantile bins of a numeric column; ``shrinkage``: the pseudo-count ``m`` (a
    group of ``m`` users is weighted equally with the global popularity; 0 trusts every group
    fully); ``groups``: ``"columns"`` (one group per column, combined as independent evidence)
    or ``"joint"`` (one group per combination of values). Interactions count once per user
    (binary), as :class:`~interestlens.recommend.MostPop` does.

    Fitted state: ``columns_``, ``skipped_columns_`` (column -> why not used), ``bin_edges_``
    (numeric column -> inner quantile edges), ``categories_`` (column -> group labels),
    ``group_sizes_`` and ``group_counts_`` (per column: users per group, and a sparse
    ``(n_groups, n_items)`` matrix of users per group and item), ``item_share_`` (p(i)),
    ``n_users_``, ``n_items_``.
    """

    scores_from: ClassVar[str] = ATTRIBUTES

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        *,
        n_bins: int = 4,
        shrinkage: float = 20.0,
        groups: Literal["columns", "joint"] = "columns",
        max_categories: int = 50,
    ):
        self.columns = columns
        self.n_bins = n_bins
        self.shrinkage = shrinkage
        self.groups = groups
        self.max_categories = max_categories

    # --- fitting ---------------------------------------------------------------------------

    def _check_params(self) -> None:
        if isinstance(self.n_bins, bool) or not isinstance(self.n_bins, int) or self.n_bins < 2:
            raise ParameterError(
                f"n_bins={self.n_bins!r} should be an integer >= 2",
                expected="how many quantile bins a numeric attribute is cut into",
                fix="pass n_bins=4",
            )
        shrinkage = self.shrinkage
        if (
            isinstance(shrinkage, bool)
            or not isinstance(shrinkage, int | float)
            or not np.isfinite(shrinkage)
            or shrinkage < 0
        ):
            raise ParameterError(
                f"shrinkage={shrinkage!r} should be a finite number >= 0",
                expected="a pseudo-count of users pulling small groups to global popularity",
                fix="pass shrinkage=20",
            )
        if self.groups not in ("columns", "joint"):
            raise ParameterError(
                f"groups={self.groups!r}",
                expected="'columns' (independent evidence per column) or 'joint'",
                fix="pass groups='columns'",
            )
        if (
            isinstance(self.max_categories, bool)
            or not isinstance(self.max_categories, int)
            or self.max_categories < 2
        ):
            raise ParameterError(
                f"max_categories={self.max_categories!r} should be an integer >= 2",
                expected="the most distinct values a categorical attribute may have",
                fix="pass max_categories=50",
            )

    def fit(self, interactions: sp.csr_matrix, attributes: pd.DataFrame) -> Self:
        """``interactions``: ``(n_users, n_items)``; ``attributes``: one row per matrix row."""
        self._check_params()
        matrix = as_interaction_matrix(interactions)
        n_users, n_items = matrix.shape
        frame = self._check_frame(attributes, "attributes")
        if len(frame) != n_users:
            raise ParameterError(
                f"attributes has {len(frame)} rows; it should equal n_users={n_users}",
                expected="one attribute row per row of the interaction matrix, in its order",
                fix="reindex the users table by the matrix's user IdMap",
            )
        if self.columns is None:
            columns, skipped = attribute_columns(frame, max_categories=self.max_categories)
        else:
            columns = [str(column) for column in self.columns]
            self._require_columns(frame, columns)
            skipped = {}
        binary = sp.csr_matrix((matrix != 0).astype(np.float32))
        item_users = np.asarray(binary.sum(axis=0), dtype=np.float64).ravel()
        self.columns_ = columns
        self.skipped_columns_ = skipped
        self.bin_edges_: dict[str, list[float]] = {}
        for column in columns:
            if _is_numeric(frame[column]):
                values = frame[column].to_numpy(dtype=np.float64)
                values = values[np.isfinite(values)]
                quantiles = np.linspace(0.0, 1.0, self.n_bins + 1)[1:-1]
                edges = np.unique(np.quantile(values, quantiles)) if values.size else []
                self.bin_edges_[column] = [float(edge) for edge in edges]
        labels = self._labels(frame)
        self.categories_: dict[str, list[str]] = {}
        self.group_sizes_: dict[str, np.ndarray] = {}
        self.group_counts_: dict[str, sp.csr_matrix] = {}
        for key, values in labels.items():
            known = values.notna().to_numpy()
            categories = sorted(pd.unique(values[known]).tolist())
            codes = pd.Categorical(values[known], categories=categories).codes
            membership = sp.csr_matrix(
                (np.ones(len(codes), dtype=np.float32), (codes, np.flatnonzero(known))),
                shape=(len(categories), n_users),
            )
            self.categories_[key] = [str(category) for category in categories]
            self.group_sizes_[key] = np.asarray(membership.sum(axis=1), dtype=np.float64).ravel()
            self.group_counts_[key] = sp.csr_matrix(membership @ binary)
        self.item_share_ = item_users / n_users
        self.n_users_, self.n_items_ = n_users, n_items
        return self

    # --- state -----------------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray | sp.csr_matrix]]:
        """JSON-able settings and groups, and the arrays ``item_share``, ``sizes_<i>`` and
        ``counts_<i>`` (sparse) of the ``i``-th group key; :meth:`from_state` reads them."""
        check_is_fitted(self, "n_items_")
        keys = list(self.categories_)
        meta = {
            "params": {
                "columns": None if self.columns is None else list(self.columns),
                "n_bins": self.n_bins,
                "shrinkage": self.shrinkage,
                "groups": self.groups,
                "max_categories": self.max_categories,
            },
            "columns": self.columns_,
            "skipped_columns": self.skipped_columns_,
            "bin_edges": self.bin_edges_,
            "keys": keys,
            "categories": [self.categories_[key] for key in keys],
            "n_users": self.n_users_,
            "n_items": self.n_items_,
        }
        arrays: dict[str, np.ndarray | sp.csr_matrix] = {"item_share": self.item_share_}
        for position, key in enumerate(keys):
            arrays[f"sizes_{position}"] = self.group_sizes_[key]
            arrays[f"counts_{position}"] = self.group_counts_[key]
        return meta, arrays

    @classmethod
    def from_state(
        cls,
        meta: dict[str, Any],
        arrays: dict[str, Any],
        *,
        source: str = "the attribute popularity state",
    ) -> AttributePopularity:
        """The model :meth:`state` described; an incomplete or inconsistent state raises
        :class:`ModelFormatError` naming ``source``."""

        def damaged(problem: str) -> ModelFormatError:
            return ModelFormatError(
                f"{source}: {problem}",
                expected="the attribute popularity written by InterestRecommender.save",
                fix="fit the model again and save it",
            )

        try:
            params = meta["params"]
            model = cls(
                params["columns"],
                n_bins=int(params["n_bins"]),
                shrinkage=float(params["shrinkage"]),
                groups=params["groups"],
                max_categories=int(params["max_categories"]),
            )
            columns = [str(c) for c in meta["columns"]]
            skipped = {str(k): str(v) for k, v in meta["skipped_columns"].items()}
            bin_edges = {str(k): [float(e) for e in v] for k, v in meta["bin_edges"].items()}
            keys = [str(k) for k in meta["keys"]]
            categories = meta["categories"]
            n_users, n_items = int(meta["n_users"]), int(meta["n_items"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise damaged(f"the state is incomplete ({type(exc).__name__}: {exc})") from None
        if len(categories) != len(keys):
            raise damaged(f"{len(keys)} group keys but {len(categories)} category lists")
        item_share = np.asarray(arrays["item_share"])
        if item_share.shape != (n_items,):
            raise damaged(f"item_share has shape {item_share.shape}")
        model.columns_, model.skipped_columns_, model.bin_edges_ = columns, skipped, bin_edges
        model.categories_, model.group_sizes_, model.group_counts_ = {}, {}, {}
        for position, key in enumerate(keys):
            labels = [str(c) for c in categories[position]]
            sizes = np.asarray(arrays[f"sizes_{position}"])
            counts = sp.csr_matrix(arrays[f"counts_{position}"])
            if sizes.shape != (len(labels),) or counts.shape != (len(labels), n_items):
                raise damaged(f"group arrays of {key!r} have shapes {sizes.shape}, {counts.shape}")
            model.categories_[key] = labels
            model.group_sizes_[key] = sizes
            model.group_counts_[key] = counts
        model.item_share_ = item_share
        model.n_users_, model.n_items_ = n_users, n_items
        return model

    # --- scoring ---------------------------------------------------------------------------

    def score(self, attributes: pd.DataFrame) -> np.ndarray:
        """Dense float32 ``(len(attributes), n_items)``: each user's estimated interaction share
        per item. Unknown, missing or NaN values give no evidence (global popularity)."""
        check_is_fitted(self, "n_items_")
        frame = self._check_frame(attributes, "attributes")
        self._require_columns(frame, self.columns_)
        share = self.item_share_
        log_share = np.log(share, out=np.zeros_like(share), where=share > 0)
        log_score = np.tile(log_share, (len(frame), 1))
        m = float(self.shrinkage)
        for key, values in self._labels(frame).items():
            position = {label: index for index, label in enumerate(self.categories_[key])}
            codes = np.array(
                [position.get(str(v), -1) if pd.notna(v) else -1 for v in values], dtype=np.int64
            )
            rows = np.flatnonzero(codes >= 0)
            if rows.size == 0:
                continue
            groups, inverse = np.unique(codes[rows], return_inverse=True)
            counts = self.group_counts_[key][groups].toarray().astype(np.float64)
            sizes = self.group_sizes_[key][groups][:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = (counts + m * share) / (sizes + m)
                log_lift = np.where(share > 0, np.log(rate) - log_share, 0.0)
            # an item no one in the group took (with shrinkage 0) is ruled out, not NaN
            log_lift = np.where(np.isfinite(log_lift), log_lift, -np.inf)
            log_score[rows] += log_lift[inverse]
        scores = np.exp(log_score)
        scores[:, share == 0] = 0.0
        return scores.astype(np.float32)

    def add_empty_items(self, n_new: int) -> None:
        """Append ``n_new`` items nobody has interacted with yet (share 0 in every group)."""
        self.item_share_ = np.concatenate([self.item_share_, np.zeros(n_new)])
        for key, counts in self.group_counts_.items():
            empty = sp.csr_matrix((counts.shape[0], n_new), dtype=counts.dtype)
            self.group_counts_[key] = sp.hstack([counts, empty], format="csr")
        self.n_items_ += n_new

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _check_frame(attributes: object, name: str) -> pd.DataFrame:
        if not isinstance(attributes, pd.DataFrame):
            raise ParameterError(
                f"{name} is a {type(attributes).__name__}",
                expected="a pandas DataFrame of user attributes (one row per user)",
                fix="pass the users table, e.g. Dataset.users, aligned with the matrix rows",
            )
        return attributes.reset_index(drop=True)

    @staticmethod
    def _require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise MissingColumnsError(
                f"attribute columns {missing} are not among {[str(c) for c in frame.columns]}",
                expected=f"the attribute columns {list(columns)}",
                fix="pass rows with the same columns as at fit time (missing values may be NaN)",
            )

    def _labels(self, frame: pd.DataFrame) -> dict[str, pd.Series]:
        """Per group key, each row's group label as a string (None when unknown/missing)."""
        labels: dict[str, pd.Series] = {}
        for column in self.columns_:
            values = frame[column]
            if column in self.bin_edges_:
                numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
                bins = np.searchsorted(self.bin_edges_[column], numbers, side="right")
                text = [
                    f"bin{b}" if np.isfinite(n) else None
                    for b, n in zip(bins.tolist(), numbers.tolist(), strict=True)
                ]
            else:
                text = [
                    None if pd.isna(v) or not str(v).strip() else str(v) for v in values.tolist()
                ]
            labels[column] = pd.Series(text, dtype=object)
        if self.groups == "joint" and labels:
            rows = zip(*(values.tolist() for values in labels.values()), strict=True)
            joined = [None if None in row else "\x1f".join(row) for row in rows]
            return {_JOINT: pd.Series(joined, dtype=object)}
        return labels


# --- persistence (no pickle: JSON + .npy/.npz, each checked when read) -------------------------
