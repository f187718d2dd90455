"""The catalogue of damaged model directories, shared by the tests (test_reliability.py) and
the reliability report (scripts/reliability_report.py).

Each mutation takes a copy of a good model directory and damages it the way a crash, a
careless copy or a crafted upload would; loading it must raise one ModelFormatError (a 409 at
/admin/reload, exit 2 at the CLI), never a traceback, an "aborted" or a model that loads and
fails later.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def _edit_json(path: Path, edit: Callable[[dict], object]) -> None:
    data = json.loads(path.read_text())
    result = edit(data)  # None: edited in place; else the replacement
    path.write_text(json.dumps(data if result is None else result))


def _npy_with_header(path: Path, shape: tuple[int, ...], dtype: str = "<f4") -> None:
    """A .npy whose header claims ``shape`` over a few bytes of data."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    path.write_bytes(buffer.getvalue() + b"\0" * 64)


def _save(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as handle:
        np.save(handle, array, allow_pickle=False)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


MODEL_MUTATIONS: dict[str, Callable[[Path], None]] = {
    "manifest missing": lambda d: (d / "manifest.json").unlink(),
    "manifest is a directory": lambda d: (
        (d / "manifest.json").unlink(),
        (d / "manifest.json").mkdir(),
    ),
    "manifest nested 100000 deep": lambda d: (d / "manifest.json").write_text(_nested(100_000)),
    "manifest not JSON": lambda d: (d / "manifest.json").write_bytes(b"\xff\xfe{"),
    "manifest key missing (encoder)": lambda d: _edit_json(
        d / "manifest.json", lambda m: (m.pop("encoder"), None)[1]
    ),
    "manifest n_items not a number": lambda d: _edit_json(
        d / "manifest.json", lambda m: m.update(n_items="many")
    ),
    "manifest dimension wrong": lambda d: _edit_json(
        d / "manifest.json", lambda m: m.update(dimension=17)
    ),
    "manifest lead_weight absurd": lambda d: _edit_json(
        d / "manifest.json", lambda m: m["represent"].update(lead_weight=1e300)
    ),
    "item_ids not a list": lambda d: (d / "item_ids.json").write_text('{"a": 1}'),
    "item_ids repeated": lambda d: _edit_json(d / "item_ids.json", lambda ids: [ids[0]] * len(ids)),
    "user_vectors 0 bytes": lambda d: (d / "user_vectors.npy").write_bytes(b""),
    "user_vectors is an npz": lambda d: shutil.copy(
        d / "recommender" / "interactions.npz", d / "user_vectors.npy"
    ),
    "user_vectors truncated": lambda d: (d / "user_vectors.npy").write_bytes(
        (d / "user_vectors.npy").read_bytes()[:200]
    ),
    "user_vectors terabyte header": lambda d: _npy_with_header(
        d / "user_vectors.npy", (10**7, 10**6)
    ),
    "user_vectors shape not a number": lambda d: (d / "user_vectors.npy").write_bytes(
        (d / "user_vectors.npy").read_bytes().replace(b"'shape': (", b"'shape': ('x', ", 1)
    ),
    "user_vectors wrong width": lambda d: _save(
        d / "user_vectors.npy",
        np.zeros((len(json.loads((d / "user_ids.json").read_text())), 17), np.float32),
    ),
    "item_vectors NaN": lambda d: _save(
        d / "item_vectors.npy",
        np.full(np.load(d / "item_vectors.npy").shape, np.nan, np.float32),
    ),
    "item_vectors object dtype": lambda d: (d / "item_vectors.npy").write_bytes(
        b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"
        + b" " * 53
        + b"\n"
    ),
    "user_vectors a symlink to /etc/passwd": lambda d: (
        (d / "user_vectors.npy").unlink(),
        (d / "user_vectors.npy").symlink_to("/etc/passwd"),
    ),
    "user_vectors a directory": lambda d: (
        (d / "user_vectors.npy").unlink(),
        (d / "user_vectors.npy").mkdir(),
    ),
    "user_clusters float": lambda d: _save(
        d / "user_clusters.npy", np.load(d / "user_clusters.npy").astype(np.float32)
    ),
    "user_clusters a label of 1e12": lambda d: _save(
        d / "user_clusters.npy",
        np.full(np.load(d / "user_clusters.npy").shape, 10**12, np.int64),
    ),
    "items.parquet garbage": lambda d: (d / "items.parquet").write_bytes(b"PAR1garbagePAR1"),
    "users.parquet missing": lambda d: (d / "users.parquet").unlink(),
    "interactions index out of range": lambda d: _shift_interactions(d),
    "config.toml bad value": lambda d: (d / "config.toml").write_text(
        (d / "config.toml").read_text() + "\nseed = 'x'\n"
    ),
    "explanations.json a list of numbers": lambda d: (d / "explanations.json").write_text(
        "[1, 2, 3]"
    ),
    "clustering result missing key": lambda d: _edit_json(
        d / "clustering" / "result.json", lambda r: r.clear()
    ),
    "recommender manifest missing shapes": lambda d: _edit_json(
        d / "recommender" / "recommender.json", lambda m: (m.pop("shapes"), None)[1]
    ),
    "recommender shape not a number": lambda d: _edit_json(
        d / "recommender" / "recommender.json",
        lambda m: m["shapes"].update(n_items="120"),
    ),
    "recommender factors terabyte header": lambda d: _npy_with_header(
        d / "recommender" / "factors.npy", (10**8, 10**5)
    ),
    "recommender cluster_labels a label of 1e12": lambda d: _save(
        d / "recommender" / "cluster_labels.npy",
        np.full(np.load(d / "recommender" / "cluster_labels.npy").shape, 10**12, np.int64),
    ),
    "recommender weighted.npz renamed": lambda d: shutil.copy(
        d / "recommender" / "factors.npy", d / "recommender" / "weighted.npz"
    ),
    "recommender interactions indices out of range": lambda d: _damage_csr(
        d / "recommender" / "interactions.npz"
    ),
    "recommender text width differs": lambda d: _edit_json(
        d / "recommender" / "recommender.json",
        lambda m: m["shapes"].update(text_dimension=17),
    ),
    "recommender vocabulary 0 bytes": lambda d: (
        d / "recommender" / "text_vocabulary.json"
    ).write_bytes(b""),
    # passes every structural check: only checksums.json tells
    "item_vectors one bit flipped mid-payload": lambda d: _flip_mid_payload(d / "item_vectors.npy"),
    "checksums.json not JSON": lambda d: (d / "checksums.json").write_text("{not json"),
}


def _flip_mid_payload(path: Path) -> None:
    """The lowest bit of a float32 in the middle of the array: still finite, header intact."""
    data = bytearray(path.read_bytes())
    with path.open("rb") as handle:
        np.lib.format.read_magic(handle)
        np.lib.format.read_array_header_1_0(handle)
        start = handle.tell()
    data[start + (len(data) - start) // 8 * 4] ^= 0x01
    path.write_bytes(bytes(data))


def _shift_interactions(directory: Path) -> None:
    import pandas as pd

    path = directory / "interactions.parquet"
    frame = pd.read_parquet(path)
    frame["item_index"] = frame["item_index"] + 10**6
    frame.to_parquet(path, index=False)


def _damage_csr(path: Path) -> None:
    with np.load(path, allow_pickle=False) as archive:
        parts = {name: archive[name] for name in archive.files}
    parts["indices"] = parts["indices"] + 10**6
    with path.open("wb") as handle:
        np.savez(handle, **parts)


def mutated_copy(good: Path, destination: Path, name: str) -> Path:
    """A copy of ``good`` at ``destination`` damaged by the mutation ``name``."""
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(good, destination, symlinks=True)
    MODEL_MUTATIONS[name](destination)
    return destination


# --- the catalogue of cases run by the tests and by scripts/reliability_report.py -------------


@dataclass
class Outcome:
    """What one case observed. ``examples``: requests or inputs tried (fuzz cases try many)."""

    answer: str
    message: str = ""
    ok: bool = True
    examples: int = 1
    server_errors: int = 0
    tracebacks: int = 0
    acknowledged: int = 0
    lost: int = 0


@dataclass
class Case:
    group: str
    name: str
    expected: str
    run: Callable[[Bench], Outcome]


class Bench:
    """What cases share: a good model directory, a scratch folder, one service app."""

    def __init__(self, good: Path, work: Path):
        self.good = good
        self.work = work
        self._client: Any = None
        self._stack = contextlib.ExitStack()
        self.acknowledged: dict[int, tuple[str, str]] = {}  # seq -> (user, item)

    def settings(self, **serve: Any) -> Any:
        from interestlens.serve.testing import TEST_API_KEY, demo_settings

        values = {
            "serve.events_db": str(self.work / "events.sqlite"),
            "serve.api_key": TEST_API_KEY,
        }
        values.update({f"serve.{k}": v for k, v in serve.items()})
        return demo_settings(self.work / "cache", **values)

    @property
    def client(self) -> Any:
        if self._client is None:
            from fastapi.testclient import TestClient

            from interestlens.serve import create_app

            app = create_app(self.good, self.settings())
            self._client = self._stack.enter_context(TestClient(app, raise_server_exceptions=False))
        return self._client

    def scratch(self, name: str) -> Path:
        path = self.work / "scratch" / name.replace(" ", "-").replace("/", "-")
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def close(self) -> None:
        self._stack.close()

    def lost_events(self) -> int:
        """Acknowledged events (seq, user, item) missing from the store."""
        from interestlens.serve import EventStore

        with EventStore(self.work / "events.sqlite") as store:
            stored = {e.seq: (e.user_id, e.item_id) for e in store.entries() if e.kind == "event"}
        return sum(1 for seq, pair in self.acknowledged.items() if stored.get(seq) != pair)


KEY = {"X-API-Key": "test-key-not-secret"}
ERROR_FIELDS = {"type", "problem", "expected", "fix"}


def http_outcome(response: Any, allowed: set[int], bench: Bench | None = None) -> Outcome:
    """``response`` judged: its status is one of ``allowed``, an error has the JSON shape."""
    status = response.status_code
    message = ""
    shaped = True
    if status >= 400:
        try:
            error = response.json()["error"]
            message = error.get("message") or error.get("problem", "")
            shaped = set(error) >= ERROR_FIELDS
        except (ValueError, KeyError, TypeError):
            shaped = False
            message = response.text[:200]
    elif bench is not None and status == 201 and "seq" in response.text:
        return Outcome(str(status), ok=status in allowed)
    return Outcome(
        str(status),
        message,
        ok=status in allowed and shaped,
        server_errors=int(status >= 500),
        tracebacks=int("Traceback" in response.text),
    )


def post_events(bench: Bench, body: Any, allowed: set[int], path: str = "/events") -> Outcome:
    response = bench.client.post(path, json=body, headers=KEY)
    outcome = http_outcome(response, allowed, bench)
    if response.status_code == 201:
        events = body.get("events", [body])
        for seq, event in zip(response.json()["seq"], events, strict=True):
            bench.acknowledged[seq] = (event["user_id"].strip(), event["item_id"].strip())
        outcome.acknowledged = len(events)
        # whatever is acknowledged can be scored
        user = events[0]["user_id"].strip()
        follow = bench.client.get(f"/users/{user}/recommendations")
        if follow.status_code != 200:
            outcome.ok = False
            outcome.message = f"then /users/{user}/recommendations answered {follow.status_code}"
        outcome.answer = f"201, then {follow.status_code}"
    return outcome


def cli(argv: list[str]) -> tuple[int, str]:
    """``interestlens ARGV`` in-process: exit code and what it printed."""
    from interestlens.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except BaseException:  # a case must report an escaped exception, not die with it
            import traceback

            traceback.print_exc(file=err)
            code = -1
    return code, (out.getvalue() + err.getvalue()).strip()


def cli_outcome(argv: list[str], expected_code: int = 2, *words: str) -> Outcome:
    code, text = cli(argv)
    line = " ".join(text.split())
    ok = code == expected_code and all(w in line for w in words) and "Traceback" not in text
    return Outcome(f"exit {code}", line[:400], ok=ok, tracebacks=int("Traceback" in text))


# --- damaged model directories: the Python API, /admin/reload and the CLI ---------------------


def _model_case(name: str) -> Case:
    def run(bench: Bench) -> Outcome:
        from interestlens.engine import RecommendationEngine
        from interestlens.errors import ModelFormatError

        # under the models root (the folder of the served model), so reload may try it
        damaged = mutated_copy(bench.good, bench.good.parent / f"damaged-{name}", name)
        answers = []
        ok = True
        message = ""
        tracebacks = 0
        try:
            RecommendationEngine.load(damaged)
            answers.append("API: loaded")
            ok = False
        except ModelFormatError as exc:
            answers.append("API: ModelFormatError")
            message = str(exc)
        except Exception as exc:  # reported as a failure of the case, with its type
            answers.append(f"API: {type(exc).__name__}")
            ok, tracebacks = False, 1
        response = bench.client.post("/admin/reload", json={"model_dir": str(damaged)}, headers=KEY)
        reload = http_outcome(response, {409})
        still = bench.client.get("/users/u0001/recommendations").status_code
        answers.append(f"reload: {reload.answer}, old model: {still}")
        users = bench.work / "users.txt"
        users.write_text("u0001\nu0002\n")
        command = cli_outcome(
            [
                "recommend",
                "--model",
                str(damaged),
                "--users",
                str(users),
                "--output",
                str(bench.work / "recs.csv"),
                "-q",
            ]
        )
        answers.append(f"recommend: {command.answer}")
        shutil.rmtree(damaged, ignore_errors=True)
        return Outcome(
            "; ".join(answers),
            message,
            ok=ok and reload.ok and still == 200 and command.ok,
            examples=3,
            server_errors=reload.server_errors,
            tracebacks=tracebacks + reload.tracebacks + command.tracebacks,
        )

    return Case(
        "model directory", name, "ModelFormatError; reload 409, old model kept; exit 2", run
    )


MODEL_CASES = [_model_case(name) for name in MODEL_MUTATIONS]


# --- values that parse but are absurd, and malformed requests ---------------------------------


def _event(rating: Any = None, timestamp: Any = None, user: str = "fuzz-user") -> dict:
    body: dict[str, Any] = {"user_id": user, "item_id": "i0001"}
    if rating is not None:
        body["rating"] = rating
    if timestamp is not None:
        body["timestamp"] = timestamp
    return body


def _events_case(name: str, body: Any, allowed: set[int], path: str = "/events") -> Case:
    expected = " or ".join(str(s) for s in sorted(allowed))
    return Case(
        "HTTP values", name, expected, lambda bench: post_events(bench, body, allowed, path)
    )


def _raw_case(name: str, content: bytes, allowed: set[int], *words: str) -> Case:
    def run(bench: Bench) -> Outcome:
        headers = {**KEY, "content-type": "application/json"}
        outcome = http_outcome(
            bench.client.post("/events", content=content, headers=headers), allowed
        )
        outcome.ok = outcome.ok and all(w in outcome.message for w in words)
        return outcome

    return Case("HTTP values", name, " or ".join(map(str, sorted(allowed))), run)


def _get_case(name: str, url: str, allowed: set[int], *words: str) -> Case:
    def run(bench: Bench) -> Outcome:
        outcome = http_outcome(bench.client.get(url), allowed)
        outcome.ok = outcome.ok and all(w in outcome.message for w in words)
        return outcome

    return Case("HTTP values", name, " or ".join(map(str, sorted(allowed))), run)


def _cold_case(name: str, body: Any, allowed: set[int]) -> Case:
    return Case(
        "HTTP values",
        name,
        " or ".join(map(str, sorted(allowed))),
        lambda bench: http_outcome(bench.client.post("/recommendations", json=body), allowed),
    )


def _stripped_ids(bench: Bench) -> Outcome:
    outcome = post_events(bench, {"user_id": "  spaced-user  ", "item_id": " i0002 "}, {201})
    cluster = bench.client.get("/users/spaced-user/cluster").status_code
    outcome.ok = outcome.ok and cluster == 200
    outcome.answer += f"; /users/spaced-user/cluster {cluster}"
    return outcome


HTTP_CASES = [
    _events_case("rating 1e154", _event(rating=1e154), {422}),
    _events_case("rating 1e308", _event(rating=1e308), {422}),
    _events_case("rating 1e30", _event(rating=1e30), {422}),
    _events_case("rating -1e30", _event(rating=-1e30), {422}),
    _events_case("rating true", _event(rating=True), {422}),
    _events_case("rating '5' (a string)", _event(rating="5"), {422}),
    _events_case("rating 4 (in range)", _event(rating=4, user="fine-user"), {201}),
    _events_case("timestamp 1e30", _event(timestamp=1e30), {422}),
    _events_case("timestamp -1", _event(timestamp=-1), {422}),
    _events_case(
        "timestamp '9999-12-31T23:59:59Z'", _event(timestamp="9999-12-31T23:59:59Z"), {422}
    ),
    _events_case("timestamp true", _event(timestamp=True), {422}),
    _events_case(
        "batch with one bad event stores none",
        {"events": [_event(rating=3, user="batch-user"), _event(rating=1e200, user="batch-user")]},
        {422},
        "/events/batch",
    ),
    _events_case("unknown item", {"user_id": "u0001", "item_id": "no-such-item"}, {404}),
    _events_case("id with control characters", {"user_id": "a\x00b", "item_id": "i0001"}, {422}),
    _events_case("id of 257 characters", {"user_id": "x" * 257, "item_id": "i0001"}, {422}),
    Case(
        "HTTP values",
        "ids with surrounding spaces",
        "201, stripped like the CSV readers",
        _stripped_ids,
    ),
    _cold_case("cold start k: true", {"text": "camping tent", "k": True}, {422}),
    _cold_case("cold start k: 5.0", {"text": "camping tent", "k": 5.0}, {422}),
    _cold_case("cold start k: 10**9", {"text": "camping tent", "k": 10**9}, {422}),
    _get_case("?k=true", "/users/u0001/recommendations?k=true", {422}),
    _get_case("?k=200000000", "/users/u0001/recommendations?k=200000000", {422}, "serve.max_k"),
    _get_case("unknown user", "/users/nobody/recommendations", {404}),
    _get_case(
        "user id '[bold]nobody'", "/users/[bold]nobody/recommendations", {404}, "[bold]nobody"
    ),
    _raw_case("JSON nested 100000 deep", b"[" * 100_000 + b"]" * 100_000, {422}, "nested"),
    _raw_case("body not UTF-8", b'{"user_id": "\xff\xfe", "item_id": "i0001"}', {422}, "not UTF-8"),
    _raw_case("body NaN rating", b'{"user_id": "u1", "item_id": "i0001", "rating": NaN}', {422}),
    _raw_case("body not JSON", b"user_id=u1", {422}),
]


# --- reload: only under the models root, never a 500, the old model kept ----------------------


def _reload_case(name: str, target: Callable[[Bench], str], allowed: set[int], *words: str) -> Case:
    def run(bench: Bench) -> Outcome:
        response = bench.client.post(
            "/admin/reload", json={"model_dir": target(bench)}, headers=KEY
        )
        outcome = http_outcome(response, allowed)
        still = bench.client.get("/users/u0001/recommendations").status_code
        outcome.ok = outcome.ok and still == 200 and all(w in outcome.message for w in words)
        outcome.answer += f", old model: {still}"
        return outcome

    return Case("reload", name, f"{'/'.join(map(str, sorted(allowed)))}, old model kept", run)


def _link_outside(bench: Bench) -> str:
    link = bench.good.parent / "link-to-etc"
    if not link.is_symlink():
        link.symlink_to("/etc")
    return str(link)


def _file_inside(bench: Bench) -> str:
    path = bench.good.parent / "a-file"
    path.write_text("not a model")
    return str(path)


RELOAD_CASES = [
    _reload_case("path with a NUL byte", lambda b: str(b.good) + "\x00x", {422}, "NUL"),
    _reload_case("/etc (outside the root)", lambda b: "/etc", {403}, "not under the models root"),
    _reload_case("../../etc (relative, outside)", lambda b: "../../etc", {403}, "not under"),
    _reload_case("missing path outside the root", lambda b: "/nonexistent/x", {403}, "not under"),
    _reload_case("link inside the root to /etc", _link_outside, {403}, "not under"),
    _reload_case("a file under the root", _file_inside, {409}),
    _reload_case("a missing directory under the root", lambda b: "no-such-model", {409}),
    _reload_case("the served model again", lambda b: str(b.good), {200}),
]


# --- faults of the machine ---------------------------------------------------------------------


def _mount_tmpfs(path: Path, size: str) -> bool:
    """A tiny tmpfs at ``path`` (needs root and mount); False where that is not possible."""
    import subprocess

    if not shutil.which("mount") or os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
    )
    return done.returncode == 0


def _remount(path: Path, mode: str) -> None:
    import subprocess

    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True, capture_output=True)


