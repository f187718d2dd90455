"""Replaying the events log into a loaded model: what start and reload do after loading, and
how much of the log a refitted model already holds (``refit`` records it in the model)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interestlens.engine import RecommendationEngine
from interestlens.errors import InterestLensError
from interestlens.persist import read_json
from interestlens.serve.store import EVENT, FORGET, ITEM, EventStore, LogEntry

logger = logging.getLogger("interestlens.serve")

#: written into a model directory by ``refit``: which store and how much of its log it folded
FOLDED_FILE = "service_log.json"
#: replay problems kept for /health (the count is always exact)
MAX_REPORTED_PROBLEMS = 20


def folded_seq(model_dir: Path, store: EventStore) -> int:
    """How much of ``store``'s log a refitted model already holds (0 for other models)."""
    path = Path(model_dir) / FOLDED_FILE
    if not path.exists():
        return 0
    folded = read_json(path)
    if isinstance(folded, dict) and folded.get("store_id") == store.store_id:
        return int(folded.get("folded_seq", 0))
    return 0


@dataclass
class ReplayReport:
    """What a replay applied; entries the model cannot take (say an event on an item of another
    model) are counted and named, never dropped silently."""

    events: int = 0
    items: int = 0
    forgotten: int = 0
    skipped_folded: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)
    last_seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "items": self.items,
            "forgotten": self.forgotten,
            "already_in_model": self.skipped_folded,
            "failed": self.failed,
        }

    def fail(self, entry: LogEntry, error: InterestLensError) -> None:
        self.failed += 1
        logger.warning("log entry %d (%s) not replayed: %s", entry.seq, entry.kind, error)
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(f"seq {entry.seq} ({entry.kind}): {error}")


def replay(engine: RecommendationEngine, entries: Sequence[LogEntry], report: ReplayReport) -> None:
    """Apply log entries in order; consecutive events of one user go in one call."""
    batch: list[LogEntry] = []

    def flush() -> None:
        by_user: dict[str, list[LogEntry]] = {}
        for entry in batch:
            by_user.setdefault(str(entry.user_id), []).append(entry)
        for user_id, events in by_user.items():
            try:
                engine.add_events(
                    user_id,
                    [str(e.item_id) for e in events],
                    [e.rating for e in events],
                    [e.timestamp for e in events],
                )
                report.events += len(events)
            except InterestLensError:
                # one bad entry must not cost the user's other events: apply them one by one
                for event in events:
                    try:
                        engine.add_events(
                            user_id, [str(event.item_id)], [event.rating], [event.timestamp]
                        )
                        report.events += 1
                    except InterestLensError as exc:
                        report.fail(event, exc)
        batch.clear()

    for entry in entries:
        report.last_seq = max(report.last_seq, entry.seq)
        if entry.kind == EVENT:
            batch.append(entry)
            continue
        flush()
        try:
            if entry.kind == ITEM:
                engine.add_item(str(entry.item_id), str(entry.text))
                report.items += 1
            elif entry.kind == FORGET:
                engine.forget_user(str(entry.user_id))
                report.forgotten += 1
        except InterestLensError as exc:
            report.fail(entry, exc)
    flush()
