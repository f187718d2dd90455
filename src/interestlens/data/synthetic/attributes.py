"""Weak user attributes for the demo: age band, gender and occupation, loosely tied to interests.

Each attribute of a user is drawn, with probability ``strength``, from a distribution that
depends on the user's primary theme, and otherwise from one shared by everybody. With
``strength=0`` the attributes say nothing about interests; with 1 they say as much as they
can, which is still little for age and gender (themes only tilt those distributions) and more
for occupation (each theme has two occupations of its own, e.g. a chef for Cooking).

The age and gender tilts of each theme are drawn from the generator, not written down, so
that no theme is tied to a stereotype by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from interestlens.data.synthetic.prose import pick

AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_SHARES = np.array([0.14, 0.24, 0.20, 0.17, 0.14, 0.11])
GENDERS: tuple[str, ...] = ("female", "male", "non-binary")
GENDER_SHARES = np.array([0.49, 0.48, 0.03])
#: how far a theme tilts the age and gender shares (standard deviation of log-odds)
TILT = 0.8
ATTRIBUTE_COLUMNS: tuple[str, ...] = ("age_band", "gender", "occupation")

THEME_OCCUPATIONS: dict[str, tuple[str, str]] = {
    "Hiking & outdoors": ("outdoor instructor", "park ranger"),
    "Cooking": ("chef", "baker"),
    "Personal finance": ("accountant", "financial adviser"),
    "Fantasy books": ("librarian", "writer"),
    "Jazz & music": ("musician", "sound engineer"),
    "Gardening": ("landscape gardener", "florist"),
    "Football": ("sports coach", "physiotherapist"),
    "Photography": ("photographer", "graphic designer"),
    "Programming": ("software engineer", "data analyst"),
    "Travel": ("flight attendant", "travel agent"),
    "Board games": ("game designer", "maths teacher"),
    "Pets": ("veterinary nurse", "dog groomer"),
}
GENERIC_OCCUPATIONS: tuple[str, ...] = (
    "technician",
    "nurse",
    "teacher",
    "student",
    "retired",
    "sales assistant",
    "administrator",
    "engineer",
    "lawyer",
    "civil servant",
)


def _tilted(rng: np.random.Generator, shares: np.ndarray, n_themes: int) -> np.ndarray:
    """``(n_themes, len(shares))``: each theme's shares, tilted at random around ``shares``."""
    weights = shares * np.exp(rng.normal(0.0, TILT, size=(n_themes, len(shares))))
    return weights / weights.sum(axis=1, keepdims=True)


def make_attributes(
    rng: np.random.Generator,
    theme_names: Sequence[str],
    primary: np.ndarray,
    strength: float,
) -> pd.DataFrame:
    """``age_band, gender, occupation`` for users whose primary theme indices are ``primary``."""
    n_themes = len(theme_names)
    age_by_theme = _tilted(rng, AGE_SHARES, n_themes)
    gender_by_theme = _tilted(rng, GENDER_SHARES, n_themes)
    every_occupation = list(GENERIC_OCCUPATIONS) + [
        job for name in theme_names for job in THEME_OCCUPATIONS[name]
    ]
    ages, genders, occupations = [], [], []
    for theme in primary:
        tied = rng.random(3) < strength
        age_p = age_by_theme[theme] if tied[0] else AGE_SHARES
        gender_p = gender_by_theme[theme] if tied[1] else GENDER_SHARES
        ages.append(AGE_BANDS[int(rng.choice(len(AGE_BANDS), p=age_p))])
        genders.append(GENDERS[int(rng.choice(len(GENDERS), p=gender_p))])
        jobs = THEME_OCCUPATIONS[theme_names[theme]] if tied[2] else every_occupation
        occupations.append(pick(rng, jobs))
    return pd.DataFrame({"age_band": ages, "gender": genders, "occupation": occupations})
