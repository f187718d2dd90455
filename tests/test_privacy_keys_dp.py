"""Pseudonyms (known HMAC answers, missing and wrong keys) and the DP mechanisms (known noise
scales, counts and centroids, absurd budgets)."""

from __future__ import annotations

import hashlib
import hmac
import math

import numpy as np
import pytest

from interestlens.config import load_settings, settings_to_dict
from interestlens.data.ids import IdMap
from interestlens.errors import ConfigError, ParameterError
from interestlens.privacy import (
    PrivacyKeyError,
    Pseudonymizer,
    dp_kmeans,
    gaussian_sigma,
    pseudonymizer_for,
    release_clusters,
)

KEY = "0123456789abcdef-test-key"


def test_pseudonym_is_hmac_sha256_of_the_id():
    expected = hmac.new(KEY.encode(), b"u42", hashlib.sha256).hexdigest()
    pseudonymizer = Pseudonymizer(KEY)
    assert pseudonymizer.pseudonym("u42") == expected
    assert pseudonymizer.pseudonym(42) == pseudonymizer.pseudonym("42")
    assert Pseudonymizer(KEY + "x").pseudonym("u42") != expected
    assert KEY not in repr(pseudonymizer)


@pytest.mark.parametrize("key", [None, "", "short"])
def test_pseudonymize_without_a_usable_key_is_a_clear_error(key):
    settings = load_settings(
        environ={}, overrides={"privacy.pseudonymize": True, "privacy.key": key}
    )
    with pytest.raises(PrivacyKeyError, match="INTERESTLENS_PRIVACY__KEY"):
        pseudonymizer_for(settings.privacy)


def test_the_key_is_never_written_with_the_settings():
    settings = load_settings(
        environ={"INTERESTLENS_PRIVACY__KEY": KEY}, overrides={"privacy.pseudonymize": True}
    )
    assert settings.privacy.key == KEY
    saved = settings_to_dict(settings)
    assert "key" not in saved["privacy"] and saved["privacy"]["pseudonymize"] is True


def test_wrong_key_for_a_model_is_refused():
    manifest = {
        "privacy": {"pseudonymized": True, "key_fingerprint": Pseudonymizer(KEY).fingerprint}
    }
    Pseudonymizer(KEY).check_manifest(manifest)
    with pytest.raises(PrivacyKeyError, match="fingerprint"):
        Pseudonymizer(KEY + "other").check_manifest(manifest)


def test_pseudonymous_id_map_takes_raw_ids_and_known_pseudonyms():
    pseudonymizer = Pseudonymizer(KEY)
    ids = pseudonymizer.wrap(IdMap.from_list(pseudonymizer.pseudonyms(["a", "b"]), kind="user"))
    assert ids.get("b") == 1 and ids.get(pseudonymizer.pseudonym("b")) == 1
    assert "a" in ids and "c" not in ids
    assert ids.add("c") == 2 and ids.id_of(2) == pseudonymizer.pseudonym("c")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_absurd_epsilon_in_settings_is_a_config_error(value):
    with pytest.raises(ConfigError, match="privacy.epsilon"):
        load_settings(environ={"INTERESTLENS_PRIVACY__EPSILON": value})


@pytest.mark.parametrize(
    ("epsilon", "delta", "clip", "name"),
    [
        (0.0, 1e-5, 1.0, "epsilon"),
        (-1.0, 1e-5, 1.0, "epsilon"),
        (math.nan, 1e-5, 1.0, "epsilon"),
        (1.0, 0.0, 1.0, "delta"),
        (1.0, 1.5, 1.0, "delta"),
        (1.0, 1e-5, -2.0, "clip"),
    ],
)
def test_absurd_budgets_are_parameter_errors(epsilon, delta, clip, name):
    vectors = np.ones((4, 2))
    with pytest.raises(ParameterError, match=f"{name}="):
        release_clusters(vectors, np.zeros(4, int), epsilon=epsilon, delta=delta, clip=clip)


def test_analytic_gaussian_sigma_known_values():
    # smaller than the classic sqrt(2 ln(1.25/δ))/ε bound, and it scales with the sensitivity
    classic = math.sqrt(2 * math.log(1.25 / 1e-5))
    assert gaussian_sigma(1.0, 1e-5, 1.0) == pytest.approx(3.7306, abs=1e-3)
    assert gaussian_sigma(1.0, 1e-5, 1.0) < classic
    assert gaussian_sigma(1.0, 1e-5, 2.0) == pytest.approx(2 * gaussian_sigma(1.0, 1e-5, 1.0))
    assert gaussian_sigma(8.0, 1e-5, 1.0) < gaussian_sigma(0.5, 1e-5, 1.0)


def test_release_is_close_with_a_large_budget_and_clips_vectors():
    rng = np.random.default_rng(0)
    centres = np.array([[1.0, 0.0], [0.0, 1.0]])
    labels = np.repeat([0, 1], 500)
    vectors = centres[labels] + rng.normal(0, 0.05, size=(1000, 2))
    release = release_clusters(
        vectors, labels, epsilon=1000.0, delta=1e-5, clip=2.0, random_state=0
    )
    assert release.sizes.tolist() == [500, 500]
    assert np.allclose(release.centroids, centres, atol=0.02)
    # a vector of norm 10 counts as one of norm `clip`
    far = np.vstack([vectors, [[10.0, 0.0]]])
    release = release_clusters(
        far, np.append(labels, 0), epsilon=1000.0, delta=1e-5, clip=1.0, random_state=0
    )
    assert release.centroids[0, 0] < 1.01
    assert release.to_dict()["epsilon"] == 1000.0
    assert "ε = 1000" in release.describe()


def test_small_budget_adds_noise_of_the_stated_scale():
    labels = np.zeros(2000, int)
    vectors = np.tile([[0.6, 0.8]], (2000, 1))
    release = release_clusters(vectors, labels, epsilon=1.0, delta=1e-5, random_state=1)
    assert release.count_scale == pytest.approx(2.0)  # Laplace 1 / (ε/2)
    assert release.sum_sigma == pytest.approx(gaussian_sigma(0.5, 1e-5, 1.0))
    assert abs(int(release.sizes[0]) - 2000) < 30


def test_dp_kmeans_recovers_separated_clusters_with_a_fair_budget():
    rng = np.random.default_rng(0)
    centres = np.eye(3)
    labels = np.repeat([0, 1, 2], 300)
    vectors = centres[labels] + rng.normal(0, 0.1, size=(900, 3))
    start = centres + rng.normal(0, 0.3, size=centres.shape)  # public, data-independent
    assigned, release = dp_kmeans(vectors, start, epsilon=4.0, delta=1e-5, random_state=0)
    assert (assigned == labels).mean() > 0.95
    assert release.epsilon == 4.0 and "DP-Lloyd" in release.mechanism