def _try_remount(path: Path, mode: str) -> bool:
    import subprocess

    done = subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], capture_output=True)
    return done.returncode == 0


def _umount(path: Path) -> None:
    import subprocess

    subprocess.run(["umount", "-l", str(path)], capture_output=True)


class _FailingConnection:
    """Stands in for an SQLite connection of the store: while :attr:`failing` is set, writes
    fail as a full or read-only disk would make them fail (used where no tiny filesystem can be
    mounted)."""

    def __init__(self, real: Any, message: str, code: int):
        self.real, self.message, self.code = real, message, code
        self.failing = False

    def execute(self, sql: str, *args: Any) -> Any:
        if self.failing and sql.startswith(("INSERT", "DELETE", "COMMIT")):
            import sqlite3

            error = sqlite3.OperationalError(self.message)
            error.sqlite_errorcode = self.code  # type: ignore[attr-defined]
            raise error
        return self.real.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _storage_fault(bench: Bench, kind: str) -> Outcome:
    """Disk full (507) or read-only storage (503): nothing stored, nothing acknowledged lost,
    and writes succeed again once the disk is back."""
    import sqlite3
    from unittest import mock

    from fastapi.testclient import TestClient

    from interestlens.serve import EventStore, create_app

    root = bench.scratch(f"storage-{kind}")
    mounted = _mount_tmpfs(root, "600k")
    db = root / "events.sqlite"
    acknowledged: dict[int, str] = {}
    statuses: list[int] = []
    message = ""
    # the store's connections, able to fail on demand where the filesystem cannot be made to
    wrapped: list[_FailingConnection] = []
    connect = sqlite3.connect

    def failable_connect(*args: Any, **kwargs: Any) -> Any:
        connection = connect(*args, **kwargs)
        if Path(args[0]) != db:
            return connection
        wrapped.append(
            _FailingConnection(
                connection,
                "database or disk is full"
                if kind == "full"
                else "attempt to write a readonly database",
                13 if kind == "full" else 8,
            )
        )
        return wrapped[-1]

    try:
        app = create_app(bench.good, bench.settings(events_db=str(db)))
        with (
            mock.patch("sqlite3.connect", failable_connect),
            TestClient(app, raise_server_exceptions=False) as client,
        ):

            def post(n: int) -> Any:
                user = f"{kind}-{n}"
                response = client.post("/events", json=_event(user=user), headers=KEY)
                statuses.append(response.status_code)
                if response.status_code == 201:
                    acknowledged[response.json()["seq"][0]] = user
                return response

            for n in range(5):
                post(n)
            how = "tmpfs" if mounted else "injected SQLite error"
            failing = None
            if mounted and kind == "full":
                filler = root / "filler"
                fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
                try:
                    while True:
                        os.write(fd, b"\0" * 4096)
                except OSError:
                    pass  # the disk is full: that is the point
                finally:
                    os.close(fd)
                for n in range(5, 2000):
                    response = post(n)
                    if response.status_code != 201:
                        failing = response
                        break
                filler.unlink()
            elif mounted and _try_remount(root, "ro"):
                how = "tmpfs remounted read-only"
                failing = post(10_000)
                _remount(root, "rw")
            else:
                if mounted:
                    how = "injected SQLite error (remount refused: the file is open)"
                for connection in wrapped:
                    connection.failing = True
                failing = post(10_000)
                for connection in wrapped:
                    connection.failing = False
            judged = http_outcome(failing, {507 if kind == "full" else 503}) if failing else None
            message = judged.message if judged else "the disk never filled"
            health = client.get("/health").status_code
            after = post(20_000)
        with EventStore(db) as reopened:
            stored = {e.seq: e.user_id for e in reopened.entries() if e.kind == "event"}
    finally:
        if mounted:
            _umount(root)
    lost = sum(1 for seq, user in acknowledged.items() if stored.get(seq) != user)
    ok = judged is not None and judged.ok and health == 200 and after.status_code == 201
    return Outcome(
        f"{judged.answer if judged else '-'} ({how}); /health {health}; after recovery "
        f"{after.status_code}",
        message,
        ok=ok and lost == 0 and not any(s >= 500 and s not in (503, 507) for s in statuses),
        examples=len(statuses),
        acknowledged=len(acknowledged),
        lost=lost,
    )


