"""The MovieLens and Amazon readers on the real files in ../shared/data (skipped when absent).

Expected counts come from shared/data/SOURCES.md, checked independently of these readers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from interestlens.data.amazon import load_amazon
from interestlens.data.movielens import load_movielens
from interestlens.data.schema import Dataset

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MOVIELENS = DATA / "ml-latest-small"
TMDB = DATA / "tmdb-5000-movies" / "tmdb_5000_movies.csv.gz"
AMAZON = DATA / "amazon-reviews-2018"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not DATA.exists(), reason="needs ../shared/data (MovieLens, TMDB 5000, Amazon 2018)"
    ),
]


@pytest.fixture(scope="module")
def movielens() -> Dataset:
    return load_movielens(MOVIELENS, tmdb=TMDB)


def test_movielens_counts(movielens: Dataset):
    assert len(movielens.interactions) == 100836
    assert movielens.interactions["user_id"].nunique() == 610
    assert movielens.interactions["item_id"].nunique() == 9724
    assert len(movielens.items) == 9742  # every movie, 18 of them unrated
    assert movielens.notes["items_without_ratings"] == 18
    assert len(movielens.users) == 58  # users who wrote tags
    assert movielens.notes["items_with_tmdb_match"] == 3537
    assert movielens.notes["items_with_overview"] == 3537


def test_movielens_types_and_texts(movielens: Dataset):
    interactions, items = movielens.interactions, movielens.items.set_index("item_id")
    assert interactions["rating"].between(0.5, 5.0).all()
    assert interactions["timestamp"].dtype == "int64"
    toy_story = items.loc["1"]
    assert (toy_story["title"], toy_story["year"]) == ("Toy Story", "1995")
    assert toy_story["genres"] == "Adventure, Animation, Children, Comedy, Fantasy"
    assert toy_story["overview"].startswith("Led by Woody")
    assert toy_story["tmdb_genres"] == "Animation, Comedy, Family"
    assert "pixar" in toy_story["tags"]
    assert items.loc["2571", "title"] == "The Matrix"
    users = movielens.users.set_index("user_id")
    assert users.loc["2", "tags"].startswith("funny, Highly quotable")
    text_columns = [c for c in movielens.items.columns if c != "item_id"]
    for column in text_columns:  # CRLF files: no stray carriage returns, no missing values
        assert not movielens.items[column].str.contains("\r").any()
        assert movielens.items[column].notna().all()


def test_movielens_min_rating():
    dataset = load_movielens(MOVIELENS, min_rating=4.5)
    assert (dataset.interactions["rating"] >= 4.5).all()
    kept = len(dataset.interactions)
    assert kept + dataset.notes["ratings_below_min_rating"] == 100836


@pytest.mark.parametrize(
    ("category", "lines", "duplicates", "users", "items", "without_meta"),
    [
        ("Magazine_Subscriptions", 2375, 42, 348, 157, 6),
        ("Gift_Cards", 2972, 0, 458, 148, 0),
    ],
)
def test_amazon_counts(category, lines, duplicates, users, items, without_meta):
    dataset = load_amazon(AMAZON / f"{category}_5.json.gz", AMAZON / f"meta_{category}.json.gz")
    assert dataset.notes["review_lines"] == lines
    assert dataset.notes["duplicate_review_lines"] == duplicates
    assert len(dataset.interactions) == lines - duplicates
    assert dataset.interactions["user_id"].nunique() == users == len(dataset.users)
    assert len(dataset.items) == items
    assert dataset.notes["items_without_meta"] == without_meta
    for column in ("title", "description", "category", "brand"):
        texts = dataset.items[column]
        assert not texts.str.contains(r"<[a-zA-Z/]", regex=True).any(), column
        assert not texts.str.contains(r"&(?:amp|#39|quot|lt|gt);", regex=True).any(), column
    assert (dataset.users["reviews"] != "").all()


def test_amazon_magazine_html_titles_and_duplicate_meta():
    dataset = load_amazon(
        AMAZON / "Magazine_Subscriptions_5.json.gz",
        AMAZON / "meta_Magazine_Subscriptions.json.gz",
    )
    # 148 of the 151 reviewed items with meta have only a cut-off <span ...> as title
    assert dataset.notes["items_with_empty_title"] == 148 + 6
    assert dataset.notes["meta_duplicate_asin_rows"] == 3385 - 2320
    assert dataset.notes["meta_duplicate_asin_rows_differing"] == 0
    titles = set(dataset.items["title"]) - {""}
    assert {"Woman's Day", "SmartMoney (1-year)", "Gourmet (1-year)"} == titles
    described = (dataset.items["description"] != "").sum()
    assert described == 145


def test_amazon_gift_card_entities_unescaped():
    dataset = load_amazon(AMAZON / "Gift_Cards_5.json.gz", AMAZON / "meta_Gift_Cards.json.gz")
    titles = dataset.items.set_index("item_id")["title"]
    assert titles.str.contains("'").any()
    assert (titles != "").all()
