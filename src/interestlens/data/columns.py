"""Where a table came from, and its columns renamed to the canonical names with helpful errors.

:class:`TableSource` carries the file name and line numbering into messages;
:func:`canonical_columns` renames configured columns (``userId``) to canonical ones (``user_id``)
and, when one is missing, lists the columns found, suggests the closest and names the option.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID
from interestlens.errors import DataFormatError, MissingColumnsError

#: canonical column -> (configuration key, command-line option) that names it in input files
COLUMN_OPTIONS: dict[str, tuple[str, str]] = {
    USER_ID: ("data.user_col", "--user-col"),
    ITEM_ID: ("data.item_col", "--item-col"),
    RATING: ("data.rating_col", "--rating-col"),
    TIMESTAMP: ("data.timestamp_col", "--timestamp-col"),
}


@dataclass(frozen=True)
class TableSource:
    """Where a table came from, so that messages can name the file, its columns and lines."""

    #: "interactions file data/ratings.csv" or "interactions table"
    label: str
    #: the file line holding data row 1, when every data row is exactly one line; else None
    first_data_line: int | None = None
    #: canonical column -> the name it had in the file (for messages after renaming)
    original_names: Mapping[str, str] = field(default_factory=dict)
    from_file: bool = False
    #: the file line of each data row, where rows were skipped (duplicate lines, blank lines)
    line_numbers: Sequence[int] | None = None

    def row(self, position: int) -> str:
        """Human words for the 0-based ``position`` of a data row."""
        return self.rows([position])

    def rows(self, positions: Sequence[int]) -> str:
        """``"data rows 1, 3 (lines 2, 4)"`` for 0-based ``positions``."""
        plural = "s" if len(positions) > 1 else ""
        if not self.from_file:
            shown = ", ".join(str(p) for p in positions)
            return f"row{plural} {shown} (0-based position{plural})"
        shown = ", ".join(str(p + 1) for p in positions)
        if self.line_numbers is not None:
            lines = [self.line_numbers[p] for p in positions]
        elif self.first_data_line is not None:
            lines = [self.first_data_line + p for p in positions]
        else:
            return f"data row{plural} {shown}"
        return f"data row{plural} {shown} (line{plural} {', '.join(str(n) for n in lines)})"

    def column(self, canonical: str) -> str:
        original = self.original_names.get(canonical, canonical)
        return repr(original) if original == canonical else f"{original!r} (read as {canonical!r})"


def in_code_source(kind: str) -> TableSource:
    return TableSource(label=f"{kind} table")


def _squash(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def closest_column(wanted: str, found: Sequence[str]) -> str | None:
    """The found column most likely meant by ``wanted`` (``userId`` for ``user_id``), or None."""
    scored = _similarity(wanted, found)
    return scored[0][1] if scored else None


def _similarity(wanted: str, found: Sequence[str]) -> list[tuple[float, str]]:
    """Found columns at least 0.6 similar to ``wanted`` once case and punctuation are ignored."""
    scores = [
        (difflib.SequenceMatcher(None, _squash(wanted), _squash(str(name))).ratio(), str(name))
        for name in found
    ]
    return sorted((pair for pair in scores if pair[0] >= 0.6), key=lambda pair: -pair[0])


def _suggest(wanted: Sequence[str], found: Sequence[str]) -> dict[str, str | None]:
    """One distinct suggestion per wanted name, best matches first."""
    candidates = sorted(
        ((score, name, column) for name in wanted for score, column in _similarity(name, found)),
        key=lambda triple: -triple[0],
    )
    chosen: dict[str, str | None] = dict.fromkeys(wanted)
    for _, name, column in candidates:
        if chosen[name] is None and column not in chosen.values():
            chosen[name] = column
    return chosen


def _delimiter_hint(found: Sequence[str]) -> str:
    if len(found) == 1:
        for delimiter, word in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if delimiter in str(found[0]):
                return (
                    f"the header looks separated by {word}: save the file comma-separated"
                    " (or tab-separated with a .tsv name)"
                )
    return ""


def _column_fix(canonical: str, missing: str, suggestion: str | None, configurable: bool) -> str:
    key, option = COLUMN_OPTIONS.get(canonical, (None, None))
    if not configurable or key is None:
        if suggestion:
            return f"rename column {suggestion!r} to {missing!r}"
        return f"add a column named {missing!r}"
    if suggestion:
        return (
            f'did you mean {suggestion!r}? set {key} = "{suggestion}" in the config'
            f" (or {option} {suggestion})"
        )
    return f"rename the column in the file to {missing!r}, or set {key} / {option} to its name"


def canonical_columns(
    frame: pd.DataFrame,
    *,
    required: Mapping[str, str],
    optional: Mapping[str, str | None] | None = None,
    source: TableSource,
    configurable: bool = True,
) -> tuple[pd.DataFrame, TableSource]:
    """Rename ``required``/``optional`` columns (canonical -> name in ``frame``) to canonical.

    A required column that is absent raises :class:`MissingColumnsError` with the columns found,
    the closest one and the option that names it. An optional column that is absent is fine,
    unless a column differing only in case or punctuation exists (``Rating`` for ``rating``): that
    is almost surely a misnamed column, so it raises too instead of silently losing the ratings.
    """
    found = [str(column) for column in frame.columns]
    # a file may use the canonical name even where the configuration names another column
    # (an items file with item_id next to ratings with movieId)
    wanted = {c: c if n not in found and c in found else n for c, n in required.items()}
    absent = {c: n for c, n in wanted.items() if n not in found}
    for canonical, name in (optional or {}).items():
        if name is None:
            continue
        if name in found:
            wanted[canonical] = name
            continue
        near = closest_column(name, found)
        if near is not None and _squash(near) == _squash(name):
            absent[canonical] = name
    if absent:
        unclaimed = [name for name in found if name not in wanted.values()]
        suggestions = _suggest(list(absent.values()), unclaimed)
        expected = ", ".join(repr(n) for n in {**required, **absent}.values())
        optional_names = [n for c, n in (optional or {}).items() if n and c not in absent]
        if optional_names:
            expected += f" (optionally {', '.join(repr(n) for n in optional_names)})"
        missing = ", ".join(repr(name) for name in absent.values())
        delimiter_hint = _delimiter_hint(found)
        raise MissingColumnsError(
            f"{source.label} has columns {found} but not {missing}",
            expected=f"columns {expected}",
            fix=delimiter_hint
            or "; ".join(
                _column_fix(c, n, suggestions[n], configurable) for c, n in absent.items()
            ),
        )
    renames = {name: canonical for canonical, name in wanted.items() if name != canonical}
    for name, canonical in renames.items():
        if canonical in found:
            raise DataFormatError(
                f"{source.label} has both {name!r} (configured as the {canonical} column)"
                f" and a column named {canonical!r}",
                expected=f"one column to use as {canonical!r}",
                fix="drop or rename one of the two columns",
            )
    originals = {**source.original_names, **{c: n for c, n in wanted.items()}}
    return frame.rename(columns=renames), dataclasses.replace(source, original_names=originals)
