"""The docs build's own checks: no machine paths or placeholders; the CLI page is generated."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _page_check():
    pytest.importorskip("sphinx", reason="the docs extensions need sphinx (docs/test extra)")
    spec = importlib.util.spec_from_file_location("page_check", DOCS / "_ext" / "page_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "leak",
    ["outputs: OUT", "saved to /tmp/tmpk2j4x9/run", "/root/.cache/x", "/home/ci/work/x"],
)
def test_page_check_flags_leaks(leak):
    assert _page_check().page_problems(f"<p>the example printed {leak}</p>")


def test_page_check_passes_clean_pages():
    page = "<p>fracturenet demo --quick --out runs/demo1</p><script>'/tmp/tmpx'</script>"
    assert _page_check().page_problems(page) == []


def test_cli_page_is_generated_from_the_parser():
    text = (DOCS / "guide" / "cli.rst").read_text(encoding="utf-8")
    assert ".. fracturenet-cli::" in text and "available now" not in text
    assert '"cli_help"' in (DOCS / "conf.py").read_text(encoding="utf-8")


def test_page_check_flags_the_checkout_wherever_it_lives():
    # CI clones under a folder the fixed patterns do not know (seen: /check/work/main)
    page = "<p>phantoms: /srv/ci/clone/docs/_build/cache/phantoms-n8</p>"
    assert _page_check().page_problems(page) == []
    problems = _page_check().page_problems(page, checkout="/srv/ci/clone")
    assert problems and "this checkout" in problems[0]
