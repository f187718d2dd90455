"""What the explain stage says about one cluster, as plain JSON-friendly dataclasses
(:mod:`interestlens.model_dir` writes them as one JSON list)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, TypeVar

from interestlens.errors import ModelFormatError

_Record = TypeVar("_Record")


@dataclass(frozen=True)
class Keyword:
    """A term and its score in the cluster (higher is more distinctive).

    The score is the log-odds z-score of the term in the cluster against the other clusters
    (``keyword_scoring="log_odds"``) or its class-based TF-IDF (``"ctfidf"``).
    """

    term: str
    score: float


@dataclass(frozen=True)
class CentralItem:
    """A well-supported item of the cluster, among those closest to the cluster centroid."""

    item_id: str
    title: str
    #: cosine similarity between the item vector and the cluster centroid
    similarity: float
    #: members of the cluster who interacted with the item
    n_members: int


@dataclass(frozen=True)
class OverRepresentedItem:
    """An item whose share of the cluster's interactions exceeds its share of all interactions."""

    item_id: str
    title: str
    #: cluster_share / global_share; 1.0 means "as popular here as everywhere"
    lift: float
    #: the cluster's interactions with the item
    cluster_count: int
    #: everyone's interactions with the item (noise users included)
    total_count: int
    #: members of the cluster who interacted with the item (the support)
    n_members: int
    cluster_share: float
    global_share: float
    #: the lift shrunk toward 1 when there are few interactions; it ranks these items:
    #: (cluster_count + lift_prior) / (expected + lift_prior), where expected =
    #: global_share * the cluster's interactions. None in files written before it existed
    smoothed_lift: float | None = None


@dataclass(frozen=True)
class MedoidUser:
    """A member among those closest to the cluster centroid."""

    user_id: str
    similarity: float


@dataclass
class ClusterExplanation:
    """Everything a person needs to read a cluster: a name, its words, items and typical users."""

    cluster_id: int
    size: int
    #: size / number of users, noise users included in the denominator
    share: float
    label: str
    keywords: list[Keyword] = field(default_factory=list)
    central_items: list[CentralItem] = field(default_factory=list)
    over_represented_items: list[OverRepresentedItem] = field(default_factory=list)
    medoid_users: list[MedoidUser] = field(default_factory=list)
    #: mean rating of the members' interactions; None when there are no ratings
    mean_rating: float | None = None
    n_with_text: int = 0
    n_with_history: int = 0
    n_interactions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClusterExplanation:
        values = _checked_fields(cls, data)
        values["keywords"] = [_record(Keyword, row) for row in values["keywords"]]
        values["central_items"] = [_record(CentralItem, row) for row in values["central_items"]]
        values["over_represented_items"] = [
            _record(OverRepresentedItem, row) for row in values["over_represented_items"]
        ]
        values["medoid_users"] = [_record(MedoidUser, row) for row in values["medoid_users"]]
        return cls(**values)


def _record(cls: type[_Record], data: Mapping[str, Any]) -> _Record:
    return cls(**_checked_fields(cls, data))


def _checked_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ModelFormatError(
            f"a {cls.__name__} record is a {type(data).__name__}",
            expected="a JSON object",
            fix="write explanations with ClusterExplanation.to_dict",
        )
    names = {f.name for f in fields(cls)}
    required = {
        f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
    }
    missing = sorted(required - data.keys())
    unknown = sorted(data.keys() - names)
    if missing or unknown:
        raise ModelFormatError(
            f"{cls.__name__} record has missing keys {missing} and unknown keys {unknown}",
            expected=f"the keys {sorted(names)}",
            fix="write explanations with ClusterExplanation.to_dict of this interestlens version",
        )
    return dict(data)
