"""MovieLens ``ml-latest-small`` (optionally with TMDB 5000 plot overviews) as a :class:`Dataset`.

Files read from ``root``: ``ratings.csv`` (userId, movieId, rating, timestamp), ``movies.csv``
(movieId, title with the year in brackets, pipe-separated genres), and when present ``tags.csv``
(free-text tags users wrote) and ``links.csv`` (movieId -> tmdbId, needed only with ``tmdb``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from interestlens.data.columns import TableSource, canonical_columns
from interestlens.data.io import read_table_with_source
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.data.validate import is_member, validate_dataset
from interestlens.errors import DataFileNotFoundError, DataFormatError, ParameterError

_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-–]\s*\d{0,4})?\)\s*$")
# "Matrix, The" -> "The Matrix"; also "City of Lost Children, The (Cité des enfants perdus, La)"
_TRAILING_ARTICLE = re.compile(
    r"^(?P<name>.+?), (?P<article>The|A|An|Les|La|Le|L'|Il|El|Das|Der|Die)"
    r"(?P<rest>\s*\(.*\))?$"
)
_NO_GENRES = "(no genres listed)"
_ID_COLUMNS = {USER_ID, ITEM_ID, "tmdbId"}


def split_title(raw: str) -> tuple[str, str]:
    """``"Matrix, The (1999)"`` -> ``("The Matrix", "1999")``; no year in brackets gives ``""``."""
    match = _YEAR.match(raw)
    title, year = (match["title"], match["year"]) if match else (raw.strip(), "")
    article = _TRAILING_ARTICLE.match(title)
    if article:
        separator = "" if article["article"].endswith("'") else " "
        title = f"{article['article']}{separator}{article['name']}{article['rest'] or ''}"
    return title, year


def _unique_joined(values: pd.Series) -> str:
    """Distinct texts (case-insensitive, first spelling and order kept) joined by commas."""
    seen: dict[str, str] = {}
    for value in values:
        text = " ".join(str(value).split())
        if text:
            seen.setdefault(text.casefold(), text)
    return ", ".join(seen.values())


def _read(path: Path, kind: str, required: dict[str, str]) -> tuple[pd.DataFrame, TableSource]:
    ids = [name for canonical, name in required.items() if canonical in _ID_COLUMNS]
    frame, source = read_table_with_source(path, kind, ids)
    return canonical_columns(frame, required=required, source=source, configurable=False)


def _names_from_json_list(cell: object, path: Path, column: str, tmdb_id: str) -> str:
    """TMDB's ``[{"id": 28, "name": "Action"}, ...]`` cells as ``"Action, ..."``."""
    if not isinstance(cell, str) or not cell.strip():
        return ""
    try:
        entries = json.loads(cell)
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            f"{path}: column {column!r} of TMDB id {tmdb_id} is not valid JSON ({exc.msg})",
            expected='a JSON list such as [{"id": 28, "name": "Action"}]',
            fix="use the unmodified tmdb_5000_movies.csv",
        ) from exc
    return ", ".join(str(e["name"]) for e in entries if isinstance(e, dict) and e.get("name"))


def _tmdb_texts(tmdb: Path, links_path: Path) -> pd.DataFrame:
    """Per movieId: overview, tmdb_genres and keywords from TMDB, joined through links.csv."""
    links, _ = _read(links_path, "items", {ITEM_ID: "movieId", "tmdbId": "tmdbId"})
    movies, _ = _read(tmdb, "items", {"tmdbId": "id", "overview": "overview"})
    for column in ("genres", "keywords"):
        if column not in movies.columns:
            movies[column] = ""
    texts = pd.DataFrame(
        {
            "tmdbId": movies["tmdbId"],
            "overview": [" ".join(str(t).split()) for t in movies["overview"].fillna("")],
            "tmdb_genres": [
                _names_from_json_list(c, tmdb, "genres", i)
                for c, i in zip(movies["genres"], movies["tmdbId"], strict=True)
            ],
            "keywords": [
                _names_from_json_list(c, tmdb, "keywords", i)
                for c, i in zip(movies["keywords"], movies["tmdbId"], strict=True)
            ],
        }
    ).drop_duplicates("tmdbId")
    joined = links[[ITEM_ID, "tmdbId"]].dropna().merge(texts, on="tmdbId", how="inner")
    return joined.drop(columns="tmdbId").drop_duplicates(ITEM_ID)


