"""The drifting demo: the demo catalogue over one year in which interests move.

The items are the regular demo's (:func:`~interestlens.data.synthetic.make_demo_dataset`); the
users and their behaviour are drawn here so that, over 365 days from 2023-01-01:

* one interest **grows** (:attr:`DriftTruth.grows`): its users' active months are drawn with a
  density rising linearly over the year, so it has about three times as many active users in
  the second half as in the first;
* one interest **fades** (:attr:`DriftTruth.fades`): the mirror image;
* one interest **splits** (:attr:`DriftTruth.splits`): in the first half its users buy from two
  themes together (one combined interest); from mid-year each user keeps to one of the two;
* the other themes are steady.

Each user has one interest, an active window of 60–150 days and 8–30 interactions in it, 10 %
of them noise items from anywhere in the catalogue. Users carry no bio (an empty ``bio``), so
their clusters come from behaviour alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.data.synthetic.generator import START_EPOCH, make_demo_dataset
from interestlens.errors import ParameterError

DRIFT_DAYS = 365
SECONDS_PER_DAY = 86_400
MID_YEAR = START_EPOCH + DRIFT_DAYS // 2 * SECONDS_PER_DAY
WINDOW_DAYS = (60, 150)
INTERACTIONS = (8, 30)
NOISE_SHARE = 0.10
#: theme names of the default plan (all among the first ten demo themes)
GROWS = "Photography"
FADES = "Football"
SPLITS = ("Cooking", "Gardening")


@dataclass(frozen=True)
class DriftTruth:
    """What the drifting demo was made to contain."""

    grows: str
    fades: str
    #: the two themes of the combined interest that splits at :data:`MID_YEAR`
    splits: tuple[str, str]
    steady: tuple[str, ...]
    split_time: int = MID_YEAR
    #: user id -> the interest drawn for them ("A + B" for the combined one before the split)
    user_interest: dict[str, str] = field(default_factory=dict)
    item_theme: dict[str, str] = field(default_factory=dict)


def make_drifting_dataset(
    *, seed: int = 0, n_items: int = 400, n_users: int = 900, n_themes: int = 10
) -> tuple[Dataset, DriftTruth]:
    """The demo catalogue with a year of drifting behaviour (see the module docstring)."""
    if not isinstance(n_users, int) or isinstance(n_users, bool) or not 50 <= n_users <= 200_000:
        raise ParameterError(
            f"n_users={n_users!r}",
            expected="an integer from 50 to 200000 (a drift needs users in every interest)",
            fix="pass n_users=900 or another whole number in range",
        )
    base, truth = make_demo_dataset(seed=seed, n_items=n_items, n_users=50, n_themes=n_themes)
    names = truth.theme_names
    missing = [n for n in (GROWS, FADES, *SPLITS) if n not in names]
    if missing:
        raise ParameterError(
            f"n_themes={n_themes} leaves out the drifting themes {missing}",
            expected=f"n_themes large enough to include {[GROWS, FADES, *SPLITS]}",
            fix="pass n_themes=10 or more",
        )
    rng = np.random.default_rng([seed, 14])
    steady = tuple(n for n in names if n not in (GROWS, FADES, *SPLITS))
    item_ids = base.items[ITEM_ID].to_numpy(dtype=object)
    theme_items = {
        name: np.array([i for i in item_ids if truth.item_theme[i] == name], dtype=object)
        for name in names
    }
    # one role per user: steady themes, the grower, the fader and the combined interest
    # the combined interest draws twice as many users: both halves stay sizeable after the split
    roles = [*steady, GROWS, FADES, "split", "split"]
    width = max(4, len(str(n_users)))
    rows: list[tuple[str, str, float, int]] = []
    user_interest: dict[str, str] = {}
    for number in range(1, n_users + 1):
        user_id = f"u{number:0{width}d}"
        role = roles[int(rng.integers(len(roles)))]
        start = _window_start(rng, role)
        length = int(rng.integers(*WINDOW_DAYS)) * SECONDS_PER_DAY
        end = min(start + length, START_EPOCH + DRIFT_DAYS * SECONDS_PER_DAY - 1)
        size = int(rng.integers(*INTERACTIONS))
        times = np.sort(rng.integers(start, max(end, start + 1), size=size))
        half = SPLITS[int(rng.integers(2))]
        user_interest[user_id] = f"{SPLITS[0]} + {SPLITS[1]}" if role == "split" else role
        used: set[str] = set()
        for stamp in times:
            if rng.random() < NOISE_SHARE:
                pool, rating = item_ids, float(rng.integers(1, 4))
            else:
                if role != "split":
                    theme = role
                elif stamp < MID_YEAR:
                    theme = SPLITS[int(rng.integers(2))]
                else:
                    theme = half
                pool, rating = theme_items[theme], float(rng.integers(4, 6))
            item = str(pool[int(rng.integers(len(pool)))])
            if item in used:
                continue
            used.add(item)
            rows.append((user_id, item, rating, int(stamp)))
        if role == "split" and times[-1] >= MID_YEAR:
            user_interest[user_id] = half
    interactions = pd.DataFrame(rows, columns=[USER_ID, ITEM_ID, RATING, TIMESTAMP])
    users = pd.DataFrame({USER_ID: list(user_interest), "bio": [""] * len(user_interest)})
    dataset = Dataset(
        interactions=interactions,
        items=base.items,
        users=users,
        name="demo-drift",
        notes={"source": "interestlens synthetic drifting demo", "seed": int(seed)},
    )
    drift = DriftTruth(
        grows=GROWS,
        fades=FADES,
        splits=SPLITS,
        steady=steady,
        user_interest=user_interest,
        item_theme=dict(truth.item_theme),
    )
    return dataset, drift


def _window_start(rng: np.random.Generator, role: str) -> int:
    """Start of a user's active window: rising density for the grower, falling for the fader."""
    last = DRIFT_DAYS - WINDOW_DAYS[0]
    position = rng.random()
    if role == GROWS:
        position = np.sqrt(position)  # density 2x on [0, 1]
    elif role == FADES:
        position = 1.0 - np.sqrt(position)
    # the window's centre follows the density; its start is half a window earlier
    centre = position * DRIFT_DAYS
    start_day = int(np.clip(centre - WINDOW_DAYS[0] / 2, 0, last))
    return START_EPOCH + start_day * SECONDS_PER_DAY + int(rng.integers(SECONDS_PER_DAY))


def split_by_time(dataset: Dataset, at: int = MID_YEAR) -> tuple[Dataset, Dataset]:
    """The dataset's interactions before and from ``at`` (items shared, users of each half)."""
    interactions = dataset.interactions
    parts = []
    for keep in (interactions[TIMESTAMP] < at, interactions[TIMESTAMP] >= at):
        part = interactions.loc[keep].reset_index(drop=True)
        users = None
        if dataset.users is not None:
            users = dataset.users.loc[dataset.users[USER_ID].isin(set(part[USER_ID]))]
            users = users.reset_index(drop=True)
        parts.append(
            Dataset(interactions=part, items=dataset.items, users=users, name=dataset.name)
        )
    return parts[0], parts[1]
