"""What the demo generator decided, kept apart from the data so the library cannot peek at it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from interestlens.errors import MissingColumnsError

TRUTH_COLUMNS: dict[str, tuple[str, ...]] = {
    "themes": ("theme",),
    "items": ("item_id", "theme", "crossover_theme"),
    "users": ("user_id", "primary_theme", "n_themes"),
    "user_themes": ("user_id", "theme", "weight", "rank"),
}


@dataclass(frozen=True)
class DemoTruth:
    """The hidden answers of a demo dataset, to score what the library recovers.

    ``user_themes[user]`` lists ``(theme, weight)`` pairs, primary first, weights summing to 1.
    ``item_crossover_theme`` names, for the few items whose text borrows words from a second
    theme, that second theme; ``item_theme`` is still the item's one true theme.
    ``bio_only_users`` lists the users known only by a bio (no interactions in the dataset).
    """

    theme_names: list[str]
    item_theme: dict[str, str]
    user_primary_theme: dict[str, str]
    user_themes: dict[str, list[tuple[str, float]]]
    item_crossover_theme: dict[str, str] = field(default_factory=dict)
    bio_only_users: list[str] = field(default_factory=list)

    def primary_labels(self, user_ids: Iterable[object]) -> np.ndarray:
        """Index into :attr:`theme_names` of each user's primary theme, for ARI and the like."""
        position = {name: index for index, name in enumerate(self.theme_names)}
        return np.array(
            [position[self.user_primary_theme[str(user)]] for user in user_ids], dtype=np.int64
        )

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Tables ``themes``, ``items``, ``users`` and ``user_themes`` (long form), e.g. for CSV.

        With bio-only users, ``users`` has a ``known_by`` column (``history`` or ``bio``)."""
        user_theme_rows = [
            (user, theme, weight, rank)
            for user, pairs in self.user_themes.items()
            for rank, (theme, weight) in enumerate(pairs)
        ]
        frames = {
            "themes": pd.DataFrame({"theme": list(self.theme_names)}),
            "items": pd.DataFrame(
                {
                    "item_id": list(self.item_theme),
                    "theme": list(self.item_theme.values()),
                    "crossover_theme": [
                        self.item_crossover_theme.get(item, "") for item in self.item_theme
                    ],
                }
            ),
            "users": pd.DataFrame(
                {
                    "user_id": list(self.user_primary_theme),
                    "primary_theme": list(self.user_primary_theme.values()),
                    "n_themes": [len(self.user_themes[user]) for user in self.user_primary_theme],
                }
            ),
            "user_themes": pd.DataFrame(
                user_theme_rows, columns=list(TRUTH_COLUMNS["user_themes"])
            ),
        }
        frames["users"]["n_themes"] = frames["users"]["n_themes"].astype(np.int64)
        if self.bio_only_users:
            bio_only = set(self.bio_only_users)
            frames["users"]["known_by"] = [
                "bio" if user in bio_only else "history" for user in frames["users"]["user_id"]
            ]
        frames["user_themes"] = frames["user_themes"].astype(
            {"weight": np.float64, "rank": np.int64}
        )
        return frames

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame]) -> DemoTruth:
        """Inverse of :meth:`to_frames` (for instance after a CSV round trip)."""
        for name, columns in TRUTH_COLUMNS.items():
            found = list(frames[name].columns) if name in frames else None
            missing = [column for column in columns if found is None or column not in found]
            if missing:
                raise MissingColumnsError(
                    f"truth table {name!r} has columns {found}, missing {missing}",
                    expected=f"table {name!r} with columns {list(columns)}",
                    fix="pass the dict that DemoTruth.to_frames() returned, or its CSV copies",
                )
        items = frames["items"].fillna({"crossover_theme": ""})
        users = frames["users"]
        bio_only = (
            users.loc[users["known_by"].astype(str) == "bio", "user_id"].astype(str).tolist()
            if "known_by" in users.columns
            else []
        )
        user_themes: dict[str, list[tuple[str, float]]] = {}
        for row in (
            frames["user_themes"].sort_values(["user_id", "rank"], kind="stable").itertuples()
        ):
            user_themes.setdefault(str(row.user_id), []).append((str(row.theme), float(row.weight)))
        return cls(
            theme_names=[str(name) for name in frames["themes"]["theme"]],
            item_theme=dict(
                zip(items["item_id"].astype(str), items["theme"].astype(str), strict=True)
            ),
            user_primary_theme=dict(
                zip(
                    frames["users"]["user_id"].astype(str),
                    frames["users"]["primary_theme"].astype(str),
                    strict=True,
                )
            ),
            user_themes=user_themes,
            item_crossover_theme={
                str(item): str(theme)
                for item, theme in zip(items["item_id"], items["crossover_theme"], strict=True)
                if theme
            },
            bio_only_users=bio_only,
        )

    def to_dict(self) -> dict[str, object]:
        """Plain JSON types, e.g. for ``truth.json``; :meth:`from_dict` reads it back."""
        return {
            "theme_names": list(self.theme_names),
            "item_theme": dict(self.item_theme),
            "item_crossover_theme": dict(self.item_crossover_theme),
            "user_primary_theme": dict(self.user_primary_theme),
            "user_themes": {
                user: [[theme, weight] for theme, weight in pairs]
                for user, pairs in self.user_themes.items()
            },
            "bio_only_users": list(self.bio_only_users),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DemoTruth:
        """Inverse of :meth:`to_dict`."""
        needed = ("theme_names", "item_theme", "user_primary_theme", "user_themes")
        missing = [key for key in needed if not isinstance(data, Mapping) or key not in data]
        if missing:
            raise MissingColumnsError(
                f"truth lacks {missing}",
                expected=f"a mapping with keys {list(needed)} (from DemoTruth.to_dict)",
                fix="write the truth with DemoTruth.to_dict(), e.g. 'interestlens demo-data'",
            )
        user_themes = data["user_themes"]
        assert isinstance(user_themes, Mapping)
        return cls(
            theme_names=[str(name) for name in data["theme_names"]],  # type: ignore[attr-defined]
            item_theme={str(k): str(v) for k, v in data["item_theme"].items()},  # type: ignore[attr-defined]
            user_primary_theme={
                str(k): str(v)
                for k, v in data["user_primary_theme"].items()  # type: ignore[attr-defined]
            },
            user_themes={
                str(user): [(str(theme), float(weight)) for theme, weight in pairs]
                for user, pairs in user_themes.items()
            },
            item_crossover_theme={
                str(k): str(v)
                for k, v in data.get("item_crossover_theme", {}).items()  # type: ignore[attr-defined]
            },
            bio_only_users=[str(user) for user in data.get("bio_only_users", [])],  # type: ignore[attr-defined]
        )
