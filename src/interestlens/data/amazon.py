"""Amazon Review Data (2018) 5-core reviews plus ``meta_`` product files as a :class:`Dataset`.

Both files are JSON lines, usually gzipped. Reviews give interactions (``reviewerID``, ``asin``,
``overall``, ``unixReviewTime``) and user texts (the user's review summaries and texts); meta
lines give item texts (``title``, ``description``, ``category``, ``brand``), which hold HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from interestlens.data.columns import TableSource, canonical_columns
from interestlens.data.io import parse_json_lines, read_text, text_lines
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.data.validate import validate_dataset

REVIEW_COLUMNS = {
    USER_ID: "reviewerID",
    ITEM_ID: "asin",
    RATING: "overall",
    TIMESTAMP: "unixReviewTime",
}
ITEM_TEXT_COLUMNS = ("title", "description", "category", "brand")
_BLOCK_TAGS = frozenset(
    {"br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6"}
)
# a tag cut off at the end of a field ('<span class="a-size-medium"') is markup, not text
_TRUNCATED_TAG = re.compile(r"<[A-Za-z/!][^<>]*$")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(fragment: object) -> str:
    """Visible text of an HTML fragment: tags and scripts removed, entities unescaped, whitespace
    collapsed. ``'Disney &amp; Me'`` -> ``'Disney & Me'``; ``'<span class="x"'`` -> ``''``."""
    if fragment is None or (isinstance(fragment, float) and pd.isna(fragment)):
        return ""
    collector = _TextCollector()
    collector.feed(_TRUNCATED_TAG.sub("", str(fragment)))
    collector.close()
    return " ".join("".join(collector.parts).split())


def _joined(value: object, separator: str) -> str:
    """A text field that may be a string or a list of strings, as one cleaned text."""
    if isinstance(value, list | tuple):
        # dict.fromkeys keeps the first of repeated parts ("Gift Cards", "Gift Cards")
        parts = dict.fromkeys(html_to_text(v) for v in value)
        return separator.join(part for part in parts if part)
    return html_to_text(value)


def _unique_lines(lines: Iterable[str]) -> tuple[list[tuple[int, str]], int, int]:
    """``(numbered first occurrences, duplicate count, blank count)`` of the file's lines."""
    seen: set[str] = set()
    kept: list[tuple[int, str]] = []
    duplicates = blanks = 0
    for number, line in enumerate(lines, start=1):
        key = line.strip()
        if not key:
            blanks += 1
        elif key in seen:
            duplicates += 1
        else:
            seen.add(key)
            kept.append((number, line))
    return kept, duplicates, blanks


def _review_text(summary: object, text: object) -> str:
    parts = [" ".join(str(p).split()) for p in (summary, text) if isinstance(p, str)]
    parts = [p for p in parts if p]
    if len(parts) == 2 and parts[0][-1] not in ".!?":
        parts[0] += "."
    return " ".join(parts)


def _user_texts(reviews: pd.DataFrame) -> pd.DataFrame:
    ordered = reviews.sort_values([USER_ID, TIMESTAMP], kind="stable")
    texts = [
        _review_text(s, t)
        for s, t in zip(
            ordered.get("summary", pd.Series(index=ordered.index, dtype=object)),
            ordered.get("reviewText", pd.Series(index=ordered.index, dtype=object)),
            strict=True,
        )
    ]
    ordered = ordered.assign(review=texts)
    ordered = ordered[ordered["review"] != ""]
    users = ordered.groupby(USER_ID, sort=False)["review"].agg("\n".join).rename("reviews")
    all_users = pd.Index(pd.unique(reviews[USER_ID]), name=USER_ID)
    return users.reindex(all_users, fill_value="").reset_index()


def _read_meta(path: Path, wanted: set[str], notes: dict[str, int | str]) -> pd.DataFrame:
    kept, duplicate_lines, _ = _unique_lines(text_lines(read_text(path, claimed="JSON lines")))
    records = parse_json_lines(kept, path)
    rows: dict[str, dict[str, str]] = {}
    conflicting = 0
    asins = [str(r.get("asin", "")).strip() for r in records]
    for asin, record in zip(asins, records, strict=True):
        if asin not in wanted:
            continue
        row = {
            c: _joined(record.get(c), ", " if c == "category" else " ") for c in ITEM_TEXT_COLUMNS
        }
        if asin in rows:
            conflicting += rows[asin] != row
            continue
        rows[asin] = row
    unique_asins = len(set(asins))
    notes["meta_lines"] = len(kept) + duplicate_lines
    notes["meta_duplicate_asin_rows"] = duplicate_lines + len(records) - unique_asins
    notes["meta_duplicate_asin_rows_differing"] = conflicting
    notes["meta_items_not_reviewed"] = unique_asins - len(rows)
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(ITEM_ID).reset_index()


def load_amazon(reviews: str | Path, meta: str | Path | None = None) -> Dataset:
    """Read an Amazon 2018 reviews file (and its ``meta_`` file) into a validated Dataset.

    Interactions: every review line, exact duplicate lines removed and counted in
    ``notes["duplicate_review_lines"]``. Users: ``user_id`` and ``reviews`` (the user's review
    summaries and texts, oldest first). Items: one row per reviewed asin with ``title``,
    ``description``, ``category``, ``brand`` as plain text (HTML stripped); meta rows repeating an
    asin keep the first (counted); reviewed items without meta get empty texts (counted).
    """
    reviews = Path(reviews)
    kept, duplicates, _ = _unique_lines(text_lines(read_text(reviews, claimed="JSON lines")))
    source = TableSource(
        f"Amazon reviews file {reviews}", from_file=True, line_numbers=[n for n, _ in kept]
    )
    frame = pd.DataFrame(parse_json_lines(kept, reviews))
    frame, source = canonical_columns(
        frame, required=REVIEW_COLUMNS, source=source, configurable=False
    )
    notes: dict[str, int | str] = {
        "review_lines": len(kept) + duplicates,
        "duplicate_review_lines": duplicates,
    }
    interactions = frame[list(REVIEW_COLUMNS)]
    item_ids = pd.unique(interactions[ITEM_ID].dropna().astype(str).str.strip())

    if meta is not None:
        found = _read_meta(Path(meta), set(item_ids), notes)
    else:
        found = pd.DataFrame(columns=[ITEM_ID, *ITEM_TEXT_COLUMNS])
    items = pd.DataFrame({ITEM_ID: item_ids}).merge(found, on=ITEM_ID, how="left")
    items = items.fillna("")
    notes["items_with_meta"] = len(found)
    notes["items_without_meta"] = len(items) - len(found)
    notes["items_with_empty_title"] = int((items["title"] == "").sum())

    dataset = Dataset(interactions, items, name=reviews.name.split(".")[0], notes=notes)
    dataset = validate_dataset(
        dataset,
        sources={
            "interactions": source,
            "items": TableSource(f"items built from {reviews}"),
        },
    )
    cleaned = dataset.interactions
    dataset.users = _user_texts(
        frame.assign(**{USER_ID: cleaned[USER_ID], TIMESTAMP: cleaned[TIMESTAMP]})
    )
    # the user texts are reviews of the items they bought: text-only validation would leak
    dataset.notes["user_text_source"] = "interactions"
    return dataset
