"""The demo dataset as files that ``fit`` and ``evaluate`` read, with its truth beside them."""

from __future__ import annotations

import json
from pathlib import Path

from interestlens.data.schema import Dataset
from interestlens.data.synthetic.truth import DemoTruth
from interestlens.errors import DataFileNotFoundError, DataFormatError
from interestlens.persist import atomic_write_text, write_json


def write_demo_files(dataset: Dataset, truth: DemoTruth, out_dir: str | Path) -> dict[str, Path]:
    """``interactions.csv``, ``items.csv``, ``users.csv`` and ``truth.json`` in ``out_dir``."""
    out_dir = Path(out_dir).expanduser()
    frames = {"interactions": dataset.interactions, "items": dataset.items, "users": dataset.users}
    paths = {
        name: atomic_write_text(out_dir / f"{name}.csv", frame.to_csv(index=False))
        for name, frame in frames.items()
        if frame is not None
    }
    paths["truth"] = write_json(out_dir / "truth.json", truth.to_dict())
    return paths


def read_demo_truth(path: str | Path) -> DemoTruth:
    """The ``truth.json`` that :func:`write_demo_files` wrote (or the folder holding it)."""
    path = Path(path).expanduser()
    path = path / "truth.json" if path.is_dir() else path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFileNotFoundError(
            f"{path} does not exist",
            expected="truth.json written by 'interestlens demo-data'",
            fix="check the path, or write the files again with 'interestlens demo-data'",
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(
            f"{path} is not valid JSON ({exc})",
            expected="truth.json written by 'interestlens demo-data'",
            fix="write the files again with 'interestlens demo-data'",
        ) from None
    return DemoTruth.from_dict(data)
