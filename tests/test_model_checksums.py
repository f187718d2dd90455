"""checksums.json: byte damage that the structural checks cannot see (a flipped byte inside an
array or a Parquet column) is refused before a model loads, at every entry (Python API, CLI,
service start and reload); a damaged checksum list is one ModelFormatError, never a traceback;
directories saved before checksums existed still load, and say so; the writers that change a
model directory in place (renaming users, refit, evaluate --model) keep the list true."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from interestlens.cli import main
from interestlens.errors import ModelFormatError
from interestlens.model_dir import (
    CHECKSUMS_FILE,
    load_model,
    read_user_ids,
    rename_users,
    update_checksums,
    verify_checksums,
    verify_model_dir,
)
from interestlens.serve import create_app, refit_model
from interestlens.serve.replay import FOLDED_FILE
from interestlens.serve.store import Event, EventStore
from interestlens.serve.testing import TEST_API_KEY, build_demo_model, demo_settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KEY = {"X-API-Key": TEST_API_KEY}


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_model(tmp_path_factory.mktemp("checksums") / "model", n_items=40, n_users=50)


@pytest.fixture()
def model(good: Path, tmp_path: Path) -> Path:
    """A copy of the good model to damage."""
    return Path(shutil.copytree(good, tmp_path / "model"))


def recorded(directory: Path) -> dict:
    return json.loads((directory / CHECKSUMS_FILE).read_text())


def flip(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def flip_in_npy_payload(path: Path) -> None:
    """One bit of the lowest mantissa byte of a float32 in the middle of the data: still a
    finite number, the header untouched, so only the digest can tell."""
    with path.open("rb") as handle:
        np.lib.format.read_magic(handle)
        np.lib.format.read_array_header_1_0(handle)
        start = handle.tell()
    middle = start + ((path.stat().st_size - start) // 2) // 4 * 4
    flip(path, middle)


def refused(directory: Path, *words: str) -> str:
    """The one ModelFormatError that verify and load both raise, with ``words`` in it."""
    for check in (verify_model_dir, load_model):
        with pytest.raises(ModelFormatError) as caught:
            check(directory)
        message = str(caught.value)
        for word in words:
            assert word in message, message
        assert caught.value.expected and caught.value.fix
    return message


# --- what is written -------------------------------------------------------------------------


def test_every_file_is_listed_with_its_sha256_and_size(good: Path) -> None:
    data = recorded(good)
    assert data["algorithm"] == "sha256"
    files = {
        p.relative_to(good).as_posix()
        for p in good.rglob("*")
        if p.is_file() and p.name != CHECKSUMS_FILE
    }
    assert set(data["files"]) == files and "manifest.json" in files
    assert "recommender/recommender.json" in files  # subfolders, in posix form
    assert list(data["files"]) == sorted(files)
    for name, entry in data["files"].items():
        content = (good / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
    report = verify_checksums(good)
    assert report.present and report.files == len(files)
    assert "match checksums.json" in report.describe()


# --- damage the structural checks cannot see -------------------------------------------------


def test_a_flipped_byte_inside_an_npy_payload_is_refused(model: Path) -> None:
    path = model / "item_vectors.npy"
    before = np.load(path)
    flip_in_npy_payload(path)
    after = np.load(path)
    assert np.isfinite(after).all() and (after != before).sum() == 1
    message = refused(model, "item_vectors.npy", "sha256", "checksums.json records")
    assert "restore the model directory from a copy" in message
    # without the list the same damage loads silently: what the digests are for
    (model / CHECKSUMS_FILE).unlink()
    assert not np.array_equal(load_model(model).item_vectors, before)


def test_a_flipped_byte_inside_a_parquet_column_is_refused(model: Path) -> None:
    path = model / "items.parquet"
    flip(path, path.stat().st_size // 3)
    refused(model, "items.parquet", "sha256")


def test_a_truncated_parquet_file_is_refused(model: Path) -> None:
    path = model / "interactions.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    refused(model, "interactions.parquet")


def test_a_truncated_file_is_refused_by_its_size_before_any_hashing(model: Path) -> None:
    # the recommender's files are read only after verify: the size is what catches this
    path = model / "recommender" / "item_names.json"
    path.write_bytes(path.read_bytes()[:-3])
    refused(model, "item_names.json", "bytes but checksums.json records")


@pytest.mark.parametrize("name", ["recommender/popularity.npy", "clustering/model.json"])
def test_a_deleted_listed_file_is_refused(model: Path, name: str) -> None:
    (model / name).unlink()
    refused(model, name, "is missing but checksums.json lists it")


def test_a_listed_file_replaced_by_a_directory_is_refused(model: Path) -> None:
    path = model / "recommender" / "popularity.npy"
    path.unlink()
    path.mkdir()
    refused(model, "popularity.npy", "not a regular file")


# --- checksums.json itself damaged -----------------------------------------------------------


def _edit(model: Path, change) -> None:
    data = recorded(model)
    change(data)
    (model / CHECKSUMS_FILE).write_text(json.dumps(data))


def _first(data: dict) -> dict:
    return data["files"]["item_vectors.npy"]


LIST_DAMAGE = {
    "not JSON": lambda m: (m / CHECKSUMS_FILE).write_text("{not json"),
    "0 bytes": lambda m: (m / CHECKSUMS_FILE).write_bytes(b""),
    "not UTF-8": lambda m: (m / CHECKSUMS_FILE).write_bytes(b"\xff\xfe{"),
    "a list": lambda m: (m / CHECKSUMS_FILE).write_text("[1, 2]"),
    "files a list": lambda m: _edit(m, lambda d: d.update(files=["item_vectors.npy"])),
    "another algorithm": lambda m: _edit(m, lambda d: d.update(algorithm="md5")),
    "an entry a string": lambda m: _edit(m, lambda d: d["files"].update({"item_ids.json": "x"})),
    "digest not hex": lambda m: _edit(m, lambda d: _first(d).update(sha256="zz" * 32)),
    "digest too short": lambda m: _edit(m, lambda d: _first(d).update(sha256="ab" * 8)),
    "digest a number": lambda m: _edit(m, lambda d: _first(d).update(sha256=12)),
    "size negative": lambda m: _edit(m, lambda d: _first(d).update(size=-1)),
    "size a string": lambda m: _edit(m, lambda d: _first(d).update(size="10")),
    "size a boolean": lambda m: _edit(m, lambda d: _first(d).update(size=True)),
    "a path outside": lambda m: _edit(m, lambda d: d["files"].update({"../x": _first(d)})),
    "an absolute path": lambda m: _edit(m, lambda d: d["files"].update({"/etc/passwd": _first(d)})),
    "a directory": lambda m: ((m / CHECKSUMS_FILE).unlink(), (m / CHECKSUMS_FILE).mkdir()),
}


@pytest.mark.parametrize("damage", list(LIST_DAMAGE))
def test_a_damaged_checksum_list_is_one_clear_error(model: Path, damage: str) -> None:
    LIST_DAMAGE[damage](model)
    refused(model, "checksums.json")


def test_a_digest_that_does_not_match_is_refused(model: Path) -> None:
    _edit(model, lambda d: _first(d).update(sha256="0" * 64))
    refused(model, "item_vectors.npy: sha256 is", "checksums.json records 000000000000")


# --- what is not an error --------------------------------------------------------------------


def test_a_directory_saved_before_checksums_loads_and_says_so(
    model: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    (model / CHECKSUMS_FILE).unlink()
    with caplog.at_level(logging.WARNING, logger="interestlens.model_dir.verify"):
        assert load_model(model).manifest["n_users"] == 50
    assert "has no checksums.json" in caplog.text
    report = verify_checksums(model)
    assert not report.present
    assert "damage inside its files' bytes cannot be detected" in report.describe()
    assert main(["verify", "--model", str(model)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "has no checksums.json" in printed and "Fit the model again" in printed
    # updating a few names does not make an old directory look checked
    assert update_checksums(model, ["manifest.json"]) is None
    assert not (model / CHECKSUMS_FILE).exists()


def test_files_that_are_not_listed_are_no_error(model: Path) -> None:
    (model / "notes.txt").write_text("fitted for the spring campaign\n")
    (model / "mine").mkdir()
    (model / "mine" / "scratch.npy").write_bytes(b"anything")
    verify_model_dir(model)
    assert load_model(model).manifest["n_items"] == 40


# --- writers that change a directory in place ------------------------------------------------


def test_after_renaming_the_users_the_directory_still_verifies(model: Path) -> None:
    before = recorded(model)["files"]
    mapping = {user: f"p-{n:05d}" for n, user in enumerate(read_user_ids(model))}
    rename_users(model, mapping, key_fingerprint="f" * 16)
    after = recorded(model)["files"]
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"user_ids.json", "users.parquet", "manifest.json", "explanations.json"}
    assert verify_checksums(model).files == len(before)
    assert load_model(model).user_ids.to_list() == list(mapping.values())


def test_renaming_refuses_to_record_damage_it_would_read(model: Path) -> None:
    path = model / "users.parquet"
    flip(path, path.stat().st_size // 3)
    with pytest.raises(ModelFormatError, match=r"users\.parquet: sha256 is"):
        rename_users(model, {}, key_fingerprint="f" * 16)


def test_update_checksums_records_new_and_rewritten_files_and_drops_deleted_ones(
    model: Path,
) -> None:
    (model / "evaluation.json").write_text("{}")
    (model / "explanations.json").write_text("[]")
    (model / "recommender" / "popularity.npy").unlink()
    update_checksums(model, ["evaluation.json", "explanations.json", "recommender/popularity.npy"])
    files = recorded(model)["files"]
    assert "evaluation.json" in files and "recommender/popularity.npy" not in files
    assert list(files) == sorted(files)
    assert verify_checksums(model).files == len(files)


def test_a_refit_lists_the_service_log_record_it_adds(model: Path, tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    with EventStore(db) as store:
        store.append_events([Event("u0001", "i0005", 4.0, 1.8e9)])
    out = tmp_path / "refit"
    refit_model(model, out, demo_settings(tmp_path / "cache"), events_db=db)
    assert FOLDED_FILE in recorded(out)["files"]
    assert verify_checksums(out).present
    verify_model_dir(out)


# --- the command line and the service --------------------------------------------------------


def test_the_cli_refuses_a_damaged_model_in_one_line(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flip_in_npy_payload(model / "user_vectors.npy")
    users = tmp_path / "users.txt"
    users.write_text("u0001\n")
    output = tmp_path / "recs.csv"
    args = ["recommend", "--model", str(model), "--users", str(users), "--output", str(output)]
    assert main([*args, "-q"]) == 2
    captured = capsys.readouterr()
    text = " ".join((captured.out + captured.err).split())
    assert "user_vectors.npy: sha256 is" in text and "Fix:" in text
    assert "Traceback" not in text and not output.exists()
    assert main(["verify", "--model", str(model)]) == 2
    assert "user_vectors.npy: sha256 is" in " ".join(capsys.readouterr().err.split())


def test_the_cli_verify_command_reports_a_good_directory(
    good: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--model", str(good)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "50 users, 40 items" in printed and "files match checksums.json" in printed


def test_the_service_refuses_to_start_on_a_damaged_model(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flip_in_npy_payload(model / "item_vectors.npy")
    settings = demo_settings(tmp_path / "cache", **{"serve.events_db": str(tmp_path / "e.db")})
    with pytest.raises(ModelFormatError, match=r"item_vectors\.npy: sha256 is"):
        TestClient(create_app(model, settings)).__enter__()
    # the command checks before uvicorn starts: one line, exit 2, no port bound
    assert main(["serve", "--model", str(model)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "item_vectors.npy: sha256 is" in err and "Traceback" not in err


def test_a_reload_onto_a_damaged_model_keeps_the_old_one(good: Path, tmp_path: Path) -> None:
    # under the models root (the served model's folder), so that only the damage refuses it
    damaged = Path(shutil.copytree(good, good.parent / "damaged-reload"))
    try:
        flip_in_npy_payload(damaged / "recommender" / "factors.npy")
        settings = demo_settings(
            tmp_path / "cache",
            **{"serve.events_db": str(tmp_path / "e.db"), "serve.api_key": TEST_API_KEY},
        )
        with TestClient(create_app(good, settings)) as client:
            before = client.get("/users/u0001/recommendations").json()
            response = client.post("/admin/reload", json={"model_dir": str(damaged)}, headers=KEY)
            assert response.status_code == 409, response.text
            error = response.json()["error"]
            assert error["type"] == "ModelFormatError"
            assert "factors.npy: sha256 is" in error["message"] and error["fix"]
            assert client.get("/users/u0001/recommendations").json() == before
            assert client.get("/health").json()["reloads"] == 0
    finally:
        shutil.rmtree(damaged, ignore_errors=True)


# --- one process checking the same directory twice (serve, refit) ---------------------------


@pytest.fixture()
def settled(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Files count as settled at once, the process has checked nothing yet, and every file
    hashed is recorded."""
    from interestlens.model_dir import checksums

    monkeypatch.setattr(checksums, "_SETTLED_NS", 0)
    monkeypatch.setattr(checksums, "_MATCHED", {})
    hashed: list[Path] = []
    real = checksums.file_sha256

    def counting(path: Path) -> str:
        hashed.append(Path(path))
        return real(path)

    monkeypatch.setattr(checksums, "file_sha256", counting)
    return hashed


