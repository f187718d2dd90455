"""The blend of z-scored components, computed without building the z-scores, against the
definition (each component standardised, then the weighted sum); the paired significance test,
plain and clustered by the unit validation sampled."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from interestlens.recommend.interest.blend import (
    blend,
    paired_standard_error,
    row_scale,
    significantly_better,
    standardise,
)


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


def test_the_paired_error_clustered_by_unit_has_known_answers() -> None:
    gain = np.array([1.0, 1.0, -1.0, -1.0])
    # independent pairs: the plain standard error of the mean
    assert paired_standard_error(gain) == pytest.approx(np.std(gain, ddof=1) / 2)
    # every pair its own unit: the clustered error is the plain one (G / (G - 1) = n / (n - 1))
    assert paired_standard_error(gain, sp.identity(4, format="csr")) == pytest.approx(
        np.std(gain, ddof=1) / 2
    )
    # two units of two identical pairs: residual sums 2 and -2, sqrt(8 * 2 / 1) / 4 = 1
    units = sp.csr_matrix(([1.0] * 4, ([0, 1, 2, 3], [0, 0, 1, 1])), shape=(4, 2))
    assert paired_standard_error(gain, units) == pytest.approx(1.0)


def test_a_gain_carried_by_one_shared_item_is_not_significant() -> None:
    # 20 users found held-out item A better (+0.1), 20 found item B a little worse (-0.02):
    # as 40 independent users the +0.04 is many standard errors up; as two items it is one
    # draw each way
    new = np.r_[np.full(20, 0.6), np.full(20, 0.48)] + np.tile([0.001, -0.001], 20)
    old = np.r_[np.full(20, 0.5), np.full(20, 0.5)]
    items = sp.csr_matrix((np.ones(40), (np.arange(40), np.repeat([0, 1], 20))), shape=(40, 2))
    assert significantly_better(new, old, 1.645)
    assert not significantly_better(new, old, 1.645, clusters=items)


def test_the_clustered_error_refuses_what_it_cannot_estimate() -> None:
    gain = np.array([0.2, 0.1, 0.3])
    with pytest.raises(ValueError, match=r"clusters has 2 rows; expected one per pair \(3\)"):
        paired_standard_error(gain, sp.identity(2, format="csr"))
    # one unit says nothing about the next one: no error, so never significant
    one = sp.csr_matrix(np.ones((3, 1)))
    assert np.isnan(paired_standard_error(gain, one))
    assert not significantly_better(gain, np.zeros(3), 1.645, clusters=one)
