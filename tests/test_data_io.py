"""Readers and validation on tiny files written to tmp_path: formats, errors and their messages."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from interestlens.config import DataConfig
from interestlens.data.amazon import html_to_text, load_amazon
from interestlens.data.io import load_dataset, read_table, validate_dataset
from interestlens.data.movielens import load_movielens, split_title
from interestlens.data.schema import Dataset
from interestlens.errors import (
    DataFileNotFoundError,
    DataFormatError,
    DuplicateIdError,
    EmptyDataError,
    InvalidValueError,
    MissingColumnsError,
    ParameterError,
    TextDecodeError,
    UnknownIdError,
)

INTERACTIONS = "user_id,item_id,rating,timestamp\nu1,007,4.0,100\nu1,8,3.5,200\nu2,007,5,300\n"
ITEMS = "item_id,title,description\n007,Bond,spy film\n8,Heat,\n9,Unseen,cold start\n"


def write(path: Path, text: str | bytes) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode() if isinstance(text, str) else text))
    elif isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def items_csv(tmp_path: Path) -> Path:
    return write(tmp_path / "items.csv", ITEMS)


def load(tmp_path: Path, interactions: str, items: str = ITEMS, **kwargs) -> Dataset:
    return load_dataset(
        write(tmp_path / "ratings.csv", interactions),
        write(tmp_path / "items.csv", items),
        **kwargs,
    )


# --- formats and round trips ----------------------------------------------------------------------


def test_csv_load_keeps_ids_as_strings_and_types_columns(tmp_path: Path):
    dataset = load(tmp_path, INTERACTIONS)
    assert dataset.interactions["item_id"].tolist() == ["007", "8", "007"]
    assert dataset.items["item_id"].tolist() == ["007", "8", "9"]  # unrated item 9 kept
    assert dataset.interactions["rating"].dtype == "float64"
    assert dataset.interactions["timestamp"].dtype == "int64"
    assert dataset.interactions["timestamp"].tolist() == [100, 200, 300]
    assert dataset.name == "ratings"


def test_crlf_csv_has_no_carriage_returns(tmp_path: Path):
    dataset = load(tmp_path, INTERACTIONS.replace("\n", "\r\n"), ITEMS.replace("\n", "\r\n"))
    assert dataset.items["description"].tolist() == ["spy film", "", "cold start"]
    assert dataset.interactions["timestamp"].tolist() == [100, 200, 300]


@pytest.mark.parametrize(
    "suffix", [".csv", ".tsv", ".parquet", ".jsonl", ".ndjson", ".json", ".csv.gz", ".jsonl.gz"]
)
def test_round_trip_every_format(tmp_path: Path, suffix: str):
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u2"],
            "item_id": ["007", "8"],
            "rating": [4.0, 2.5],
            "timestamp": [1, 2],
        }
    )
    path = tmp_path / f"ratings{suffix}"
    fmt = suffix.removesuffix(".gz")
    if fmt == ".parquet":
        frame.to_parquet(path)
    elif fmt in (".jsonl", ".ndjson", ".json"):
        write(path, "".join(json.dumps(r) + "\n" for r in frame.to_dict("records")))
    else:
        write(path, frame.to_csv(index=False, sep="\t" if fmt == ".tsv" else ","))
    read = read_table(path)
    assert read["item_id"].tolist() == ["007", "8"]
    assert read["rating"].astype(float).tolist() == [4.0, 2.5]


def test_json_numbers_as_ids_become_strings(tmp_path: Path):
    path = write(
        tmp_path / "r.jsonl", '{"user_id": 1, "item_id": 7}\n\n{"user_id": 2, "item_id": 7.0}\n'
    )
    assert read_table(path)["item_id"].tolist() == ["7", "7"]
    assert read_table(path)["user_id"].tolist() == ["1", "2"]


def test_json_array_file(tmp_path: Path):
    path = write(tmp_path / "items.json", '[{"item_id": "007", "title": "Bond"}]')
    assert read_table(path, kind="items").to_dict("records") == [
        {"item_id": "007", "title": "Bond"}
    ]


def test_parquet_integer_ids_become_strings(tmp_path: Path):
    path = tmp_path / "items.parquet"
    pd.DataFrame({"item_id": [7, 8], "title": ["a", "b"]}).to_parquet(path)
    assert read_table(path, kind="items")["item_id"].tolist() == ["7", "8"]


def test_texts_kind_reads_every_column_as_text(tmp_path: Path):
    path = write(tmp_path / "texts.csv", "id,text,year\n007,hello,1999\n8,,\n")
    assert read_table(path, kind="texts").to_dict("records") == [
        {"id": "007", "text": "hello", "year": "1999"},
        {"id": "8", "text": "", "year": ""},
    ]


def test_na_like_text_is_kept_as_text(tmp_path: Path):
    items = "item_id,title\nNA,null\n8,\n"
    dataset = load(tmp_path, "user_id,item_id\nu1,NA\n", items)
    assert dataset.items["item_id"].tolist() == ["NA", "8"]
    assert dataset.items["title"].tolist() == ["null", ""]


def test_config_renames_columns(tmp_path: Path):
    ratings = "userId,movieId,stars,when\nu1,007,4,2020-01-01T00:00:00Z\n"
    items = "movieId,title\n007,Bond\n"
    config = DataConfig(
        user_col="userId", item_col="movieId", rating_col="stars", timestamp_col="when"
    )
    dataset = load(tmp_path, ratings, items, config=config)
    assert list(dataset.interactions.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert dataset.items.columns.tolist() == ["item_id", "title"]
    assert dataset.interactions["timestamp"].tolist() == [1577836800]


def test_items_file_may_use_canonical_name_when_config_names_another(tmp_path: Path):
    config = DataConfig(user_col="userId", item_col="movieId")
    dataset = load(tmp_path, "userId,movieId\nu1,007\n", config=config)
    assert dataset.items["item_id"].tolist() == ["007", "8", "9"]


def test_ratings_and_timestamps_are_optional(tmp_path: Path):
    dataset = load(tmp_path, "user_id,item_id\nu1,007\n")
    assert not dataset.has_ratings and not dataset.has_timestamps


def test_iso_and_epoch_timestamps_mix(tmp_path: Path):
    dataset = load(
        tmp_path,
        "user_id,item_id,timestamp\nu1,007,86400\nu1,8,1970-01-03\nu2,8,1970-01-01T01:00:00+01:00\n",
    )
    assert dataset.interactions["timestamp"].tolist() == [86400, 172800, 0]


def test_users_file_partial_and_cold_start(tmp_path: Path):
    users = write(
        tmp_path / "users.jsonl", '{"user_id": "u1", "bio": "spy fan"}\n{"user_id": "u9"}\n'
    )
    dataset = load_dataset(
        write(tmp_path / "r.csv", INTERACTIONS), write(tmp_path / "i.csv", ITEMS), users
    )
    assert dataset.users["user_id"].tolist() == ["u1", "u9"]  # u9 has no interactions: kept
    assert dataset.users["bio"].tolist() == ["spy fan", ""]  # missing text -> ""
    assert len(dataset.interactions) == 3  # u2 absent from the users file: fine


# --- missing files, empty files, wrong formats ---------------------------------------------------


def test_missing_file_names_path(tmp_path: Path, items_csv: Path):
    missing = tmp_path / "nope" / "ratings.csv"
    with pytest.raises(DataFileNotFoundError, match="does not exist") as info:
        load_dataset(missing, items_csv)
    assert str(missing) in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("r.csv", "", "is empty"),
        ("r.csv", "  \n\n", "is empty"),
        ("r.csv", "user_id,item_id\n", "has columns ['user_id', 'item_id'] but has no data rows"),
        ("r.jsonl", "\n", "is empty"),
        ("r.csv.gz", "", "is empty"),
    ],
)
def test_empty_files(tmp_path: Path, items_csv: Path, name: str, content: str, words: str):
    path = write(tmp_path / name, content)
    with pytest.raises(EmptyDataError) as info:
        load_dataset(path, items_csv)
    assert str(path) in str(info.value) and words in str(info.value)


def test_empty_parquet(tmp_path: Path, items_csv: Path):
    path = tmp_path / "r.parquet"
    pd.DataFrame(
        {"user_id": pd.Series([], dtype=str), "item_id": pd.Series([], dtype=str)}
    ).to_parquet(path)
    with pytest.raises(EmptyDataError, match="has no data rows"):
        load_dataset(path, items_csv)


def test_binary_garbage_named_csv(tmp_path: Path, items_csv: Path):
    path = write(tmp_path / "r.csv", bytes(range(256)) * 4)
    with pytest.raises(DataFormatError, match="named as CSV but holds binary data") as info:
        load_dataset(path, items_csv)
    assert str(path) in str(info.value)


def test_gzip_named_csv_suggests_suffix(tmp_path: Path, items_csv: Path):
    path = write(tmp_path / "r.csv", gzip.compress(INTERACTIONS.encode()))
    with pytest.raises(DataFormatError, match=r"is gzip-compressed.*add \.gz to its name"):
        load_dataset(path, items_csv)


def test_plain_text_named_gz(tmp_path: Path, items_csv: Path):
    path = write(tmp_path / "r.csv", INTERACTIONS).rename(tmp_path / "r.csv.gz")
    with pytest.raises(DataFormatError, match=r"named \.gz but cannot be decompressed"):
        load_dataset(path, items_csv)


def test_text_named_parquet(tmp_path: Path, items_csv: Path):
    path = write(tmp_path / "r.parquet", INTERACTIONS)
    with pytest.raises(DataFormatError) as info:
        load_dataset(path, items_csv)
    message = str(info.value)
    assert "is not a Parquet file" in message and "b'user_id,item_id,rating,timestamp'" in message


def test_damaged_parquet(tmp_path: Path, items_csv: Path):
    path = write(tmp_path / "r.parquet", b"PAR1" + b"\x00" * 40 + b"PAR1")
    with pytest.raises(DataFormatError, match="damaged Parquet file"):
        load_dataset(path, items_csv)


def test_invalid_json_line_is_named(tmp_path: Path, items_csv: Path):
    lines = '{"user_id": "u1", "item_id": "007"}\n\n{"user_id": "u2", "item_id": 8\n'
    path = write(tmp_path / "r.jsonl", lines)
    with pytest.raises(DataFormatError) as info:
        load_dataset(path, items_csv)
    assert f"{path}: line 3 is not valid JSON" in str(info.value)
    assert "correct or remove line 3" in str(info.value)


def test_json_line_that_is_not_an_object(tmp_path: Path, items_csv: Path):
    path = write(tmp_path / "r.json.gz", '{"user_id": "u1", "item_id": "007"}\n[1, 2]\n')
    with pytest.raises(DataFormatError, match="line 2 is a JSON list, not an object"):
        load_dataset(path, items_csv)


def test_invalid_json_array_names_line(tmp_path: Path):
    path = write(tmp_path / "items.json", '[{"item_id": "1"},\n {"item_id": }]')
    with pytest.raises(DataFormatError, match="invalid JSON at line 2"):
        read_table(path, kind="items")


def test_ragged_csv_names_line(tmp_path: Path, items_csv: Path):
    path = write(tmp_path / "r.csv", "user_id,item_id\nu1,007\nu2,8,extra,fields\n")
    with pytest.raises(DataFormatError, match=r"is not valid CSV.*line 3"):
        load_dataset(path, items_csv)


def test_repeated_header_name(tmp_path: Path, items_csv: Path):
    path = write(tmp_path / "r.csv", "user_id,item_id,item_id\nu1,007,8\n")
    with pytest.raises(DataFormatError, match="header line names 'item_id' more than once"):
        load_dataset(path, items_csv)


def test_unsupported_suffix(tmp_path: Path, items_csv: Path):
    path = write(tmp_path / "r.xlsx", "x")
    with pytest.raises(DataFormatError, match=r"cannot tell the format.*\.csv, \.tsv, \.parquet"):
        load_dataset(path, items_csv)


@pytest.mark.parametrize("name", ["r.csv", "r.csv.gz", "r.jsonl"])
def test_undecodable_byte_names_line_and_column(tmp_path: Path, items_csv: Path, name: str):
    body = (
        "user_id,item_id\nu1,007\nu2,caf\xe9\n"
        if name != "r.jsonl"
        else ('{"user_id": "u1", "item_id": "007"}\n{"user_id": "u2", "item_id": "caf\xe9"}\n')
    )
    line = 3 if name != "r.jsonl" else 2
    column = body.split("\n")[line - 1].index("\xe9") + 1
    path = write(tmp_path / name, body.encode("latin-1"))
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(body.encode("latin-1")))
    with pytest.raises(TextDecodeError) as info:
        load_dataset(path, items_csv)
    assert f"{path}: line {line}, column {column}: byte 0xe9 is not valid utf-8" in str(info.value)
    assert "encoding='latin-1'" in str(info.value)


def test_other_encoding_can_be_given(tmp_path: Path):
    path = write(tmp_path / "items.csv", "item_id,title\n1,caf\xe9\n".encode("latin-1"))
    assert read_table(path, kind="items", encoding="latin-1")["title"].tolist() == ["café"]


# --- columns -------------------------------------------------------------------------------------


def test_misnamed_columns_list_found_expected_and_suggest(tmp_path: Path):
    with pytest.raises(MissingColumnsError) as info:
        load(tmp_path, "userId,movieId,rating\nu1,007,4\n")
    message = str(info.value)
    assert "has columns ['userId', 'movieId', 'rating'] but not 'user_id', 'item_id'" in message
    assert "expected columns 'user_id', 'item_id' (optionally 'rating', 'timestamp')" in message
    assert "did you mean 'userId'? set data.user_col = \"userId\"" in message
    assert "--user-col userId" in message
    assert "did you mean 'movieId'? set data.item_col = \"movieId\"" in message
    assert isinstance(info.value, KeyError)  # and str() is not quoted like a KeyError
    assert message.startswith("interactions file")


def test_missing_column_without_close_match(tmp_path: Path):
    with pytest.raises(MissingColumnsError) as info:
        load(tmp_path, "user_id,product\nu1,007\n")
    assert "set data.item_col / --item-col to its name" in str(info.value)


def test_items_file_missing_id(tmp_path: Path):
    with pytest.raises(MissingColumnsError) as info:
        load(tmp_path, INTERACTIONS, "id,title\n007,Bond\n")
    assert str(tmp_path / "items.csv") in str(info.value)
    assert "has columns ['id', 'title'] but not 'item_id'" in str(info.value)


def test_near_miss_optional_column_is_an_error(tmp_path: Path):
    with pytest.raises(MissingColumnsError, match="did you mean 'Rating'"):
        load(tmp_path, "user_id,item_id,Rating\nu1,007,4\n")


def test_semicolon_separated_file_gets_a_hint(tmp_path: Path):
    with pytest.raises(MissingColumnsError, match="separated by semicolons"):
        load(tmp_path, "user_id;item_id\nu1;007\n")


def test_in_code_table_missing_column_says_rename():
    dataset = Dataset(
        pd.DataFrame({"uid": ["u"], "item_id": ["i"]}), pd.DataFrame({"item_id": ["i"]})
    )
    with pytest.raises(MissingColumnsError, match="rename column 'uid' to 'user_id'"):
        validate_dataset(dataset)


# --- values and ids ------------------------------------------------------------------------------


def test_non_numeric_rating_names_column_row_line_and_value(tmp_path: Path):
    with pytest.raises(InvalidValueError) as info:
        load(tmp_path, "user_id,item_id,rating\nu1,007,4\nu2,8,four\nu2,007,x\n")
    message = str(info.value)
    assert "column 'rating' has 2 values that cannot be read as finite numbers" in message
    assert "the first is 'four' at data row 2 (line 3)" in message


def test_renamed_column_is_named_as_in_the_file(tmp_path: Path):
    config = DataConfig(rating_col="stars")
    with pytest.raises(InvalidValueError, match=r"column 'stars' \(read as 'rating'\)"):
        load(tmp_path, "user_id,item_id,stars\nu1,007,lots\n", config=config)


def test_bad_timestamp(tmp_path: Path):
    with pytest.raises(InvalidValueError) as info:
        load(tmp_path, "user_id,item_id,timestamp\nu1,007,100\nu1,8,yesterday\n")
    assert "the first is 'yesterday' at data row 2 (line 3)" in str(info.value)
    assert "epoch seconds or ISO 8601 dates" in str(info.value)


def test_empty_rating_cell(tmp_path: Path):
    with pytest.raises(
        InvalidValueError, match=r"column 'rating' is empty on 1 row, the first at data row 1"
    ):
        load(tmp_path, "user_id,item_id,rating\nu1,007,\n")


def test_empty_id(tmp_path: Path):
    with pytest.raises(InvalidValueError, match=r"column 'user_id' is empty on 1 row.*\(line 3\)"):
        load(tmp_path, "user_id,item_id\nu1,007\n,8\n")


def test_jsonl_line_numbers_survive_blank_lines(tmp_path: Path, items_csv: Path):
    path = write(
        tmp_path / "r.jsonl",
        '{"user_id": "u1", "item_id": "007", "rating": 1}\n\n'
        '{"user_id": "u1", "item_id": "8", "rating": "bad"}\n',
    )
    with pytest.raises(InvalidValueError, match=r"'bad' at data row 2 \(line 3\)"):
        load_dataset(path, items_csv)


def test_duplicate_item_ids_named_with_count(tmp_path: Path):
    with pytest.raises(DuplicateIdError) as info:
        load(tmp_path, INTERACTIONS, "item_id,title\n007,a\n8,b\n007,c\n8,d\n007,e\n")
    message = str(info.value)
    assert "2 item ids on more than one row (3 extra rows)" in message
    assert "'007' ×3 (data rows 1, 3, 5 (lines 2, 4, 6)); '8' ×2 (data rows 2, 4" in message


def test_duplicate_user_ids(tmp_path: Path):
    users = write(tmp_path / "users.csv", "user_id,bio\nu1,a\nu1,b\n")
    with pytest.raises(DuplicateIdError, match=r"users file .*1 user id on more than one row"):
        load_dataset(
            write(tmp_path / "r.csv", INTERACTIONS), write(tmp_path / "i.csv", ITEMS), users
        )


def test_unknown_items_error_with_count_and_examples(tmp_path: Path):
    ratings = INTERACTIONS + "u3,404,1,5\nu3,405,1,6\nu4,404,2,7\n"
    with pytest.raises(UnknownIdError) as info:
        load(tmp_path, ratings)
    message = str(info.value)
    assert "interactions name 2 item ids not in the items file" in message
    assert "(3 interaction rows): '404', '405'" in message
    assert "on_unknown='drop'" in message and "--drop-unknown" in message


def test_unknown_items_dropped_and_counted(tmp_path: Path):
    ratings = INTERACTIONS + "u3,404,1,5\nu3,405,1,6\nu4,404,2,7\n"
    dataset = load(tmp_path, ratings, on_unknown="drop")
    assert len(dataset.interactions) == 3
    assert dataset.notes["dropped_unknown_items"] == 3
    assert dataset.notes["dropped_unknown_item_ids"] == 2
    dataset = load(tmp_path, ratings, config=DataConfig(on_unknown="drop"))
    assert dataset.notes["dropped_unknown_items"] == 3


def test_require_all_users(tmp_path: Path):
    users = write(tmp_path / "users.csv", "user_id\nu1\n")
    paths = write(tmp_path / "r.csv", INTERACTIONS), write(tmp_path / "i.csv", ITEMS)
    with pytest.raises(UnknownIdError, match="1 user id not in the users file"):
        load_dataset(*paths, users, require_all_users=True)
    dataset = load_dataset(*paths, users, require_all_users=True, on_unknown="drop")
    assert dataset.notes["dropped_unknown_users"] == 1
    assert dataset.interactions["user_id"].unique().tolist() == ["u1"]


def test_everything_dropped_is_an_error(tmp_path: Path):
    with pytest.raises(EmptyDataError, match="no interactions are left"):
        load(tmp_path, "user_id,item_id\nu1,404\n", on_unknown="drop")


def test_validate_in_code_frames():
    dataset = Dataset(
        pd.DataFrame({"user_id": [1, 2], "item_id": [10.0, 11.0], "rating": ["4", 5]}),
        pd.DataFrame({"item_id": [10, 11], "title": ["a", None], "empty": [None, None]}),
    )
    valid = validate_dataset(dataset)
    assert valid.interactions["user_id"].tolist() == ["1", "2"]
    assert valid.interactions["item_id"].tolist() == ["10", "11"]
    assert valid.interactions["rating"].tolist() == [4.0, 5.0]
    assert valid.items["title"].tolist() == ["a", ""]
    assert valid.items["empty"].tolist() == ["", ""]
    assert dataset.interactions["user_id"].tolist() == [1, 2]  # input untouched


def test_in_code_bad_value_names_position():
    dataset = Dataset(
        pd.DataFrame({"user_id": ["a", "b"], "item_id": ["i", "i"], "rating": [1.0, float("inf")]}),
        pd.DataFrame({"item_id": ["i"]}),
    )
    with pytest.raises(InvalidValueError, match=r"first is inf at row 1 \(0-based position\)"):
        validate_dataset(dataset)


def test_bad_arguments():
    with pytest.raises(ParameterError, match="on_unknown='ignore'"):
        validate_dataset(Dataset(pd.DataFrame(), pd.DataFrame()), on_unknown="ignore")
    with pytest.raises(ParameterError, match="kind='ratings'"):
        read_table("x.csv", kind="ratings")


# --- MovieLens and Amazon readers on tiny files ----------------------------------------------


@pytest.mark.parametrize(
    ("raw", "title", "year"),
    [
        ("Toy Story (1995)", "Toy Story", "1995"),
        ("Matrix, The (1999)", "The Matrix", "1999"),
        (
            "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
            "The City of Lost Children (Cité des enfants perdus, La)",
            "1995",
        ),
        ("Babylon 5", "Babylon 5", ""),
        ("Fawlty Towers (1975-1979)", "Fawlty Towers", "1975"),
    ],
)
def test_split_title(raw: str, title: str, year: str):
    assert split_title(raw) == (title, year)


def test_movielens_tiny(tmp_path: Path):
    write(
        tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\r\n1,1,4.0,10\r\n2,2,2.0,20\r\n"
    )
    write(
        tmp_path / "movies.csv",
        'movieId,title,genres\r\n1,"Matrix, The (1999)",Action|Sci-Fi\r\n'
        "2,Heat (1995),(no genres listed)\r\n3,Unrated (2000),Drama\r\n",
    )
    write(
        tmp_path / "tags.csv",
        "userId,movieId,tag,timestamp\r\n1,1,cyberpunk,1\r\n2,1,Cyberpunk,2\r\n2,1,keanu,3\r\n",
    )
    write(
        tmp_path / "links.csv",
        "movieId,imdbId,tmdbId\r\n1,0133093,603\r\n2,0113277,\r\n3,1,999\r\n",
    )
    tmdb = write(
        tmp_path / "tmdb.csv.gz",
        "id,overview,genres,keywords\n603,A hacker learns.,"
        '"[{""id"": 28, ""name"": ""Action""}]","[{""id"": 1, ""name"": ""simulation""}]"\n'
        "999,,[],[]\n",
    )
    dataset = load_movielens(tmp_path, tmdb=tmdb, min_rating=3)
    items = dataset.items.set_index("item_id")
    assert items.loc["1", "title"] == "The Matrix" and items.loc["1", "year"] == "1999"
    assert items.loc["1", "genres"] == "Action, Sci-Fi" and items.loc["2", "genres"] == ""
    assert items.loc["1", "tags"] == "cyberpunk, keanu"
    assert items.loc["1", "overview"] == "A hacker learns."
    assert items.loc["1", "tmdb_genres"] == "Action" and items.loc["1", "keywords"] == "simulation"
    assert items.loc["2", "overview"] == "" and items.loc["3", "overview"] == ""
    assert dataset.users.to_dict("records") == [
        {"user_id": "1", "tags": "cyberpunk"},
        {"user_id": "2", "tags": "Cyberpunk, keanu"},
    ]
    assert dataset.notes["items_with_overview"] == 1
    assert dataset.notes["items_with_tmdb_match"] == 2
    assert dataset.notes["ratings_below_min_rating"] == 1
    assert dataset.interactions["item_id"].tolist() == ["1"]


def test_movielens_missing_directory(tmp_path: Path):
    with pytest.raises(DataFileNotFoundError, match="MovieLens directory"):
        load_movielens(tmp_path / "ml")


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ('<span class="a-size-medium a-color-secondary"', ""),
        ("Disney &amp; Me", "Disney & Me"),
        ("Maggiano&#39;s  Gift\nCard", "Maggiano's Gift Card"),
        ("<div>one<br/>two</div><script>x=1</script>", "one two"),
        ("a < b", "a < b"),
        (None, ""),
    ],
)
def test_html_to_text(html, text):
    assert html_to_text(html) == text


def test_amazon_tiny(tmp_path: Path):
    review = {
        "reviewerID": "A",
        "asin": "0001",
        "overall": 5.0,
        "unixReviewTime": 10,
        "summary": "Great",
        "reviewText": "Loved it",
    }
    lines = [
        json.dumps(review),
        json.dumps(review),
        json.dumps({**review, "asin": "0002", "unixReviewTime": 5, "summary": "Meh!"}),
        json.dumps({**review, "reviewerID": "B", "reviewText": ""}),
    ]
    reviews = write(tmp_path / "r.json.gz", "\n".join(lines) + "\n")
    meta_row = {
        "asin": "0001",
        "title": "<b>Tea &amp; Co</b>",
        "description": ["<p>Fine</p>", "tea"],
        "category": ["Food", "Tea", "Food"],
        "brand": "Leaf",
    }
    meta = write(
        tmp_path / "m.json.gz",
        "\n".join(
            json.dumps(r)
            for r in (meta_row, meta_row, {**meta_row, "title": "Other"}, {**meta_row, "asin": "9"})
        )
        + "\n",
    )
    dataset = load_amazon(reviews, meta)
    assert len(dataset.interactions) == 3 and dataset.notes["duplicate_review_lines"] == 1
    assert dataset.interactions["item_id"].tolist() == ["0001", "0002", "0001"]
    assert dataset.items.to_dict("records") == [
        {
            "item_id": "0001",
            "title": "Tea & Co",
            "description": "Fine tea",
            "category": "Food, Tea",
            "brand": "Leaf",
        },
        {"item_id": "0002", "title": "", "description": "", "category": "", "brand": ""},
    ]
    assert dataset.notes["meta_duplicate_asin_rows"] == 2
    assert dataset.notes["meta_duplicate_asin_rows_differing"] == 1
    assert dataset.notes["items_without_meta"] == 1
    assert dataset.users.to_dict("records") == [
        {"user_id": "A", "reviews": "Meh! Loved it\nGreat. Loved it"},
        {"user_id": "B", "reviews": "Great"},
    ]


def test_amazon_bad_line_is_named_after_duplicates(tmp_path: Path):
    good = json.dumps({"reviewerID": "A", "asin": "1", "overall": 5, "unixReviewTime": 1})
    bad = json.dumps({"reviewerID": "A", "asin": "2", "overall": "five", "unixReviewTime": 1})
    reviews = write(tmp_path / "r.json", f"{good}\n{good}\n{bad}\n")
    with pytest.raises(InvalidValueError, match=r"'five' at data row 2 \(line 3\)"):
        load_amazon(reviews)
