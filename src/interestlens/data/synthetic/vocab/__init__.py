"""Vocabularies of the demo themes, in the order :func:`make_demo_dataset` takes them."""

from __future__ import annotations

from interestlens.data.synthetic.vocab.indoor import (
    BOARD_GAMES,
    COOKING,
    FANTASY,
    FINANCE,
    JAZZ,
    PROGRAMMING,
)
from interestlens.data.synthetic.vocab.model import Kind, Product, Theme, words
from interestlens.data.synthetic.vocab.outdoor import (
    FOOTBALL,
    GARDENING,
    HIKING,
    PETS,
    PHOTOGRAPHY,
    TRAVEL,
)

#: ``n_themes=k`` uses the first ``k``; the order mixes indoor and outdoor themes early on.
THEMES: tuple[Theme, ...] = (
    HIKING,
    COOKING,
    FINANCE,
    FANTASY,
    JAZZ,
    GARDENING,
    FOOTBALL,
    PHOTOGRAPHY,
    PROGRAMMING,
    TRAVEL,
    BOARD_GAMES,
    PETS,
)

CITIES = words(
    "Leeds|Bristol|Glasgow|Manchester|Cardiff|Dublin|Edinburgh|Sheffield|Toronto|Melbourne|"
    "Austin|Lyon|Utrecht|Wellington|Denver|Brighton|Belfast|Cork|Portland|Newcastle"
)

__all__ = ["CITIES", "THEMES", "Kind", "Product", "Theme", "words"]
