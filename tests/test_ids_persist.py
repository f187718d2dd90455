import os
from pathlib import Path

import numpy as np
import pytest

from interestlens.data.ids import IdMap
from interestlens.errors import DuplicateIdError, ModelFormatError, UnknownIdError
from interestlens.persist import atomic_write_text, read_json, read_npy, write_json, write_npy


def test_idmap_strings_and_order():
    ids = IdMap([3, "a", "3", 7], kind="item")
    assert ids.to_list() == ["3", "a", "7"]
    assert ids.index(3) == ids.index("3") == 0
    assert list(ids.indices(["7", "a"])) == [2, 1]
    assert list(ids.indices(["7", "zz"], missing="skip")) == [2, -1]
    assert ids.ids_of([1, 0]) == ["a", "3"]
    assert "a" in ids and "b" not in ids


def test_idmap_errors():
    with pytest.raises(DuplicateIdError, match="item id 'x' appears more than once"):
        IdMap.from_unique(["x", "y", "x"], kind="item")
    with pytest.raises(UnknownIdError, match="unknown user id 'u9'.*one of the 2 user ids"):
        IdMap(["u1", "u2"], kind="user").index("u9")


def test_npy_roundtrip_refuses_objects(tmp_path: Path):
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    write_npy(tmp_path / "a.npy", array)
    np.testing.assert_array_equal(read_npy(tmp_path / "a.npy"), array)
    with pytest.raises(TypeError, match="pickle"):
        write_npy(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object))


def test_pickled_npy_is_not_loaded(tmp_path: Path):
    np.save(tmp_path / "p.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ModelFormatError, match="plain .npy"):
        read_npy(tmp_path / "p.npy")


def test_atomic_write_leaves_no_temp_and_keeps_old_on_failure(tmp_path: Path, monkeypatch):
    target = tmp_path / "x.json"
    write_json(target, {"v": 1})

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "garbage")
    monkeypatch.undo()
    assert read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_read_json_errors(tmp_path: Path):
    with pytest.raises(ModelFormatError, match="missing"):
        read_json(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        read_json(tmp_path / "bad.json")


def test_atomic_write_gives_the_mode_a_plain_open_would(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        fresh = atomic_write_text(tmp_path / "report.html", "<html></html>")
        assert fresh.stat().st_mode & 0o777 == 0o644  # readable by a web server, not 0600
        private = tmp_path / "private.json"
        private.write_text("{}")
        private.chmod(0o600)
        atomic_write_text(private, "{}")  # a file made private stays private
        assert private.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(previous)
