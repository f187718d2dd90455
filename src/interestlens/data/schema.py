"""The canonical data model every reader produces and every stage consumes.

* ``interactions``: ``user_id`` (str), ``item_id`` (str), optional ``rating`` (float64),
  optional ``timestamp`` (int64, seconds since the epoch).
* ``items``: ``item_id`` (str) and any text or attribute columns, one row per item.
* ``users`` (optional): ``user_id`` (str) and any text or attribute columns, one row per user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

USER_ID = "user_id"
ITEM_ID = "item_id"
RATING = "rating"
TIMESTAMP = "timestamp"


@dataclass
class Dataset:
    interactions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame | None = None
    name: str = "dataset"
    #: what readers noticed and handled (duplicate lines dropped, rows dropped, ...), for reports
    notes: dict[str, int | str] = field(default_factory=dict)

    @property
    def has_ratings(self) -> bool:
        return RATING in self.interactions.columns and self.interactions[RATING].notna().any()

    @property
    def has_timestamps(self) -> bool:
        return TIMESTAMP in self.interactions.columns and self.interactions[TIMESTAMP].notna().any()

    def summary(self) -> dict[str, int | str]:
        return {
            "name": self.name,
            "interactions": len(self.interactions),
            "users_with_interactions": int(self.interactions[USER_ID].nunique()),
            "items": len(self.items),
            "users_file_rows": 0 if self.users is None else len(self.users),
            **{f"note_{k}": v for k, v in self.notes.items()},
        }
