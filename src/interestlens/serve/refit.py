"""``interestlens refit``: fold the service's stored items, events and forgotten users into a
new model directory.

The data is rebuilt from the model directory itself (items with their built texts, users with
theirs, the interactions), the log entries the model does not hold yet are applied in posting
order, and the model is fitted again with its saved settings. The new directory records which
store and how much of its log it folded (``service_log.json``), so that the service, reloading
onto it, replays only what came later.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from interestlens.config import LimitsConfig, Settings, load_settings
from interestlens.data.schema import ITEM_ID, RATING, TIMESTAMP, USER_ID, Dataset
from interestlens.embed.base import Encoder
from interestlens.engine import accepted_ratings
from interestlens.errors import DataFileNotFoundError, InvalidValueError
from interestlens.model_dir import (
    check_destination,
    read_item_ids,
    read_item_titles,
    read_manifest,
    read_parquet,
    read_user_ids,
    replace_directory,
    update_checksums,
    verify_model_dir,
)
from interestlens.persist import write_json
from interestlens.pipeline import InterestLens
from interestlens.privacy.keys import is_pseudonymized, model_pseudonymizer
from interestlens.recommend.interest.reasons import item_names
from interestlens.serve.replay import FOLDED_FILE, folded_seq
from interestlens.serve.store import EVENT, FORGET, ITEM, EventStore, LogEntry, events_path
from interestlens.timeline.service import previous_for_refit

#: problems listed in the summary (the counts are always exact)
MAX_LISTED_PROBLEMS = 20


@dataclass
class RefitSummary:
    """What a refit folded in, for the CLI and the logs."""

    model_dir: str
    out: str
    events_db: str | None
    #: log entries the source model already held (folded by an earlier refit)
    already_folded: int = 0
    #: events added to the interactions
    events_folded: int = 0
    #: events that could not be folded (their item is unknown), listed in ``problems``
    events_failed: int = 0
    #: events left out because a value is out of range (``skip_bad_events``), in ``problems``
    events_skipped: int = 0
    new_items: int = 0
    new_users: int = 0
    forgotten_users: int = 0
    #: interactions removed because their user was forgotten
    interactions_removed: int = 0
    n_users: int = 0
    n_items: int = 0
    n_interactions: int = 0
    folded_seq: int = 0
    #: cluster ids against the refitted model: kept / born / split / merged / dissolved counts
    cluster_ids: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def note(self, problem: str) -> None:
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(problem)


def _base_tables(model_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Items (item_id, text[, title]), users (user_id, text), interactions by id."""
    item_ids, user_ids = read_item_ids(model_dir), read_user_ids(model_dir)
    items = read_parquet(model_dir / "items.parquet")[[ITEM_ID, "text"]].copy()
    items[ITEM_ID] = item_ids
    titles = read_item_titles(model_dir)
    if titles is not None:
        items["title"] = titles
    users = read_parquet(model_dir / "users.parquet")[[USER_ID, "text"]].copy()
    users[USER_ID] = user_ids
    frame = read_parquet(model_dir / "interactions.parquet")
    interactions = pd.DataFrame(
        {
            USER_ID: np.asarray(user_ids, dtype=object)[frame["user_index"].to_numpy()],
            ITEM_ID: np.asarray(item_ids, dtype=object)[frame["item_index"].to_numpy()],
            RATING: frame[RATING].to_numpy(dtype=np.float64),
            TIMESTAMP: frame[TIMESTAMP].to_numpy(dtype=np.float64),
        }
    )
    return items, users, interactions


def _bad_value(entry: LogEntry, ratings: tuple[float, float], limits: LimitsConfig) -> str | None:
    """What is wrong with a stored event's values, or None (the engine's rule: what the
    service accepts today; a store written by an older version may hold worse)."""
    low, high = ratings
    rating, stamp = entry.rating, entry.timestamp
    if rating is not None and not (math.isfinite(rating) and low <= rating <= high):
        return f"rating {rating!r} outside {low:g} to {high:g}"
    if stamp is not None and not (
        math.isfinite(stamp) and limits.timestamp_min <= stamp <= limits.timestamp_max
    ):
        window = f"{limits.timestamp_min:.0f} to {limits.timestamp_max:.0f}"
        return f"timestamp {stamp!r} outside {window}"
    return None


