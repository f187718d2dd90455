"""The catalogue of damaged model directories, shared by the tests (test_reliability.py) and
the reliability report (scripts/reliability_report.py).

Each mutation takes a copy of a good model directory and damages it the way a crash, a
careless copy or a crafted upload would; loading it must raise one ModelFormatError (a 409 at
/admin/reload, exit 2 at the CLI), never a traceback, an "aborted" or a model that loads and
fails later.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

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
}


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
