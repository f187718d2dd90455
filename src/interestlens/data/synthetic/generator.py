"""The demo dataset: a readable catalogue, users with one to three interests, noisy behaviour.

How the data is made (all draws come from ``numpy.random.default_rng(seed)``):

* **Items** are spread evenly over the themes in random id order. Each gets a title, a one to
  three sentence description, a category (the product kind, shared across themes: a cookbook
  and a hiking guide are both "Books") and a price. About 8 % are *crossover* items whose last
  sentence names the audience of a second theme ("Also popular with photographers.").
* **Users** have one (35 %), two (40 %) or three (25 %) themes. The primary theme carries a
  weight drawn from 0.60–0.85 (1.0 when it is the only one); secondary weights share the rest.
  About 40 % have a short bio in ``users.bio``; the others have ``""`` (every user has a row).
  One bio in ten leads with a secondary interest, as people do.
* **Interactions**: 5–40 per user (log-normal, median about 11). About 10 % are noise items
  drawn uniformly from the catalogue; the rest are split over the user's themes by weight and
  drawn with a Zipf-like popularity inside each theme. No (user, item) pair repeats. Ratings
  1–5 are higher for in-interest items; timestamps are increasing epoch seconds per user
  within 2023-01-01 plus 540 days.

Variants, each off by default (the defaults make exactly the data above), drawn from streams
of their own so that everything else stays as it is:

* ``bio_only_share``: that share of the users is known only by a bio. Their interactions are
  left out of ``interactions`` and they get a bio about their primary theme: a regular one, or
  (half of them) a terse one ("Into hiking, especially wild camping."); with
  ``foreign_bio_share`` that share of them write it in Spanish, German or Chinese instead.
  ``DemoTruth.bio_only_users`` lists them; their interests are in the truth like everyone's.
* ``attribute_strength``: ``users`` gains ``age_band, gender, occupation``, each drawn from a
  distribution tied to the user's primary theme with that probability, else from one shared
  by everybody (see :mod:`interestlens.data.synthetic.attributes`). ``bios=False`` drops the
  ``bio`` column: a users file of attributes only.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.data.synthetic.attributes import make_attributes
from interestlens.data.synthetic.prose import (
    make_bio,
    make_description,
    make_foreign_bio,
    make_short_bio,
    make_title,
    pick,
)
from interestlens.data.synthetic.truth import DemoTruth
from interestlens.data.synthetic.vocab import THEMES, Theme
from interestlens.data.synthetic.vocab.languages import LANGUAGES
from interestlens.errors import ParameterError

START_EPOCH = 1_672_531_200  # 2023-01-01 00:00:00 UTC
HISTORY_DAYS = 540
SECONDS_PER_DAY = 86_400

INTEREST_COUNT_SHARES = (0.35, 0.40, 0.25)  # one, two, three themes
PRIMARY_WEIGHT_RANGE = (0.60, 0.85)
BIO_SHARE = 0.40
BIO_LED_BY_SECONDARY_SHARE = 0.10
CROSSOVER_SHARE = 0.08
NOISE_SHARE = 0.10
ZIPF_EXPONENT = 1.0
MEDIAN_INTERACTIONS = 11
INTERACTIONS_RANGE = (5, 40)
MAX_ITEMS = 10_000
MAX_USERS = 200_000
# Mean rating for an item of the primary theme, of a secondary theme, and of any other theme.
RATING_MEANS = (4.3, 3.8, 2.6)
#: share of the bio-only users whose bio is a terse phrase rather than a sentence or two
SHORT_BIO_SHARE = 0.5


def make_demo_dataset(
    *,
    seed: int = 0,
    n_items: int = 400,
    n_users: int = 600,
    n_themes: int = 10,
    bio_only_share: float = 0.0,
    foreign_bio_share: float = 0.0,
    attribute_strength: float | None = None,
    bios: bool = True,
) -> tuple[Dataset, DemoTruth]:
    """A small, readable, deterministic dataset with known interests, and its hidden truth.

    Ids are ``"i0001"``... and ``"u0001"``... (wider when the count needs it). ``items`` has
    ``item_id, title, description, category, price``; ``users`` has ``user_id, bio`` (and
    ``age_band, gender, occupation`` with ``attribute_strength``; no ``bio`` with
    ``bios=False``). ``bio_only_share`` (from 0 to below 1) of the users have a bio and no
    interactions; ``foreign_bio_share`` of those write it in another language.
    """
    _check_arguments(seed=seed, n_items=n_items, n_users=n_users, n_themes=n_themes)
    _check_variants(bio_only_share, foreign_bio_share, attribute_strength, bios, n_users)
    # Independent streams: changing n_items does not change who the users are, and vice versa;
    # the variants' streams come after the first three, which therefore never change.
    streams = np.random.default_rng(seed).spawn(5)
    item_rng, user_rng, behaviour_rng, bio_only_rng, attribute_rng = streams
    themes = THEMES[:n_themes]
    item_ids = _make_ids("i", n_items)
    user_ids = _make_ids("u", n_users)

    item_theme = item_rng.permutation(np.arange(n_items) % n_themes)
    items, crossover = _make_items(item_rng, themes, item_theme, item_ids)
    interests = _draw_interests(user_rng, n_users, n_themes)
    users = _make_users(user_rng, themes, interests, user_ids)
    interactions = _make_interactions(behaviour_rng, interests, item_theme, item_ids, user_ids)

    names = [theme.name for theme in themes]
    bio_only: list[str] = []
    if bio_only_share > 0:
        users, interactions, bio_only = _make_bio_only(
            bio_only_rng, themes, interests, users, interactions, bio_only_share, foreign_bio_share
        )
    if attribute_strength is not None:
        primary = np.array([pairs[0][0] for pairs in interests], dtype=np.int64)
        attributes = make_attributes(attribute_rng, names, primary, attribute_strength)
        users = pd.concat([users, attributes], axis=1)
    if not bios:
        users = users.drop(columns="bio")
    truth = DemoTruth(
        theme_names=names,
        item_theme={item: names[t] for item, t in zip(item_ids, item_theme, strict=True)},
        user_primary_theme={
            user: names[pairs[0][0]] for user, pairs in zip(user_ids, interests, strict=True)
        },
        user_themes={
            user: [(names[t], weight) for t, weight in pairs]
            for user, pairs in zip(user_ids, interests, strict=True)
        },
        item_crossover_theme={item_ids[i]: names[t] for i, t in crossover.items()},
        bio_only_users=bio_only,
    )
    dataset = Dataset(
        interactions=interactions,
        items=items,
        users=users,
        name="demo",
        notes={
            "source": "interestlens synthetic demo",
            "seed": int(seed),
            "themes": n_themes,
            # the variants are noted only when asked for, so the default notes stay as they were
            **({"bio_only_users": len(bio_only)} if bio_only else {}),
            **({"foreign_bio_share": foreign_bio_share} if bio_only and foreign_bio_share else {}),
            **(
                {"attribute_strength": float(attribute_strength)}
                if attribute_strength is not None
                else {}
            ),
            **({"bios": False} if not bios else {}),
        },
    )
    return dataset, truth


def _check_arguments(*, seed: object, n_items: object, n_users: object, n_themes: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ParameterError(
            f"seed={seed!r}",
            expected="a non-negative integer",
            fix="pass seed=0 or another whole number >= 0",
        )
    limits = {
        "n_themes": (n_themes, 2, len(THEMES), f"the demo has {len(THEMES)} theme vocabularies"),
        "n_users": (n_users, 1, MAX_USERS, "a demo, not a benchmark"),
    }
    if isinstance(n_themes, numbers.Integral):
        limits["n_items"] = (n_items, 3 * int(n_themes), MAX_ITEMS, "at least 3 items per theme")
    for name, (value, low, high, why) in limits.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ParameterError(
                f"{name}={value!r} is not an integer",
                expected=f"an integer from {low} to {high}",
                fix=f"pass {name} as a whole number",
            )
        if not low <= value <= high:
            raise ParameterError(
                f"{name}={value} is out of range",
                expected=f"{low} <= {name} <= {high} ({why})",
                fix=f"pass {name} between {low} and {high}",
            )


def _check_share(name: str, value: object, *, below_one: bool) -> float:
    high = "below 1" if below_one else "at most 1"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(
            f"{name}={value!r} is not a number",
            expected=f"a share from 0 to {high}",
            fix=f"pass {name}=0.2 or similar",
        )
    share = float(value)
    if not (0.0 <= share < 1.0 if below_one else 0.0 <= share <= 1.0):
        raise ParameterError(
            f"{name}={value!r} is out of range",
            expected=f"a share from 0 to {high}",
            fix=f"pass {name}=0.2 or similar",
        )
    return share


def _check_variants(
    bio_only_share: object,
    foreign_bio_share: object,
    attribute_strength: object,
    bios: object,
    n_users: int,
) -> None:
    share = _check_share("bio_only_share", bio_only_share, below_one=True)
    _check_share("foreign_bio_share", foreign_bio_share, below_one=False)
    if attribute_strength is not None:
        _check_share("attribute_strength", attribute_strength, below_one=False)
    if not isinstance(bios, bool):
        raise ParameterError(
            f"bios={bios!r}", expected="True or False", fix="pass bios=False to drop the bio column"
        )
    if not bios and share > 0:
        raise ParameterError(
            f"bios=False with bio_only_share={bio_only_share}",
            expected="bios for the users known only by a bio",
            fix="keep bios=True, or set bio_only_share=0",
        )
    if not bios and attribute_strength is None:
        raise ParameterError(
            "bios=False without attribute_strength would leave users with no column at all",
            expected="attribute_strength= a number from 0 to 1 when the bios are dropped",
            fix="pass attribute_strength=0.3, or keep bios=True",
        )
    if share > 0 and n_users - round(share * n_users) < 1:
        raise ParameterError(
            f"bio_only_share={bio_only_share} of n_users={n_users} leaves no user with history",
            expected="at least one user with interactions",
            fix="lower bio_only_share or raise n_users",
        )


def _make_bio_only(
    rng: np.random.Generator,
    themes: tuple[Theme, ...],
    interests: list[list[tuple[int, float]]],
    users: pd.DataFrame,
    interactions: pd.DataFrame,
    share: float,
    foreign_share: float,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Pick the users known only by a bio: drop their interactions, write their bios."""
    count = round(share * len(users))
    chosen = np.sort(rng.choice(len(users), size=count, replace=False))
    bios = users["bio"].to_list()
    for index in chosen:
        order = [t for t, _ in interests[index]]
        lead = themes[order[0]]
        if rng.random() < foreign_share:
            bios[index] = make_foreign_bio(rng, lead, pick(rng, LANGUAGES))
        elif rng.random() < SHORT_BIO_SHARE:
            bios[index] = make_short_bio(rng, lead)
        else:
            bios[index] = make_bio(rng, [themes[t] for t in order[:2]])
    ids = users[USER_ID].to_numpy()[chosen].tolist()
    kept = interactions.loc[~interactions[USER_ID].isin(ids)].reset_index(drop=True)
    return users.assign(bio=bios), kept, ids


