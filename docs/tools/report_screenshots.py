"""Checks an HTML report in headless Chromium at 1024 and 1400 px and saves screenshots.

Usage::

    fracturenet demo --quick --out /tmp/demo
    python docs/tools/report_screenshots.py /tmp/demo/report.html docs/_static

For each width it fails (exit code 1) if the page scrolls sideways (a line or table running
off the right edge) or shows raw Markdown, and writes ``report-<width>.png`` (the top of the
page) into the output folder, where the docs pick them up. Needs Debian's ``chromium``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTHS = (1024, 1400)
_PROBE = (
    "<script>document.body.setAttribute('data-overflow', String("
    "document.documentElement.scrollWidth > window.innerWidth))</script>"
)
_RAW_MARKDOWN = re.compile(r"\|\s*-{3,}\s*\||^#{1,3} \w", re.M)


def chromium() -> str | None:
    """Path of a Chromium binary, or `None`."""
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)


def check_layout(report: Path, width: int) -> list[str]:
    """Problems of ``report`` at ``width`` px (empty when it reads well)."""
    problems = []
    page = report.read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "\n", re.sub(r"<(script|style)[^>]*>.*?</\1>", "", page, flags=re.S))
    if _RAW_MARKDOWN.search(text):
        problems.append("raw Markdown in the page text")
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
        dom = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--window-size={width},900",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    if 'data-overflow="false"' not in dom:
        problems.append(f"the page scrolls sideways at {width} px")
    return problems


def screenshot(report: Path, width: int, out: Path, height: int = 1600) -> Path:
    """Saves the top ``height`` px of ``report`` rendered ``width`` px wide."""
    target = out / f"report-{width}.png"
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            f"--screenshot={target}",
            report.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    if chromium() is None:
        print("chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    report, out = Path(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    failed = False
    for width in WIDTHS:
        for problem in check_layout(report, width):
            print(f"{report}: {problem}", file=sys.stderr)
            failed = True
        print(screenshot(report, width, out))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
