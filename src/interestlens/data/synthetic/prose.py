"""Readable English for demo items and user bios, composed from templates and theme words.

Every choice draws from the ``numpy.random.Generator`` passed in, so the same generator state
gives the same text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from interestlens.data.synthetic.vocab import CITIES, Kind, Theme
from interestlens.data.synthetic.vocab.languages import FOREIGN_BIO_TEMPLATES, FOREIGN_TOPICS

T = TypeVar("T")

# "{a_quality}" is the quality with its article; each template names its parts by keyword.
DESCRIPTION_OPENERS = (
    "{a_quality} {noun} {feature} {use}.",
    "{a_quality}, {quality2} {noun} {use}.",
    "{a_quality} {noun} {use}, {feature}.",
    "This {quality} {noun} is made {use}.",
    "Made {use}: {a_quality} {noun} {feature}.",
    "{a_quality} {noun} {feature}.",
)
AUDIENCE_CLOSERS = (
    "Popular with {audience}.",
    "A favourite with {audience}.",
    "Well reviewed by {audience}.",
    "Recommended by {audience}.",
)
# A crossover item borrows the audience of a second theme, as real listings often do.
CROSSOVER_SENTENCES = (
    "Also popular with {audience}.",
    "A thoughtful gift for {audience}.",
    "Plenty of {audience} swear by it too.",
)
BIO_TEMPLATES = (
    "{persona} and {persona2} from {city}.",
    "{persona} from {city}.",
    "{persona} based in {city}. Usually {activity}.",
    "{persona}, into {topic} and {topic2}.",
    "{persona} who spends weekends {activity}.",
    "I love {topic}. {persona2} from {city}.",
    "{persona} in {city}, always {activity}.",
    "{topic}, {topic2} and good coffee. Based in {city}.",
)
# Words whose first letter is a vowel letter but not a vowel sound, or the other way round.
_ARTICLE_EXCEPTIONS = {"heirloom": "an", "hour": "an", "honest": "an", "one": "a", "usb": "a"}


def pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    """One element of ``options``, uniformly (``rng.choice`` would turn strings into numpy)."""
    return options[int(rng.integers(len(options)))]


def pick_two(rng: np.random.Generator, options: Sequence[T]) -> tuple[T, T]:
    """Two different elements of ``options`` (which must hold at least two)."""
    first, second = rng.choice(len(options), size=2, replace=False)
    return options[int(first)], options[int(second)]


def with_article(phrase: str) -> str:
    first_word = phrase.split("-")[0].split(" ")[0].lower()
    article = _ARTICLE_EXCEPTIONS.get(first_word, "an" if first_word[:1] in "aeiou" else "a")
    return f"{article} {phrase}"


def capitalise(sentence: str) -> str:
    """Upper-case the first letter only (``str.capitalize`` would lower "Python" and "GPS")."""
    return sentence[:1].upper() + sentence[1:]


def make_title(rng: np.random.Generator, kind: Kind, title_word: str) -> str:
    return f"{pick(rng, kind.brands)} {title_word}{pick(rng, kind.suffixes)}"


def make_description(
    rng: np.random.Generator,
    theme: Theme,
    kind: Kind,
    product_index: int,
    *,
    crossover: Theme | None = None,
) -> str:
    """One to three sentences: what it is, often a detail, sometimes who likes it."""
    product = kind.products[product_index]
    quality, quality2 = pick_two(rng, kind.qualities)
    opener = pick(rng, DESCRIPTION_OPENERS).format(
        a_quality=with_article(quality),
        quality=quality,
        quality2=quality2,
        noun=product.noun,
        feature=pick(rng, product.features),
        use=pick(rng, kind.uses),
    )
    sentences = [capitalise(opener)]
    if rng.random() < 0.75:
        sentences.append(pick(rng, kind.details))
    if crossover is not None:
        sentences.append(
            pick(rng, CROSSOVER_SENTENCES).format(audience=pick(rng, crossover.audiences))
        )
    elif rng.random() < 0.3:
        sentences.append(pick(rng, AUDIENCE_CLOSERS).format(audience=pick(rng, theme.audiences)))
    return " ".join(sentences)


def make_bio(rng: np.random.Generator, themes: Sequence[Theme]) -> str:
    """A short self-description led by ``themes[0]``; a second theme, if any, fills the rest."""
    lead = themes[0]
    persona, other_persona = pick_two(rng, lead.personas)
    topic, other_topic = pick_two(rng, lead.topics)
    if len(themes) > 1:
        other_persona = pick(rng, themes[1].personas)
        other_topic = pick(rng, themes[1].topics)
    bio = pick(rng, BIO_TEMPLATES).format(
        persona=persona,
        persona2=other_persona,
        topic=topic,
        topic2=other_topic,
        activity=pick(rng, lead.activities),
        city=pick(rng, CITIES),
    )
    return ". ".join(capitalise(part) for part in bio.split(". "))


# Terse bios, as people write them in a profile field ("Into astronomy, especially telescopes").
SHORT_BIO_TEMPLATES = (
    "Into {topic}, especially {topic2}.",
    "{topic} fan.",
    "{persona}.",
    "Mostly {activity}.",
    "Big on {topic}.",
)


def make_short_bio(rng: np.random.Generator, theme: Theme) -> str:
    """One short phrase about ``theme`` alone."""
    topic, other_topic = pick_two(rng, theme.topics)
    bio = pick(rng, SHORT_BIO_TEMPLATES).format(
        topic=topic,
        topic2=other_topic,
        persona=pick(rng, theme.personas),
        activity=pick(rng, theme.activities),
    )
    return capitalise(bio)


def make_foreign_bio(rng: np.random.Generator, theme: Theme, language: str) -> str:
    """A one-line bio about ``theme`` in ``language`` (one of ``vocab.languages.LANGUAGES``)."""
    topic, other_topic = FOREIGN_TOPICS[theme.name][language]
    template = pick(rng, FOREIGN_BIO_TEMPLATES[language])
    return capitalise(template.format(topic=topic, topic2=other_topic))