def _make_ids(prefix: str, count: int) -> list[str]:
    width = max(4, len(str(count)))
    return [f"{prefix}{number:0{width}d}" for number in range(1, count + 1)]


def _make_items(
    rng: np.random.Generator,
    themes: tuple[Theme, ...],
    item_theme: np.ndarray,
    item_ids: list[str],
) -> tuple[pd.DataFrame, dict[int, int]]:
    titles: list[str] = []
    descriptions: list[str] = []
    categories: list[str] = []
    prices: list[float] = []
    crossover: dict[int, int] = {}
    seen_titles: set[str] = set()
    seen_descriptions: set[str] = set()
    for index, theme_index in enumerate(item_theme):
        theme = themes[theme_index]
        kind = pick(rng, theme.kinds)
        product_index = int(rng.integers(len(kind.products)))
        second_theme = None
        if rng.random() < CROSSOVER_SHARE:
            others = [t for t in range(len(themes)) if t != theme_index]
            crossover[index] = pick(rng, others)
            second_theme = themes[crossover[index]]
        title = _fresh(
            partial(make_title, rng, kind, kind.products[product_index].title_word),
            seen_titles,
            on_repeat=f" ({item_ids[index]})",
        )
        # a repeated description is acceptable once the titles differ
        description = _fresh(
            partial(make_description, rng, theme, kind, product_index, crossover=second_theme),
            seen_descriptions,
        )
        titles.append(title)
        descriptions.append(description)
        categories.append(kind.category)
        prices.append(_price(rng, *(kind.products[product_index].price_range or kind.price_range)))
    frame = pd.DataFrame(
        {
            ITEM_ID: item_ids,
            "title": titles,
            "description": descriptions,
            "category": categories,
            "price": np.array(prices, dtype=np.float64),
        }
    )
    return frame, crossover


