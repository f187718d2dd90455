"""Erasure: ``interestlens forget`` removes a user from a model directory, its events store and
the embedding cache, so that :mod:`~interestlens.privacy_jobs.audit` finds nothing afterwards.

The model is *refitted* without the user, not patched: their vector, interactions, text and
recommender rows go, and so do their contributions to every cluster statistic, keyword,
centroid and released (DP) number, which a patch could not undo. Their events and the
store's forgetting record go once the refit has folded it; their text's vectors leave the cache.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from interestlens.config import Settings
from interestlens.embed import cache_path as embedding_cache_file
from interestlens.embed.base import Encoder
from interestlens.embed.cache import delete_cached_texts
from interestlens.errors import DataFileNotFoundError, UnknownIdError
from interestlens.model_dir import read_manifest, read_parquet
from interestlens.persist import read_json
from interestlens.privacy.keys import model_pseudonymizer
from interestlens.serve.refit import refit_model
from interestlens.serve.store import EventStore, events_path


@dataclass
class ForgetReport:
    """What ``forget`` removed (never the id itself: the report may be logged)."""

    model_dir: str
    events_db: str | None
    cache: str | None
    in_model: bool
    interactions_removed: int = 0
    events_deleted: int = 0
    log_entries_purged: int = 0
    cache_entries_deleted: int = 0
    n_users_after: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def user_key(model_dir: Path, user_id: str, settings: Settings) -> str:
    """The id the model holds for ``user_id``: its pseudonym when the model is pseudonymized."""
    pseudonymizer = model_pseudonymizer(settings.privacy, read_manifest(model_dir))
    return str(user_id) if pseudonymizer is None else pseudonymizer.pseudonym(user_id)


def events_store_path(model_dir: Path, settings: Settings, events_db: Path | None) -> Path | None:
    """The events store of ``model_dir``: ``events_db`` when given (it must exist), else the
    service's default beside the model when it exists, else None."""
    if events_db is not None:
        path = Path(events_db).expanduser()
        if not path.exists():
            raise DataFileNotFoundError(
                f"events database {path} does not exist",
                expected="the SQLite file the service wrote (serve.events_db)",
                fix="check --events-db, or leave it out to use the default beside the model",
            )
        return path
    default = events_path(model_dir, settings)
    return default if default.exists() else None


def forget_user(
    model_dir: str | Path,
    user_id: str,
    settings: Settings,
    *,
    events_db: str | Path | None = None,
    cache: str | Path | None = None,
    encoder: Encoder | None = None,
    show_progress: bool = False,
) -> ForgetReport:
    """Erase ``user_id`` (a raw id; hashed when the model is pseudonymized) from
    ``model_dir`` (refitted in place, atomically), its events store and the embedding cache
    (``cache``, default: the one ``settings.encoder`` names)."""

    model_dir = Path(model_dir).expanduser().resolve()
    key = user_key(model_dir, user_id, settings)
    user_ids = [str(u) for u in read_json(model_dir / "user_ids.json")]
    in_model = key in user_ids
    text = ""
    if in_model:
        text = str(read_parquet(model_dir / "users.parquet")["text"].iloc[user_ids.index(key)])
    db_path = events_store_path(model_dir, settings, Path(events_db) if events_db else None)
    cache_path = (
        Path(cache).expanduser() if cache is not None else embedding_cache_file(settings.encoder)
    )
    report = ForgetReport(
        model_dir=str(model_dir),
        events_db=None if db_path is None else str(db_path),
        cache=str(cache_path) if cache_path.exists() else None,
        in_model=in_model,
    )

    store = EventStore(db_path) if db_path is not None else None
    try:
        in_store = store is not None and any(e.user_id == key for e in store.entries())
        if not in_model and not in_store:
            raise UnknownIdError(
                f"user {user_id!r} is neither in the model {model_dir} nor in its events store",
                expected="a user id the model or the service's store knows",
                fix="check the id (and privacy.key for a pseudonymized model); "
                "'interestlens audit' lists where an id appears",
            )
        if store is not None:
            report.events_deleted = store.forget_user(key)
    finally:
        if store is not None:
            store.close()

    summary = refit_model(
        model_dir,
        model_dir,
        settings,
        events_db=db_path,
        encoder=encoder,
        show_progress=show_progress,
        forget=[key],
    )
    report.interactions_removed = summary.interactions_removed
    report.n_users_after = summary.n_users
    report.seconds = summary.seconds
    if db_path is not None:
        # the new model holds the forgetting: its record (naming the user) can go too
        with EventStore(db_path) as store:
            report.log_entries_purged = store.purge_user(key, upto=summary.folded_seq)
    report.cache_entries_deleted = delete_cached_texts(cache_path, [text])
    return report
