"""Reading interactions, items and users from CSV, TSV, Parquet and JSON lines files.

The format follows the file name: ``.csv``, ``.tsv``, ``.parquet``, ``.jsonl``/``.ndjson``
(JSON lines), ``.json`` (JSON lines, or one JSON array of objects); text formats may end in
``.gz``. Id columns are always read as strings, so ``007`` stays ``"007"``. Bad input raises an
error from :mod:`interestlens.errors` naming the file, and the line where a line can be named.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow

from interestlens.config import DataConfig
from interestlens.data.columns import TableSource, canonical_columns
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.data.validate import fill_text, ids_as_str, validate_dataset
from interestlens.errors import (
    DataFileNotFoundError,
    DataFormatError,
    EmptyDataError,
    ParameterError,
    TextDecodeError,
)

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
TEXT_FORMATS = frozenset({"csv", "tsv", "jsonl", "json"})
KIND_ID_COLUMNS = {
    "interactions": (USER_ID, ITEM_ID),
    "items": (ITEM_ID,),
    "users": (USER_ID,),
    # a table of texts to embed: every column is read as text, the first one is the id
    "texts": (),
}
_SUPPORTED = ".csv, .tsv, .parquet, .jsonl, .ndjson, .json (text formats also with .gz)"
_MAGIC = {
    b"PAR1": ("a Parquet file", "name it .parquet"),
    b"\x1f\x8b": ("gzip-compressed", "add .gz to its name (e.g. data.csv.gz)"),
    b"PK\x03\x04": ("a zip archive", "extract it and pass the file inside"),
}


def file_format(path: str | Path) -> tuple[str, bool]:
    """``(format, gzipped)`` from the file name, e.g. ``("jsonl", True)`` for ``x.json.gz``."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    if gzipped:
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None or (gzipped and fmt not in TEXT_FORMATS):
        raise DataFormatError(
            f"cannot tell the format of {path} from its name",
            expected=f"a file name ending in {_SUPPORTED}",
            fix="rename the file to match its content (or convert it to one of these formats)",
        )
    return fmt, gzipped


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, decompressed when its name ends in ``.gz``."""
    path = Path(path)
    if not path.is_file():
        problem = f"{path} is a directory" if path.is_dir() else f"file {path} does not exist"
        raise DataFileNotFoundError(
            problem,
            expected="a path to an existing data file",
            fix=f"check the path (the working directory is {Path.cwd()})",
        )
    data = path.read_bytes()
    if not path.name.lower().endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataFormatError(
            f"{path} is named .gz but cannot be decompressed ({exc})",
            expected="a complete gzip file",
            fix="remove .gz from the name if the file is not compressed, or fetch it again",
        ) from exc


def _looks_binary(data: bytes) -> bool:
    head = data[:4096]
    if b"\x00" in head:
        return True
    text = head.decode("utf-8", errors="replace")
    odd = sum(ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r\f") for ch in text)
    return odd > 0.1 * max(len(text), 1)


def _decode_error(
    path: Path, data: bytes, exc: UnicodeDecodeError, encoding: str
) -> TextDecodeError:
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    return TextDecodeError(
        f"{path}: line {line}, column {column}: byte 0x{data[exc.start]:02x} is not valid"
        f" {encoding} ({exc.reason})",
        expected=f"text encoded as {encoding}",
        fix=f"re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 {path.name})"
        ", or pass the file's encoding (encoding='latin-1')",
    )


def read_text(path: str | Path, *, encoding: str = "utf-8", claimed: str = "text") -> str:
    """The file as text: binary content raises DataFormatError, a bad byte TextDecodeError."""
    path = Path(path)
    data = read_bytes(path)
    for magic, (what, fix) in _MAGIC.items():
        if data.startswith(magic):
            raise DataFormatError(
                f"{path} is named as {claimed} but is {what}",
                expected=f"{claimed} text",
                fix=fix,
            )
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    if utf8 and _looks_binary(data):
        raise DataFormatError(
            f"{path} is named as {claimed} but holds binary data (first bytes {data[:8]!r})",
            expected=f"{claimed} text encoded as UTF-8",
            fix="check that this is the right file; re-save it as UTF-8 text if it is UTF-16",
        )
    try:
        return data.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, data, exc, encoding) from exc


def text_lines(text: str) -> list[str]:
    """Lines split on ``\\n`` only (JSON strings may hold U+2028), without a trailing ``\\r``."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def parse_json_lines(numbered_lines: Iterable[tuple[int, str]], path: str | Path) -> list[dict]:
    """One JSON object per ``(line_number, line)``; blank lines are skipped."""
    records = []
    for number, line in numbered_lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            snippet = line[:60] + ("..." if len(line) > 60 else "")
            raise DataFormatError(
                f"{path}: line {number} is not valid JSON ({exc.msg} at column {exc.colno}):"
                f" {snippet!r}",
                expected="one JSON object per line (JSON lines)",
                fix=f"correct or remove line {number}",
            ) from exc
        if not isinstance(record, dict):
            raise DataFormatError(
                f"{path}: line {number} is a JSON {type(record).__name__}, not an object",
                expected='one JSON object per line, e.g. {"user_id": "u1", "item_id": "i1"}',
                fix=f"correct line {number}",
            )
        records.append(record)
    return records


