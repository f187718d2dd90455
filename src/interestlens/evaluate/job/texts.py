"""Item and user texts for the evaluate job, and the rules that keep user text from leaking.

User text must not describe held-out interactions (a review of a target item would give it
away). ``pair_texts`` (``user_id, item_id, text``: text tied to one interaction) is used the
way benchmarks/recommend_benchmark.py does: each user gets only the text of their training
interactions (and of their fold-in history). Without it, the users table's own texts are
used (``user_texts="profile"``: bios, stated interests) or not (``"none"``); ``"auto"``
leaves them out when the reader built them from interactions (MovieLens tags, Amazon
reviews; see :data:`INTERACTION_TEXT_NOTES`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from interestlens.config import Settings
from interestlens.data.schema import ITEM_ID, USER_ID, Dataset
from interestlens.data.splits import Split
from interestlens.errors import MissingColumnsError, ParameterError
from interestlens.text import build_texts

#: dataset notes by which the readers say the users table was built from interactions
INTERACTION_TEXT_NOTES = ("user_text_from_interactions", "users_with_tags", "review_lines")
UserTextPolicy = Literal["auto", "profile", "none"]


def interaction_user_texts(pair_texts: pd.DataFrame, allowed: pd.DataFrame) -> pd.DataFrame:
    """``user_id, text``: each user's texts tied to the ``allowed`` interactions, one a line."""
    missing = [c for c in (USER_ID, ITEM_ID, "text") if c not in pair_texts.columns]
    if missing:
        raise MissingColumnsError(
            f"pair_texts columns {list(pair_texts.columns)} lack {missing}",
            expected="columns user_id, item_id, text (text tied to one interaction)",
            fix="build one row per (user, item) text, e.g. a review",
        )
    keys = allowed[[USER_ID, ITEM_ID]].astype(str).drop_duplicates()
    texts = pair_texts.astype({USER_ID: str, ITEM_ID: str}).merge(keys, how="inner")
    joined = texts.groupby(USER_ID, sort=False)["text"].agg("\n".join)
    return joined.rename("text").reset_index()


def item_frame(dataset: Dataset, settings: Settings) -> pd.DataFrame:
    """``item_id, text`` for every item of the items table, then every other interacted item."""
    items = dataset.items.astype({ITEM_ID: str})
    texts = build_texts(
        items,
        id_col=ITEM_ID,
        columns=settings.text.item_columns,
        template=settings.text.item_template,
    )
    frame = pd.DataFrame({ITEM_ID: items[ITEM_ID].to_numpy(), "text": texts})
    # interacted items missing from the items table get an empty text, so that every split
    # shares one catalogue order
    extra = pd.unique(dataset.interactions[ITEM_ID].astype(str))
    extra = extra[~np.isin(extra, frame[ITEM_ID].to_numpy())]
    return pd.concat([frame, pd.DataFrame({ITEM_ID: extra, "text": ""})], ignore_index=True)


def user_text_source(
    dataset: Dataset, policy: str, pair_texts: pd.DataFrame | None
) -> tuple[str, str]:
    """Where user texts come from (``interactions``, ``profile`` or ``none``), and why."""
    if policy not in ("auto", "profile", "none"):
        raise ParameterError(
            f"user_texts={policy!r}",
            expected="'auto', 'profile' or 'none'",
            fix="pass user_texts='auto'",
        )
    if pair_texts is not None:
        return "interactions", "text tied to training and fold-in interactions only"
    if policy == "none":
        return "none", "user texts turned off"
    if dataset.users is None or len(dataset.users.columns) <= 1:
        return "none", "the dataset has no user texts"
    derived = [note for note in INTERACTION_TEXT_NOTES if dataset.notes.get(note)]
    if policy == "auto" and derived:
        return "none", (
            f"the users table was built from interactions (note {derived[0]!r}) and could "
            "describe held-out items; pass pair_texts to use it safely"
        )
    return "profile", "the users table's own texts (not tied to interactions)"


def profile_frame(dataset: Dataset, settings: Settings) -> pd.DataFrame:
    """``user_id, text`` from the users table (which must be present)."""
    users = dataset.users
    assert users is not None
    texts = build_texts(
        users,
        id_col=USER_ID,
        columns=settings.text.user_columns,
        template=settings.text.user_template,
    )
    return pd.DataFrame({USER_ID: users[USER_ID].astype(str).to_numpy(), "text": texts})


def split_user_texts(
    split: Split,
    source: str,
    pair_texts: pd.DataFrame | None,
    profiles: pd.DataFrame | None,
) -> pd.DataFrame | None:
    """``user_id, text`` that ``split`` may show its models (None: no user text).

    ``source="interactions"``: only the texts of the training and fold-in interactions;
    otherwise ``profiles`` (the users table's texts, or None)."""
    if source != "interactions":
        return profiles
    allowed = split.train if split.history is None else pd.concat([split.train, split.history])
    return interaction_user_texts(pair_texts, allowed)  # type: ignore[arg-type]


def attribute_frame(dataset: Dataset | None) -> tuple[pd.DataFrame | None, str]:
    """``user_id`` + the users table's attribute columns (None when it has none), and why.

    ``dataset`` is None when the users table may not be used (its texts were built from
    interactions, or user texts are off): attributes follow the same leak rules as texts.
    """
    from interestlens.recommend.attribute_popularity import attribute_columns

    if dataset is None or dataset.users is None:
        return None, "no users table the evaluation may read"
    columns, skipped = attribute_columns(dataset.users)
    if not columns:
        why = "; ".join(f"{name}: {reason}" for name, reason in skipped.items())
        return None, "the users table has no attribute columns" + (f" ({why})" if why else "")
    frame = dataset.users[[USER_ID, *columns]].astype({USER_ID: str})
    return frame, "categorical and binned numeric columns of the users table"
