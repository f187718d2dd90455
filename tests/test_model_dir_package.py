"""interestlens.model_dir is the one place that writes and reads a model directory: the README's
"Saved models" block runs as written, a loaded model is written back byte for byte, and the
parts (clustering, DP release) round-trip through their state with damage named."""

from __future__ import annotations

import filecmp
import json
import re
from pathlib import Path

import numpy as np
import pytest

from interestlens import InterestLens
from interestlens.cluster import ClusteringResult
from interestlens.data.synthetic import make_demo_dataset
from interestlens.errors import ModelFormatError
from interestlens.model_dir import (
    load_model,
    read_clustering,
    read_release,
    save_model,
    verify_model_dir,
    write_clustering,
    write_release,
)
from interestlens.privacy.dp import ClusterRelease, release_clusters
from interestlens.serve.testing import demo_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def saved_models_block() -> str:
    section = README.read_text(encoding="utf-8").split("### Saved models", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert match, "README.md has no ```python block under '### Saved models'"
    return match.group(1)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("model-dir")
    dataset, _ = make_demo_dataset(seed=0, n_items=120, n_users=150, n_themes=4)
    # k-means: a Gaussian mixture comes back with float64 parameters (scikit-learn's own), so
    # its clusterer files are equal in value, not in bytes, after a load
    settings = demo_settings(root / "cache")
    return InterestLens(settings).fit(dataset).save(root / "models" / "shop")


def differing_files(left: Path, right: Path) -> list[str]:
    """Relative paths whose bytes differ, or that only one side has."""
    names = {p.relative_to(left) for p in left.rglob("*") if p.is_file()}
    names |= {p.relative_to(right) for p in right.rglob("*") if p.is_file()}
    return sorted(
        str(name)
        for name in names
        if not (left / name).is_file()
        or not (right / name).is_file()
        or not filecmp.cmp(left / name, right / name, shallow=False)
    )


def test_readme_saved_models_block_runs_and_writes_the_same_bytes(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(model_dir.parent.parent)
    namespace: dict[str, object] = {}
    exec(compile(saved_models_block(), "README.md#saved-models", "exec"), namespace)
    assert namespace["manifest"]["n_users"] == 150
    assert namespace["recommender"].n_users_ == 150
    written = model_dir.parent / "shop-recommender"
    assert differing_files(model_dir / "recommender", written) == []


def test_a_loaded_model_is_written_back_byte_for_byte(model_dir: Path, tmp_path: Path) -> None:
    again = save_model(load_model(model_dir), tmp_path / "again")
    # only the manifest may differ: it records when it was written (to the second); and with
    # it the manifest's digest in checksums.json
    assert set(differing_files(model_dir, again)) <= {"manifest.json", "checksums.json"}
    first, second = (json.loads((d / "manifest.json").read_text()) for d in (model_dir, again))
    assert first.pop("created_at") and second.pop("created_at")
    assert first == second
    assert verify_model_dir(again)["n_items"] == 120


def test_clustering_round_trips_through_its_state_and_files(model_dir: Path, tmp_path: Path):
    result = read_clustering(model_dir / "clustering")
    meta, arrays = result.state()
    assert set(arrays) == {"labels", "centroids"}  # k-means: no probabilities
    assert "labels" not in meta and meta["method"] == "kmeans"
    rebuilt = ClusteringResult.from_state(meta, arrays)
    np.testing.assert_array_equal(rebuilt.labels, result.labels)
    write_clustering(tmp_path / "clustering", result)
    assert differing_files(model_dir / "clustering", tmp_path / "clustering") == []
    again = read_clustering(tmp_path / "clustering")
    centroids = again.centroids
    np.testing.assert_array_equal(again.predict(centroids), result.predict(centroids))


def release() -> ClusterRelease:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(60, 4)).astype(np.float32)
    return release_clusters(vectors, np.repeat([0, 1, 2], 20), epsilon=2.0, delta=1e-5)


def test_dp_release_round_trips_and_its_absence_is_none(tmp_path: Path) -> None:
    assert read_release(tmp_path) is None
    original = release()
    write_release(tmp_path, original)
    loaded = read_release(tmp_path)
    assert loaded is not None
    assert loaded.to_dict() == original.to_dict()
    np.testing.assert_array_equal(loaded.centroids, original.centroids.astype(np.float32))


def test_a_damaged_dp_release_is_named(tmp_path: Path) -> None:
    write_release(tmp_path, release())
    (tmp_path / "privacy_release.json").write_text("[1, 2]")
    with pytest.raises(ModelFormatError, match=r"privacy_release\.json cannot be read"):
        read_release(tmp_path)
    write_release(tmp_path, release())
    np.save(tmp_path / "privacy_centroids.npy", np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(
        ModelFormatError, match=r"privacy_centroids\.npy has 2 rows for 3 clusters"
    ) as caught:
        read_release(tmp_path)
    assert "one centroid per released cluster" in str(caught.value)
