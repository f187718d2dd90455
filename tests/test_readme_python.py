"""The README's Python section runs as written, on the files `interestlens demo-data` writes.

The README is the first code a user copies: this test executes its ``### Python`` block, so a
renamed method or a changed return type breaks the build, not the user.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from interestlens.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def python_section() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert match, "README.md has no ```python block under '### Python'"
    return match.group(1)


def test_readme_python_section_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = CliRunner().invoke(app, ["demo-data", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    # the hashing encoder keeps the test offline and fast; everything else is the default
    (tmp_path / "settings.toml").write_text('[encoder]\nkind = "hashing"\ncache = false\n')
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(python_section(), "README.md#python", "exec"), namespace)

    model = namespace["model"]
    engine = namespace["engine"]
    table = model.cluster_table()
    assert list(table["user_id"])[:1] == ["u0001"]
    assert {"cluster", "label", "placed_by", "confidence"} <= set(table.columns)
    assert (tmp_path / "models" / "shop" / "manifest.json").is_file()
    recommended = engine.recommend_user("u0042", k=10)
    assert len(recommended) == 10
    assert len({r.item_id for r in recommended}) == 10
    # the item added online is known to the engine at once
    new_text = engine.recommend_new(text="Ultralight tent, two porches", k=400)
    assert "new-1" in {r.item_id for r in new_text}
    assert isinstance(namespace.get("pd"), type(pd))
