"""The shape of a theme vocabulary, and the builders the theme tables use.

Word lists are written as ``"a|b|c"`` strings to keep the tables compact; :func:`words` splits
them. Each theme has one or more *kinds* of product (gear, books, courses ...). A kind's
qualities and uses fit every one of its products; a product's features fit only that product,
so that a generated sentence never puts "a grippy sole" on a tent.
"""

from __future__ import annotations

from dataclasses import dataclass


def words(spec: str) -> tuple[str, ...]:
    """Split a ``"a|b|c"`` word list; an empty entry (``"a||b"``) stays as ``""``."""
    return tuple(spec.split("|"))


@dataclass(frozen=True)
class Product:
    noun: str  # singular and countable, so "a {quality} {noun}" always reads well
    title_word: str
    features: tuple[str, ...]  # each starts with "with"; a use ("for ...") may follow it
    price_range: tuple[float, float] | None = None  # when the kind's range does not fit it


@dataclass(frozen=True)
class Kind:
    category: str
    brands: tuple[str, ...]
    suffixes: tuple[str, ...]  # glued to the title as written, so each carries its own space
    qualities: tuple[str, ...]
    uses: tuple[str, ...]  # each starts with "for"
    details: tuple[str, ...]  # whole sentences
    products: tuple[Product, ...]
    price_range: tuple[float, float]


@dataclass(frozen=True)
class Theme:
    name: str
    audiences: tuple[str, ...]  # plural people: "hillwalkers"
    personas: tuple[str, ...]  # one person, for bios: "weekend hiker"
    topics: tuple[str, ...]  # for "into {topic}"
    activities: tuple[str, ...]  # "-ing" phrases, for "usually {activity}"
    kinds: tuple[Kind, ...]


def make_kind(
    category: str,
    *,
    brands: str,
    suffixes: str,
    qualities: str,
    uses: str,
    details: str,
    products: list[tuple[str, str, str] | tuple[str, str, str, tuple[float, float]]],
    price: tuple[float, float],
) -> Kind:
    return Kind(
        category=category,
        brands=words(brands),
        suffixes=words(suffixes),
        qualities=words(qualities),
        uses=words(uses),
        details=words(details),
        products=tuple(
            Product(noun, title, words(features), *price)
            for noun, title, features, *price in products
        ),
        price_range=price,
    )


def make_theme(
    name: str,
    *,
    audiences: str,
    personas: str,
    topics: str,
    activities: str,
    kinds: list[Kind],
) -> Theme:
    return Theme(
        name=name,
        audiences=words(audiences),
        personas=words(personas),
        topics=words(topics),
        activities=words(activities),
        kinds=tuple(kinds),
    )