def _health_during_write(bench: Bench) -> Outcome:
    """A write is held just before its COMMIT (SQLite's trace hook on the store's connections,
    the point where a slow disk's fsync stalls it, holding the store's write lock); /health must
    answer meanwhile, from the store's own read connection."""
    import sqlite3
    import threading
    from unittest import mock

    from fastapi.testclient import TestClient

    from interestlens.serve import create_app

    db = bench.scratch("health-during-write") / "events.sqlite"
    armed, at_commit, release = threading.Event(), threading.Event(), threading.Event()
    connect = sqlite3.connect

    def hold_commit(statement: str) -> None:
        if armed.is_set() and statement == "COMMIT":
            armed.clear()
            at_commit.set()
            release.wait(30)

    def traced_connect(*args: Any, **kwargs: Any) -> Any:
        connection = connect(*args, **kwargs)
        if Path(args[0]) == db:
            connection.set_trace_callback(hold_commit)
        return connection

    answers: dict[str, Any] = {}

    def call(name: str, method: str, url: str, **kwargs: Any) -> threading.Thread:
        def run() -> None:
            answers[name] = client.request(method, url, **kwargs)

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    app = create_app(bench.good, bench.settings(events_db=str(db)))
    with mock.patch("sqlite3.connect", traced_connect), TestClient(app) as client:
        armed.set()
        writer = call("write", "POST", "/events", json=_event(user="held-write"), headers=KEY)
        reached = at_commit.wait(30)
        reader = call("health", "GET", "/health")
        reader.join(30)
        answered_while_held = not reader.is_alive() and writer.is_alive()
        release.set()
        writer.join(30)
        reader.join(30)
    health, write = answers.get("health"), answers.get("write")
    return Outcome(
        f"/health {getattr(health, 'status_code', 'none')} while a write was held before its "
        f"COMMIT (answered while held: {answered_while_held}); the write then "
        f"{getattr(write, 'status_code', 'none')}",
        ok=reached
        and answered_while_held
        and health is not None
        and health.status_code == 200
        and write is not None
        and write.status_code == 201,
    )