def _fresh(
    draw: Callable[[], str], seen: set[str], *, on_repeat: str = "", attempts: int = 50
) -> str:
    """A draw not yet in ``seen`` (then added); after ``attempts`` repeats, append ``on_repeat``."""
    text = draw()
    for _ in range(attempts):
        if text not in seen:
            break
        text = draw()
    else:
        text += on_repeat
    seen.add(text)
    return text


def _price(rng: np.random.Generator, low: float, high: float) -> float:
    raw = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    step = 10 if raw >= 100 else 1  # shop prices: 24.99, 249.99
    return round(max(np.floor(raw / step) * step + step - 0.01, low - 0.01), 2)


def _draw_interests(
    rng: np.random.Generator, n_users: int, n_themes: int
) -> list[list[tuple[int, float]]]:
    """Per user, ``(theme index, weight)`` pairs, primary first, weights summing to 1."""
    # Themes are not equally popular, but no theme is rare.
    theme_share = rng.uniform(0.7, 1.3, size=n_themes)
    theme_share /= theme_share.sum()
    counts = rng.choice(len(INTEREST_COUNT_SHARES), size=n_users, p=INTEREST_COUNT_SHARES) + 1
    interests = []
    for count in np.minimum(counts, n_themes):
        primary = int(rng.choice(n_themes, p=theme_share))
        others = [t for t in range(n_themes) if t != primary]
        secondary = [others[int(i)] for i in rng.choice(len(others), size=count - 1, replace=False)]
        weights = [1.0]
        if count > 1:
            weights = [rng.uniform(*PRIMARY_WEIGHT_RANGE)]
            rest = 1.0 - weights[0]
            if count == 3:
                second = rest * rng.uniform(0.55, 0.8)
                weights += [second, rest - second]
            else:
                weights.append(rest)
            weights = [round(float(w), 3) for w in weights[:-1]]
            weights.append(round(1.0 - sum(weights), 3))
        interests.append(list(zip([primary, *secondary], weights, strict=True)))
    return interests


