"""The HTTP service: ``create_app`` (FastAPI), ``run_server`` (uvicorn), ``refit_model``.

See docs/service.md for endpoints, authentication, limits and durability.
"""

from interestlens.serve.app import create_app
from interestlens.serve.refit import RefitSummary, refit_model
from interestlens.serve.server import run_server
from interestlens.serve.store import EventStore, default_events_path

__all__ = [
    "EventStore",
    "RefitSummary",
    "create_app",
    "default_events_path",
    "refit_model",
    "run_server",
]