def _private_files(bench: Bench) -> Outcome:
    post_events(bench, _event(user="mode-user"), {201})
    db = bench.work / "events.sqlite"
    modes = {
        p.name: oct(p.stat().st_mode & 0o777)
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"))
        if p.exists()
    }
    return Outcome(
        ", ".join(f"{k} {v}" for k, v in modes.items()), ok=set(modes.values()) == {"0o600"}
    )


def _kill_during_ingest(bench: Bench) -> Outcome:
    import threading
    import time

    import httpx

    from interestlens.serve import EventStore
    from interestlens.serve.testing import TEST_API_KEY, ServerProcess

    db = bench.scratch("kill-ingest") / "events.sqlite"
    env = {
        "INTERESTLENS_SERVE__API_KEY": TEST_API_KEY,
        "INTERESTLENS_SERVE__EVENTS_DB": str(db),
        "INTERESTLENS_ENCODER__CACHE": "false",
    }
    server = ServerProcess(bench.good, env=env, log_path=db.with_suffix(".log")).start()
    acknowledged: dict[int, str] = {}
    lock, stop = threading.Lock(), threading.Event()

    def post(worker: int) -> None:
        with httpx.Client(base_url=server.url, headers=KEY, timeout=5.0) as client:
            n = 0
            while not stop.is_set():
                user = f"kill-{worker}-{n}"
                n += 1
                try:
                    response = client.post("/events", json=_event(user=user))
                except httpx.HTTPError:
                    return
                if response.status_code == 201:
                    with lock:
                        acknowledged[response.json()["seq"][0]] = user

    threads = [threading.Thread(target=post, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 60 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    with EventStore(db) as store:
        stored = {e.seq: e.user_id for e in store.entries() if e.kind == "event"}
    lost = sum(1 for seq, user in acknowledged.items() if stored.get(seq) != user)
    return Outcome(
        f"SIGKILL after {len(acknowledged)} acknowledged; {len(stored)} stored",
        ok=lost == 0 and len(acknowledged) >= 60,
        examples=len(acknowledged),
        acknowledged=len(acknowledged),
        lost=lost,
    )


_SAVE_LOOP = """
import sys
from pathlib import Path
from interestlens.pipeline import InterestLens
model = InterestLens.load(Path(sys.argv[1]))
print("ready", flush=True)
while True:
    model.save(Path(sys.argv[2]))
"""


def _kill_during_save(bench: Bench) -> Outcome:
    import random
    import signal
    import subprocess
    import sys
    import time

    from interestlens.pipeline import InterestLens

    destination = bench.scratch("kill-save") / "model"
    InterestLens.load(bench.good).save(destination)
    loads = 0
    rng = random.Random(0)
    for _ in range(3):
        process = subprocess.Popen(
            [sys.executable, "-c", _SAVE_LOOP, str(bench.good), str(destination)],
            stdout=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if not k.startswith("INTERESTLENS_")},
        )
        assert process.stdout is not None
        process.stdout.readline()
        time.sleep(rng.uniform(0.3, 1.5))  # somewhere inside a save
        process.send_signal(signal.SIGKILL)
        process.wait()
        InterestLens.load(destination)  # the old model or the new one, never a mixture
        loads += 1
    leftovers = sorted(p.name for p in destination.parent.iterdir() if p.name != "model")
    return Outcome(
        f"SIGKILL x3 during save; destination loads {loads}/3; staging left: {len(leftovers)}",
        ok=loads == 3,
        examples=3,
    )


_WRITER = """
import sys
from interestlens.serve import EventStore
from interestlens.serve.store import Event
with EventStore(sys.argv[1]) as store:
    for n in range(int(sys.argv[3])):
        store.append_events([Event(f"{sys.argv[2]}-{n}", "i0001", 3.0, 1e9)])
"""


def _concurrent_writers(bench: Bench) -> Outcome:
    import subprocess
    import sys

    from interestlens.serve import EventStore

    db = bench.scratch("writers") / "events.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERESTLENS_")}
    processes = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(db), f"w{w}", "100"], env=env)
        for w in range(3)
    ]
    codes = [p.wait(timeout=120) for p in processes]
    with EventStore(db) as store:
        users = [e.user_id for e in store.entries() if e.kind == "event"]
        seqs = [e.seq for e in store.entries()]
    ok = codes == [0, 0, 0] and len(set(users)) == 300 and len(set(seqs)) == len(seqs)
    return Outcome(
        f"3 processes x 100 commits: exit {codes}, {len(set(users))} distinct events stored",
        ok=ok,
        examples=300,
        acknowledged=300,
        lost=300 - len(set(users)),
    )


