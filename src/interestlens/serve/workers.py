"""Several worker processes on one port (``serve.workers``): uvicorn's process manager starts
them, each builds its application with :func:`create_worker_app`.

Each worker loads the model itself; the large read-only arrays are memory-mapped, so the
workers share their pages instead of holding a copy each (docs/service.md gives the memory
measured). The workers share the events store: a worker applies what the others stored
before its next request (:meth:`Service.follow_log`), and a reload one worker performs is
recorded in the store for the others to follow. The workers' settings and the run's id reach
them in one environment variable written by :func:`worker_environment`; nothing else is read
from the environment.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from fastapi import FastAPI

from interestlens.config import Settings, settings_to_dict
from interestlens.errors import ConfigError, ParameterError
from interestlens.serve.app import create_app

#: the environment variable the parent writes and each worker reads (not an INTERESTLENS_
#: setting: it carries the whole resolved configuration)
WORKER_CONFIG = "_INTERESTLENS_SERVE_WORKER"


def check_workers(settings: Settings) -> None:
    """Refuse combinations several workers cannot serve consistently."""
    if settings.serve.workers > 1 and settings.drift.adaptive:
        raise ParameterError(
            f"serve.workers={settings.serve.workers} with drift.adaptive = true",
            expected="one worker when the cluster centroids follow the events (each worker "
            "would move its own centroids)",
            fix="set drift.adaptive = false (INTERESTLENS_DRIFT__ADAPTIVE=false) to serve with "
            "several workers, or serve.workers = 1",
        )


def worker_environment(model_dir: Path, settings: Settings) -> dict[str, str]:
    """The variable that tells each worker what to serve, with a fresh run id."""
    payload = {
        "model_dir": str(Path(model_dir).expanduser().resolve()),
        "settings": settings_to_dict(settings, include_secrets=True),
        "run_id": uuid.uuid4().hex,
    }
    return {WORKER_CONFIG: json.dumps(payload)}


def create_worker_app() -> FastAPI:
    """The application of one worker (uvicorn's ``factory``), from :data:`WORKER_CONFIG`."""
    raw = os.environ.get(WORKER_CONFIG)
    if not raw:
        raise ConfigError(
            f"{WORKER_CONFIG} is not set",
            expected="a worker started by 'interestlens serve' with serve.workers > 1",
            fix="start the service with 'interestlens serve --workers N'",
        )
    try:
        payload = json.loads(raw)
        settings = Settings.model_validate(payload["settings"])
        model_dir, run_id = str(payload["model_dir"]), str(payload["run_id"])
    except (ValueError, KeyError, TypeError) as exc:  # pydantic's ValidationError included
        raise ConfigError(
            f"{WORKER_CONFIG} holds {raw[:80]!r}, which is not a worker configuration "
            f"({type(exc).__name__})",
            expected="the JSON object 'interestlens serve' writes for its workers",
            fix="start the service with 'interestlens serve --workers N'; do not set "
            f"{WORKER_CONFIG} yourself",
        ) from None
    return create_app(model_dir, settings, run_id=run_id)
