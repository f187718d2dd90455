"""InterestRecommender.save / load (no pickle) and EASE pruning, on tiny fixtures."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from interestlens.embed import HashingEncoder
from interestlens.errors import ModelFormatError, ParameterError
from interestlens.recommend import EASE
from interestlens.recommend.ease import keep_largest_per_column
from interestlens.recommend.interest import InterestRecommender
from interestlens.recommend.interest.storage import MANIFEST
from test_interest_recommender import (
    COLD_TEXTS,
    GROUP,
    ITEM_TEXTS,
    LABELS,
    checkerboard,
    with_cold_items,
)

N_USERS = 2 * GROUP
USER_TEXTS = ["space rockets and stars"] * GROUP + ["love stories and weddings"] * GROUP
NEW_TEXTS = ["I want rockets in space", "a romance with a wedding", ""]


def training() -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The checkerboard with two cold items, ratings 1-5 and increasing times."""
    matrix = with_cold_items(checkerboard())
    matrix.data = (1.0 + np.arange(matrix.nnz) % 5).astype(np.float32)
    times = matrix.copy().astype(np.float64)
    times.data = 1000.0 + np.arange(matrix.nnz, dtype=np.float64)
    return matrix, times


def fit(**settings) -> InterestRecommender:
    matrix, times = training()
    settings = {"n_clusters": 2, "tune": False, "half_life": 3.0, **settings}
    return InterestRecommender(**settings).fit(
        matrix, item_texts=ITEM_TEXTS + COLD_TEXTS, user_texts=USER_TEXTS, timestamps=times
    )


def history() -> sp.csr_matrix:
    rows = np.zeros((2, len(ITEM_TEXTS) + len(COLD_TEXTS)), dtype=np.float32)
    rows[0, [0, 1]] = [5.0, 3.0]
    rows[1, [7]] = 4.0
    return sp.csr_matrix(rows)


def assert_same_behaviour(fitted: InterestRecommender, loaded: InterestRecommender) -> None:
    users = np.arange(N_USERS)
    np.testing.assert_array_equal(loaded.score(users), fitted.score(users))
    np.testing.assert_array_equal(loaded.score_new(history()), fitted.score_new(history()))
    np.testing.assert_array_equal(
        loaded.score_new(texts=NEW_TEXTS), fitted.score_new(texts=NEW_TEXTS)
    )
    np.testing.assert_array_equal(
        loaded.score_new(history(), texts=NEW_TEXTS[:2]),
        fitted.score_new(history(), texts=NEW_TEXTS[:2]),
    )
    for got, want in zip(loaded.recommend(users, 4), fitted.recommend(users, 4), strict=True):
        np.testing.assert_array_equal(got, want)
    got = loaded.recommend_new(texts=NEW_TEXTS, k=3)
    for part, want in zip(got, fitted.recommend_new(texts=NEW_TEXTS, k=3), strict=True):
        np.testing.assert_array_equal(part, want)
    for user, item in [(0, 0), (0, 12), (GROUP, 7), (GROUP + 1, 13)]:
        assert loaded.explain(user, item, cluster_labels=LABELS) == fitted.explain(
            user, item, cluster_labels=LABELS
        )


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [{}, {"ease_neighbours": 3}, {"mmr_lambda": 0.5}, {"tune": ["warm"], "n_clusters": (2, 3)}],
    ids=["dense", "pruned", "mmr", "tuned"],
)
def test_round_trip_gives_the_same_scores_lists_and_reasons(tmp_path: Path, settings) -> None:
    fitted = fit(**settings)
    assert fitted.save(tmp_path / "model") == tmp_path / "model"
    loaded = InterestRecommender.load(tmp_path / "model")
    assert_same_behaviour(fitted, loaded)
    assert loaded.weights_ == fitted.weights_
    assert loaded.n_clusters_ == fitted.n_clusters_ and loaded.half_life_ == fitted.half_life_
    assert loaded.tuning_ == json.loads(json.dumps(fitted.tuning_))
    assert loaded.item_names_ == fitted.item_names_
    assert loaded.core_.cold_items.tolist() == [12, 13]
    params = fitted.get_params()
    assert loaded.get_params() == {**params, "interaction_times": None}


def test_tfidf_and_lsa_are_rebuilt_exactly(tmp_path: Path) -> None:
    fitted = fit()
    fitted.save(tmp_path)
    loaded = InterestRecommender.load(tmp_path)
    texts = ["rocket galaxy orbit", "wedding love unknownword", "", "Paris letters"]
    want = fitted.text_.vectorizer_.transform(texts)
    got = loaded.text_.vectorizer_.transform(texts)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got.toarray(), want.toarray())
    dense, lexical = fitted.text_.encode_users(texts)
    np.testing.assert_array_equal(
        loaded.text_.joint_users(dense, lexical), fitted.text_.joint_users(dense, lexical)
    )