def _new_item_keeps_reads_fast(bench: Bench) -> Outcome:
    import time

    engine = bench.client.app.state.service.engine
    before = engine.n_cached_lists
    response = bench.client.post(
        "/items", json={"item_id": "hardening-new", "text": "ultralight camping stove"}, headers=KEY
    )
    deadline = time.monotonic() + 30
    while (
        bench.client.app.state.service.engine.n_cached_lists < before * 0.9
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    after = bench.client.app.state.service.engine.n_cached_lists
    read = bench.client.get("/users/u0003/recommendations?k=200").json()["items"]
    listed = "hardening-new" in {i["item_id"] for i in read}
    return Outcome(
        f"{response.status_code}; lists ranked again in the background: {after}/{before}; "
        f"new item listed: {listed}",
        ok=response.status_code == 201 and after >= before * 0.9 and listed,
    )


def _cache_in_bytes(bench: Bench) -> Outcome:
    from fastapi.testclient import TestClient

    from interestlens.serve import create_app

    limit = 100_000
    db = bench.scratch("cache") / "events.sqlite"
    app = create_app(bench.good, bench.settings(events_db=str(db), response_cache_bytes=limit))
    with TestClient(app) as client:
        for n in range(1, 41):
            client.get(f"/users/u{n:04d}/recommendations?k=1000")
        held = app.state.service.served.responses.nbytes
    return Outcome(
        f"{held} bytes held after 40 answers of k=1000", ok=0 < held <= limit, examples=40
    )


def _unexpected_error_keeps_the_connection(bench: Bench) -> Outcome:
    from fastapi.testclient import TestClient

    from interestlens.serve import create_app

    app = create_app(bench.good, bench.settings(events_db=str(bench.scratch("bug") / "e.sqlite")))

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("a bug")

    # raise_server_exceptions=True: an exception re-raised to the server (which closes the
    # keep-alive connection) would surface here instead of a response
    with TestClient(app) as client:
        response = client.get("/bug")
    outcome = http_outcome(response, {500})
    outcome.answer += ", JSON, not re-raised to the server"
    outcome.server_errors = 0  # the one intended 500 of the run
    return outcome


def _long_url_on_the_real_server(bench: Bench) -> Outcome:
    import socket

    from interestlens.serve.testing import TEST_API_KEY, ServerProcess

    db = bench.scratch("long-url") / "events.sqlite"
    env = {"INTERESTLENS_SERVE__API_KEY": TEST_API_KEY, "INTERESTLENS_SERVE__EVENTS_DB": str(db)}
    with ServerProcess(bench.good, env=env, log_path=db.with_suffix(".log")) as server:
        url = "/users/" + "a" * 100_000 + "/recommendations"
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ")[1].decode() if head else "none"
    try:
        error = json.loads(body)["error"]
        shaped, message = set(error) >= ERROR_FIELDS, error.get("message", "")
    except (ValueError, KeyError):
        shaped, message = False, body[:200].decode(errors="replace")
    return Outcome(
        f"{status}, {'JSON' if shaped else 'not JSON'}", message, ok=status == "400" and shaped
    )


MACHINE_CASES = [
    Case(
        "machine",
        "an unexpected exception (a bug)",
        "500 JSON, keep-alive kept",
        _unexpected_error_keeps_the_connection,
    ),
    Case(
        "machine",
        "100 kB URL on the real server (uvicorn)",
        "400 in the JSON error shape",
        _long_url_on_the_real_server,
    ),
    Case(
        "machine",
        "disk full on the events database",
        "507, nothing lost, then 201",
        lambda b: _storage_fault(b, "full"),
    ),
    Case(
        "machine",
        "read-only events database",
        "503, nothing lost, then 201",
        lambda b: _storage_fault(b, "readonly"),
    ),
    Case(
        "machine",
        "/health while a write holds the store",
        "200 while the write is held",
        _health_during_write,
    ),
    Case("machine", "events db, WAL and SHM file modes", "0600", _private_files),
    Case(
        "machine",
        "kill -9 during event ingest",
        "every acknowledged event stored",
        _kill_during_ingest,
    ),
    Case(
        "machine",
        "kill -9 during model save",
        "the directory loads (old or new)",
        _kill_during_save,
    ),
    Case("machine", "concurrent writer processes", "every commit stored once", _concurrent_writers),
    Case(
        "machine",
        "POST /items then reads",
        "lists ranked again off the request path",
        _new_item_keeps_reads_fast,
    ),
    Case(
        "machine",
        "response cache under k=1000 answers",
        "within serve.response_cache_bytes",
        _cache_in_bytes,
    ),
]


# --- the command line and the Python API -------------------------------------------------------


def _write_data(folder: Path, timestamp: str = "2000-01-01", rating: Any = 4) -> tuple[Path, Path]:
    import pandas as pd

    interactions = folder / "interactions.csv"
    items = folder / "items.csv"
    pd.DataFrame(
        {
            "user_id": ["u1", "u2"],
            "item_id": ["a", "b"],
            "rating": [rating, 5],
            "timestamp": [timestamp, "2001-01-01"],
        }
    ).to_csv(interactions, index=False)
    pd.DataFrame({"item_id": ["a", "b"], "title": ["x", "y"]}).to_csv(items, index=False)
    return interactions, items


def _fit_case(name: str, *words: str, **values: Any) -> Case:
    def run(bench: Bench) -> Outcome:
        folder = bench.scratch(name)
        interactions, items = _write_data(folder, **values)
        return cli_outcome(
            [
                "fit",
                "--interactions",
                str(interactions),
                "--items",
                str(items),
                "--out",
                str(folder / "model"),
                "--encoder",
                "hashing",
                "-q",
            ],
            2,
            *words,
        )

    return Case("command line", f"fit: {name}", "exit 2 naming the row", run)


def _fit_out_is_a_file(bench: Bench) -> Outcome:
    import time

    folder = bench.scratch("fit-out-file")
    interactions, items = _write_data(folder)
    target = folder / "a-file"
    target.write_text("mine")
    started = time.perf_counter()
    outcome = cli_outcome(
        [
            "fit",
            "--interactions",
            str(interactions),
            "--items",
            str(items),
            "--out",
            str(target),
            "--encoder",
            "hashing",
            "-q",
        ],
        2,
        "exists and is a file",
    )
    seconds = time.perf_counter() - started
    outcome.answer += f" in {seconds:.1f} s, before any fitting"
    outcome.ok = outcome.ok and "Read" not in outcome.message and target.read_text() == "mine"
    return outcome


def _recommend(bench: Bench, *extra: str, users: str = "u0001\nu0002\n") -> list[str]:
    path = bench.work / "cli-users.txt"
    path.write_text(users)
    return [
        "recommend",
        "--model",
        str(bench.good),
        "--users",
        str(path),
        "--output",
        str(bench.work / "cli-recs.csv"),
        "-q",
        *extra,
    ]


def _bad_store(bench: Bench) -> Path:
    from interestlens.serve import EventStore
    from interestlens.serve.store import Event

    db = bench.scratch("bad-store") / "events.sqlite"
    # written below the service (an older version accepted such values)
    with EventStore(db) as store:
        store.append_events(
            [Event("u0001", "i0001", 4.0, 1e9), Event("u0002", "i0002", 1e154, 1e9)]
        )
    return db


def _refit_case(skip: bool) -> Case:
    def run(bench: Bench) -> Outcome:
        db = _bad_store(bench)
        out = bench.scratch(f"refit-{skip}") / "model"
        argv = [
            "refit",
            "--model",
            str(bench.good),
            "--out",
            str(out),
            "--events-db",
            str(db),
            "-q",
        ]
        if skip:
            return cli_outcome([*argv, "--skip-bad-events"], 0, "skipped stored event seq 2")
        return cli_outcome(argv, 2, "seq 2", "'u0002'", "1e+154", "--skip-bad-events")

    name = "refit --skip-bad-events" if skip else "refit meets a stored rating of 1e154"
    expected = (
        "exit 0, the event skipped and counted" if skip else "exit 2 naming seq, user, item, value"
    )
    return Case("command line", name, expected, run)


def _csv_formula(bench: Bench) -> Outcome:
    import pandas as pd

    from interestlens.csv_output import csv_text

    text = csv_text(
        pd.DataFrame(
            {
                "user_id": ['=HYPERLINK("http://x")', "+1", "@a", "-2", "ok"],
                "score": [-1.5, 1, 2, 3, 4],
            }
        )
    )
    lines = text.splitlines()[1:]
    escaped = [line.split(",")[0] for line in lines]
    ok = (
        all(cell.startswith(("'", "\"'")) for cell in escaped[:4])
        and escaped[4] == "ok"
        and lines[0].endswith(",-1.5")
    )
    return Outcome(" ".join(escaped), ok=ok)


def _template_case(template: str) -> Case:
    def run(bench: Bench) -> Outcome:
        import pandas as pd

        from interestlens.errors import ConfigError
        from interestlens.text import build_texts

        frame = pd.DataFrame({"item_id": ["a"], "title": ["Dune"]})
        try:
            texts = build_texts(frame, id_col="item_id", columns=None, template=template)
            return Outcome(f"rendered {texts[0][:60]!r}", ok=False)
        except ConfigError as exc:
            return Outcome("ConfigError", str(exc))

    return Case("Python API", f"item_template {template!r}", "ConfigError", run)


def _engine_rating(bench: Bench) -> Outcome:
    from interestlens.engine import RecommendationEngine
    from interestlens.errors import InvalidValueError

    engine = RecommendationEngine.load(bench.good)
    try:
        engine.add_events("api-user", ["i0001"], [1e154])
        return Outcome("accepted", ok=False)
    except InvalidValueError as exc:
        return Outcome(
            "InvalidValueError", str(exc), ok="api-user" in str(exc) and "i0001" in str(exc)
        )


def _serve_damaged(bench: Bench) -> Outcome:
    damaged = mutated_copy(bench.good, bench.good.parent / "damaged-serve", "user_vectors 0 bytes")
    try:
        return cli_outcome(["serve", "--model", str(damaged), "--port", "1"], 2, "user_vectors.npy")
    finally:
        shutil.rmtree(damaged, ignore_errors=True)


CLI_CASES = [
    Case(
        "command line",
        "serve a model with a 0-byte user_vectors.npy",
        "exit 2 naming the file",
        _serve_damaged,
    ),
    Case(
        "command line",
        "recommend -k 200000000",
        "exit 2",
        lambda b: cli_outcome(_recommend(b, "-k", "200000000"), 2, "k=200000000"),
    ),
    Case(
        "command line",
        "recommend -k 5000 (more than the catalogue)",
        "exit 0, 120 per user",
        lambda b: cli_outcome(_recommend(b, "-k", "5000"), 0, "Wrote"),
    ),
    Case(
        "command line",
        "recommend for '[bold]nobody'",
        "exit 2, the id printed as written",
        lambda b: cli_outcome(_recommend(b, users="[bold]nobody\n"), 2, "'[bold]nobody'"),
    ),
    _fit_case(
        "timestamp 9999-12-31T23:59:59Z",
        "'9999-12-31T23:59:59Z'",
        "out of range",
        timestamp="9999-12-31T23:59:59Z",
    ),
    _fit_case("timestamp 1e30", "out of range", timestamp="1e30"),
    _fit_case("rating 1e154", "1e+154", rating=1e154),
    _fit_case("rating true", "cannot be read", rating="true"),
    Case("command line", "fit --out names a file", "exit 2 before fitting", _fit_out_is_a_file),
    _refit_case(False),
    _refit_case(True),
    Case(
        "Python API",
        "engine.add_events rating 1e154",
        "InvalidValueError naming user and item",
        _engine_rating,
    ),
    Case("Python API", "CSV output of ids starting with = + @ -", "escaped with '", _csv_formula),
    _template_case("{title.__class__.__mro__}"),
    _template_case("{title[0]}"),
    _template_case("{title:>1000000000}"),
]


# --- property-based fuzzing (Hypothesis) --------------------------------------------------------

#: examples per fuzz case; FUZZ_SCALE multiplies them (the 'fuzz' marker runs 10x)
FUZZ_EXAMPLES = {"readers": 150, "csv": 40, "http": 120, "loader": 40}


def _hypothesis(examples: int) -> Any:
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _fuzz(run_property: Callable[[], None], counter: list[int], answer: str) -> Outcome:
    try:
        run_property()
    except Exception as exc:  # hypothesis re-raises the shrunk failing example
        return Outcome(
            "failed", f"{type(exc).__name__}: {str(exc)[:300]}", ok=False, examples=len(counter)
        )
    return Outcome(answer.format(n=len(counter)), examples=len(counter))


def _any_value() -> Any:
    from hypothesis import strategies as st

    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.booleans(),
        st.text(max_size=30),
        st.none(),
        st.sampled_from(
            ["9999-12-31T23:59:59Z", "1e30", "2000-01-01", "-1", "nan", "inf", "1e308"]
        ),
    )


