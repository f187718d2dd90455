from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from interestlens.embed.base import ensure_texts
from interestlens.embed.tokens import text_report
from interestlens.errors import ConfigError, MissingColumnsError, ParameterError
from interestlens.testing import StaticEncoder
from interestlens.text import build_texts, clean_value, strip_html

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MOVIES = DATA / "ml-latest-small" / "movies.csv"


@pytest.fixture
def items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["1", "2", "3"],
            "title": ["Toy Story", "Heat", None],
            "genres": ["Animation|Comedy", "Action|Crime", np.nan],
            "year": [1995.0, 1995.0, np.nan],
            "overview": ["<p>A cowboy doll &amp; a <b>space</b> ranger.</p>", "", None],
        }
    )


# --- cleaning --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["a", "b"], "a, b"),
        (("x", None, "y"), "x, y"),
        (np.array(["p", "q"]), "p, q"),
        ('["Drama", "War"]', "Drama, War"),
        ("['Drama', 'War']", "Drama, War"),
        ("Adventure|Animation|Children", "Adventure, Animation, Children"),
        ("Comedy | Romance |", "Comedy, Romance"),
        ("<p>Hello <i>world</i></p>", "Hello world"),
        ("Fish &amp; Chips &quot;fresh&quot;", 'Fish & Chips "fresh"'),
        ("line one<br>line two", "line one line two"),
        ("Tom & Jerry", "Tom & Jerry"),
        ("I <3 films", "I <3 films"),
        ("  lots   of\n\tspace ", "lots of space"),
        ("[not a list", "[not a list"),
        (1995.0, "1995"),
        (7.5, "7.5"),
        (None, ""),
        (float("nan"), ""),
        (pd.NA, ""),
        ([["nested", "list"], "tail"], "nested, list, tail"),
        ({"director": "Nolan", "budget": None}, "director: Nolan"),
        ('[{"id": 28, "name": "Action"}, {"id": 12, "name": "Adventure"}]', "Action, Adventure"),
    ],
)
def test_clean_value(raw: object, expected: str) -> None:
    assert clean_value(raw) == expected


def test_strip_html_leaves_plain_text_alone() -> None:
    assert strip_html("a < b and c > d") == "a < b and c > d"


# --- building --------------------------------------------------------------------------------


def test_default_texts_are_column_lines_without_empty_values(items: pd.DataFrame) -> None:
    texts = build_texts(items, id_col="item_id")
    assert texts[0] == (
        "title: Toy Story\ngenres: Animation, Comedy\nyear: 1995\n"
        "overview: A cowboy doll & a space ranger."
    )
    assert texts[1] == "title: Heat\ngenres: Action, Crime\nyear: 1995"
    assert texts[2] == ""  # a row with nothing is allowed and gives ""


def test_columns_choose_and_order(items: pd.DataFrame) -> None:
    texts = build_texts(items, id_col="item_id", columns=["genres", "title"])
    assert texts[0] == "genres: Animation, Comedy\ntitle: Toy Story"


def test_unknown_text_column_names_the_available_ones(items: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match=r"\['plot'\].*'item_id', 'title', 'genres'"):
        build_texts(items, id_col="item_id", columns=["title", "plot"])


def test_missing_id_column(items: pd.DataFrame) -> None:
    with pytest.raises(MissingColumnsError, match="'movieId' is not among the columns"):
        build_texts(items, id_col="movieId")


def test_template_formats_cleaned_values(items: pd.DataFrame) -> None:
    texts = build_texts(items, id_col="item_id", template="{title} ({year}). {genres}.")
    assert texts[:2] == ["Toy Story (1995). Animation, Comedy.", "Heat (1995). Action, Crime."]


def test_template_that_renders_nothing_falls_back_to_other_fields(items: pd.DataFrame) -> None:
    texts = build_texts(items, id_col="item_id", template="{overview}")
    assert texts[0] == "A cowboy doll & a space ranger."
    assert texts[1] == "title: Heat\ngenres: Action, Crime\nyear: 1995"
    assert texts[2] == ""


def test_template_with_unknown_field_names_field_and_columns(items: pd.DataFrame) -> None:
    with pytest.raises(ConfigError) as caught:
        build_texts(items, id_col="item_id", template="{title}: {plot}")
    message = str(caught.value)
    assert "'plot'" in message
    assert "['item_id', 'title', 'genres', 'year', 'overview']" in message
    assert "Fix:" in message


@pytest.mark.parametrize(
    ("template", "fragment"), [("{0} {title}", "positional"), ("{title", "valid str.format")]
)
def test_bad_templates(items: pd.DataFrame, template: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        build_texts(items, id_col="item_id", template=template)


def test_empty_frame_gives_no_texts() -> None:
    assert build_texts(pd.DataFrame({"item_id": [], "title": []}), id_col="item_id") == []


# --- checks and reports ----------------------------------------------------------------------


def test_ensure_texts_rejects_a_lone_string_and_non_strings() -> None:
    with pytest.raises(ParameterError, match=r"single str.*wrap it in a list"):
        ensure_texts("hello")
    with pytest.raises(ParameterError, match=r"texts\[1\] is float nan"):
        ensure_texts(["ok", float("nan")])
    assert ensure_texts(("a", "b")) == ["a", "b"]


def test_text_report_counts_empty_and_truncated() -> None:
    encoder = StaticEncoder(lambda text: np.ones(4), dimension=4, max_tokens=3)
    texts = ["one two", "one two three four", "", "a b c d e f"]
    report = text_report(texts, encoder)
    assert (report.n_texts, report.n_empty, report.n_truncated) == (4, 1, 2)
    assert report.max_tokens == 3
    assert report.tokens_max == 6
    assert report.truncated_share == 0.5
    assert report.to_dict()["n_truncated"] == 2


def test_text_report_without_encoder() -> None:
    report = text_report(["", "x"])
    assert (report.n_texts, report.n_empty, report.n_truncated) == (2, 1, 0)
    assert report.max_tokens is None


@pytest.mark.realdata
@pytest.mark.skipif(not MOVIES.exists(), reason="needs ../shared/data (MovieLens ml-latest-small)")
def test_movielens_item_texts() -> None:
    movies = pd.read_csv(MOVIES)
    texts = build_texts(movies, id_col="movieId", template="{title}. {genres}")
    assert len(texts) == 9742
    assert texts[0] == "Toy Story (1995). Adventure, Animation, Children, Comedy, Fantasy"
    assert all(texts)
