"""The external ids a model directory holds: ``item_ids.json`` and ``user_ids.json`` (index
order), the display titles of the items, and renaming the users throughout a directory (the
files that hold user ids: the id list, the explanations' medoid users, the manifest's fit
report, ``users.parquet``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interestlens.model_dir.checksums import update_checksums, verify_checksums
from interestlens.model_dir.manifest import MANIFEST_FILE
from interestlens.model_dir.tables import read_parquet, write_parquet
from interestlens.persist import read_json, write_json

ITEM_IDS = "item_ids.json"
USER_IDS = "user_ids.json"
ITEM_TITLES = "item_titles.json"
USERS_TABLE = "users.parquet"
#: the JSON files that hold user ids
JSON_WITH_USER_IDS = (USER_IDS, "explanations.json", MANIFEST_FILE)


def read_item_ids(directory: Path) -> list[str]:
    return [str(i) for i in read_json(directory / ITEM_IDS)]


def read_user_ids(directory: Path) -> list[str]:
    return [str(u) for u in read_json(directory / USER_IDS)]


def read_item_titles(directory: Path) -> list[str] | None:
    """The items' display titles; None where the items had no title column."""
    path = directory / ITEM_TITLES
    return [str(t) for t in read_json(path)] if path.exists() else None


def rename_users(directory: Path, mapping: dict[str, str], *, key_fingerprint: str) -> None:
    """Replace every user id of ``directory`` by ``mapping[id]`` (ids absent from ``mapping``
    stay) and record the fingerprint of the key the new pseudonyms come from in the manifest.
    Each file is rewritten atomically, then its digest in ``checksums.json``; rename a copy
    and move it into place to change a model in one step."""
    rewritten = [*JSON_WITH_USER_IDS, USERS_TABLE]
    # the new files are made from the old ones: damage read here would be recorded as good
    verify_checksums(directory, only=rewritten)
    for name in JSON_WITH_USER_IDS:
        write_json(directory / name, _renamed(read_json(directory / name), mapping))
    manifest = read_json(directory / MANIFEST_FILE)
    manifest["privacy"]["key_fingerprint"] = key_fingerprint
    write_json(directory / MANIFEST_FILE, manifest)
    users = read_parquet(directory / USERS_TABLE)
    users["user_id"] = [mapping[str(u)] for u in users["user_id"]]
    write_parquet(directory / USERS_TABLE, users)
    update_checksums(directory, rewritten)


def _renamed(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {mapping.get(k, k): _renamed(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, mapping) for v in value]
    if isinstance(value, str):
        return mapping.get(value, value)
    return value
