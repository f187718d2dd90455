"""The timeline on the drifting demo: shares per period, transitions, the grown and faded
interests; hostile inputs (no timestamps, a bad period)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from interestlens import InterestLens, load_settings
from interestlens.cli import main
from interestlens.data.synthetic.drift import make_drifting_dataset
from interestlens.timeline.periods import TABLE_COLUMNS, NoTimestampsError, build_timeline

FAST = {
    "encoder.kind": "hashing",
    "encoder.cache": False,
    "encoder.show_progress": False,
    "cluster.stability_runs": 0,
    "recommend.enabled": False,
}


@pytest.fixture(scope="module")
def drifting(tmp_path_factory) -> tuple[InterestLens, Path]:
    dataset, _ = make_drifting_dataset(seed=0, n_users=600)
    model = InterestLens(load_settings(environ={}, overrides=FAST)).fit(dataset)
    return model, model.save(tmp_path_factory.mktemp("timeline") / "model")


def _cluster_of(model: InterestLens, keyword: str) -> int:
    for explanation in model.clusters_.explanations:
        if keyword in [k.term for k in explanation.keywords[:5]]:
            return explanation.cluster_id
    raise AssertionError(f"no cluster about {keyword}")


def test_monthly_shares_and_trends_find_the_grown_and_the_faded_interest(drifting):
    model, _ = drifting
    timeline = build_timeline(model, period="month")
    assert list(timeline.table.columns) == TABLE_COLUMNS
    assert timeline.table["period"].nunique() == 12
    sums = timeline.table.groupby("period")["share"].sum()
    assert np.allclose(sums, 1.0, atol=1e-4)
    trends = {t["cluster"]: t["trend"] for t in timeline.trends}
    assert trends[_cluster_of(model, "camera")] == "grown"
    assert trends[_cluster_of(model, "football")] == "faded"
    # flows are consistent: this period's users = last period's + arrivals - departures
    first = timeline.table.loc[timeline.table["period"] == "2023-01"]
    assert (first["new_users"] == first["users"]).all()
    moved = timeline.transitions
    assert set(moved.columns) == {"period", "from_cluster", "to_cluster", "users"}
    assert (moved["users"] > 0).all()


def test_weekly_periods(drifting):
    model, _ = drifting
    assert build_timeline(model, period="week").table["period"].nunique() >= 50


def test_cli_writes_the_table_and_the_transitions(drifting, tmp_path):
    _, model_dir = drifting
    output = tmp_path / "timeline.csv"
    assert main(["timeline", "--model", str(model_dir), "--output", str(output)]) == 0
    table = pd.read_csv(output)
    assert list(table.columns) == TABLE_COLUMNS
    assert (tmp_path / "timeline.transitions.csv").exists()


def test_a_bad_period_is_exit_2(drifting, tmp_path, capsys):
    _, model_dir = drifting
    code = main(
        [
            "timeline",
            "--model",
            str(model_dir),
            "--output",
            str(tmp_path / "t.csv"),
            "--period",
            "year2",
        ]
    )
    assert code == 2
    assert "period 'year2'; expected one of month, week, day" in capsys.readouterr().err


def test_a_model_without_timestamps_says_so(drifting, tmp_path, capsys):
    model = copy.copy(drifting[0])  # the module's model keeps its timestamps
    model.interactions_ = model.interactions_.assign(timestamp=np.nan)
    with pytest.raises(NoTimestampsError, match="carry no timestamps"):
        build_timeline(model)
    directory = model.save(tmp_path / "no-time")
    code = main(["timeline", "--model", str(directory), "--output", str(tmp_path / "t.csv")])
    assert code == 2
    assert "interactions carry no timestamps" in capsys.readouterr().err
