"""Helpers for tests and benchmarks of the service: a small fitted demo model, the server in a
subprocess or in a thread on a free loopback port, and an encoder that holds a request at a
chosen point (to test what happens while it is in flight, without timing)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn
from fastapi import FastAPI

from interestlens.config import Settings, load_settings
from interestlens.data.synthetic import make_demo_dataset
from interestlens.embed.base import Encoder
from interestlens.errors import InterestLensError
from interestlens.pipeline import InterestLens
from interestlens.serve.server import JsonErrorProtocol

#: a key for tests and benchmarks only
TEST_API_KEY = "test-key-not-secret"


def demo_settings(cache_dir: Path, **overrides: Any) -> Settings:
    """Fast settings for a demo model: hashing encoder, no tuning, no stability runs."""
    values: dict[str, Any] = {
        "encoder.kind": "hashing",
        "encoder.cache": False,
        "encoder.cache_dir": cache_dir,
        "encoder.show_progress": False,
        "recommend.tune": False,
        "cluster.k": 4,
        "cluster.stability_runs": 0,
    }
    values.update(overrides)
    return load_settings(environ={}, overrides=values)


def build_demo_model(
    directory: Path,
    *,
    n_items: int = 120,
    n_users: int = 150,
    n_themes: int = 4,
    seed: int = 0,
    settings: Settings | None = None,
) -> Path:
    """Fit and save a demo model into ``directory`` (reused when it holds one already)."""
    directory = Path(directory)
    if (directory / "manifest.json").exists():
        return directory
    dataset, _ = make_demo_dataset(seed=seed, n_items=n_items, n_users=n_users, n_themes=n_themes)
    settings = settings or demo_settings(directory.parent / "cache")
    return InterestLens(settings).fit(dataset).save(directory)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m interestlens.serve`` in a subprocess; ``start()`` waits for /health."""

    def __init__(
        self,
        model_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        log_path: Path | None = None,
        startup_timeout: float = 120.0,
    ):
        self.model_dir = Path(model_dir)
        self.port = port or free_port()
        self.env = dict(env or {})
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INTERESTLENS_")}
        env.update(self.env)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "interestlens.serve",
                "--model",
                str(self.model_dir),
                "--port",
                str(self.port),
            ],
            env=env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise InterestLensError(
                    f"the server exited with code {self.process.returncode} while starting",
                    expected="a server answering /health",
                    fix=f"read its log ({self.log_path})",
                )
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass  # not listening yet
            time.sleep(0.1)
        self.stop()
        raise InterestLensError(
            f"the server did not answer /health within {self.startup_timeout:.0f} s",
            expected="a server that starts",
            fix=f"read its log ({self.log_path})",
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ThreadedServer:
    """``app`` under uvicorn (httptools, real sockets) in a thread of this process: the real
    server, with the app's doubles (say a :class:`GatedEncoder`) reachable from the test."""

    def __init__(self, app: FastAPI, *, port: int | None = None, startup_timeout: float = 120.0):
        self.app = app
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            http=JsonErrorProtocol,
            access_log=False,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="uvicorn", daemon=True)
        self.exit_code: int | str | None = None

    def _run(self) -> None:
        try:
            self.server.run()
        except SystemExit as exc:  # uvicorn exits with 3 when the app's lifespan fails
            self.exit_code = exc.code

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise InterestLensError(
                    f"the server stopped while starting (exit code {self.exit_code})",
                    expected="a server answering requests",
                    fix="read the log above (the app's lifespan failed)",
                )
            if time.monotonic() > deadline:
                self.stop()
                raise InterestLensError(
                    f"the server did not start within {self.startup_timeout:.0f} s",
                    expected="a server that starts",
                    fix="read the log above",
                )
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class GatedEncoder:
    """Wraps ``inner``; once :meth:`arm` is called, the next ``encode`` of a batch holding
    ``text`` waits until :meth:`release` (at most ``timeout`` seconds, then raises
    ``TimeoutError``). Calls before arming, and after the held one, pass straight through.

    It holds a request or a reload at a known point: a cold start whose text is ``text`` is in
    flight once :attr:`entered` is set, and stays so until the test releases it.
    """

    def __init__(self, inner: Encoder, text: str, *, timeout: float = 60.0):
        self.inner = inner
        self.text = text
        self.timeout = timeout
        self.entered = threading.Event()
        self.released = threading.Event()
        self._armed = False
        self._lock = threading.Lock()

    @property
    def identifier(self) -> str:
        return self.inner.identifier

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.count_tokens(texts)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        if self.text in texts:
            with self._lock:
                hold, self._armed = self._armed, False
            if hold:
                self.entered.set()
                if not self.released.wait(self.timeout):
                    raise TimeoutError(f"GatedEncoder was not released within {self.timeout} s")
        return self.inner.encode(texts, batch_size=batch_size, show_progress=show_progress)

    def arm(self) -> None:
        """Hold the next encode of :attr:`text`."""
        with self._lock:
            self._armed = True

    def wait_entered(self, timeout: float = 60.0) -> None:
        """Block until the armed call is held; ``TimeoutError`` if it never comes."""
        if not self.entered.wait(timeout):
            raise TimeoutError(f"no encode of {self.text!r} reached the gate within {timeout} s")

    def release(self) -> None:
        self.released.set()