def _fuzz_readers(bench: Bench, scale: int) -> Outcome:
    import math

    import pandas as pd
    from hypothesis import given
    from hypothesis import strategies as st

    from interestlens.config import LimitsConfig
    from interestlens.data.columns import in_code_source
    from interestlens.data.validate import clean_ratings, clean_timestamps
    from interestlens.errors import InvalidValueError

    limits = LimitsConfig()
    counter: list[int] = []
    source = in_code_source("interactions")

    @_hypothesis(FUZZ_EXAMPLES["readers"] * scale)
    @given(st.lists(_any_value(), min_size=1, max_size=6))
    def prop(values: list[Any]) -> None:
        counter.append(1)
        series = pd.Series(values, dtype=object)
        for clean, low, high in (
            (clean_ratings, -limits.max_abs_rating, limits.max_abs_rating),
            (clean_timestamps, limits.timestamp_min, limits.timestamp_max),
        ):
            try:
                cleaned = clean(series, source)
            except InvalidValueError:
                continue
            assert all(math.isfinite(v) and low <= v <= high for v in cleaned.tolist()), values

    return _fuzz(prop, counter, "{n} value lists: cleaned in range or InvalidValueError")


def _fuzz_csv(bench: Bench, scale: int) -> Outcome:
    from hypothesis import given
    from hypothesis import strategies as st

    from interestlens.data import load_dataset
    from interestlens.errors import InterestLensError

    folder = bench.scratch("fuzz-csv")
    items = folder / "items.csv"
    items.write_text("item_id,title\na,x\nb,y\n")
    counter: list[int] = []

    @_hypothesis(FUZZ_EXAMPLES["csv"] * scale)
    @given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
    def prop(content: bytes) -> None:
        counter.append(1)
        path = folder / "interactions.csv"
        path.write_bytes(b"user_id,item_id,rating,timestamp\n" + content)
        # refused with a message is the promised outcome too
        with contextlib.suppress(InterestLensError):
            load_dataset(path, items)

    return _fuzz(prop, counter, "{n} interaction files: read or refused with an InterestLensError")