def test_saved_files_are_json_and_plain_arrays_without_pickle(tmp_path: Path) -> None:
    fit(ease_neighbours=3).save(tmp_path)
    files = sorted(path.name for path in tmp_path.iterdir())
    assert MANIFEST in files
    assert {Path(name).suffix for name in files} == {".json", ".npy", ".npz"}
    for path in tmp_path.glob("*.npy"):
        np.load(path, allow_pickle=False)
    for path in tmp_path.glob("*.npz"):
        with np.load(path, allow_pickle=False) as archive:
            for name in archive.files:
                assert archive[name].dtype != object
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["format"] == "interestlens.InterestRecommender" and manifest["version"] == 1
    assert manifest["arrays"]["ease_weights"]["format"] == "csr"
    assert manifest["encoder"] == {"identifier": HashingEncoder().identifier, "default": True}
    assert "interaction_times" not in manifest["params"] and "encoder" not in manifest["params"]


# --- EASE pruning ----------------------------------------------------------------------------


def test_pruning_keeps_the_entries_of_largest_magnitude_per_column() -> None:
    weights = np.array([[0, -5, 1], [2, 0, -3], [-4, 1, 0], [1, 3, 2]], dtype=np.float32)
    pruned = keep_largest_per_column(weights, 2)
    assert sp.issparse(pruned) and pruned.format == "csr" and pruned.dtype == np.float32
    expected = [[0, -5, 0], [2, 0, -3], [-4, 0, 0], [0, 3, 2]]
    np.testing.assert_array_equal(pruned.toarray(), expected)
    # pruning the sparse result again keeps the single largest of each column
    np.testing.assert_array_equal(
        keep_largest_per_column(pruned, 1).toarray(), [[0, -5, 0], [0, 0, -3], [-4, 0, 0], [0] * 3]
    )
    np.testing.assert_array_equal(keep_largest_per_column(weights, 9).toarray(), weights)


def test_sparse_ease_matches_dense_with_every_neighbour() -> None:
    matrix = checkerboard()
    dense = EASE(l2=2.0).fit(matrix)
    pruned = EASE(l2=2.0).fit(matrix).prune(matrix.shape[1])
    assert pruned.is_pruned and not dense.is_pruned
    users = np.arange(N_USERS)
    np.testing.assert_allclose(pruned.score(users), dense.score(users), rtol=1e-6)
    np.testing.assert_allclose(pruned.weights_.toarray(), dense.weights_)
    sources = np.array([0, 1, 2, 7])
    np.testing.assert_array_equal(pruned.item_weights(sources, 3), dense.item_weights(sources, 3))
    assert pruned.item_weights(sources, 3)[3] == 0.0  # other block: no weight
    few = EASE(l2=2.0).fit(matrix).prune(2)
    assert (few.weights_.getnnz(axis=0) <= 2).all()
    with pytest.raises(ParameterError, match="n_neighbours=0 should be an integer >= 1"):
        EASE(l2=2.0).fit(matrix).prune(0)


def test_interest_model_with_every_ease_neighbour_scores_as_the_dense_one() -> None:
    users = np.arange(N_USERS)
    dense = fit()
    for neighbours in (len(ITEM_TEXTS), 100):
        pruned = fit(ease_neighbours=neighbours)
        assert sp.issparse(pruned.core_.ease.weights_)
        np.testing.assert_allclose(pruned.score(users), dense.score(users), rtol=1e-5, atol=1e-5)
        assert pruned.explain(0, 0) == dense.explain(0, 0)
    assert not sp.issparse(fit(ease_neighbours=0).core_.ease.weights_)
    with pytest.raises(ParameterError, match="ease_neighbours=-1 should be None or an integer"):
        fit(ease_neighbours=-1)


# --- errors ----------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    fit(ease_neighbours=3).save(tmp_path / "model")
    return tmp_path / "model"


