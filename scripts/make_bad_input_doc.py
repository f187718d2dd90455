"""Run every bad-input case through the real readers and write docs/bad-input.md."""

from __future__ import annotations

import gzip
import os
import shutil
import sys
from pathlib import Path

import pandas as pd

from interestlens.config import DataConfig
from interestlens.data.io import load_dataset, validate_dataset
from interestlens.data.schema import Dataset
from interestlens.errors import InterestLensError

ITEMS = "item_id,title\n007,Bond\n8,Heat\n"
RATINGS = "user_id,item_id,rating\nu1,007,4\nu2,8,5\n"


def files(**contents: str | bytes) -> None:
    for name, content in contents.items():
        path = Path("data") / name.replace("__", ".")
        path.parent.mkdir(exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        if path.suffix == ".gz" and not name.startswith("plain"):
            data = gzip.compress(data, mtime=0)
        path.write_bytes(data)


def show(content: str | bytes) -> str:
    if isinstance(content, bytes):
        return repr(content[:40]) + ("…" if len(content) > 40 else "")
    return content.replace("\n", "\\n")


CASES: list[tuple[str, str, callable]] = []


def case(title: str, shown: str):
    def register(run):
        CASES.append((title, shown, run))
        return run

    return register


@case("missing file", "`load_dataset('data/ratings.csv', 'data/items.csv')`, no data/ratings.csv")
def _():
    files(items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("misnamed columns", "ratings.csv: `userId,movieId,rating\\n1,007,4`")
def _():
    files(ratings__csv="userId,movieId,rating\n1,007,4\n", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("missing column, nothing close", "ratings.csv: `user_id,product\\nu1,007`")
def _():
    files(ratings__csv="user_id,product\nu1,007\n", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("optional column misnamed", "ratings.csv: `user_id,item_id,Rating\\nu1,007,4`")
def _():
    files(ratings__csv="user_id,item_id,Rating\nu1,007,4\n", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("wrong delimiter", "ratings.csv: `user_id;item_id\\nu1;007`")
def _():
    files(ratings__csv="user_id;item_id\nu1;007\n", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("items file without the id column", "items.csv: `id,title\\n007,Bond`")
def _():
    files(ratings__csv=RATINGS, items__csv="id,title\n007,Bond\n")
    load_dataset("data/ratings.csv", "data/items.csv")


@case("empty file", "ratings.csv: 0 bytes")
def _():
    files(ratings__csv="", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("header only", "ratings.csv: `user_id,item_id\\n`")
def _():
    files(ratings__csv="user_id,item_id\n", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("binary data named .csv", "ratings.csv: bytes 0x00-0xff")
def _():
    files(ratings__csv=bytes(range(256)), items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("gzip data named .csv", "ratings.csv: gzip-compressed CSV")
def _():
    files(ratings__csv=gzip.compress(RATINGS.encode(), mtime=0), items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("plain text named .gz", "ratings.csv.gz: uncompressed CSV")
def _():
    files(plain_ratings__csv__gz=RATINGS, items__csv=ITEMS)
    load_dataset("data/plain_ratings.csv.gz", "data/items.csv")


@case("text named .parquet", "ratings.parquet: CSV text")
def _():
    files(ratings__parquet=RATINGS, items__csv=ITEMS)
    load_dataset("data/ratings.parquet", "data/items.csv")


@case(
    "invalid JSON on a line",
    'ratings.jsonl: line 3 `{"user_id": "u2", "item_id": 8` (no closing brace)',
)
def _():
    files(
        ratings__jsonl='{"user_id": "u1", "item_id": "007"}\n\n{"user_id": "u2", "item_id": 8\n',
        items__csv=ITEMS,
    )
    load_dataset("data/ratings.jsonl", "data/items.csv")


@case("JSON line that is not an object", "ratings.jsonl: line 2 `[1, 2]`")
def _():
    files(ratings__jsonl='{"user_id": "u1", "item_id": "007"}\n[1, 2]\n', items__csv=ITEMS)
    load_dataset("data/ratings.jsonl", "data/items.csv")


@case("ragged CSV", "ratings.csv: `user_id,item_id\\nu1,007\\nu2,8,extra,fields`")
def _():
    files(ratings__csv="user_id,item_id\nu1,007\nu2,8,extra,fields\n", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("repeated column name", "ratings.csv: `user_id,item_id,item_id\\nu1,007,8`")
def _():
    files(ratings__csv="user_id,item_id,item_id\nu1,007,8\n", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("unknown file type", "ratings.xlsx")
def _():
    files(ratings__xlsx="x", items__csv=ITEMS)
    load_dataset("data/ratings.xlsx", "data/items.csv")


@case(
    "undecodable bytes", "ratings.csv in Latin-1: `user_id,item_id\\nu1,007\\nu2,café` (é = 0xe9)"
)
def _():
    files(ratings__csv="user_id,item_id\nu1,007\nu2,caf\xe9\n".encode("latin-1"), items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("duplicate item ids", "items.csv: `item_id,title\\n007,a\\n8,b\\n007,c\\n8,d\\n007,e`")
def _():
    files(ratings__csv=RATINGS, items__csv="item_id,title\n007,a\n8,b\n007,c\n8,d\n007,e\n")
    load_dataset("data/ratings.csv", "data/items.csv")


@case("duplicate user ids", "users.csv: `user_id,bio\\nu1,a\\nu1,b`")
def _():
    files(ratings__csv=RATINGS, items__csv=ITEMS, users__csv="user_id,bio\nu1,a\nu1,b\n")
    load_dataset("data/ratings.csv", "data/items.csv", "data/users.csv")


UNKNOWN = RATINGS + "u3,404,1\nu3,405,1\nu4,404,2\n"


@case("interactions naming unknown items", f"ratings.csv: `{show(UNKNOWN)}`, items 007 and 8")
def _():
    files(ratings__csv=UNKNOWN, items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case('… with `on_unknown="drop"` (or --drop-unknown)', "same files")
def _():
    files(ratings__csv=UNKNOWN, items__csv=ITEMS)
    dataset = load_dataset("data/ratings.csv", "data/items.csv", on_unknown="drop")
    return f"no error; {len(dataset.interactions)} interactions kept, notes = {dataset.notes}"


@case("non-numeric rating", "ratings.csv: `user_id,item_id,rating\\nu1,007,4\\nu2,8,four`")
def _():
    files(ratings__csv="user_id,item_id,rating\nu1,007,4\nu2,8,four\n", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case(
    "non-numeric rating in a renamed column",
    "`DataConfig(rating_col='stars')`, ratings.csv: `user_id,item_id,stars\\nu1,007,lots`",
)
def _():
    files(ratings__csv="user_id,item_id,stars\nu1,007,lots\n", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv", config=DataConfig(rating_col="stars"))


@case(
    "bad timestamp", "ratings.csv: `user_id,item_id,timestamp\\nu1,007,964982703\\nu2,8,yesterday`"
)
def _():
    files(
        ratings__csv="user_id,item_id,timestamp\nu1,007,964982703\nu2,8,yesterday\n",
        items__csv=ITEMS,
    )
    load_dataset("data/ratings.csv", "data/items.csv")


@case(
    "ISO dates as timestamps",
    "ratings.csv: `user_id,item_id,timestamp\\nu1,007,2000-07-30T18:45:03Z\\nu2,8,964982703`",
)
def _():
    files(
        ratings__csv="user_id,item_id,timestamp\nu1,007,2000-07-30T18:45:03Z\nu2,8,964982703\n",
        items__csv=ITEMS,
    )
    dataset = load_dataset("data/ratings.csv", "data/items.csv")
    return f"no error; timestamps = {dataset.interactions['timestamp'].tolist()}"


@case("empty id", "ratings.csv: `user_id,item_id\\nu1,007\\n,8`")
def _():
    files(ratings__csv="user_id,item_id\nu1,007\n,8\n", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case("empty rating cell", "ratings.csv: `user_id,item_id,rating\\nu1,007,`")
def _():
    files(ratings__csv="user_id,item_id,rating\nu1,007,\n", items__csv=ITEMS)
    load_dataset("data/ratings.csv", "data/items.csv")


@case(
    "table built in code, column misnamed",
    "`validate_dataset(Dataset(pd.DataFrame({'uid': ['u'], 'item_id': ['i']}), items))`",
)
def _():
    validate_dataset(
        Dataset(pd.DataFrame({"uid": ["u"], "item_id": ["i"]}), pd.DataFrame({"item_id": ["i"]}))
    )


@case("table built in code, bad value", "`rating` column `[1.0, inf]`")
def _():
    validate_dataset(
        Dataset(
            pd.DataFrame(
                {"user_id": ["a", "b"], "item_id": ["i", "i"], "rating": [1.0, float("inf")]}
            ),
            pd.DataFrame({"item_id": ["i"]}),
        )
    )


@case("empty text (allowed)", "items.csv: `item_id,title,description\\n007,Bond,\\n8,,`")
def _():
    files(ratings__csv=RATINGS, items__csv="item_id,title,description\n007,Bond,\n8,,\n")
    dataset = load_dataset("data/ratings.csv", "data/items.csv")
    return f"no error; items = {dataset.items.to_dict('records')}"


def main(out: Path) -> None:
    rows = []
    for title, shown, run in CASES:
        work = Path("/tmp/work")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        os.chdir(work)
        try:
            result = run()
        except InterestLensError as error:
            result = f"`{type(error).__name__}`: {error}"
        rows.append(f"| {title} | {shown} | {str(result).replace('|', chr(92) + '|')} |")
    header = out.read_text().split("<!-- table -->")[0]
    out.write_text(
        header
        + "<!-- table -->\n\n| case | example input | message produced |\n|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