def build_refit_dataset(
    model_dir: Path,
    store: EventStore | None,
    summary: RefitSummary,
    forget: Collection[str] = (),
    *,
    limits: LimitsConfig | None = None,
    skip_bad_events: bool = False,
) -> Dataset:
    """The model's data plus the store's log entries it does not hold yet; the users in
    ``forget`` (ids as the model holds them) are left out as if the store had forgotten them.
    A stored event with a value out of range stops the refit with an error naming it, or with
    ``skip_bad_events`` is left out and counted."""
    limits = limits or LimitsConfig()
    items, users, interactions = _base_tables(model_dir)
    ratings = accepted_ratings(interactions, limits)
    known_items = set(items[ITEM_ID])
    known_users = set(users[USER_ID]) | set(interactions[USER_ID])
    new_items: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    forgotten: set[str] = {str(u) for u in forget}
    if store is not None:
        summary.already_folded = folded_seq(model_dir, store)
        summary.folded_seq = summary.already_folded
        for entry in store.entries(after=summary.already_folded):
            summary.folded_seq = entry.seq
            if entry.kind == ITEM:
                if entry.item_id in known_items:
                    summary.note(f"seq {entry.seq}: item {entry.item_id!r} exists; kept the first")
                    continue
                known_items.add(str(entry.item_id))
                row = {ITEM_ID: str(entry.item_id), "text": str(entry.text)}
                if "title" in items:
                    row["title"] = entry.title or item_names([str(entry.text)], 1)[0]
                new_items.append(row)
            elif entry.kind == FORGET:
                user_id = str(entry.user_id)
                forgotten.add(user_id)
                # the store deleted the user's earlier events when it recorded the forgetting;
                # this only guards against a store edited by hand
                events = [e for e in events if e[USER_ID] != user_id]
            elif entry.kind == EVENT:
                if entry.item_id not in known_items:
                    summary.events_failed += 1
                    summary.note(f"seq {entry.seq}: event on unknown item {entry.item_id!r}")
                    continue
                bad = _bad_value(entry, ratings, limits)
                if bad is not None:
                    where = (
                        f"stored event seq {entry.seq} (user {entry.user_id!r}, item "
                        f"{entry.item_id!r}): {bad}"
                    )
                    if not skip_bad_events:
                        raise InvalidValueError(
                            where,
                            expected="values the model can be fitted on (the [limits] settings)",
                            fix="refit with --skip-bad-events to leave such events out (they "
                            "are counted and listed), or widen [limits]",
                        )
                    summary.events_skipped += 1
                    summary.note(f"skipped {where}")
                    continue
                events.append(
                    {
                        USER_ID: str(entry.user_id),
                        ITEM_ID: str(entry.item_id),
                        RATING: np.nan if entry.rating is None else float(entry.rating),
                        TIMESTAMP: np.nan if entry.timestamp is None else float(entry.timestamp),
                        "_seq": entry.seq,
                    }
                )
    # a forgotten user loses the fitted interactions and text; events posted after the
    # forgetting (still in the store) make them a user again
    if forgotten:
        drop = interactions[USER_ID].isin(forgotten)
        summary.interactions_removed = int(drop.sum())
        interactions = interactions.loc[~drop]
        users = users.loc[~users[USER_ID].isin(forgotten)]
        summary.forgotten_users = len(forgotten)
    if new_items:
        items = pd.concat([items, pd.DataFrame(new_items)], ignore_index=True)
        summary.new_items = len(new_items)
    if events:
        added = pd.DataFrame(events).drop(columns="_seq")
        summary.events_folded = len(added)
        summary.new_users = len(set(added[USER_ID]) - (known_users - forgotten))
        interactions = pd.concat([interactions, added], ignore_index=True)
    interactions = interactions.reset_index(drop=True)
    if not interactions[TIMESTAMP].notna().any():
        interactions = interactions.drop(columns=TIMESTAMP)
    if not interactions[RATING].notna().any():
        interactions = interactions.drop(columns=RATING)
    summary.n_items = len(items)
    summary.n_interactions = len(interactions)
    summary.n_users = len(set(users[USER_ID]) | set(interactions[USER_ID]))
    manifest = read_manifest(model_dir)
    return Dataset(
        interactions=interactions,
        items=items.reset_index(drop=True),
        users=users.reset_index(drop=True),
        name=str(manifest.get("dataset", "dataset")),
    )