def _parse_json_array(text: str, path: Path) -> list[dict]:
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})",
            expected="a JSON array of objects, or one JSON object per line",
            fix=f"correct the file at line {exc.lineno}",
        ) from exc
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise DataFormatError(
            f"{path} holds a JSON {type(records).__name__} that is not a list of objects",
            expected="a JSON array of objects, or one JSON object per line",
            fix="write one record per object",
        )
    return records


_CSV_NAMES = {",": "CSV", "\t": "TSV"}


def _check_header(text: str, path: Path, sep: str) -> None:
    """Repeated column names would be renamed silently by pandas (``a``, ``a.1``): refuse them."""
    first = text.lstrip("\r\n").split("\n", 1)[0].removesuffix("\r")
    names = next(csv.reader([first], delimiter=sep), [])
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataFormatError(
            f"{path}: the header line names {', '.join(map(repr, repeated))} more than once",
            expected="each column name once",
            fix="rename or remove the repeated columns",
        )


def _read_csv(
    text: str, path: Path, sep: str, id_columns: Sequence[str], all_text: bool
) -> pd.DataFrame:
    _check_header(text, path, sep)
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str if all_text else dict.fromkeys(id_columns, str),
            # only empty cells are missing: an item called "NA" or a tag "null" is text
            keep_default_na=False,
            na_values=[""],
        )
    except pd.errors.ParserError as exc:
        raise DataFormatError(
            f"{path} is not valid {_CSV_NAMES[sep]}: {str(exc).strip()}",
            expected=f"the same number of {'tab' if sep == chr(9) else 'comma'}-separated fields"
            " on every line, with text containing the separator quoted",
            fix="correct the line named (quote fields that contain the separator)",
        ) from exc


def _read_parquet(path: Path) -> pd.DataFrame:
    data = read_bytes(path)
    if not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
        first_line = data[:60].split(b"\n")[0]
        raise DataFormatError(
            f"{path} is named .parquet but is not a Parquet file (it starts with {first_line!r})",
            expected="a Parquet file (starting and ending with the bytes PAR1)",
            fix="name the file after its real format (e.g. .csv for comma-separated text)",
        )
    try:
        return pd.read_parquet(io.BytesIO(data))
    except (pyarrow.ArrowException, OSError, ValueError) as exc:
        raise DataFormatError(
            f"{path} is a damaged Parquet file ({exc})",
            expected="a readable Parquet file",
            fix="write the file again",
        ) from exc


