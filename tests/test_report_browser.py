"""The HTML report opens in headless Chromium without console errors, and a screenshot is taken."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from interestlens import InterestLens, load_settings, make_demo_dataset
from interestlens.report import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=5000",
]


@pytest.fixture(scope="module")
def model() -> InterestLens:
    dataset, truth = make_demo_dataset(seed=1, n_items=160, n_users=200, n_themes=5)
    settings = load_settings(
        environ={},
        overrides={
            "encoder.kind": "hashing",
            "encoder.cache": False,
            "encoder.show_progress": False,
            "cluster.k_max": 8,
            "cluster.stability_runs": 2,
            "recommend.tune": False,
        },
    )
    return InterestLens(settings).fit(dataset, labels_true=truth.user_primary_theme)


@pytest.fixture(scope="module")
def report_file(model, tmp_path_factory) -> Path:
    return write_report(model, tmp_path_factory.mktemp("report") / "report.html")


def _fact(page: str, name: str) -> str:
    found = re.search(rf'<div class="fact"><b>{re.escape(name)}</b>([^<]*)</div>', page)
    assert found, f"no fact {name!r} in the summary"
    return found.group(1)


def test_report_is_self_contained(model, report_file: Path):
    page = report_file.read_text(encoding="utf-8")
    assert "<script src=" not in page, "the page must open offline"
    for chart in ("interest-map", "cluster-sizes", "k-selection"):
        assert f'id="{chart}"' in page, chart
    assert "<h2>Summary</h2>" in page and "<h2>Interest clusters</h2>" in page
    # the demo data has 5 themes; k is chosen automatically and finds them
    assert "<div>200 users in 5 interest clusters</div>" in page
    assert (_fact(page, "users"), _fact(page, "items")) == ("200", "160")
    assert _fact(page, "clusters (k)") == "5 (auto)"
    assert float(_fact(page, "vs known labels: ARI")) > 0.9
    # one card per cluster, largest first, each headed by its id and its keyword label
    assert page.count('class="card"') == 5
    explanations = sorted(model.clusters_.explanations, key=lambda e: -e.size)
    headings = re.findall(r"<h3>(Cluster \d+: [^<]*)</h3>", page)
    assert headings == [f"Cluster {e.cluster_id}: {html.escape(e.label)}" for e in explanations]
    for explanation in explanations:
        assert f"{explanation.size} users ({explanation.share:.1%})" in page


def _chromium(report_file: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra, report_file.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="needs Debian's chromium package (apt-get install chromium); CI installs it",
)
def test_report_renders_in_chromium_without_console_errors(
    model, report_file: Path, tmp_path: Path
):
    assert CHROMIUM is not None, "CI must install chromium (see .ci/run)"
    screenshot = tmp_path / "report.png"
    shot = _chromium(report_file, tmp_path, "--window-size=1400,2600", f"--screenshot={screenshot}")
    console = [line for line in shot.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], f"console messages while rendering: {console}"
    assert screenshot.exists() and screenshot.stat().st_size > 50_000, shot.stderr[-2000:]
    print(f"screenshot: {screenshot}")

    dom = _chromium(report_file, tmp_path, "--dump-dom").stdout
    # plotly draws each figure into an <svg class="main-svg">: the figures really rendered
    assert len(re.findall(r'class="main-svg"', dom)) >= 3
    for explanation in model.clusters_.explanations:
        assert f"Cluster {explanation.cluster_id}: {html.escape(explanation.label)}" in dom
