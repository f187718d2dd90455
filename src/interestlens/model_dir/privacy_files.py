"""The differentially private release in a model directory (written with ``privacy.epsilon``):
``privacy_release.json`` (budget, mechanism, noisy sizes) and ``privacy_centroids.npy``."""

from __future__ import annotations

from pathlib import Path

from interestlens.persist import read_json, read_npy, write_json, write_npy
from interestlens.privacy.dp import ClusterRelease

RELEASE_FILE = "privacy_release.json"
CENTROIDS_FILE = "privacy_centroids.npy"


def write_release(directory: Path, release: ClusterRelease) -> None:
    meta, arrays = release.state()
    write_json(directory / RELEASE_FILE, meta)
    write_npy(directory / CENTROIDS_FILE, arrays["centroids"])


def read_release(directory: Path) -> ClusterRelease | None:
    """The release in ``directory``; None where the model was fitted without one."""
    path = directory / RELEASE_FILE
    if not path.exists():
        return None
    return ClusterRelease.from_state(
        read_json(path),
        {"centroids": read_npy(directory / CENTROIDS_FILE)},
        source=str(path),
        centroids_source=str(directory / CENTROIDS_FILE),
    )