def read_table_with_source(
    path: str | Path,
    kind: str = "interactions",
    id_columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> tuple[pd.DataFrame, TableSource]:
    """:func:`read_table`, plus a :class:`TableSource` that lets validation name file lines."""
    if kind not in KIND_ID_COLUMNS:
        raise ParameterError(
            f"kind={kind!r}", expected=f"one of {list(KIND_ID_COLUMNS)}", fix="pass a known kind"
        )
    id_columns = list(KIND_ID_COLUMNS[kind] if id_columns is None else id_columns)
    path = Path(path)
    fmt, _ = file_format(path)
    first_data_line = None
    line_numbers = None
    if fmt == "parquet":
        frame = _read_parquet(path)
    else:
        text = read_text(path, encoding=encoding, claimed=fmt.upper())
        if not text.strip():
            raise EmptyDataError(
                f"{path} is empty",
                expected=f"a header line and {kind} rows" if fmt in ("csv", "tsv") else "records",
                fix=f"check that the right {kind} file was given",
            )
        lines = text_lines(text.rstrip("\r\n"))
        if fmt in ("csv", "tsv"):
            sep = "," if fmt == "csv" else "\t"
            frame = _read_csv(text, path, sep, id_columns, all_text=kind == "texts")
            first_data_line = 2 if len(lines) == len(frame) + 1 else None
        elif fmt == "json" and text.lstrip().startswith("["):
            frame = pd.DataFrame(_parse_json_array(text, path))
        else:
            numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
            frame = pd.DataFrame(parse_json_lines(numbered, path))
            line_numbers = [n for n, _ in numbered]
    if frame.empty:
        header = f" has columns {[str(c) for c in frame.columns]} but" if len(frame.columns) else ""
        raise EmptyDataError(
            f"{path}{header} has no data rows",
            expected=f"at least one {kind} row",
            fix=f"check that the right {kind} file was given",
        )
    if kind == "texts":
        id_columns = id_columns or [frame.columns[0]]
        # no validation follows for a table of texts, so missing texts become "" here
        frame = fill_text(frame, id_columns[0])
    for column in id_columns:
        if column in frame.columns:
            frame[column] = ids_as_str(frame[column])
    if line_numbers is not None and line_numbers == list(range(1, len(line_numbers) + 1)):
        first_data_line, line_numbers = 1, None
    source = TableSource(
        f"{kind} file {path}", first_data_line, from_file=True, line_numbers=line_numbers
    )
    return frame, source


def read_table(
    path: str | Path,
    *,
    kind: str = "interactions",
    id_columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Read one table, format chosen by the file name, id columns as strings.

    ``kind`` ("interactions", "items" or "users") names the default id columns (``user_id``,
    ``item_id``); pass ``id_columns`` when the file names them differently. Columns are not
    renamed or validated here: :func:`load_dataset` does that.
    """
    frame, _ = read_table_with_source(path, kind, id_columns, encoding)
    return frame


def load_dataset(
    interactions: str | Path,
    items: str | Path,
    users: str | Path | None = None,
    *,
    config: DataConfig | None = None,
    name: str | None = None,
    on_unknown: str | None = None,
    require_all_users: bool = False,
    encoding: str = "utf-8",
) -> Dataset:
    """Read interactions, items and optional users files into a validated :class:`Dataset`.

    Columns named by ``config`` (``user_col``, ``item_col``, ``rating_col``, ``timestamp_col``)
    are renamed to ``user_id``, ``item_id``, ``rating``, ``timestamp``. ``on_unknown`` overrides
    ``config.on_unknown``. ``name`` defaults to the interactions file name without suffixes.
    """
    config = config or DataConfig()
    user_col, item_col = config.user_col, config.item_col
    optional = {RATING: config.rating_col, TIMESTAMP: config.timestamp_col}
    tables: dict[str, pd.DataFrame | None] = {"users": None}
    sources: dict[str, TableSource] = {}
    plan = [
        ("interactions", interactions, {USER_ID: user_col, ITEM_ID: item_col}),
        ("items", items, {ITEM_ID: item_col}),
        ("users", users, {USER_ID: user_col}),
    ]
    for kind, path, required in plan:
        if path is None:
            continue
        id_columns = list(dict.fromkeys([*required.values(), *required]))
        frame, source = read_table_with_source(path, kind, id_columns, encoding)
        frame, source = canonical_columns(
            frame,
            required=required,
            optional=optional if kind == "interactions" else None,
            source=source,
        )
        tables[kind], sources[kind] = frame, source
    dataset = Dataset(
        interactions=tables["interactions"],
        items=tables["items"],
        users=tables["users"],
        name=name or Path(interactions).name.split(".")[0],
    )
    return validate_dataset(
        dataset,
        on_unknown=on_unknown or config.on_unknown,
        require_all_users=require_all_users,
        sources=sources,
    )