def refit_settings(saved: Settings, settings: Settings) -> Settings:
    """The model's saved settings, reading the saved texts as they are, with the machine's
    encoder options (device, cache, batch size, progress) and the caller's
    ``recommend.reuse_tuning`` from ``settings``."""
    text = saved.text.model_copy(
        update={
            "item_columns": ["text"],
            "item_template": "{text}",
            "user_columns": ["text"],
            "user_template": "{text}",
        }
    )
    # the key is a secret, so the saved settings never hold it: the caller's does
    privacy = saved.privacy.model_copy(update={"key": settings.privacy.key})
    encoder = saved.encoder.model_copy(
        update={
            "device": settings.encoder.device,
            "export_dir": settings.encoder.export_dir,
            "threads": settings.encoder.threads,
            "cache": settings.encoder.cache,
            "cache_dir": settings.encoder.cache_dir,
            "batch_size": settings.encoder.batch_size,
            "show_progress": settings.encoder.show_progress,
        }
    )
    # whether to search the blend again is the caller's choice, not the served model's
    recommend = saved.recommend.model_copy(update={"reuse_tuning": settings.recommend.reuse_tuning})
    return saved.model_copy(
        update={"text": text, "encoder": encoder, "privacy": privacy, "recommend": recommend}
    )


def refit_model(
    model_dir: Path,
    out: Path,
    settings: Settings,
    *,
    events_db: Path | None = None,
    show_progress: bool = False,
    encoder: Encoder | None = None,
    forget: Collection[str] = (),
    skip_bad_events: bool = False,
) -> RefitSummary:
    """Fit ``model_dir``'s data plus the stored log into ``out`` (written atomically; ``out``
    may be ``model_dir`` itself). ``events_db`` defaults to the service's store for
    ``model_dir``; a default store that does not exist means no stored entries."""
    started = time.perf_counter()
    model_dir = Path(model_dir).expanduser().resolve()
    out = check_destination(Path(out))
    manifest = verify_model_dir(model_dir)
    model_pseudonymizer(settings.privacy, manifest)  # the model's key, before any work
    db_path = Path(events_db).expanduser() if events_db is not None else None
    if db_path is not None and not db_path.exists():
        raise DataFileNotFoundError(
            f"events database {db_path} does not exist",
            expected="the SQLite file the service wrote (serve.events_db)",
            fix="check the --events-db path, or leave it out to use the default next to the "
            "model directory",
        )
    if db_path is None:
        candidate = events_path(model_dir, settings)
        db_path = candidate if candidate.exists() else None
    summary = RefitSummary(
        model_dir=str(model_dir), out=str(out), events_db=str(db_path) if db_path else None
    )
    store = EventStore(db_path) if db_path is not None else None
    try:
        dataset = build_refit_dataset(
            model_dir,
            store,
            summary,
            forget,
            limits=settings.limits,
            skip_bad_events=skip_bad_events,
        )
        store_id = store.store_id if store is not None else None
        # the refitted clusters keep the ids of the served ones (as the events had moved them)
        served = InterestLens.load(model_dir)
        previous = previous_for_refit(served, store, settings.drift)
    finally:
        if store is not None:
            store.close()

    saved = load_settings(model_dir / "config.toml", environ={})
    model = InterestLens(
        refit_settings(saved, settings), encoder=encoder, show_progress=show_progress
    ).fit(
        dataset,
        previous=previous,
        tuning_from=served,
        ids_are_pseudonyms=is_pseudonymized(manifest),
    )
    if model.identity_ is not None:
        summary.cluster_ids = {
            **model.identity_.kinds(),
            "users_kept_id": model.identity_.users_kept_id,
        }

    # save next to ``out``, add the folded-log record, then rename into place in one step
    out.parent.mkdir(parents=True, exist_ok=True)
    holder = Path(tempfile.mkdtemp(prefix=f".{out.name}.refit-", dir=out.parent))
    try:
        staged = model.save(holder / "model")
        if store_id is not None:
            write_json(
                staged / FOLDED_FILE,
                {
                    "store_id": store_id,
                    "folded_seq": summary.folded_seq,
                    "events_db": summary.events_db,
                },
            )
            update_checksums(staged, [FOLDED_FILE])
        replace_directory(staged, out)
    finally:
        shutil.rmtree(holder, ignore_errors=True)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary
