"""Item and user texts built from table columns, cleaned, and checked against an encoder.

The default text of a row is one ``column: value`` line per non-empty column, so the encoder
sees every attribute with its name. A ``str.format`` template gives full control instead
(``"{title}. {overview}"``). Values are cleaned on the way: list-like values (Python lists,
JSON-list strings such as ``'["a", "b"]'``, pipe-separated ``"Comedy|Drama"``) become
``"a, b"``; HTML loses its tags and entities. A row whose template renders to nothing falls back
to the default lines of its other columns; a row with nothing at all gives ``""``, which
:func:`text_report` counts.
"""

from __future__ import annotations

import ast
import html
import json
import math
import re
import string
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pandas as pd

from interestlens.errors import ConfigError, MissingColumnsError

_WHITESPACE = re.compile(r"\s+")
_HTML_HINT = re.compile(r"<[A-Za-z/!][^>]*>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
_HAS_WORD = re.compile(r"\w")


# --- cleaning --------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Collects the character data of an HTML fragment; block tags become spaces."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self.parts.append(" ")


def strip_html(text: str) -> str:
    """Text content of an HTML fragment, entities unescaped; plain text passes unchanged."""
    if not _HTML_HINT.search(text):
        return text
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    # the parser already resolved entities; this second pass catches double-escaped
    # scraped text such as "&amp;quot;"
    return html.unescape("".join(extractor.parts))


def _parse_list_string(text: str) -> list[Any] | None:
    """The list a string spells in JSON or Python literal syntax, else None."""
    if not (text.startswith("[") and text.endswith("]")):
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
    return parsed if isinstance(parsed, list) else None


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def clean_value(value: Any) -> str:
    """One cell as clean text: lists joined by ", ", HTML stripped, whitespace collapsed.

    Missing values (None, NaN, NA) give ``""``; whole-number floats lose their ``.0`` (a year
    read as 1995.0 reads "1995"); a mapping with a ``name`` key reads as that name, so TMDB's
    ``[{"id": 28, "name": "Action"}]`` reads "Action".
    """
    if _is_missing(value):
        return ""
    if isinstance(value, list | tuple | set | frozenset | np.ndarray | pd.Series):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return ", ".join(part for part in (clean_value(item) for item in items) if part)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping):
        if "name" in value:  # TMDB-style [{"id": 28, "name": "Action"}] lists
            return clean_value(value["name"])
        return ", ".join(
            f"{key}: {cleaned}" for key, item in value.items() if (cleaned := clean_value(item))
        )
    text = _WHITESPACE.sub(" ", strip_html(str(value))).strip()
    parsed = _parse_list_string(text)
    if parsed is not None:
        return clean_value(parsed)
    if "|" in text:
        return ", ".join(part.strip() for part in text.split("|") if part.strip())
    return text


# --- building --------------------------------------------------------------------------------


#: the widest padding a template may ask for ('{title:>1000000000}' would allocate a gigabyte)
MAX_TEMPLATE_WIDTH = 1000


def _too_wide(spec: str) -> bool:
    return any(int(number) > MAX_TEMPLATE_WIDTH for number in re.findall(r"\d+", spec))


def _template_fields(template: str) -> list[str]:
    fields: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(
            f"text template {template!r} is not a valid str.format template ({exc})",
            expected="named fields in braces, e.g. '{title}. {overview}'",
            fix="balance the braces; write '{{' and '}}' for literal braces",
        ) from None
    for _, field_name, spec, _ in parsed:
        if field_name is None:
            continue
        root = re.split(r"[.\[]", field_name, maxsplit=1)[0]
        if root != field_name:
            # '{title.__class__.__mro__}' would render Python internals into the text
            raise ConfigError(
                f"text template {template!r} reads an attribute or index ({{{field_name}}})",
                expected="plain column names in braces, e.g. '{title}'",
                fix=f"write {{{root}}} instead",
            )
        if spec and ("{" in spec or _too_wide(spec)):
            raise ConfigError(
                f"text template {template!r} has the format spec {{{field_name}:{spec}}}",
                expected=f"no nested fields and widths of at most {MAX_TEMPLATE_WIDTH}",
                fix=f"write {{{root}}} or a short spec such as {{{root}:.1f}}",
            )
        if root == "" or root.isdigit():
            raise ConfigError(
                f"text template {template!r} has a positional field {{{field_name}}}",
                expected="named fields in braces, e.g. '{title}'",
                fix="name the column inside the braces",
            )
        fields.append(root)
    return fields


