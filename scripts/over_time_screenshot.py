"""Screenshot of a report's "Interests over time" section (docs/images/report-over-time.png).

    python scripts/over_time_screenshot.py interestlens-demo/drift/report.html \
        docs/images/report-over-time.png

The section is cut out of the report into a page of its own (same style and inlined plotly),
which headless Chromium renders; the page is otherwise the report itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main(report: str, image: str) -> int:
    page = Path(report).read_text(encoding="utf-8")
    section = re.search(r'<section id="over-time">.*?</section>', page, flags=re.S)
    if section is None:
        print(f"{report} has no over-time section (its model has no timestamps)", file=sys.stderr)
        return 2
    head = page[: page.index("<body>")]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("needs Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as directory:
        cut = Path(directory) / "over-time.html"
        cut.write_text(f"{head}<body><main>{section.group(0)}</main></body></html>", "utf-8")
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={directory}/profile",
                "--virtual-time-budget=5000",
                "--window-size=1300,1250",
                f"--screenshot={Path(image).resolve()}",
                cut.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    print(f"wrote {image}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
