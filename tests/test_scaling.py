"""Fitting and serving at scale, on tiny fixtures with known answers: EASE's sparse Gram matrix
and in-place inverse, item cosine above ``ease_max_items``, saving it without pickle, and
``recommend --all`` built from arrays giving the rows the one-user path gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from interestlens import InterestLens, load_settings, make_demo_dataset
from interestlens.cluster import KMeansClusterer
from interestlens.cluster.auto import AutoKClusterer
from interestlens.cluster.stability import stability
from interestlens.data.synthetic.scale import scaling_dataset
from interestlens.engine import PRECOMPUTE_BATCH, RecommendationEngine
from interestlens.engine import bulk_ranker as bulk_ranker_module
from interestlens.engine import ranker as ranker_module
from interestlens.errors import ConfigError, ModelFormatError, ParameterError
from interestlens.model_dir import read_recommender, write_recommender
from interestlens.model_dir.recommender_files import MANIFEST
from interestlens.persist import read_rows, write_rows
from interestlens.recommend import EASE, ItemCosine, item_weights
from interestlens.recommend import ease as ease_module
from interestlens.recommend.interest import cluster_affinity, coldstart, reasons
from interestlens.recommend.interest.budget import MIN_VALIDATION_USERS, validation_users
from interestlens.recommend.interest.collaborative import fit_collaborative
from test_interest_persist import assert_same_behaviour, fit, training

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# --- EASE ------------------------------------------------------------------------------------


def dense_ease(matrix: np.ndarray, l2: float) -> np.ndarray:
    """The textbook closed form in float64 (what EASE computed with dense blocks)."""
    precision = np.linalg.inv(matrix.T @ matrix + l2 * np.eye(matrix.shape[1]))
    weights = -precision / np.diag(precision)[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


def test_ease_known_answer_two_identical_users() -> None:
    # G + I = [[3, 2], [2, 3]], P = [[3, -2], [-2, 3]] / 5, B[0, 1] = (2/5) / (3/5)
    model = EASE(l2=1.0, dtype="float64", solver="cholesky").fit(sp.csr_matrix(np.ones((2, 2))))
    np.testing.assert_allclose(model.weights_, [[0.0, 2 / 3], [2 / 3, 0.0]], rtol=1e-7)


@pytest.mark.parametrize("block_size", [1, 2, 64])
def test_ease_equals_the_dense_computation(block_size: int, monkeypatch) -> None:
    rng = np.random.default_rng(3)
    matrix = (rng.random((40, 9)) < 0.3).astype(np.float64)
    matrix[:, 4] = 0.0  # an item without interactions stays out of B
    monkeypatch.setattr(ease_module, "_MIRROR_BLOCK", 2)  # the mirror crosses blocks
    model = EASE(l2=3.0, dtype="float64", solver="cholesky", block_size=block_size)
    model.fit(sp.csr_matrix(matrix))
    active = np.flatnonzero(matrix.sum(axis=0) > 0)
    np.testing.assert_array_equal(model.active_items_, active)
    np.testing.assert_allclose(model.weights_, dense_ease(matrix[:, active], 3.0), atol=1e-6)
    single = EASE(l2=3.0, solver="cholesky", block_size=block_size).fit(sp.csr_matrix(matrix))
    np.testing.assert_allclose(single.weights_, dense_ease(matrix[:, active], 3.0), atol=1e-4)


def test_sparse_gram_is_x_transpose_x() -> None:
    matrix = sp.random(50, 13, density=0.2, random_state=1, format="csr", dtype=np.float32)
    matrix.data[:] = 1.0
    for block in (1, 5, 13, 100):
        gram = ease_module.sparse_gram(matrix, block_size=block)
        np.testing.assert_array_equal(gram, (matrix.T @ matrix).toarray())


# --- item cosine and the switch --------------------------------------------------------------


def checkerboard(n_users: int = 8, n_items: int = 6) -> sp.csr_matrix:
    """User u has item i when u + i is even: items of one parity share all their users
    (cosine 1), items of different parity none (cosine 0)."""
    users, items = np.meshgrid(np.arange(n_users), np.arange(n_items), indexing="ij")
    return sp.csr_matrix(((users + items) % 2 == 0).astype(np.float32))


def test_item_cosine_finds_the_checkerboard_neighbours() -> None:
    model = ItemCosine(n_neighbours=5).fit(checkerboard())
    weights = model.weights_.toarray()
    parity = np.arange(6) % 2
    expected = (parity[:, None] == parity[None, :]).astype(np.float32)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(weights, expected, atol=1e-6)
    items, _ = model.recommend_new(sp.csr_matrix(([1.0], ([0], [0])), shape=(1, 6)), k=2)
    assert set(items[0]) == {2, 4}
    np.testing.assert_allclose(model.item_weights(np.array([0, 1, 2]), 4), [1.0, 0.0, 1.0])


def test_item_cosine_keeps_n_neighbours_and_refuses_absurd_settings() -> None:
    model = ItemCosine(n_neighbours=1).fit(checkerboard())
    assert (model.weights_.getnnz(axis=1) == 1).all()
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ParameterError, match="n_neighbours=.* should be an integer >= 1"):
            ItemCosine(n_neighbours=bad).fit(checkerboard())


def test_the_switch_follows_the_number_of_items_with_interactions() -> None:
    matrix = checkerboard()  # 6 items with interactions
    at_limit = fit_collaborative(matrix, l2=1.0, neighbours=0, max_ease_items=6)
    above = fit_collaborative(matrix, l2=1.0, neighbours=5, max_ease_items=5, cosine_neighbours=3)
    assert isinstance(at_limit, EASE) and not at_limit.is_pruned
    # each model keeps its own number of neighbours: EASE's does not reach the cosine model
    assert isinstance(above, ItemCosine) and above.n_neighbours == 3
    pruned = fit_collaborative(matrix, l2=1.0, neighbours=2, max_ease_items=6, cosine_neighbours=5)
    assert isinstance(pruned, EASE) and (pruned.weights_.getnnz(axis=0) <= 2).all()
    empty = sp.csr_matrix((4, 6), dtype=np.float32)
    assert fit_collaborative(empty, l2=1.0, neighbours=0, max_ease_items=0) is None
    assert isinstance(fit(ease_max_items=0).core_.ease, ItemCosine)
    assert isinstance(fit().core_.ease, EASE)
    with pytest.raises(ParameterError, match="ease_max_items=-1 should be an integer >= 0"):
        fit(ease_max_items=-1)
    cosine = fit(ease_max_items=0, ease_neighbours=1, cosine_neighbours=2).core_.ease
    assert isinstance(cosine, ItemCosine) and cosine.n_neighbours == 2
    assert (cosine.weights_.getnnz(axis=1) <= 2).all()
    for bad in (0, -1, 2.5, True, "8"):
        with pytest.raises(ParameterError, match="cosine_neighbours=.* should be an integer >= 1"):
            fit(ease_max_items=0, cosine_neighbours=bad)


def test_item_cosine_model_round_trip_without_pickle(tmp_path: Path) -> None:
    fitted = fit(ease_max_items=0, ease_neighbours=4)
    write_recommender(tmp_path, fitted)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["collaborative"] == "item_cosine"
    assert manifest["arrays"]["ease_weights"]["format"] == "csr"
    loaded = read_recommender(tmp_path)
    assert isinstance(loaded.core_.ease, ItemCosine)
    assert_same_behaviour(fitted, loaded)
    new = fitted.add_items(["rockets to the stars"])  # new items scored the same way too
    assert loaded.add_items(["rockets to the stars"]).tolist() == new.tolist()
    users = np.arange(4)
    np.testing.assert_array_equal(loaded.score(users), fitted.score(users))


def test_damaged_or_unknown_collaborative_model_is_named(tmp_path: Path) -> None:
    write_recommender(tmp_path, fit(ease_max_items=0))
    path = tmp_path / "ease_weights.npz"
    original = path.read_bytes()
    path.write_bytes(original[:50])
    with pytest.raises(ModelFormatError, match=r"ease_weights\.npz (is damaged|is not a readable)"):
        read_recommender(tmp_path)
    path.write_bytes(original)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["collaborative"] = "magic"
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match=r"recommender\.json names the collaborative model"):
        read_recommender(tmp_path)


def test_directories_saved_before_the_switch_still_load(tmp_path: Path) -> None:
    fitted = fit(ease_neighbours=3)
    write_recommender(tmp_path, fitted)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    del manifest["collaborative"], manifest["params"]["ease_max_items"]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    loaded = read_recommender(tmp_path)
    assert isinstance(loaded.core_.ease, EASE)
    assert_same_behaviour(fitted, loaded)


def test_unknown_settings_in_a_manifest_are_still_refused(tmp_path: Path) -> None:
    write_recommender(tmp_path, fit())
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["params"]["warp_speed"] = 9
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="warp_speed"):
        read_recommender(tmp_path)


@pytest.mark.parametrize("dense_tables", [True, False], ids=["item-pair tables", "gathers"])
def test_most_similar_items_matches_the_one_item_answer(dense_tables: bool, monkeypatch) -> None:
    # a small catalogue reads dense item-pair tables, a large one gathers per rated item
    monkeypatch.setattr(reasons, "DENSE_PAIR_ITEMS", 10**6 if dense_tables else 0)
    monkeypatch.setattr(reasons, "_TABLE_PER_RATED", 10**6)
    for model in (fit(ease_neighbours=3), fit(ease_max_items=0), fit(ease_neighbours=0)):
        matrix, _ = training()
        items = np.array([[0, 12, 7, -1], [13, 2, 4, 6], [1, 1, 3, 5], [9, 11, 12, 13]])
        users = np.array([0, 1, 8, 9])
        among = matrix[users]
        got = model.most_similar_items(items, among)
        for row, user in enumerate(users):
            for column, item in enumerate(items[row]):
                want = -1 if item < 0 else model.most_similar_item(int(item), among[row].indices)
                assert got[row, column] == (-1 if want is None else want), (user, item)
    with pytest.raises(ParameterError, match="items has shape"):
        model.most_similar_items(np.zeros(3, dtype=int), among)


# --- synthetic scaling data ------------------------------------------------------------


def test_scaling_dataset_shape_and_determinism() -> None:
    first = scaling_dataset(500, 100, per_user=5, n_groups=5, seed=4)
    again = scaling_dataset(500, 100, per_user=5, n_groups=5, seed=4)
    pd.testing.assert_frame_equal(first.interactions, again.interactions)
    counts = first.interactions.groupby("user_id").size()
    assert counts.max() == 5 and counts.mean() > 4.9
    assert not first.interactions.duplicated(["user_id", "item_id"]).any()
    popularity = first.interactions["item_id"].value_counts()
    assert popularity.iloc[0] > 5 * popularity.median()  # skewed
    with pytest.raises(ParameterError, match="n_groups=0"):
        scaling_dataset(10, 10, n_groups=0)


# --- recommend --all from arrays --------------------------------------------------------


@pytest.fixture(scope="module")
def demo_model_dir(tmp_path_factory) -> Path:
    dataset, _ = make_demo_dataset(seed=0, n_items=120, n_users=300, n_themes=4)
    root = tmp_path_factory.mktemp("bulk")
    settings = load_settings(
        environ={},
        overrides={
            "encoder.kind": "hashing",
            "encoder.cache_dir": root / "cache",
            "encoder.show_progress": False,
            "recommend.tune": False,
            "cluster.k": 4,
            "cluster.stability_runs": 0,
            "seed": 0,
        },
    )
    return InterestLens(settings).fit(dataset).save(root / "model")


def one_user_table(engine: RecommendationEngine, ids: list[str], k: int) -> pd.DataFrame:
    """The table as recommend_users built it before: lists ranked in batches
    (``precompute``, as it did for more than PRECOMPUTE_BATCH users: batched and one-user
    scores differ in the last float digits), then rows and reasons one user at a time."""
    if sum(engine.has_user(u) for u in ids) > PRECOMPUTE_BATCH:
        engine.precompute()
    popular = engine.popular(k)
    rows = []
    for user_id in ids:
        recs = engine.recommend_user(user_id, k) if engine.has_user(user_id) else popular
        rows.extend({"user_id": user_id, **r.as_row()} for r in recs)
    return pd.DataFrame(rows)


def test_recommend_all_rows_equal_the_one_user_rows(demo_model_dir: Path) -> None:
    bulk = RecommendationEngine.load(demo_model_dir)
    single = RecommendationEngine.load(demo_model_dir)
    ids = bulk.user_ids.to_list()
    for engine in (bulk, single):  # a user with events and a forgotten one keep the slow path
        engine.add_events(ids[3], [engine.item_ids.id_of(5)], timestamps=[2e9])
        engine.forget_user(ids[4])
    asked = [*ids, ids[0], "ghost"]  # a repeat and an unknown id
    table, missing = bulk.recommend_users(asked, 5, unknown="popular")
    want = one_user_table(single, asked, 5)
    assert missing == [ids[4], "ghost"]
    pd.testing.assert_frame_equal(table, want[table.columns.tolist()], check_dtype=False)
    assert (table["reason"].str.contains("similar to")).any()


# --- rows-only text vectors -------------------------------------------------------------


def test_rows_only_arrays_round_trip_and_damage_is_named(tmp_path: Path) -> None:
    array = np.zeros((6, 3), dtype=np.float32)
    array[[1, 4]] = [[1.0, 2.0, 3.0], [0.0, -1.0, 0.0]]
    path = write_rows(tmp_path / "v.rows.npz", array)
    with np.load(path, allow_pickle=False) as stored:
        assert stored["rows"].shape == (2, 3) and stored["index"].tolist() == [1, 4]
    restored = read_rows(path)
    assert restored.dtype == np.float32
    np.testing.assert_array_equal(restored, array)
    np.testing.assert_array_equal(
        read_rows(write_rows(tmp_path / "e.rows.npz", np.zeros((0, 3)))), np.zeros((0, 3))
    )
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ModelFormatError, match=r"v\.rows\.npz is damaged"):
        read_rows(path)
    with pytest.raises(ModelFormatError, match=r"nothing\.rows\.npz is missing"):
        read_rows(tmp_path / "nothing.rows.npz")


def test_user_text_vectors_are_stored_as_rows_and_old_directories_load(
    demo_model_dir: Path, tmp_path: Path
) -> None:
    model = InterestLens.load(demo_model_dir)
    full = model.user_text_vectors_
    assert (~full.any(axis=1)).any() and full.any(axis=1).any()  # some users wrote no bio
    with np.load(demo_model_dir / "user_text_vectors.rows.npz") as stored:
        assert len(stored["rows"]) == int(full.any(axis=1).sum())
    assert not (demo_model_dir / "user_text_vectors.npy").exists()
    recommender = demo_model_dir / "recommender"
    assert (recommender / "user_text_dense.rows.npz").exists()
    manifest = json.loads((recommender / MANIFEST).read_text())
    assert manifest["arrays"]["user_text_dense"]["format"] == "rows"

    # a directory in the earlier layout: full arrays
    old = tmp_path / "old"
    shutil.copytree(demo_model_dir, old)
    (old / "checksums.json").unlink()  # that layout predates checksums
    (old / "user_text_vectors.rows.npz").unlink()
    np.save(old / "user_text_vectors.npy", full)
    dense = model.recommender_.user_text_[0]
    (old / "recommender" / "user_text_dense.rows.npz").unlink()
    np.save(old / "recommender" / "user_text_dense.npy", dense)
    manifest["arrays"]["user_text_dense"].update(file="user_text_dense.npy", format="dense")
    (old / "recommender" / MANIFEST).write_text(json.dumps(manifest))
    reloaded = InterestLens.load(old)
    np.testing.assert_array_equal(reloaded.user_text_vectors_, full)
    np.testing.assert_array_equal(reloaded.recommender_.user_text_[0], dense)
    users = np.arange(10)
    np.testing.assert_array_equal(
        reloaded.recommender_.score(users), model.recommender_.score(users)
    )

    (old / "recommender" / "user_text_dense.npy").unlink()
    with pytest.raises(ModelFormatError, match=r"user_text_dense\.npy is missing"):
        InterestLens.load(old)


# --- samples and budgets on large data -------------------------------------------------


def test_validation_users_shrink_with_the_catalogue() -> None:
    assert validation_users(10_000, 7, 1, 2000) == 2000
    assert validation_users(100_000, 7, 1, 2000) == 511  # 4 GiB / (100k × 7 × 4 B × 3)
    assert validation_users(10**7, 7, 3, 2000) == MIN_VALIDATION_USERS
    assert validation_users(10, 7, 3, 50) == 50


def test_samples_above_the_thresholds_give_a_working_deterministic_model(monkeypatch) -> None:
    monkeypatch.setattr(coldstart, "RIDGE_SAMPLE", 4)
    monkeypatch.setattr(cluster_affinity, "KMEANS_SAMPLE", 5)
    first, again = fit(ease_max_items=0), fit(ease_max_items=0)
    users = np.arange(6)
    np.testing.assert_array_equal(first.score(users), again.score(users))
    assert np.isfinite(first.score(users)).all()
    assert (first.cluster_labels_ >= 0).all()
    assert first.core_.cold_mapping is not None and first.core_.cold_mapping.coef is not None


def test_k_is_scanned_on_a_sample_and_fitted_on_every_row() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.vstack([c + rng.normal(size=(300, 2)) for c in centres]).astype(np.float32)
    estimator = KMeansClusterer(2, backend="sklearn", random_state=0)
    full = AutoKClusterer(estimator, k_min=2, k_max=5, scan_sample_size=None).fit(X)
    sampled = AutoKClusterer(estimator, k_min=2, k_max=5, scan_sample_size=60).fit(X)
    assert full.n_clusters_ == sampled.n_clusters_ == 3
    assert len(sampled.labels_) == len(X)
    assert adjusted_rand_score(full.labels_, sampled.labels_) == 1.0
    assert sampled.get_state().params["scan_sample_size"] == 60


def test_stability_subsamples_are_capped() -> None:
    X = np.random.default_rng(1).normal(size=(400, 3)).astype(np.float32)
    sizes: list[int] = []

    def make(seed: int):
        class Recording(KMeansClusterer):
            def fit(self, rows):
                sizes.append(len(rows))
                return super().fit(rows)

        return Recording(2, backend="sklearn", random_state=seed)

    stability(X, make, n_runs=2, max_rows=50)
    assert sizes == [50, 50]


def test_entries_reads_stored_weights_as_dense_indexing_does() -> None:
    rng = np.random.default_rng(3)
    dense = rng.standard_normal((30, 40)).astype(np.float32)
    dense[rng.random(dense.shape) < 0.8] = 0.0
    rows, columns = rng.integers(0, 30, 500), rng.integers(0, 40, 500)
    matrix = sp.csr_matrix(dense)
    np.testing.assert_array_equal(item_weights.entries(matrix, rows, columns), dense[rows, columns])
    # duplicates and unsorted columns (a matrix built from its arrays) are summed first
    parts = [
        np.r_[matrix.indices[a:b][::-1], matrix.indices[a:b]]
        for a, b in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True)
    ]
    values = [
        np.r_[matrix.data[a:b][::-1], matrix.data[a:b]]
        for a, b in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True)
    ]
    doubled = sp.csr_matrix(
        (np.concatenate(values), np.concatenate(parts), 2 * matrix.indptr), shape=dense.shape
    )
    assert not doubled.has_canonical_format
    np.testing.assert_array_equal(
        item_weights.entries(doubled, rows, columns), 2 * dense[rows, columns]
    )
    empty = sp.csr_matrix((30, 40), dtype=np.float32)
    assert not item_weights.entries(empty, rows, columns).any()


# --- scoring threads --------------------------------------------------------------------------


def _engine_with_threads(model_dir: Path, threads: int) -> RecommendationEngine:
    settings = load_settings(environ={}, overrides={"recommend.threads": threads})
    engine = RecommendationEngine.load(model_dir, settings=settings)
    assert engine.ranker.threads == threads
    return engine


@pytest.mark.parametrize("threads", [2, 3])
def test_scoring_threads_give_the_tables_of_one_thread(
    demo_model_dir: Path, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    one = _engine_with_threads(demo_model_dir, 1)
    ids = one.user_ids.to_list()
    want, _ = one.recommend_users(ids, 5)
    # small batches, so that the 300 users make several waves of several batches each
    monkeypatch.setattr(ranker_module, "BATCH_CELLS", 3_000)
    monkeypatch.setattr(ranker_module, "PRECOMPUTE_BATCH", 40)
    monkeypatch.setattr(bulk_ranker_module, "SIMILAR_BATCH", 64)
    many = _engine_with_threads(demo_model_dir, threads)
    table, _ = many.recommend_users(ids, 5)
    pd.testing.assert_frame_equal(table, want)
    one.precompute()
    many.precompute()
    for user in range(len(ids)):
        expected = one.ranker.ranked(user)
        got = many.ranker.ranked(user)
        np.testing.assert_array_equal(got[0], expected[0])
        # batches of other sizes round differently in the last float digits
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-5)


def test_a_few_users_are_ranked_without_threads(demo_model_dir: Path) -> None:
    engine = _engine_with_threads(demo_model_dir, 4)
    calls = []
    original = engine.ranker._recommender.recommend

    def counted(users, depth):
        calls.append(len(users))
        return original(users, depth)

    engine.ranker._recommender.recommend = counted
    table, _ = engine.recommend_users(engine.user_ids.to_list()[:40], 5)
    assert calls == [40] and table["user_id"].nunique() == 40


@pytest.mark.parametrize("value", [0, -1, 65, "many"])
def test_absurd_thread_counts_are_refused(value: object) -> None:
    with pytest.raises(ConfigError, match="recommend.threads"):
        load_settings(environ={}, overrides={"recommend.threads": value})


def test_bulk_scores_round_as_the_one_user_path_does() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.normal(0, 3, 50_000).astype(np.float32).astype(np.float64),
            rng.normal(0, 3, 50_000),
            # half-way points, signed zeros, huge and non-finite values
            [5e-7, 1.2345675, -2.5e-7, 2.675, 0.1234565, -0.0, -1e-7, 1e300, np.inf, -np.inf],
            [np.nan, 123456.0000005, 9.999995, -9.999995],
        ]
    )
    got = bulk_ranker_module.rounded(values, 6)
    want = [round(float(v), 6) for v in values]
    assert [repr(v) for v in got] == [repr(v) for v in want]
    assert all(type(v) is float for v in got)


def test_default_threads_follow_the_cores_this_process_may_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ranker_module.os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert ranker_module.default_threads() == 3
    monkeypatch.setattr(ranker_module.os, "sched_getaffinity", lambda pid: set(range(64)))
    assert ranker_module.default_threads() == ranker_module.MAX_DEFAULT_THREADS