def build_texts(
    frame: pd.DataFrame,
    *,
    id_col: str,
    columns: Sequence[str] | None = None,
    template: str | None = None,
) -> list[str]:
    """One text per row of ``frame``, in row order.

    ``columns`` chooses and orders the columns of the default ``column: value`` lines (None:
    every column except ``id_col``). ``template`` is a ``str.format`` template over the cleaned
    values of any columns; its unknown fields raise :class:`ConfigError` naming the columns that
    exist. A row whose template renders to no word at all falls back to the default lines.
    """
    available = [str(column) for column in frame.columns]
    if id_col not in frame.columns:
        raise MissingColumnsError(
            f"id column {id_col!r} is not among the columns {available}",
            expected=f"a column named {id_col!r}",
            fix="pass id_col= the name of the id column, or rename it",
        )
    if columns is None:
        chosen = [column for column in available if column != id_col]
    else:
        chosen = list(columns)
        unknown = [column for column in chosen if column not in frame.columns]
        if unknown:
            raise ConfigError(
                f"text columns {unknown} are not among the columns {available}",
                expected="text columns that the table has",
                fix="correct text.item_columns / text.user_columns, or leave them unset "
                "to use every column",
            )
    fields: list[str] = []
    if template is not None:
        fields = list(dict.fromkeys(_template_fields(template)))
        missing = [field for field in fields if field not in frame.columns]
        if missing:
            raise ConfigError(
                f"text template {template!r} names field {missing[0]!r}, which is not a column"
                f" (columns available: {available})",
                expected="template fields that are column names",
                fix=f"use one of {available} inside the braces",
            )

    needed = list(dict.fromkeys([*chosen, *fields]))
    cleaned = {column: [clean_value(v) for v in frame[column].tolist()] for column in needed}
    texts: list[str] = []
    for row in range(len(frame)):
        if template is not None:
            values = {field: cleaned[field][row] for field in fields}
            try:
                rendered = template.format(**values)
            except (ValueError, TypeError) as exc:  # '{title:.1f}' on a text, say
                raise ConfigError(
                    f"text template {template!r} cannot render row {row} ({exc})",
                    expected="format specs that suit every value of their column",
                    fix="drop the format spec, e.g. write {title} instead of {title:.1f}",
                ) from None
            rendered = _WHITESPACE.sub(" ", rendered).strip()
            if _HAS_WORD.search(rendered):
                texts.append(rendered)
                continue
        lines = [f"{column}: {cleaned[column][row]}" for column in chosen if cleaned[column][row]]
        texts.append("\n".join(lines))
    return texts


# --- the first clause of a text --------------------------------------------------------------

# Clause ends: a line break, the end of a sentence (a Latin stop only before a space, so "3.5"
# stays whole; CJK stops take none), a comma or semicolon (both scripts), and the words that
# join two interests ("X and Y", "X & Y"). A colon is not one: it follows the column name of
# the default "column: value" lines.
_CLAUSE_BREAK = re.compile(r"\n|(?<=[.!?])\s+|(?<=[。！？])\s*|[,;，；、]\s*|\s+(?:and|&)\s+")


def lead_clause(text: str) -> str:
    """The first clause of ``text`` (``""`` for a text without a word).

    People tend to lead with what matters most to them ("Five-a-side regular and landscape
    photographer from Wellington."); an embedding of the whole text weighs every clause alike.
    The represent stage can weigh this clause once more, and keeps that only where it helps
    (:class:`~interestlens.represent.WeightedMeanInterests`).
    """
    for part in _CLAUSE_BREAK.split(text.strip()):
        part = part.strip()
        if _HAS_WORD.search(part):
            return part
    return ""
