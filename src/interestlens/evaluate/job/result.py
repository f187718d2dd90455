"""The evaluate job's result: per-segment tables, summary lines, and its files
(``evaluation.json``, ``.md``, ``.csv``), written atomically and read back with checks."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from interestlens.errors import ModelFormatError
from interestlens.evaluate.job.constants import OURS, SEGMENT_TITLES
from interestlens.evaluate.job.tables import evaluation_markdown
from interestlens.persist import atomic_write_text, write_json

FORMAT = "interestlens-evaluation"
FORMAT_VERSION = 1


@dataclass
class EvaluationResult:
    """Per-segment tables (one row per model; n/a rows have NaN metrics and a ``note``)."""

    tables: dict[str, pd.DataFrame]
    k: int
    seed: int
    dataset: dict[str, Any]
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    hyperparameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (NaN becomes None)."""
        return jsonable(
            {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "k": self.k,
                "seed": self.seed,
                "dataset": self.dataset,
                "setup": self.setup,
                "segments": {
                    name: {
                        "title": SEGMENT_TITLES[name],
                        "table": table.to_dict(orient="records"),
                        "split": self.splits.get(name, {}),
                    }
                    for name, table in self.tables.items()
                },
                "skipped": self.skipped,
                "hyperparameters": self.hyperparameters,
                "timings": self.timings,
                "summary": self.summary_lines(),
            }
        )

    def summary_lines(self) -> list[str]:
        return summary_lines(self.tables, self.k, self.skipped)


def summary_lines(
    tables: dict[str, pd.DataFrame], k: int, skipped: dict[str, str] | None = None
) -> list[str]:
    """One line per segment: interestlens's NDCG@k against the best baseline's (ratio)."""
    metric, lines = f"ndcg@{k}", []
    for name, table in tables.items():
        title = SEGMENT_TITLES.get(name, name)
        values = table.set_index("model")[metric]
        ours = values.get(OURS, math.nan)
        others = values.drop(index=OURS, errors="ignore").dropna()
        if pd.isna(ours):
            lines.append(f"{title}: interestlens n/a")
        elif others.empty:
            lines.append(f"{title}: interestlens NDCG@{k} {ours:.4f}; no baseline serves it")
        else:
            best = str(others.idxmax())
            ratio = f"x{ours / others[best]:.2f}" if others[best] > 0 else "best baseline 0"
            lines.append(
                f"{title}: interestlens NDCG@{k} {ours:.4f} vs best baseline {best} "
                f"{others[best]:.4f} ({ratio})"
            )
    lines += [f"{SEGMENT_TITLES.get(n, n)}: skipped ({why})" for n, why in (skipped or {}).items()]
    return lines


def jsonable(value: Any) -> Any:
    """``value`` in plain JSON types: string keys, lists, Python scalars, None for NaN/inf."""
    if isinstance(value, dict):
        return {str(key): jsonable(part) for key, part in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(part) for part in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def tidy_frame(data: dict[str, Any]) -> pd.DataFrame:
    """``segment, model, <metrics>, note``: every segment table of an evaluation dict."""
    frames = [
        pd.DataFrame(part["table"]).assign(segment=name) for name, part in data["segments"].items()
    ]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["segment", *[c for c in frame.columns if c != "segment"]]]


def write_evaluation(result: EvaluationResult | dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """``evaluation.json``, ``evaluation.md`` and ``evaluation.csv`` in ``out_dir`` (atomic)."""
    data = result.to_dict() if isinstance(result, EvaluationResult) else result
    out_dir = Path(out_dir)
    return {
        "json": write_json(out_dir / "evaluation.json", data),
        "markdown": atomic_write_text(out_dir / "evaluation.md", evaluation_markdown(data)),
        "csv": atomic_write_text(out_dir / "evaluation.csv", tidy_frame(data).to_csv(index=False)),
    }


def read_evaluation(path: str | Path) -> dict[str, Any]:
    """An ``evaluation.json`` (or the folder holding one) as written by :func:`write_evaluation`."""
    path = Path(path)
    path = path / "evaluation.json" if path.is_dir() else path
    expected = "evaluation.json written by 'interestlens evaluate'"
    fix = "run 'interestlens evaluate' again to rewrite it"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFormatError(f"{path} does not exist", expected=expected, fix=fix) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(
            f"{path} is not valid JSON ({exc})", expected=expected, fix=fix
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ModelFormatError(
            f"{path} is not an interestlens evaluation (format {found!r})",
            expected=expected,
            fix=fix,
        )
    if data.get("version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path} has evaluation format version {data.get('version')!r}",
            expected=f"version {FORMAT_VERSION}",
            fix=fix,
        )
    segments = data.get("segments")
    broken = [
        name
        for name, part in (segments.items() if isinstance(segments, dict) else [])
        if not isinstance(part, dict)
        or not isinstance(part.get("table"), list)
        or not all(isinstance(row, dict) and "model" in row for row in part["table"])
    ]
    if not isinstance(segments, dict) or broken or not isinstance(data.get("k"), int):
        raise ModelFormatError(
            f"{path} lacks k or well-formed segment tables"
            + (f" (broken: {broken})" if broken else ""),
            expected=expected + ", with k and a table of rows per segment",
            fix=fix,
        )
    return data
