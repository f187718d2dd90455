"""Helpers for tests and benchmarks of the service: a small fitted demo model, and the server
in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from interestlens.config import Settings, load_settings
from interestlens.data.synthetic import make_demo_dataset
from interestlens.errors import InterestLensError
from interestlens.pipeline import InterestLens

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
