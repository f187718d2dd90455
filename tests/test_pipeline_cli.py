"""The whole job through the Python API and the CLI, with the hashing encoder (no weights)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from interestlens import InterestLens, load_settings, make_demo_dataset
from interestlens.cli import main
from interestlens.errors import ModelFormatError
from interestlens.testing import RecordingEncoder

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def demo():
    return make_demo_dataset(seed=0, n_items=120, n_users=150, n_themes=4)


def hashing_settings(tmp_path: Path, **extra):
    # a k scan up to 8 and no stability refits: the 4 themes are found in a third of the time
    return load_settings(
        environ={},
        overrides={
            "recommend.tune": False,
            "cluster.k_max": 8,
            "cluster.stability_runs": 0,
            "encoder.kind": "hashing",
            "encoder.cache_dir": tmp_path / "cache",
            "encoder.show_progress": False,
            **extra,
        },
    )


def test_fit_save_load_roundtrip(tmp_path: Path, demo):
    dataset, _ = demo
    model = InterestLens(hashing_settings(tmp_path)).fit(dataset)
    assert model.item_vectors_.shape == (120, 384)
    assert model.user_vectors_.shape[0] == len(model.user_ids_)
    np.testing.assert_allclose(
        np.linalg.norm(model.user_vectors_[model.representer_.has_history_], axis=1), 1, rtol=1e-5
    )
    path = model.save(tmp_path / "model")
    loaded = InterestLens.load(path)
    assert loaded.item_ids_ == model.item_ids_ and loaded.user_ids_ == model.user_ids_
    np.testing.assert_array_equal(loaded.user_vectors_, model.user_vectors_)
    assert loaded.item_texts_ == model.item_texts_
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["encoder"].startswith("hashing")
    assert not list(tmp_path.glob(".model*")), "no staging directory left behind"


def test_warm_cache_calls_encoder_zero_times(tmp_path: Path, demo):
    from interestlens.embed import HashingEncoder

    dataset, _ = demo
    first = RecordingEncoder(HashingEncoder())
    InterestLens(hashing_settings(tmp_path), encoder=first).fit(dataset)
    assert first.n_calls > 0
    second = RecordingEncoder(HashingEncoder())
    model = InterestLens(hashing_settings(tmp_path), encoder=second).fit(dataset)
    assert second.n_calls == 0
    assert model.report_.items.cache_hits == model.report_.items.unique_texts
    # the cold run encoded each distinct text once, the item texts among them
    assert first.n_texts == len(set(first.texts)) >= model.report_.items.unique_texts
    assert set(model.item_texts_) <= set(first.texts)


def test_text_only_users_get_text_vectors(tmp_path: Path, demo):
    dataset, _ = demo
    users = pd.concat(
        [dataset.users, pd.DataFrame({"user_id": ["newbie", "silent"], "bio": ["I love jazz", ""]})]
    )
    dataset = type(dataset)(dataset.interactions, dataset.items, users, name="demo+")
    model = InterestLens(hashing_settings(tmp_path)).fit(dataset)
    sources = dict(zip(model.user_ids_.ids, model.representer_.source_, strict=True))
    assert sources["newbie"] == "text"
    assert sources["silent"] == "none"
    assert model.report_.users_without_signal == ["silent"]


def test_loading_damaged_model_is_clear(tmp_path: Path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(ModelFormatError, match="not an interestlens model manifest"):
        InterestLens.load(tmp_path / "m")
    with pytest.raises(ModelFormatError, match="does not exist"):
        InterestLens.load(tmp_path / "nowhere")


def test_refuses_to_overwrite_foreign_directory(tmp_path: Path, demo):
    dataset, _ = demo
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"x")
    model = InterestLens(hashing_settings(tmp_path)).fit(dataset)
    with pytest.raises(ModelFormatError, match="holds no interestlens model"):
        model.save(foreign)
    assert (foreign / "holiday.jpg").exists()


# --- CLI -----------------------------------------------------------------------------------


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_demo_then_fit_from_its_files(tmp_path: Path, capsys, monkeypatch):
    # the whole default job, the recommender's validation search included
    monkeypatch.delenv("INTERESTLENS_RECOMMEND__TUNE")
    cache = str(tmp_path / "cache")
    code, out, _ = run_cli(
        [
            "demo",
            "--out",
            str(tmp_path / "demo"),
            "--encoder",
            "hashing",
            "--cache-dir",
            cache,
            "-q",
        ],
        capsys,
    )
    assert code == 0, out
    assert (tmp_path / "demo" / "model" / "manifest.json").exists()
    assert "model" in out
    recommendations = pd.read_csv(tmp_path / "demo" / "recommendations.csv")
    assert list(recommendations.columns[:4]) == ["user_id", "rank", "item_id", "score"]
    assert recommendations["user_id"].nunique() == 600
    tuned = json.loads(
        (tmp_path / "demo" / "model" / "recommender" / "recommender.json").read_text()
    )
    assert tuned["learned"]["tuning_"]
    monkeypatch.setenv("INTERESTLENS_RECOMMEND__TUNE", "false")
    data = tmp_path / "demo" / "data"
    code, out, err = run_cli(
        [
            "fit",
            "--interactions",
            str(data / "interactions.csv"),
            "--items",
            str(data / "items.csv"),
            "--users",
            str(data / "users.csv"),
            "--out",
            str(tmp_path / "m2"),
            "--encoder",
            "hashing",
            "--cache-dir",
            cache,
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    assert "fromcache" in re.sub(r"[\s│]", "", out)
    assert InterestLens.load(tmp_path / "m2").user_vectors_.shape[1] == 384


def test_cli_embed_txt(tmp_path: Path, capsys):
    source = tmp_path / "t.txt"
    source.write_text("hiking boots\nsourdough bread\nhiking trail map\n")
    code, _out, err = run_cli(
        [
            "embed",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "v.npy"),
            "--encoder",
            "hashing",
            "--no-cache",
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    vectors = np.load(tmp_path / "v.npy")
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1]
    stats = json.loads((tmp_path / "v.json").read_text())
    assert stats["ids"] == ["0", "1", "2"] and stats["texts"] == 3


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["fit", "--interactions", "nope.csv", "--items", "nope.csv", "--out", "m"],
            "does not exist",
        ),
        (["fit", "--out", "m"], "expected exactly one of --interactions"),
        (["fit", "--interactions", "x.csv", "--out", "m"], "--items is missing"),
        (["embed", "--input", "a.txt", "--output", "v.csv"], "does not end in .npy"),
        (
            ["fit", "--movielens", ".", "--out", "m", "--config", "missing.toml"],
            "configuration file missing.toml does not exist",
        ),
    ],
)
def test_cli_errors_are_one_line_exit_2(args, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli([*args, "--encoder", "hashing"], capsys)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err
    assert err.strip().startswith("error:")


def test_cli_bad_csv_is_one_line(tmp_path: Path, capsys):
    (tmp_path / "r.csv").write_text("user,item_id\nu1,i1\n")
    (tmp_path / "i.csv").write_text("item_id,title\ni1,Boots\n")
    code, _, err = run_cli(
        [
            "fit",
            "--interactions",
            str(tmp_path / "r.csv"),
            "--items",
            str(tmp_path / "i.csv"),
            "--out",
            str(tmp_path / "m"),
            "--encoder",
            "hashing",
            "--no-cache",
        ],
        capsys,
    )
    assert code == 2
    assert "user_id" in err and "user" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "No such option: --bogus"),
        (["fit"], "Missing option '--out'"),
        (["recommend", "--model", "m", "--output", "o", "-k", "x"], "Invalid value for '-k'"),
    ],
)
def test_cli_usage_errors_exit_2_without_traceback(args, message, capsys):
    code, out, err = run_cli(args, capsys)
    assert code == 2
    assert message in out + err
    assert "Traceback" not in out + err


def test_cli_without_a_command_shows_help_not_a_traceback(capsys):
    code, out, err = run_cli([], capsys)
    assert code == 2
    assert "recommend" in out + err and "Traceback" not in out + err