def test_a_second_check_reads_no_file_that_is_unchanged(model: Path, settled: list[Path]) -> None:
    first = verify_checksums(model)
    assert first.n_bytes > 0 and first.reused_bytes == 0
    assert len(settled) == first.files
    settled.clear()
    second = verify_checksums(model)
    assert settled == []
    assert second.n_bytes == 0 and second.reused_bytes == first.n_bytes
    assert second.files == first.files
    assert "unchanged since this process checked them" in second.describe()


def test_a_file_written_after_the_check_is_read_again_even_with_its_times_put_back(
    model: Path, settled: list[Path]
) -> None:
    verify_checksums(model)
    path = model / "item_vectors.npy"
    before = path.stat()
    flip_in_npy_payload(path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # st_ctime_ns still moves
    assert path.stat().st_size == before.st_size
    refused(model, "item_vectors.npy", "sha256")


def test_a_file_replaced_by_another_is_read_again(model: Path, settled: list[Path]) -> None:
    verify_checksums(model)
    path = model / "user_vectors.npy"
    damaged = model / "user_vectors.tmp"
    shutil.copy2(path, damaged)
    flip_in_npy_payload(damaged)
    os.replace(damaged, path)
    refused(model, "user_vectors.npy", "sha256")


def test_files_changed_moments_ago_are_hashed_at_every_check(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interestlens.model_dir import checksums

    monkeypatch.setattr(checksums, "_MATCHED", {})
    first = verify_checksums(model)
    second = verify_checksums(model)
    assert second.reused_bytes == 0 and second.n_bytes == first.n_bytes