def _make_users(
    rng: np.random.Generator,
    themes: tuple[Theme, ...],
    interests: list[list[tuple[int, float]]],
    user_ids: list[str],
) -> pd.DataFrame:
    bios = []
    for pairs in interests:
        if rng.random() >= BIO_SHARE:
            bios.append("")
            continue
        order = [t for t, _ in pairs]
        if len(order) > 1 and rng.random() < BIO_LED_BY_SECONDARY_SHARE:
            order[0], order[1] = order[1], order[0]
        bios.append(make_bio(rng, [themes[t] for t in order[:2]]))
    return pd.DataFrame({USER_ID: user_ids, "bio": bios})


def _make_interactions(
    rng: np.random.Generator,
    interests: list[list[tuple[int, float]]],
    item_theme: np.ndarray,
    item_ids: list[str],
    user_ids: list[str],
) -> pd.DataFrame:
    n_items = len(item_theme)
    members = [np.flatnonzero(item_theme == t) for t in range(int(item_theme.max()) + 1)]
    log_popularity = []
    for theme_items in members:
        weight = (rng.permutation(len(theme_items)) + 1.0) ** -ZIPF_EXPONENT
        log_popularity.append(np.log(weight / weight.sum()))
    item_bias = rng.normal(0.0, 0.3, size=n_items)

    rating_means = np.array(RATING_MEANS)
    item_column, rating_column, time_column, sizes = [], [], [], []
    low, high = INTERACTIONS_RANGE
    for pairs in interests:
        size = min(max(round(rng.lognormal(np.log(MEDIAN_INTERACTIONS), 0.65)), low), high, n_items)
        n_noise = int(rng.binomial(size, NOISE_SHARE))
        theme_counts = _split_by_weight(size - n_noise, [weight for _, weight in pairs])
        chosen = []
        for (theme, _), count in zip(pairs, theme_counts, strict=True):
            count = min(int(count), len(members[theme]))
            # Gumbel top-k: a weighted draw without replacement, far cheaper than rng.choice(p=)
            keys = log_popularity[theme] + rng.gumbel(size=len(members[theme]))
            chosen.append(members[theme][np.argsort(-keys)[:count]])
        chosen_items = np.concatenate(chosen)
        available = np.ones(n_items, dtype=bool)
        available[chosen_items] = False
        noise = rng.choice(np.flatnonzero(available), size=size - len(chosen_items), replace=False)
        user_items = rng.permutation(np.concatenate([chosen_items, noise]).astype(np.int64))

        # Only the theme matters, not how the item was drawn: a noise item may be a lucky find.
        relation = np.full(len(members), 2)
        relation[[theme for theme, _ in pairs]] = [min(rank, 1) for rank in range(len(pairs))]
        means = rating_means[relation[item_theme[user_items]]]
        user_bias = rng.normal(0.0, 0.35)
        ratings = means + user_bias + item_bias[user_items] + rng.normal(0.0, 0.75, len(user_items))

        first = START_EPOCH + int(rng.integers(0, int(0.75 * HISTORY_DAYS) * SECONDS_PER_DAY))
        last = int(
            rng.integers(first + 30 * SECONDS_PER_DAY, START_EPOCH + HISTORY_DAYS * SECONDS_PER_DAY)
        )
        times = np.sort(rng.integers(first, last, size=len(user_items))) + np.arange(
            len(user_items)
        )

        sizes.append(len(user_items))
        item_column.append(user_items)
        rating_column.append(np.clip(np.round(ratings), 1, 5))
        time_column.append(times)
    return pd.DataFrame(
        {
            USER_ID: np.repeat(np.array(user_ids, dtype=object), sizes),
            ITEM_ID: np.array(item_ids, dtype=object)[np.concatenate(item_column)],
            RATING: np.concatenate(rating_column).astype(np.float64),
            TIMESTAMP: np.concatenate(time_column).astype(np.int64),
        }
    )


def _split_by_weight(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders; ties go to the first).

    A quota rather than a multinomial draw: with a handful of interactions a random split would
    too often let a secondary theme outnumber the primary one, and "primary" would stop meaning
    what users mostly do.
    """
    exact = [total * weight for weight in weights]
    counts = [int(np.floor(share)) for share in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts
