"""Drift findings: PSI known answers; on the drifting demo the grown, faded and split interests
between a model of the first half-year and a refit on the second; the CLI's exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from interestlens import InterestLens, load_settings
from interestlens.cli import main
from interestlens.config import DriftConfig
from interestlens.data.synthetic.drift import make_drifting_dataset, split_by_time
from interestlens.timeline.drift import compare_data, compare_models, population_stability_index

FAST = {
    "encoder.kind": "hashing",
    "encoder.cache": False,
    "encoder.show_progress": False,
    "cluster.stability_runs": 0,
    "recommend.enabled": False,
}


def test_psi_of_identical_shares_is_zero():
    assert population_stability_index([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_psi_known_value_and_empty_bins():
    expected = (0.6 - 0.5) * np.log(0.6 / 0.5) + (0.4 - 0.5) * np.log(0.4 / 0.5)
    assert population_stability_index([0.5, 0.5], [0.6, 0.4]) == pytest.approx(expected)
    assert np.isfinite(population_stability_index([0.5, 0.5, 0.0], [0.4, 0.4, 0.2]))


@pytest.fixture(scope="module")
def halves(tmp_path_factory) -> dict[str, object]:
    dataset, truth = make_drifting_dataset(seed=0, n_users=900)
    first, second = split_by_time(dataset)
    settings = load_settings(environ={}, overrides=FAST)
    old = InterestLens(settings).fit(first)
    new = InterestLens(settings).fit(second, previous=old)
    root = tmp_path_factory.mktemp("drift")
    second.interactions.to_csv(root / "second.csv", index=False)
    dataset.items.to_csv(root / "items.csv", index=False)
    return {
        "old": old,
        "new": new,
        "old_dir": old.save(root / "old"),
        "new_dir": new.save(root / "new"),
        "second": root / "second.csv",
        "items": root / "items.csv",
        "truth": truth,
    }


def _cluster_of(model: InterestLens, keyword: str) -> int:
    for explanation in model.clusters_.explanations:
        if keyword in [k.term for k in explanation.keywords[:5]]:
            return explanation.cluster_id
    raise AssertionError(f"no cluster about {keyword}")


def test_grown_faded_and_split_interests_are_found(halves):
    old, new = halves["old"], halves["new"]
    findings = compare_models(old, new, DriftConfig())
    trends = {row["cluster"]: row for row in findings.clusters}
    assert trends[_cluster_of(old, "camera")]["trend"] == "grown"
    assert trends[_cluster_of(old, "football")]["trend"] == "faded"
    # the combined cooking + gardening interest of the first half splits into two
    combined = _cluster_of(old, "garden")
    assert _cluster_of(old, "kitchen") == combined
    assert trends[combined]["split_into"], trends[combined]
    split = [e for e in findings.events if e["kind"] == "split"]
    assert any(e["from"] == combined for e in split)
    assert findings.psi > DriftConfig().psi_threshold
    assert findings.crossed


def test_a_model_against_itself_has_no_drift(halves):
    old = halves["old"]
    findings = compare_models(old, InterestLens.load(halves["old_dir"]), DriftConfig())
    assert findings.psi == 0.0
    assert findings.crossed == []
    assert all(row["trend"] == "steady" for row in findings.clusters)


def test_against_new_data(halves):
    old = halves["old"]
    import pandas as pd

    second = pd.read_csv(halves["second"])
    findings = compare_data(old, second, DriftConfig(), period="month")
    trends = {row["cluster"]: row["trend"] for row in findings.clusters}
    assert trends[_cluster_of(old, "camera")] == "grown"
    assert trends[_cluster_of(old, "football")] == "faded"
    assert len(findings.periods) == 6
    joined = set(second["user_id"]) - set(old.user_ids_.ids)
    assert findings.new_users == len(joined) > 0  # the drifting data has people who join late


def test_cli_exit_codes(halves, tmp_path, capsys):
    old_dir, new_dir = str(halves["old_dir"]), str(halves["new_dir"])
    output = tmp_path / "drift.json"
    assert main(["drift", "--model", old_dir, "--against", new_dir, "--output", str(output)]) == 1
    written = json.loads(output.read_text())
    assert written["crossed"] and written["psi"] > 0.2
    assert main(["drift", "--model", old_dir, "--against", old_dir, "--output", str(output)]) == 0
    assert main(["drift", "--model", old_dir, "--against", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err


def test_cli_data_on_unknown_items_is_exit_2(halves, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id\nu1,not-an-item\n")
    code = main(["drift", "--model", str(halves["old_dir"]), "--against", str(bad)])
    assert code == 2
    assert "not in the model" in capsys.readouterr().err


def test_thresholds_are_configurable(halves, tmp_path):
    config = tmp_path / "loose.toml"
    config.write_text(
        "[drift]\npsi_threshold = 100\ncentroid_shift_threshold = 2\nshare_change_ratio = 100\n"
        "keyword_change_threshold = 1\nlow_confidence_share_threshold = 1\n"
    )
    # identical models cross nothing however loose; a loose config quiets the share trends
    settings = load_settings(config, environ={})
    findings = compare_data(
        halves["old"], __import__("pandas").read_csv(halves["second"]), settings.drift
    )
    assert findings.crossed == []


def test_model_dir_path_is_reported(halves):
    assert Path(halves["old_dir"]).is_dir()


def test_cli_fit_previous_records_the_lineage(halves, tmp_path, capsys):
    config = tmp_path / "fast.toml"
    config.write_text(
        '[encoder]\nkind = "hashing"\ncache = false\nshow_progress = false\n'
        "[cluster]\nstability_runs = 0\n[recommend]\nenabled = false\n"
    )
    out = tmp_path / "refit"
    code = main(
        [
            "fit",
            "--interactions",
            str(halves["second"]),
            "--items",
            str(halves["items"]),
            "--out",
            str(out),
            "--config",
            str(config),
            "--previous",
            str(halves["old_dir"]),
            "-q",
        ]
    )
    assert code == 0
    assert "Cluster ids against the previous model" in capsys.readouterr().out
    lineage = json.loads((out / "cluster_lineage.json").read_text())
    assert lineage["kinds"]["split"] >= 1 and lineage["parent_fit_id"]
    missing = main(
        [
            "fit",
            "--interactions",
            str(halves["second"]),
            "--items",
            str(halves["items"]),
            "--out",
            str(tmp_path / "x"),
            "--config",
            str(config),
            "--previous",
            str(tmp_path / "no-such-model"),
        ]
    )
    assert missing == 2
