"""The service's state: one engine reference, the events store, and the rules that keep them
in step (store first, then apply; replay on start and reload; swap one reference).

Kept free of HTTP so that the same code runs under FastAPI, in tests and in ``refit``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from interestlens.config import Settings, load_settings
from interestlens.data.schema import ITEM_ID
from interestlens.embed import cache_path as embedding_cache_file
from interestlens.embed.base import Encoder
from interestlens.embed.cache import delete_cached_texts
from interestlens.engine import RecommendationEngine
from interestlens.errors import (
    InterestLensError,
    ModelFormatError,
    ParameterError,
    UnknownIdError,
)
from interestlens.privacy import Pseudonymizer, model_pseudonymizer
from interestlens.serve.replay import ReplayReport, folded_seq, replay
from interestlens.serve.response_cache import ResponseCache
from interestlens.serve.store import EVENT, ITEM, Event, EventStore, events_path
from interestlens.text import build_texts
from interestlens.timeline.service import (
    AdaptiveModel,
    align_on_reload,
    follow_events,
    restore_adaptive,
)

logger = logging.getLogger("interestlens.serve")
T = TypeVar("T")


class ReloadRefusedError(InterestLensError):
    """A reload named a directory outside the models root (HTTP 403)."""

    status_code = 403


@dataclass(frozen=True)
class Served:
    """What one request works with: an engine and its response cache, swapped together."""

    engine: RecommendationEngine
    responses: ResponseCache


class Service:
    """One served model plus its durable log. Reads use :attr:`engine` (one reference, swapped
    atomically by :meth:`reload`); mutations hold :attr:`lock` so the log order is the order in
    which the engine saw them."""

    def __init__(
        self,
        model_dir: Path,
        settings: Settings,
        *,
        encoder: Encoder | None = None,
        run_id: str | None = None,
    ):
        self.model_dir = Path(model_dir).expanduser().resolve()
        #: the ``interestlens serve`` run this process serves in, shared by its worker
        #: processes (None: a process of its own); reloads are recorded under it
        self.run_id = run_id
        #: follow the store before each request: other processes write to it
        self.follows_log = settings.serve.workers > 1
        self.settings = settings
        root = settings.serve.models_root
        self.models_root = Path(root).expanduser().resolve() if root else self.model_dir.parent
        self.encoder = encoder
        self.lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self.store = EventStore(events_path(self.model_dir, settings))
        self.reloads = 0
        self.loaded_at = 0.0
        self.last_replay = ReplayReport()
        self.served: Served | None = None
        # one thread for text scoring: the engine serialises it anyway, and torch runs faster
        # (and keeps its per-thread state warm) when one thread does all its work
        self._scoring = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring")
        self.model_settings: Settings = settings
        self._rerank_lock = threading.Lock()
        self._rerank_wanted = False
        self._rerank_thread: threading.Thread | None = None
        #: centroids following the events between refits (None when drift.adaptive is off)
        self.adaptive: AdaptiveModel | None = None
        self.pseudonymizer: Pseudonymizer | None = None
        # the log this process has applied: every entry up to _applied_seq, and the later
        # ones in _own_seqs (posted here, applied as they were stored)
        self._applied_seq = 0
        self._own_seqs: set[int] = set()
        self._data_version: int | None = None
        self._generation = 0
        self._reloading: threading.Thread | None = None

    def user_key(self, user_id: str) -> str:
        """The id the model and the store hold for a client's raw user id (its pseudonym when
        the model is pseudonymized)."""
        return user_id if self.pseudonymizer is None else self.pseudonymizer.pseudonym(user_id)

    def served_now(self) -> Served:
        """The engine and response cache now served (a reload swaps both at once)."""
        if self.served is None:
            raise RuntimeError("the service is not started: call start() first")
        return self.served

    @property
    def engine(self) -> RecommendationEngine:
        return self.served_now().engine

    # --- loading ------------------------------------------------------------------------------

    def _load(self, model_dir: Path) -> tuple[RecommendationEngine, Settings, ReplayReport]:
        """A new engine with the log replayed up to now (all but the newest few entries)."""
        engine = RecommendationEngine.load(
            model_dir,
            settings=self.settings,
            encoder=self.encoder,
            mmap=self.settings.serve.memory_map,
        )
        current = self.served.engine if self.served is not None else None
        engine = align_on_reload(engine, current, self.adaptive, self.settings.drift)
        model_settings = load_settings(model_dir / "config.toml", environ={})
        report = ReplayReport()
        report.skipped_folded = folded_seq(model_dir, self.store)
        report.last_seq = report.skipped_folded
        replay(engine, self.store.entries(after=report.skipped_folded), report)
        if self.settings.serve.precompute:
            engine.precompute()
        return engine, model_settings, report

    def start(self) -> None:
        if self.run_id is not None:
            # a worker (re)started after a reload serves what the other workers serve
            self._generation, reloaded = self.store.reload_record(self.run_id)
            if reloaded is not None:
                if not Path(reloaded).is_dir():
                    # serving the directory it was started with would split the workers
                    # between two models
                    raise ModelFormatError(
                        f"the other workers of this server serve {reloaded} (a reload recorded "
                        "in the events store), which no longer exists",
                        expected="the model directory the other workers were reloaded to",
                        fix="restore that directory, or restart the whole server (every "
                        "worker) on the model to serve",
                    )
                self.model_dir = Path(reloaded)
        engine, model_settings, report = self._load(self.model_dir)
        with self.lock:
            replay(engine, self.store.entries(after=report.last_seq), report)
            self._install(engine, model_settings, report, self.model_dir)

    def reload_target(self, model_dir: str | Path | None) -> Path:
        """The directory a reload may load: ``model_dir`` (relative paths read from the models
        root) resolved, links followed, and inside :attr:`models_root`; anything else is
        refused without saying whether the path exists."""
        if model_dir is None or str(model_dir) == "":
            return self.model_dir
        text = str(model_dir)
        if "\x00" in text or not text.isprintable():
            raise ParameterError(
                "model_dir contains a NUL byte or a control character",
                expected="a directory path of printable characters",
                fix="send the path of a model directory under the models root",
            )
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self.models_root / path
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a loop of links, a name too long
            resolved = None
        if resolved is None or not resolved.is_relative_to(self.models_root):
            raise ReloadRefusedError(
                f"model_dir {text[:200]!r} is not under the models root",
                expected="a model directory under serve.models_root (default: the folder "
                "holding the served model)",
                fix="put the new model under the models root, or set serve.models_root",
            )
        return resolved

    def reload(
        self, model_dir: str | Path | None = None, *, generation: int | None = None
    ) -> dict[str, Any]:
        """Load ``model_dir`` (default: the current one), replay the log, swap. Requests in
        flight finish on the old engine; a model that fails to load, for any reason, leaves
        the old in place and raises an :class:`InterestLensError` saying why. With several
        workers the reload is recorded in the store for the others to follow (``generation``:
        this is such a follow-up, of that recorded reload)."""
        started = time.perf_counter()
        with self._reload_lock:
            target = self.reload_target(model_dir)
            try:
                engine, model_settings, report = self._load(target)
            except InterestLensError:
                raise
            except Exception as exc:  # the old model stays; the caller gets the reason
                logger.exception("reload of %s failed", target)
                raise ModelFormatError(
                    f"the model in {target} cannot be served ({type(exc).__name__}: "
                    f"{str(exc)[:300]})",
                    expected="a model directory written by 'interestlens fit'",
                    fix="fit the model again; the service keeps the model it had",
                ) from None
            with self.lock:
                # entries posted while the new model loaded
                replay(engine, self.store.entries(after=report.last_seq), report)
                self._install(engine, model_settings, report, target)
                self.reloads += 1
                if self.run_id is not None and generation is None:
                    self._generation = self.store.record_reload(self.run_id, str(target))
                elif generation is not None:
                    self._generation = generation
        return {
            "model_dir": str(target),
            "replayed": report.to_dict(),
            "seconds": round(time.perf_counter() - started, 3),
            "n_users": len(engine.user_ids),
            "n_items": engine.n_items,
        }

    def _install(
        self,
        engine: RecommendationEngine,
        model_settings: Settings,
        report: ReplayReport,
        model_dir: Path,
    ) -> None:
        # a pseudonymized model needs the key (checked against its fingerprint) before it serves
        pseudonymizer = model_pseudonymizer(self.settings.privacy, engine.manifest)
        self.served = Served(
            engine, ResponseCache(max_bytes=self.settings.serve.response_cache_bytes)
        )
        self.adaptive = restore_adaptive(engine, self.store, self.settings.drift)
        self.pseudonymizer = pseudonymizer
        self.model_settings = model_settings
        self.model_dir = model_dir
        self.last_replay = report
        self.loaded_at = time.time()
        self._applied_seq = report.last_seq
        self._own_seqs.clear()

    async def run_scoring(self, call: Callable[[], T]) -> T:
        """Run ``call`` (which embeds text) on the one scoring thread, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._scoring, call)

    def close(self) -> None:
        self._scoring.shutdown(wait=False, cancel_futures=True)
        self.store.close()

    # --- several workers on one store -------------------------------------------------------

    def follow_log(self) -> int:
        """Apply what other processes stored since this one last looked (worker processes of
        one service share the events store); the number of entries applied.

        Cheap when nothing changed (one ``PRAGMA data_version``). Entries are applied in log
        order, skipping this process's own posts, which were applied when they were stored. A
        reload recorded by another worker starts here, on a thread of its own: requests go on
        with the current model until the new one is swapped in.
        """
        version = self.store.data_version()
        if version == self._data_version:
            return 0
        return self._follow(version)

    def log_changed(self) -> bool:
        """Whether anything was committed to the store since :meth:`follow_log` last looked."""
        return self.store.data_version() != self._data_version

    def _follow(self, version: int) -> int:
        if self.run_id is not None:
            generation, target = self.store.reload_record(self.run_id)
            if generation > self._generation and target is not None:
                self._follow_reload(generation, target)
        with self.lock:
            self._data_version = version
            entries = self.store.entries(after=self._applied_seq)
            if not entries:
                return 0
            theirs = [entry for entry in entries if entry.seq not in self._own_seqs]
            served = self.served_now()
            report = ReplayReport()
            replay(served.engine, theirs, report)
            if any(entry.kind != EVENT for entry in theirs):
                served.responses.clear()
            else:
                for user in {str(entry.user_id) for entry in theirs}:
                    served.responses.invalidate_user(user)
            # entries become visible in seq order, so everything up to the last one is applied
            self._applied_seq = entries[-1].seq
            self._own_seqs = {seq for seq in self._own_seqs if seq > self._applied_seq}
        if any(entry.kind == ITEM for entry in theirs) and self.settings.serve.precompute:
            self._rerank_soon()
        return len(theirs)

    def _follow_reload(self, generation: int, target: str) -> None:
        if self._reloading is not None and self._reloading.is_alive():
            return

        def run() -> None:
            try:
                self.reload(target, generation=generation)
            except InterestLensError as exc:  # the worker keeps its model, and says why
                logger.error("following the reload to %s failed: %s", target, exc)
                self._generation = generation

        self._reloading = threading.Thread(target=run, name="follow-reload", daemon=True)
        self._reloading.start()

    # --- mutations (store, COMMIT, then apply) ------------------------------------------------

    def add_events(self, events: Sequence[Event]) -> list[int]:
        stamped = [
            Event(
                self.user_key(e.user_id),
                e.item_id,
                e.rating,
                e.timestamp if e.timestamp is not None else time.time(),
            )
            for e in events
        ]
        with self.lock:
            served = self.served_now()
            engine, responses = served.engine, served.responses
            unknown = list(
                dict.fromkeys(e.item_id for e in stamped if not engine.has_item(e.item_id))
            )
            if unknown:
                shown = ", ".join(repr(i) for i in unknown[:5])
                raise UnknownIdError(
                    f"{len(unknown)} item id{'s' if len(unknown) > 1 else ''} not in the model: "
                    f"{shown}{' …' if len(unknown) > 5 else ''}",
                    expected=f"ids of items the model knows ({engine.n_items} items)",
                    fix="post the item first (POST /items) or check the id; nothing was stored",
                )
            # every value checked before anything is stored: what is acknowledged can always
            # be replayed, scored and refitted
            for event in stamped:
                engine.check_event(event.user_id, event.item_id, event.rating, event.timestamp)
            seqs = self.store.append_events(stamped)
            self._own_seqs.update(seqs)
            by_user: dict[str, list[Event]] = {}
            for event in stamped:
                by_user.setdefault(event.user_id, []).append(event)
            for user_id, user_events in by_user.items():
                engine.add_events(
                    user_id,
                    [e.item_id for e in user_events],
                    [e.rating for e in user_events],
                    [e.timestamp for e in user_events],
                )
                responses.invalidate_user(user_id)
            if self.adaptive is not None:
                latest = max(float(e.timestamp) for e in stamped)
                follow_events(self.adaptive, engine, self.store, list(by_user), latest, seqs[-1])
        return seqs

    def item_text(self, item_id: str, fields: dict[str, Any]) -> str:
        """Fields turned into text the way the model's items were (its text settings)."""
        text_settings = self.model_settings.text
        frame = pd.DataFrame([{ITEM_ID: item_id, **{str(k): v for k, v in fields.items()}}])
        return build_texts(
            frame,
            id_col=ITEM_ID,
            columns=text_settings.item_columns,
            template=text_settings.item_template,
        )[0]

    def add_item(self, item_id: str, text: str, title: str | None) -> int:
        with self.lock:
            served = self.served_now()
            engine = served.engine
            engine.check_new_item(item_id, text)  # refused before anything is stored
            # embed before storing: an encoder failure then stores nothing (the engine's
            # encoder remembers recent texts, so add_item does not encode twice)
            engine.encoder().encode([text])
            seq = self.store.append_item(item_id, text, title)
            self._own_seqs.add(seq)
            engine.add_item(item_id, text)
            served.responses.clear()
        if self.settings.serve.precompute:
            self._rerank_soon()
        return seq

    def _rerank_soon(self) -> None:
        """Rank the known users' lists again on one background thread (in batches, each
        holding the engine lock briefly), so reads after a new item find them ready instead
        of scoring one user per request."""
        with self._rerank_lock:
            self._rerank_wanted = True
            if self._rerank_thread is not None and self._rerank_thread.is_alive():
                return
            self._rerank_thread = threading.Thread(target=self._rerank, name="rerank", daemon=True)
            self._rerank_thread.start()

    def _rerank(self) -> None:
        while True:
            with self._rerank_lock:
                if not self._rerank_wanted:
                    return
                self._rerank_wanted = False
            try:
                self.engine.precompute()
            except InterestLensError as exc:  # the lists are then ranked per request
                logger.warning("ranking the lists again after a new item failed: %s", exc)

    def forget_user(self, user_id: str) -> tuple[bool, int]:
        raw_id, user_id = user_id, self.user_key(user_id)
        with self.lock:
            served = self.served_now()
            engine = served.engine
            if not engine.has_user(user_id):
                raise UnknownIdError(
                    f"unknown user id {raw_id!r}",
                    expected="a user the model knows",
                    fix="check the id; nothing was deleted",
                )
            index = engine.user_ids.get(user_id)
            text = engine.user_texts[index] if index < len(engine.user_texts) else ""
            deleted, seq = self.store.forget_user_logged(user_id)
            self._own_seqs.add(seq)
            forgotten = engine.forget_user(user_id)
            served.responses.invalidate_user(user_id)
        if text.strip() and self.settings.encoder.cache:
            delete_cached_texts(embedding_cache_file(self.settings.encoder), [text])
        return forgotten, deleted
