"""The recommendation benchmark's verdict intervals: new-item gaps are clustered by item.

A new-item hold-out draws items, so users who share a held-out item move together; an interval
that treats them as independent draws is too narrow.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "recommend_benchmark.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("recommend_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("recommend_benchmark", module)
    spec.loader.exec_module(module)
    return module


def _table(bench, segment: str, ours: float, best: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"model": bench.OURS, "segment": segment, "metric": "ndcg@10", "value": ours},
            {"model": "EASE", "segment": segment, "metric": "ndcg@10", "value": best},
        ]
    )


def test_target_shares_split_each_user_over_their_targets(bench):
    relevant = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.float32))
    shares = bench.target_shares(relevant).toarray()
    np.testing.assert_allclose(shares, [[0.5, 0.5, 0], [0, 0, 1], [0, 0, 0]])


def test_new_item_interval_is_clustered_by_item(bench):
    # users 0 and 1 share item 0, users 2 and 3 share item 1: two independent draws, not four
    gaps = np.array([1.0, 1.0, -1.0, -1.0])
    ours, theirs = 0.5 + gaps / 4, np.full(4, 0.5)
    shares = bench.target_shares(sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]])))
    per_user = {"cold_items": {bench.OURS: ours, "EASE": theirs}}
    table = _table(bench, "cold_items", 0.5, 0.5)
    (clustered,) = bench.targets(table, per_user, {"cold_items": shares})
    (independent,) = bench.targets(table, per_user, None)
    # clustered: unit sums +0.5 and -0.5, sqrt(0.5 * 2 / 1) / 4 = 0.25; independent: 0.1443
    assert clustered["interval_clustered_by"] == "item"
    np.testing.assert_allclose(clustered["gap_ci95"], [-1.96 * 0.25, 1.96 * 0.25], atol=1e-5)
    np.testing.assert_allclose(
        independent["gap_ci95"][1], 1.96 * np.std(gaps / 4, ddof=1) / 2, atol=1e-5
    )
    assert "interval_clustered_by" not in independent


def test_users_without_a_score_drop_out_of_the_clusters_too(bench):
    ours = np.array([0.6, np.nan, 0.4, 0.5])
    theirs = np.array([0.5, 0.5, 0.5, 0.5])
    shares = bench.target_shares(sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]])))
    per_user = {"cold_items": {bench.OURS: ours, "EASE": theirs}}
    (check,) = bench.targets(
        _table(bench, "cold_items", 0.5, 0.5), per_user, {"cold_items": shares}
    )
    assert check["paired_users"] == 3


def test_user_segments_keep_independent_intervals(bench):
    shares = bench.target_shares(sp.csr_matrix(np.eye(3)))
    per_user = {"warm_users": {bench.OURS: np.array([0.3, 0.5, 0.4]), "EASE": np.full(3, 0.4)}}
    (check,) = bench.targets(
        _table(bench, "warm_users", 0.4, 0.4), per_user, {"warm_users": shares}
    )
    assert "interval_clustered_by" not in check
