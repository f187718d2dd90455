"""Erasure that can be checked: fit with pseudonyms, post events through the service, forget a
user (CLI and DELETE), refit, and prove with ``audit`` that no artifact holds the user's id,
pseudonym, text or events. Hostile cases: no key, wrong key, damaged files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import tomli_w
from fastapi.testclient import TestClient

from interestlens.cli import main
from interestlens.config import load_settings
from interestlens.data.synthetic import make_demo_dataset
from interestlens.errors import ModelFormatError
from interestlens.persist import read_json
from interestlens.pipeline import InterestLens
from interestlens.privacy import PrivacyKeyError, Pseudonymizer
from interestlens.privacy_jobs.audit import audit_user
from interestlens.serve import create_app
from interestlens.serve.testing import TEST_API_KEY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PRIVACY_KEY = "erasure-test-key-0123456789"
HEADERS = {"X-API-Key": TEST_API_KEY}


def write_config(root: Path) -> Path:
    config = {
        "encoder": {
            "kind": "hashing",
            "cache": True,
            "cache_dir": str(root / "cache"),
            "show_progress": False,
        },
        "recommend": {"tune": False},
        "cluster": {"k": 4, "stability_runs": 0},
        "serve": {"events_db": str(root / "events.sqlite"), "api_key": TEST_API_KEY},
        "privacy": {"pseudonymize": True, "min_group_size": 10},
    }
    path = root / "settings.toml"
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    return path


@pytest.fixture()
def setup(tmp_path, monkeypatch):
    """A pseudonymized demo model, its config file and the key in the environment."""
    monkeypatch.setenv("INTERESTLENS_PRIVACY__KEY", PRIVACY_KEY)
    config = write_config(tmp_path)
    settings = load_settings(config)
    dataset, _ = make_demo_dataset(seed=0, n_items=120, n_users=150, n_themes=4)
    model_dir = InterestLens(settings).fit(dataset).save(tmp_path / "model")
    return tmp_path, config, settings, dataset, model_dir


def user_text(model_dir: Path, pseudonym: str) -> str:
    ids = read_json(model_dir / "user_ids.json")
    return str(pd.read_parquet(model_dir / "users.parquet")["text"].iloc[ids.index(pseudonym)])


def run_audit(model_dir, config, root, user, text, capsys) -> tuple[int, str]:
    text_file = root / "text.txt"
    text_file.write_text(text, encoding="utf-8")
    code = main(
        [
            "audit",
            "--model",
            str(model_dir),
            "--user",
            user,
            "--events-db",
            str(root / "events.sqlite"),
            "--cache",
            str(root / "cache" / "embeddings.sqlite"),
            "--text-file",
            str(text_file),
            "--config",
            str(config),
        ]
    )
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_no_raw_user_id_in_a_pseudonymized_model(setup):
    _, _, settings, dataset, model_dir = setup
    raw = set(dataset.users["user_id"]) | set(dataset.interactions["user_id"])
    pseudonymizer = Pseudonymizer(PRIVACY_KEY)
    saved = read_json(model_dir / "user_ids.json")
    assert set(saved) == {pseudonymizer.pseudonym(u) for u in raw}
    manifest = read_json(model_dir / "manifest.json")
    assert manifest["privacy"]["pseudonymized"] is True
    assert manifest["privacy"]["key_fingerprint"] == pseudonymizer.fingerprint
    every_file = b"".join(p.read_bytes() for p in model_dir.rglob("*") if p.is_file())
    assert PRIVACY_KEY.encode() not in every_file
    for user in ["u0001", "u0042", "u0150"]:
        findings = audit_user(model_dir, user, settings).findings
        whats = {f.what for f in findings}
        assert "pseudonym" in whats and "id" not in whats  # found under the pseudonym only


def test_fit_forget_refit_and_audit_finds_nothing(setup, capsys):
    root, config, settings, dataset, model_dir = setup
    user = "u0002"  # has a bio, interactions, and gets events through the service
    pseudonym = Pseudonymizer(PRIVACY_KEY).pseudonym(user)
    text = user_text(model_dir, pseudonym)
    assert "sword and sorcery" in text
    item = dataset.items["item_id"].iloc[0]

    with TestClient(create_app(model_dir, settings)) as client:
        for who in (user, "u0003"):
            response = client.post(
                "/events", headers=HEADERS, json={"user_id": who, "item_id": item, "rating": 5}
            )
            assert response.status_code == 201, response.text
        assert client.get(f"/users/{user}/recommendations?k=3").status_code == 200
        assert client.get(f"/users/{user}/cluster").json()["user_id"] == user
    with sqlite3.connect(root / "events.sqlite") as db:
        stored = {row[0] for row in db.execute("SELECT user_id FROM log")}
    assert stored == {pseudonym, Pseudonymizer(PRIVACY_KEY).pseudonym("u0003")}  # no raw id

    code, output = run_audit(model_dir, config, root, user, text, capsys)
    assert code == 1
    for place in (
        "user_ids.json: pseudonym",
        "users.parquet: text",
        "user_vectors.npy: vector",
        "interactions.parquet: events",
        "events.sqlite: pseudonym: events (1 event rows)",
        "embeddings.sqlite: text vector",
    ):
        assert place in output, output
    assert "text" in output and "event rows" in output

    n_users = len(read_json(model_dir / "user_ids.json"))
    assert main(["forget", "--model", str(model_dir), "--user", user, "--config", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["in_model"] is True and report["events_deleted"] == 1
    assert report["cache_entries_deleted"] == 1
    # the user's interactions in the model (the service's event counts in events_deleted)
    history = int((dataset.interactions["user_id"] == user).sum())
    assert report["interactions_removed"] == history > 0

    # the refitted model: one user fewer, the other user's event folded in
    assert len(read_json(model_dir / "user_ids.json")) == n_users - 1
    sizes = [e["size"] for e in read_json(model_dir / "explanations.json")]
    assert sum(sizes) == n_users - 1  # cluster statistics are rebuilt without the user
    assert main(["refit", "--model", str(model_dir), "--out", str(model_dir), "-q",
                 "--config", str(config)]) == 0  # fmt: skip
    capsys.readouterr()

    code, output = run_audit(model_dir, config, root, user, text, capsys)
    assert code == 0, output
    assert "0 places hold the user (id, pseudonym, text)" in output
    # a user who was not forgotten is still found
    code, _ = run_audit(model_dir, config, root, "u0003", "", capsys)
    assert code == 1


def test_delete_endpoint_then_forget_completes_the_erasure(setup, capsys):
    root, config, settings, _, model_dir = setup
    user = "u0005"
    pseudonym = Pseudonymizer(PRIVACY_KEY).pseudonym(user)
    text = user_text(model_dir, pseudonym)
    with TestClient(create_app(model_dir, settings)) as client:
        response = client.delete(f"/users/{user}", headers=HEADERS)
        assert response.status_code == 200, response.text
        assert client.get(f"/users/{user}/recommendations").status_code == 404
    # the live service removed the text's vector from the cache and the events; the model
    # directory and the forgetting record still name the user until the erasure completes
    code, output = run_audit(model_dir, config, root, user, text, capsys)
    assert code == 1 and "embeddings.sqlite: text vector" not in output
    assert "1 forget rows" in output
    assert main(["forget", "--model", str(model_dir), "--user", user, "--config", str(config)]) == 0
    capsys.readouterr()
    code, output = run_audit(model_dir, config, root, user, text, capsys)
    assert code == 0, output


def test_unknown_user_missing_key_wrong_key_and_damaged_files(setup, capsys, monkeypatch):
    _, config, settings, _, model_dir = setup
    args = ["--model", str(model_dir), "--config", str(config)]
    assert main(["forget", *args, "--user", "nobody"]) == 2
    assert "neither in the model" in capsys.readouterr().err

    monkeypatch.delenv("INTERESTLENS_PRIVACY__KEY")
    assert main(["audit", *args, "--user", "u0001"]) == 2
    assert "privacy.key is not set" in capsys.readouterr().err
    monkeypatch.setenv("INTERESTLENS_PRIVACY__KEY", "another-key-of-enough-length")
    assert main(["forget", *args, "--user", "u0001"]) == 2
    assert "fingerprint" in capsys.readouterr().err
    with pytest.raises(PrivacyKeyError):
        TestClient(create_app(model_dir, load_settings(config))).__enter__()

    monkeypatch.setenv("INTERESTLENS_PRIVACY__KEY", PRIVACY_KEY)
    (model_dir / "explanations.json").write_text("[{broken", encoding="utf-8")
    assert main(["audit", *args, "--user", "u0001"]) == 2
    assert "cannot audit" in capsys.readouterr().err
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        audit_user(model_dir, "u0001", settings)
    (model_dir / "manifest.json").unlink()
    assert main(["audit", *args, "--user", "u0001"]) == 2
    assert "manifest.json is missing" in capsys.readouterr().err


def test_rotate_key_renames_every_pseudonym_in_model_and_store(setup, capsys, monkeypatch):
    root, config, settings, dataset, model_dir = setup
    item = dataset.items["item_id"].iloc[0]
    with TestClient(create_app(model_dir, settings)) as client:
        client.post("/events", headers=HEADERS, json={"user_id": "u0007", "item_id": item})
    raw_ids = sorted(set(dataset.users["user_id"]) | set(dataset.interactions["user_id"]))
    ids_file = root / "ids.txt"
    ids_file.write_text("\n".join(raw_ids[1:]), encoding="utf-8")
    new_key = "the-new-key-after-rotation-0001"
    monkeypatch.setenv("INTERESTLENS_PRIVACY__NEW_KEY", new_key)
    args = ["rotate-key", "--model", str(model_dir), "--out", str(model_dir),
            "--config", str(config)]  # fmt: skip
    before = (model_dir / "user_ids.json").read_bytes()
    assert main([*args, "--ids", str(ids_file)]) == 2  # one user missing: nothing changes
    assert "belong to none of the raw ids" in capsys.readouterr().err
    assert (model_dir / "user_ids.json").read_bytes() == before

    ids_file.write_text("\n".join(raw_ids), encoding="utf-8")
    assert main([*args, "--ids", str(ids_file)]) == 0
    capsys.readouterr()
    old, new = Pseudonymizer(PRIVACY_KEY), Pseudonymizer(new_key)
    assert set(read_json(model_dir / "user_ids.json")) == {new.pseudonym(u) for u in raw_ids}
    with sqlite3.connect(root / "events.sqlite") as db:
        assert {r[0] for r in db.execute("SELECT user_id FROM log")} == {new.pseudonym("u0007")}
    every_file = b"".join(p.read_bytes() for p in model_dir.rglob("*") if p.is_file())
    every_file += (root / "events.sqlite").read_bytes()
    assert all(old.pseudonym(u).encode() not in every_file for u in raw_ids[:20])

    monkeypatch.setenv("INTERESTLENS_PRIVACY__KEY", new_key)
    new_settings = load_settings(config)
    with TestClient(create_app(model_dir, new_settings)) as client:
        assert client.get("/users/u0007/recommendations?k=3").status_code == 200
    with pytest.raises(PrivacyKeyError, match="fingerprint"):
        old.check_manifest(read_json(model_dir / "manifest.json"))
