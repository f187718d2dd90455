"""Checks that turn loose tables into the canonical data model, with errors that say how to fix.

Every reader ends here: :func:`validate_dataset` takes a :class:`Dataset` built from files or in
code and returns a cleaned copy (string ids, float ratings, int64 epoch-second timestamps, empty
strings for missing text) or raises an error from :mod:`interestlens.errors` naming the table, the
column, the first bad row and its value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from interestlens.config import LimitsConfig
from interestlens.data.columns import (
    COLUMN_OPTIONS,
    TableSource,
    canonical_columns,
    in_code_source,
)
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.errors import (
    DuplicateIdError,
    EmptyDataError,
    InvalidValueError,
    ParameterError,
    UnknownIdError,
)

ON_UNKNOWN_CHOICES = ("error", "drop")
_EXAMPLES = 5


# --- values --------------------------------------------------------------------------------------


def _id_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def ids_as_str(values: pd.Series) -> pd.Series:
    """Ids as strings, missing values kept missing: ``7``, ``7.0`` and ``" 7"`` become ``"7"``."""
    present = values.notna()
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        return values.str.strip()
    if pd.api.types.is_integer_dtype(values.dtype) and present.all():
        return values.astype(str)
    if pd.api.types.is_float_dtype(values.dtype):
        numbers = values[present]
        if (numbers == numbers.round()).all():
            return values.astype("Int64").astype(str).where(present)
        return values.astype(str).where(present)
    return values.map(_id_text, na_action="ignore").astype(str).where(present)


def is_member(values: pd.Series, known: pd.Series) -> np.ndarray:
    """``values.isin(known)`` as a boolean array, fast for string ids (object hashing)."""
    return values.astype(object).isin(pd.unique(known.astype(object))).to_numpy()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _shown(value: object) -> str:
    """``repr`` of a cell as the user wrote it (``inf``, not ``np.float64(inf)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _require_present(values: pd.Series, canonical: str, source: TableSource, what: str) -> None:
    missing = values.isna().to_numpy()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        missing = missing | (values.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        position = _first_bad(missing)
        raise InvalidValueError(
            f"{source.label}: column {source.column(canonical)} is empty on"
            f" {_count(int(missing.sum()), 'row')}, the first at {source.row(position)}",
            expected=f"{what} on every row",
            fix="fill in or remove those rows",
        )


def clean_ids(values: pd.Series, canonical: str, source: TableSource) -> pd.Series:
    """Ids as non-empty strings, or :class:`InvalidValueError` naming the first empty one."""
    as_text = ids_as_str(values)
    _require_present(as_text, canonical, source, "an id")
    return as_text


def _non_numeric_error(
    values: pd.Series, bad: np.ndarray, canonical: str, source: TableSource, expected: str
) -> InvalidValueError:
    position = _first_bad(bad)
    key, option = COLUMN_OPTIONS[canonical]
    fix = "correct or remove those rows"
    if source.from_file:
        fix += f", or point {key} / {option} at the right column"
    return InvalidValueError(
        f"{source.label}: column {source.column(canonical)} has"
        f" {_count(int(bad.sum()), 'value')} that cannot be read as {expected.split(' (')[0]},"
        f" the first is {_shown(values.iloc[position])} at {source.row(position)}",
        expected=expected,
        fix=fix,
    )


def _out_of_range_error(
    values: pd.Series, bad: np.ndarray, canonical: str, source: TableSource, expected: str
) -> InvalidValueError:
    position = _first_bad(bad)
    return InvalidValueError(
        f"{source.label}: column {source.column(canonical)} has"
        f" {_count(int(bad.sum()), 'value')} out of range, the first is"
        f" {_shown(values.iloc[position])} at {source.row(position)}",
        expected=expected,
        fix="correct or remove those rows, or widen the [limits] settings",
    )


def clean_ratings(
    values: pd.Series, source: TableSource, limits: LimitsConfig | None = None
) -> pd.Series:
    """Ratings as float64; a missing, non-numeric, infinite or absurd value (beyond
    ``limits.max_abs_rating``, or the rating_min/rating_max when set) raises InvalidValueError."""
    limits = limits or LimitsConfig()
    _require_present(values, RATING, source, "a rating")
    if values.dtype == bool:
        raise _non_numeric_error(
            values, np.ones(len(values), bool), RATING, source, "numbers, not true/false"
        )
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = ~np.isfinite(numbers.to_numpy())
    if bad.any():
        raise _non_numeric_error(values, bad, RATING, source, "finite numbers (e.g. 4.5)")
    low = -limits.max_abs_rating if limits.rating_min is None else limits.rating_min
    high = limits.max_abs_rating if limits.rating_max is None else limits.rating_max
    array = numbers.to_numpy()
    bad = (array < low) | (array > high)
    if bad.any():
        raise _out_of_range_error(
            values, bad, RATING, source, f"ratings from {low:g} to {high:g} (limits)"
        )
    return numbers


_EPOCH = pd.Timestamp(0, tz="UTC")


def clean_timestamps(
    values: pd.Series, source: TableSource, limits: LimitsConfig | None = None
) -> pd.Series:
    """Timestamps as int64 seconds since the epoch, from numbers or ISO 8601 date strings."""
    _require_present(values, TIMESTAMP, source, "a timestamp")
    limits = limits or LimitsConfig()
    seconds = pd.to_numeric(values, errors="coerce").astype("float64")
    textual = seconds.isna().to_numpy()
    if textual.any():
        try:
            dates = pd.to_datetime(values[textual], utc=True, format="ISO8601", errors="coerce")
            parsed = ((dates - _EPOCH) // pd.Timedelta(seconds=1)).astype("float64")
        except (ValueError, OverflowError):  # a date past 2262 in the column
            parsed = pd.Series(np.nan, index=values[textual].index)
        # what the fast path could not read: one by one (dates past 2262, odd forms)
        missing = parsed.isna().to_numpy()
        if missing.any():
            parsed[missing] = [_iso_seconds(v) for v in values[textual][missing]]
        seconds[textual] = parsed.to_numpy()
    bad = ~np.isfinite(seconds.to_numpy())
    if bad.any():
        raise _non_numeric_error(
            values,
            bad,
            TIMESTAMP,
            source,
            "epoch seconds or ISO 8601 dates (e.g. 964982703 or 2000-07-30T18:45:03Z)",
        )
    array = seconds.to_numpy()
    bad = (array < limits.timestamp_min) | (array > limits.timestamp_max)
    if bad.any():
        raise _out_of_range_error(
            values,
            bad,
            TIMESTAMP,
            source,
            f"times from {_iso(limits.timestamp_min)} to {_iso(limits.timestamp_max)} "
            "(limits.timestamp_min / timestamp_max, epoch seconds)",
        )
    return np.floor(seconds).astype("int64")


def _iso_seconds(value: object) -> float:
    """Seconds since the epoch of an ISO 8601 text; NaN when it is none (dates past 2262,
    which pandas' nanoseconds cannot hold, are read by the standard library)."""
    text = str(value).strip()
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, OverflowError):
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return float("nan")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return (parsed - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()
    if stamp is pd.NaT:
        return float("nan")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return float(np.floor(stamp.timestamp()))


def _iso(seconds: float) -> str:
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return f"{seconds:g} s"


def fill_text(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Missing values in text columns become ``""``; the rows are kept (empty text is allowed)."""
    frame = frame.copy()
    for column in frame.columns:
        if column == id_column:
            continue
        values = frame[column]
        textual = values.dtype == object or pd.api.types.is_string_dtype(values.dtype)
        if textual or values.isna().all():
            frame[column] = values.where(values.notna(), "")
            if not textual:
                frame[column] = frame[column].astype(str)
    return frame


def check_unique(ids: pd.Series, kind: str, source: TableSource) -> None:
    repeated = ids.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return
    counts = ids[repeated].value_counts(sort=False)
    examples = []
    for key, count in list(counts.items())[:_EXAMPLES]:
        rows = [int(r) for r in np.flatnonzero((ids == key).to_numpy())[:3]]
        examples.append(f"{key!r} ×{count} ({source.rows(rows)}{', ...' if count > 3 else ''})")
    more = f" and {len(counts) - _EXAMPLES} more" if len(counts) > _EXAMPLES else ""
    raise DuplicateIdError(
        f"{source.label}: {_count(len(counts), kind + ' id')} on more than one row"
        f" ({_count(int(counts.sum() - len(counts)), 'extra row')}): {'; '.join(examples)}{more}",
        expected=f"one row per {kind} id",
        fix=f"remove or merge the duplicate rows (e.g. df.drop_duplicates('{kind}_id'))",
    )


def _describe_ids(ids: pd.Series) -> str:
    unique = pd.unique(ids)
    shown = ", ".join(repr(str(i)) for i in unique[:_EXAMPLES])
    return shown + (", ..." if len(unique) > _EXAMPLES else "")


# --- the whole dataset ---------------------------------------------------------------------------


def _clean_keyed_table(
    frame: pd.DataFrame, key: str, kind: str, source: TableSource
) -> pd.DataFrame:
    if key not in frame.columns:
        frame, source = canonical_columns(
            frame, required={key: key}, source=source, configurable=source.from_file
        )
    if frame.empty:
        raise EmptyDataError(
            f"{source.label} has no rows",
            expected=f"at least one {kind} row",
            fix=f"check that the right {kind} file was given",
        )
    frame = frame.reset_index(drop=True)
    frame[key] = clean_ids(frame[key], key, source)
    check_unique(frame[key], kind, source)
    return fill_text(frame, key)


def _drop_unknown(
    interactions: pd.DataFrame,
    column: str,
    known: pd.Series,
    kind: str,
    reference: str,
    on_unknown: str,
    notes: dict[str, int | str],
) -> pd.DataFrame:
    unknown = ~is_member(interactions[column], known)
    if on_unknown == "drop":
        notes[f"dropped_unknown_{kind}s"] = int(unknown.sum())
        notes[f"dropped_unknown_{kind}_ids"] = int(interactions.loc[unknown, column].nunique())
        return interactions.loc[~unknown].reset_index(drop=True)
    if unknown.any():
        bad_ids = interactions.loc[unknown, column]
        raise UnknownIdError(
            f"interactions name {_count(bad_ids.nunique(), kind + ' id')} not in the {reference}"
            f" ({_count(int(unknown.sum()), 'interaction row')}): {_describe_ids(bad_ids)}",
            expected=f"every interacted {kind} to have a row in the {reference}",
            fix=f"add the missing {kind}s, or drop those interactions with on_unknown='drop'"
            ' (data.on_unknown = "drop" / --drop-unknown)',
        )
    return interactions


def validate_dataset(
    dataset: Dataset,
    *,
    on_unknown: str = "error",
    require_all_users: bool = False,
    sources: Mapping[str, TableSource] | None = None,
    limits: LimitsConfig | None = None,
) -> Dataset:
    """Check ``dataset`` against the canonical model and return a cleaned copy.

    Interactions need ``user_id`` and ``item_id``; ``rating`` and ``timestamp`` are optional but,
    when present, must be numeric on every row (timestamps may also be ISO 8601 strings).
    Every interacted item needs a row in ``items``. The users table may cover only some users:
    interactions of users absent from it are fine unless ``require_all_users``. Interactions
    naming unknown ids raise :class:`UnknownIdError`, or with ``on_unknown="drop"`` are removed
    and counted in ``notes["dropped_unknown_items"]`` / ``notes["dropped_unknown_users"]``.
    ``sources`` (kind -> :class:`TableSource`) lets file readers name files and lines in messages.
    """
    if on_unknown not in ON_UNKNOWN_CHOICES:
        raise ParameterError(
            f"on_unknown={on_unknown!r}",
            expected=f"one of {list(ON_UNKNOWN_CHOICES)}",
            fix="pass on_unknown='error' or 'drop'",
        )
    sources = dict(sources or {})
    for kind in ("interactions", "items", "users"):
        sources.setdefault(kind, in_code_source(kind))
    notes = dict(dataset.notes)

    source = sources["interactions"]
    interactions, source = canonical_columns(
        dataset.interactions,
        required={USER_ID: USER_ID, ITEM_ID: ITEM_ID},
        source=source,
        configurable=source.from_file,
    )
    if interactions.empty:
        raise EmptyDataError(
            f"{source.label} has no rows",
            expected="at least one interaction (user_id, item_id)",
            fix="check that the right interactions file was given",
        )
    interactions = interactions.reset_index(drop=True)
    interactions[USER_ID] = clean_ids(interactions[USER_ID], USER_ID, source)
    interactions[ITEM_ID] = clean_ids(interactions[ITEM_ID], ITEM_ID, source)
    if RATING in interactions.columns:
        interactions[RATING] = clean_ratings(interactions[RATING], source, limits)
    if TIMESTAMP in interactions.columns:
        interactions[TIMESTAMP] = clean_timestamps(interactions[TIMESTAMP], source, limits)

    items = _clean_keyed_table(dataset.items, ITEM_ID, "item", sources["items"])
    users = None
    if dataset.users is not None:
        users = _clean_keyed_table(dataset.users, USER_ID, "user", sources["users"])

    items_label = sources["items"].label
    interactions = _drop_unknown(
        interactions, ITEM_ID, items[ITEM_ID], "item", items_label, on_unknown, notes
    )
    if require_all_users:
        if users is None:
            raise ParameterError(
                "require_all_users=True but no users table was given",
                expected="a users table covering every interacting user",
                fix="pass a users file, or leave require_all_users False",
            )
        users_label = sources["users"].label
        interactions = _drop_unknown(
            interactions, USER_ID, users[USER_ID], "user", users_label, on_unknown, notes
        )
    if interactions.empty:
        dropped = {k: v for k, v in notes.items() if k.startswith("dropped_unknown")}
        raise EmptyDataError(
            f"no interactions are left after dropping those with unknown ids ({dropped})",
            expected="at least one interaction whose item is in the items table",
            fix="check that the interactions and items files belong together (same id column)",
        )
    return Dataset(interactions, items, users, name=dataset.name, notes=notes)