def _fuzz_http(bench: Bench, scale: int) -> Outcome:
    import math

    from hypothesis import given
    from hypothesis import strategies as st

    counter: list[int] = []
    statuses: dict[int, int] = {}
    before = dict(bench.acknowledged)

    @_hypothesis(FUZZ_EXAMPLES["http"] * scale)
    @given(
        rating=_any_value(),
        timestamp=_any_value(),
        k=_any_value(),
        user=st.sampled_from(["u0001", "fuzz-a", " fuzz-b ", "=cmd", "[bold]x"]),
    )
    def prop(rating: Any, timestamp: Any, k: Any, user: str) -> None:
        counter.append(1)
        body = {"user_id": user, "item_id": "i0002", "rating": rating, "timestamp": timestamp}
        if isinstance(rating, float) and not math.isfinite(rating):
            body.pop("rating")  # JSON has no NaN; the raw-body case covers it
        if isinstance(timestamp, float) and not math.isfinite(timestamp):
            body.pop("timestamp")
        outcome = post_events(bench, body, {201, 422})
        statuses[int(outcome.answer[:3])] = statuses.get(int(outcome.answer[:3]), 0) + 1
        assert outcome.ok, (body, outcome)
        if isinstance(k, float) and not math.isfinite(k):
            k = str(k)  # JSON has no NaN or Infinity: sent as the text a client might send
        cold = bench.client.post("/recommendations", json={"text": "tent", "k": k})
        statuses[cold.status_code] = statuses.get(cold.status_code, 0) + 1
        assert cold.status_code in (200, 422), (k, cold.text)

    outcome = _fuzz(prop, counter, "{n} event + cold-start bodies")
    outcome.answer += ": " + ", ".join(f"{s}: {c}" for s, c in sorted(statuses.items()))
    outcome.examples = 2 * len(counter)
    outcome.acknowledged = len(bench.acknowledged) - len(before)
    outcome.server_errors = sum(c for s, c in statuses.items() if s >= 500)
    return outcome