def load_movielens(
    root: str | Path,
    *,
    tmdb: str | Path | None = None,
    min_rating: float | None = None,
) -> Dataset:
    """Read an ``ml-latest-small``-style directory into a validated :class:`Dataset`.

    Items: ``item_id`` (movieId), ``title`` ("The Matrix"), ``year`` ("1999", or "" when the
    title has none), ``genres`` ("Action, Sci-Fi"), ``tags`` (every user's tags, distinct), and
    with ``tmdb`` (``tmdb_5000_movies.csv[.gz]``) ``overview``, ``tmdb_genres``, ``keywords``
    ("" for movies TMDB 5000 lacks). Users: ``user_id`` and ``tags`` (the user's own tags), only
    for users who wrote tags. ``min_rating`` keeps ratings >= it. Counts go to ``notes``.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataFileNotFoundError(
            f"MovieLens directory {root} does not exist",
            expected="a directory holding ratings.csv and movies.csv (e.g. ml-latest-small/)",
            fix="pass the directory that was extracted from the MovieLens zip",
        )
    if min_rating is not None and not isinstance(min_rating, int | float):
        raise ParameterError(
            f"min_rating={min_rating!r}", expected="a number or None", fix="pass e.g. 3.5"
        )
    notes: dict[str, int | str] = {}
    ratings, ratings_source = _read(
        root / "ratings.csv",
        "interactions",
        {USER_ID: "userId", ITEM_ID: "movieId", RATING: "rating", TIMESTAMP: "timestamp"},
    )
    movies, movies_source = _read(
        root / "movies.csv", "items", {ITEM_ID: "movieId", "title": "title"}
    )
    titles = [split_title(str(t)) for t in movies["title"].fillna("")]
    items = pd.DataFrame(
        {
            ITEM_ID: movies[ITEM_ID],
            "title": [t for t, _ in titles],
            "year": [y for _, y in titles],
            "genres": [
                ", ".join(g for g in str(raw).split("|") if g and g != _NO_GENRES)
                for raw in movies.get("genres", pd.Series("", index=movies.index)).fillna("")
            ],
        }
    )

    users = None
    tags_path = root / "tags.csv"
    if tags_path.exists():
        tags, _ = _read(
            tags_path, "interactions", {USER_ID: "userId", ITEM_ID: "movieId", "tag": "tag"}
        )
        tags = tags.dropna(subset=["tag"])
        by_item = tags.groupby(ITEM_ID, sort=False)["tag"].agg(_unique_joined)
        items["tags"] = items[ITEM_ID].map(by_item).fillna("")
        users = tags.groupby(USER_ID, sort=False)["tag"].agg(_unique_joined).rename("tags")
        users = users[users != ""].reset_index()
        notes["items_with_tags"] = int((items["tags"] != "").sum())
        notes["users_with_tags"] = len(users)
        # tags are written about the items a user watched: text-only validation would leak
        notes["user_text_source"] = "interactions"
    else:
        notes["tags"] = "tags.csv absent: no tags and no users table"

    if tmdb is not None:
        texts = _tmdb_texts(Path(tmdb), root / "links.csv")
        items = items.merge(texts, on=ITEM_ID, how="left")
        for column in ("overview", "tmdb_genres", "keywords"):
            items[column] = items[column].fillna("")
        notes["items_with_tmdb_match"] = int(is_member(items[ITEM_ID], texts[ITEM_ID]).sum())
        notes["items_with_overview"] = int((items["overview"] != "").sum())

    notes["items_without_ratings"] = int((~is_member(items[ITEM_ID], ratings[ITEM_ID])).sum())
    dataset = Dataset(ratings, items, users, name=root.name, notes=notes)
    # movies.csv rows map one-to-one onto items rows, so its lines stay valid in messages
    sources = {
        "interactions": ratings_source,
        "items": movies_source,
        "users": TableSource(f"users built from {tags_path}"),
    }
    dataset = validate_dataset(dataset, sources=sources)
    if min_rating is not None:
        keep = dataset.interactions[RATING] >= min_rating
        dataset.notes["ratings_below_min_rating"] = int((~keep).sum())
        dataset.interactions = dataset.interactions.loc[keep].reset_index(drop=True)
        if dataset.interactions.empty:
            raise ParameterError(
                f"min_rating={min_rating} leaves no ratings",
                expected="a threshold at or below the highest rating",
                fix="lower min_rating",
            )
    return dataset
