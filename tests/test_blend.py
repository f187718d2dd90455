"""The blend of z-scored components, computed without building the z-scores, against the
definition (each component standardised, then the weighted sum)."""

from __future__ import annotations

import numpy as np
import pytest

from interestlens.recommend.interest.blend import blend, row_scale, standardise


def definition(components, weights, reference, cold_items, cold_weights) -> np.ndarray:
    z = {name: standardise(values, reference) for name, values in components.items()}
    out = sum(weights.get(n, 0.0) * v for n, v in z.items())
    out = np.array(out, dtype=np.float64)
    if len(cold_items):
        out[:, cold_items] = sum(cold_weights.get(n, 0.0) * v[:, cold_items] for n, v in z.items())
    return out


@pytest.mark.parametrize("seed", range(5))
def test_blend_equals_the_weighted_sum_of_z_scores(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_users, n_items = 7, 40
    components = {
        "collaborative": rng.normal(0.01, 0.05, (n_users, n_items)).astype(np.float32),
        "semantic": rng.uniform(-1, 1, (n_users, n_items)).astype(np.float32),
        "trend": np.zeros((n_users, n_items), dtype=np.float32),  # no spread at all
        # the same row for everyone, as popularity is given (a broadcast view)
        "popularity": np.broadcast_to(
            np.log1p(rng.integers(0, 500, n_items)).astype(np.float32) + 30.0, (n_users, n_items)
        ),
    }
    weights = {"collaborative": 1.0, "semantic": 0.35, "trend": 2.0, "popularity": 0.2}
    cold_weights = {"semantic": 1.5, "popularity": 1.0}
    cold_items = np.array([3, 17, 39])
    for reference in (np.arange(n_items), np.setdiff1d(np.arange(n_items), cold_items)):
        ours = blend(
            components, weights, reference, cold_items=cold_items, cold_weights=cold_weights
        )
        expected = definition(components, weights, reference, cold_items, cold_weights)
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, expected, atol=2e-5)
        # and the ranking it gives is the definition's
        assert (np.argsort(-ours, axis=1)[:, :5] == np.argsort(-expected, axis=1)[:, :5]).all()


def test_no_reference_items_blend_to_zero_and_statistics_of_a_constant_row() -> None:
    values = np.ones((3, 4), dtype=np.float32)
    assert not blend({"popularity": values}, {"popularity": 1.0}, np.array([], int)).any()
    mean, spread = row_scale(values, np.arange(4))
    assert mean.shape == (3, 1) and (mean == 1.0).all() and (spread == 1.0).all()