def _fuzz_loader(bench: Bench, scale: int) -> Outcome:
    from hypothesis import given
    from hypothesis import strategies as st

    from interestlens.engine import RecommendationEngine
    from interestlens.errors import ModelFormatError

    files = sorted(str(p.relative_to(bench.good)) for p in bench.good.rglob("*") if p.is_file())
    counter: list[int] = []
    loaded: list[int] = []
    target = bench.work / "fuzz-loader" / "model"

    @_hypothesis(FUZZ_EXAMPLES["loader"] * scale)
    @given(
        name=st.sampled_from(files),
        how=st.sampled_from(["truncate", "flip", "garbage", "empty"]),
        where=st.floats(min_value=0, max_value=1),
        byte=st.integers(min_value=0, max_value=255),
    )
    def prop(name: str, how: str, where: float, byte: int) -> None:
        counter.append(1)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(bench.good, target)
        path = target / name
        data = bytearray(path.read_bytes())
        position = min(int(where * len(data)), max(len(data) - 1, 0))
        if how == "truncate":
            data = data[:position]
        elif how == "flip" and data:
            data[position] ^= byte or 0xFF
        elif how == "garbage":
            data = bytearray(bytes([byte]) * 64)
        else:
            data = bytearray()
        path.write_bytes(bytes(data))
        try:
            engine = RecommendationEngine.load(target)
        except ModelFormatError:
            return
        loaded.append(1)
        # a directory that loads must answer: damage may not surface later, per request
        engine.recommend_user(engine.user_ids.ids[0], 5)

    outcome = _fuzz(
        prop, counter, "{n} damaged directories: ModelFormatError, or loaded and answering"
    )
    outcome.answer += f" ({len(loaded)} loaded)"
    return outcome


def _schemathesis(bench: Bench, scale: int) -> Outcome:
    import schemathesis

    from interestlens.serve import create_app
    from test_serve_schemathesis import KnownIds, exercise, successes

    # an app of its own: schemathesis runs the app's lifespan, whose shutdown closes the
    # service (store, scoring pool) that the other cases' client still uses; and a store of its
    # own, since its steered requests forget known users
    events_db = bench.scratch("schemathesis") / "events.sqlite"
    app = create_app(bench.good, bench.settings(events_db=str(events_db)))
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    known = KnownIds.of(bench.good, api)
    failures: list[str] = []
    calls: list[tuple[str, int]] = []
    operations = [result.ok() for result in api.get_all_operations()]
    for operation in operations:
        for mode in schemathesis.GenerationMode:
            exercise(operation, mode, failures, calls)
        exercise(operation, schemathesis.GenerationMode.POSITIVE, failures, calls, known)
    ok = successes(calls)
    unchecked = sorted({op.label for op in operations} - set(ok))
    if unchecked:
        failures.append(f"no 2xx body checked for {', '.join(unchecked)}")
    server_errors = sum(1 for _, status in calls if status >= 500)
    return Outcome(
        f"{len(calls)} generated requests, bodies checked against the schema "
        f"({sum(ok.values())} 2xx, every operation); {server_errors} 5xx",
        "; ".join(failures[:3]),
        ok=not failures,
        examples=len(calls),
        server_errors=server_errors,
    )


def fuzz_cases(scale: int = 1) -> list[Case]:
    return [
        Case(
            "fuzz",
            "rating/timestamp cleaning (Hypothesis)",
            "in range or InvalidValueError",
            lambda b: _fuzz_readers(b, scale),
        ),
        Case(
            "fuzz",
            "interactions CSV bytes (Hypothesis)",
            "read or InterestLensError",
            lambda b: _fuzz_csv(b, scale),
        ),
        Case(
            "fuzz",
            "event and cold-start values (Hypothesis)",
            "201 then 200, or 422",
            lambda b: _fuzz_http(b, scale),
        ),
        Case(
            "fuzz",
            "byte-damaged model directories (Hypothesis)",
            "ModelFormatError or a working model",
            lambda b: _fuzz_loader(b, scale),
        ),
        Case(
            "fuzz",
            "every operation from the OpenAPI schema (schemathesis)",
            "no 5xx, bodies (2xx included) match the schema",
            lambda b: _schemathesis(b, scale),
        ),
    ]


def all_cases(scale: int = 1) -> list[Case]:
    return [
        *MODEL_CASES,
        *HTTP_CASES,
        *RELOAD_CASES,
        *MACHINE_CASES,
        *CLI_CASES,
        *fuzz_cases(scale),
    ]


def lost_case() -> Case:
    """Run last: every event acknowledged during the run is in the store, and after a restart
    the service replays them all."""

    def run(bench: Bench) -> Outcome:
        lost = bench.lost_events()
        return Outcome(
            f"{len(bench.acknowledged)} acknowledged, {lost} missing", ok=lost == 0, lost=lost
        )

    return Case(
        "durability", "every event acknowledged by the cases above", "all in the store", run
    )
