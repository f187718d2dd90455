"""Key rotation: move a pseudonymized model (and its events store) from one key to another.

A pseudonym cannot be reversed, so rotation needs the raw ids: for each, the old pseudonym is
replaced by the new one wherever the model holds user ids (``user_ids.json``,
``users.parquet``, the medoids in ``explanations.json``, the manifest's list of users without
signal) and in the store's log. Nothing is refitted: vectors, clusters and released numbers
do not depend on the key. Every pseudonym must be covered by the list, or nothing changes.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from interestlens.errors import UnknownIdError
from interestlens.model_dir import read_manifest, read_parquet, replace_directory, write_parquet
from interestlens.persist import read_json, write_json
from interestlens.privacy.keys import PrivacyKeyError, Pseudonymizer, is_pseudonymized

#: the files of a model directory that hold user ids, all as JSON strings or a Parquet column
_JSON_WITH_IDS = ("user_ids.json", "explanations.json", "manifest.json")


@dataclass
class RotationReport:
    model_dir: str
    out: str
    events_db: str | None
    users_renamed: int
    store_rows_renamed: int
    key_fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _renamed(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {mapping.get(k, k): _renamed(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, mapping) for v in value]
    if isinstance(value, str):
        return mapping.get(value, value)
    return value


def _uncovered(found: set[str], mapping: dict[str, str], where: str) -> None:
    missing = sorted(found - mapping.keys())
    if missing:
        raise UnknownIdError(
            f"{len(missing)} pseudonyms in {where} belong to none of the raw ids given",
            expected="the raw id of every user the model and its store hold",
            fix="pass the complete list of user ids (one per line); nothing was changed",
        )


def rotate_key(
    model_dir: str | Path,
    out: str | Path,
    raw_ids: list[str],
    old: Pseudonymizer,
    new: Pseudonymizer,
    *,
    events_db: str | Path | None = None,
) -> RotationReport:
    """Write ``model_dir`` with ``new``'s pseudonyms into ``out`` (atomically; may be
    ``model_dir``) and rename the users of ``events_db`` in place, in one transaction."""
    model_dir = Path(model_dir).expanduser().resolve()
    out = Path(out).expanduser().resolve()
    manifest = read_manifest(model_dir)
    if not is_pseudonymized(manifest):
        raise PrivacyKeyError(
            f"{model_dir} holds raw user ids",
            expected="a model fitted with privacy.pseudonymize = true",
            fix="fit the model with pseudonymization on instead of rotating",
        )
    old.check_manifest(manifest)
    mapping = {old.pseudonym(raw): new.pseudonym(raw) for raw in raw_ids}
    model_ids = {str(u) for u in read_json(model_dir / "user_ids.json")}
    _uncovered(model_ids, mapping, f"{model_dir / 'user_ids.json'}")
    store = None
    if events_db is not None:
        store = sqlite3.connect(Path(events_db).expanduser(), isolation_level=None)
        stored = {r[0] for r in store.execute("SELECT DISTINCT user_id FROM log") if r[0]}
        _uncovered(stored, mapping, str(events_db))

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.rotate-", dir=out.parent))
    renamed_rows = 0
    try:
        target = staging / "model"
        shutil.copytree(model_dir, target)
        for name in _JSON_WITH_IDS:
            write_json(target / name, _renamed(read_json(target / name), mapping))
        manifest = read_json(target / "manifest.json")
        manifest["privacy"]["key_fingerprint"] = new.fingerprint
        write_json(target / "manifest.json", manifest)
        users = read_parquet(target / "users.parquet")
        users["user_id"] = [mapping[str(u)] for u in users["user_id"]]
        write_parquet(target / "users.parquet", users)
        if store is not None:
            store.execute("BEGIN IMMEDIATE")
            try:
                for before, after in mapping.items():
                    renamed_rows += store.execute(
                        "UPDATE log SET user_id = ? WHERE user_id = ?", (after, before)
                    ).rowcount
                replace_directory(target, out)
                store.execute("COMMIT")
            except BaseException:
                store.execute("ROLLBACK")
                raise
            store.execute("VACUUM")  # no page keeps an old pseudonym
        else:
            replace_directory(target, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if store is not None:
            store.close()
    return RotationReport(
        model_dir=str(model_dir),
        out=str(out),
        events_db=None if events_db is None else str(events_db),
        users_renamed=len(model_ids),
        store_rows_renamed=renamed_rows,
        key_fingerprint=new.fingerprint,
    )