def test_missing_files_are_named(saved: Path) -> None:
    (saved / "warm.npy").unlink()
    with pytest.raises(ModelFormatError, match=r"warm\.npy is missing.*Fix: fit the model again"):
        InterestRecommender.load(saved)
    (saved / MANIFEST).unlink()
    with pytest.raises(ModelFormatError, match=r"recommender\.json is missing"):
        InterestRecommender.load(saved)
    with pytest.raises(ModelFormatError, match="is missing"):
        InterestRecommender.load(saved.parent / "nowhere")


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("factors.npy", "truncate", r"factors\.npy"),
        ("ease_weights.npz", "truncate", r"ease_weights\.npz is not a readable \.npz"),
        ("text_lexical.npz", "garbage", r"text_lexical\.npz is not a readable \.npz"),
        ("popularity.npy", "reshape", r"popularity\.npy declares shape \(3,\)"),
        ("recommender.json", "garbage", r"recommender\.json is not valid JSON"),
        ("text_vocabulary.json", "reshape", r"text_vocabulary\.json holds 3 entries"),
    ],
)
def test_damaged_files_are_named(saved: Path, name: str, damage: str, message: str) -> None:
    path = saved / name
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:60])
    elif damage == "garbage":
        path.write_bytes(b"\x00 not what was saved")
    elif name.endswith(".npy"):
        np.save(path, np.zeros(3, dtype=np.float32))
    else:
        path.write_text('["a", "b", "c"]')
    with pytest.raises(ModelFormatError, match=message) as caught:
        InterestRecommender.load(saved)
    assert "fit the model again" in str(caught.value)


def test_an_object_array_is_refused_not_unpickled(saved: Path) -> None:
    np.save(saved / "warm.npy", np.array([{"x": 1}] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(ModelFormatError, match=r"warm\.npy holds Python objects"):
        InterestRecommender.load(saved)


def test_wrong_format_or_version_is_refused(saved: Path) -> None:
    manifest = json.loads((saved / MANIFEST).read_text())
    (saved / MANIFEST).write_text(json.dumps({**manifest, "version": 99}))
    with pytest.raises(ModelFormatError, match="has version 99; expected version 1"):
        InterestRecommender.load(saved)
    (saved / MANIFEST).write_text(json.dumps({**manifest, "format": "something else"}))
    with pytest.raises(ModelFormatError, match="has format 'something else'"):
        InterestRecommender.load(saved)
    del manifest["learned"]["max_value_"]
    (saved / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match=r"has no entry learned\.max_value_"):
        InterestRecommender.load(saved)
    assert not zipfile.is_zipfile(saved / MANIFEST)


# --- encoders --------------------------------------------------------------------------------


def test_a_different_encoder_is_refused(tmp_path: Path) -> None:
    encoder = HashingEncoder(dimension=64, seed=3)
    fit(encoder=encoder).save(tmp_path)
    with pytest.raises(ModelFormatError, match="fitted with encoder 'hashing-v1:dim=64") as caught:
        InterestRecommender.load(tmp_path, encoder=HashingEncoder(dimension=32))
    assert "hashing-v1:dim=32" in str(caught.value)
    assert "pass the encoder the model was fitted with" in str(caught.value)


def test_without_its_encoder_only_new_text_is_refused(tmp_path: Path) -> None:
    encoder = HashingEncoder(dimension=64, seed=3)
    fitted = fit(encoder=encoder)
    fitted.save(tmp_path)
    blind = InterestRecommender.load(tmp_path)
    users = np.arange(N_USERS)
    np.testing.assert_array_equal(blind.score(users), fitted.score(users))
    np.testing.assert_array_equal(blind.score_new(history()), fitted.score_new(history()))
    assert blind.explain(0, 0) == fitted.explain(0, 0)
    with pytest.raises(ParameterError, match="loaded without its text encoder"):
        blind.score_new(texts=NEW_TEXTS)
    with pytest.raises(ParameterError, match="encoder=<the encoder it was fitted with>"):
        blind.add_items(["a new space film"])
    assert blind.n_items_ == fitted.n_items_
    # saved again without the encoder, it still asks for the fitted one
    blind.save(tmp_path / "again")
    with pytest.raises(ModelFormatError, match="fitted with encoder"):
        InterestRecommender.load(tmp_path / "again", encoder=HashingEncoder())
    seeing = InterestRecommender.load(tmp_path / "again", encoder=encoder)
    assert_same_behaviour(fitted, seeing)
    # or the encoder comes later, when text first arrives
    with pytest.raises(ModelFormatError, match="this InterestRecommender was fitted with encoder"):
        blind.set_encoder(HashingEncoder(dimension=32))
    assert blind.set_encoder(encoder) is blind
    assert_same_behaviour(fitted, blind)


def test_a_model_without_texts_round_trips(tmp_path: Path) -> None:
    fitted = InterestRecommender(n_clusters=2, tune=False).fit(checkerboard())
    fitted.save(tmp_path)
    loaded = InterestRecommender.load(tmp_path, encoder=HashingEncoder(dimension=16))
    users = np.arange(N_USERS)
    np.testing.assert_array_equal(loaded.score(users), fitted.score(users))
    assert loaded.text_ is None and loaded.explain(0, 0) == fitted.explain(0, 0)
