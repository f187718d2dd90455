"""``interestlens serve``: the app under uvicorn (httptools, and uvloop where installed)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from interestlens.config import Settings
from interestlens.engine.ranker import default_threads
from interestlens.model_dir import verify_model_dir
from interestlens.serve.app import create_app
from interestlens.serve.errors import InvalidRequestError, error_body
from interestlens.serve.jsonio import dumps
from interestlens.serve.workers import check_workers, worker_environment


def fastest_loop_and_parser() -> tuple[str, str]:
    """uvloop (several times faster than asyncio's loop; not on Windows) and httptools (a
    dependency: faster than h11)."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return loop, "httptools"


class JsonErrorProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose parser-level 400 (a request line or headers past the
    parser's limit, about 80 kB, or bytes that are no HTTP) answers the service's JSON error
    shape instead of plain text."""

    def send_400_response(self, msg: str) -> None:
        error = InvalidRequestError(
            f"the HTTP request could not be parsed ({msg.rstrip('.')})",
            expected="a well-formed HTTP/1.1 request whose URL and headers stay under about 80 kB",
            fix="send long id lists in a POST body (e.g. POST /recommendations) instead of the URL",
        )
        body = dumps(error_body(error))
        head = (
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
            b"connection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        self.transport.close()


def single_thread_torch() -> None:
    """One intra-op thread for torch in the server process.

    Measured on 2 cores: with torch's default (one OpenMP thread per core) a one-text MiniLM
    encode took ~500 ms in the thread that first used the model and ~30 ms elsewhere; with one
    thread it takes 20-35 ms in every thread. A request embeds one short text, which gains
    nothing from a second thread, and the event loop needs the other core anyway.
    """
    if importlib.util.find_spec("torch") is None:
        return
    import torch

    torch.set_num_threads(1)


def one_encoder_thread(settings: Settings, encoder_id: str) -> Settings:
    """One encoder thread in the server (see :func:`single_thread_torch`), for whichever
    backend the model was fitted with; torch is not imported for an ONNX model."""
    if not encoder_id.startswith("onnx:"):
        single_thread_torch()
        return settings
    if settings.encoder.threads is not None:
        return settings
    encoder = settings.encoder.model_copy(update={"threads": 1})
    return settings.model_copy(update={"encoder": encoder})


def share_scoring_threads(settings: Settings) -> Settings:
    """With several workers and ``recommend.threads`` unset, each worker ranks on its share of
    the cores (at least one thread): the workers rank at the same time at start-up, and one
    thread per core in each would only make them take turns."""
    workers = settings.serve.workers
    if workers <= 1 or settings.recommend.threads is not None:
        return settings
    recommend = settings.recommend.model_copy(
        update={"threads": max(1, default_threads() // workers)}
    )
    return settings.model_copy(update={"recommend": recommend})


def run_server(model_dir: Path, settings: Settings) -> None:
    """Serve ``model_dir`` on ``settings.serve.host:port`` until interrupted: one process, or
    ``serve.workers`` processes on the same port (:mod:`.workers`)."""
    # fail with the model's own error before uvicorn starts and logs a traceback
    manifest = verify_model_dir(Path(model_dir).expanduser())
    settings = one_encoder_thread(settings, str(manifest.get("encoder", "")))
    check_workers(settings)
    settings = share_scoring_threads(settings)
    loop, _ = fastest_loop_and_parser()
    options: dict[str, Any] = {
        "host": settings.serve.host,
        "port": settings.serve.port,
        "loop": loop,
        "http": JsonErrorProtocol,
        # one line per request costs more than the request itself on the hot path
        "access_log": False,
        "log_level": "info",
        "timeout_graceful_shutdown": 10,
    }
    if settings.serve.workers == 1:
        uvicorn.run(create_app(model_dir, settings), **options)
        return
    # the workers are spawned processes: they inherit the environment, not Python objects
    os.environ.update(worker_environment(Path(model_dir), settings))
    uvicorn.run(
        "interestlens.serve.workers:create_worker_app",
        factory=True,
        workers=settings.serve.workers,
        **options,
    )
