"""``.. fracturenet-run::``: guide code runs during the docs build and its output is shown."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[1] / "docs" / "_ext"


def _build(tmp_path: Path, body: str, monkeypatch) -> Path:
    pytest.importorskip("sphinx", reason="the docs extensions need sphinx (docs/test extra)")
    from sphinx.application import Sphinx

    monkeypatch.delenv("FRACTURENET_DOCS_EXAMPLES", raising=False)
    monkeypatch.delenv("FRACTURENET_DOCS_GUIDE", raising=False)
    monkeypatch.syspath_prepend(str(EXT))
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text("extensions = ['guide_run']\n", encoding="utf-8")
    (src / "index.rst").write_text("Guide\n=====\n\n" + body, encoding="utf-8")
    out = tmp_path / "out"
    app = Sphinx(str(src), str(src), str(out), str(tmp_path / "doctrees"), "html",
                 status=None, warning=sys.stderr, freshenv=True)  # fmt: skip
    app.build()
    return out / "index.html"


def test_blocks_share_a_namespace_and_show_output_warnings_and_figures(tmp_path, monkeypatch):
    body = """
.. fracturenet-run::
   :figure: plot.png

    import warnings
    x = 6 * 7
    print("answer", x)
    warnings.warn("a user warning the reader should see")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.plot([0, 1], [0, x])
    plt.savefig("plot.png")

.. fracturenet-run::

    print("again", x + 1)
"""
    html = _build(tmp_path, body, monkeypatch).read_text(encoding="utf-8")
    assert "answer 42" in html and "again 43" in html  # the second block sees the first's names
    assert "UserWarning: a user warning the reader should see" in html
    assert "Printed when this documentation was built" in html
    assert '<img alt="plot.png' in html
    assert (tmp_path / "src" / "generated" / "index" / "plot.png").is_file()


def test_a_failing_block_fails_the_build_naming_the_page_and_line(tmp_path, monkeypatch):
    from sphinx.errors import ExtensionError

    body = ".. fracturenet-run::\n\n    1 / 0\n"
    with pytest.raises(ExtensionError, match=r"index\.rst line \d+.*ZeroDivisionError"):
        _build(tmp_path, body, monkeypatch)


def test_a_figure_the_block_did_not_write_fails_the_build(tmp_path, monkeypatch):
    from sphinx.errors import ExtensionError

    body = ".. fracturenet-run::\n   :figure: missing.png\n\n    print('no figure')\n"
    with pytest.raises(ExtensionError, match="'missing.png' but did not write it"):
        _build(tmp_path, body, monkeypatch)


def test_data_beside_the_checkout_is_shown_as_the_prose_names_it(tmp_path, monkeypatch):
    """CI keeps the data at ``<parent>/shared`` beside the checkout ``<parent>/main``: a page
    that prints the absolute path leaks the build machine (page_check fails the build)."""
    shared = tmp_path / "shared" / "data"
    shared.mkdir(parents=True)
    monkeypatch.setenv("FN_TEST_SHARED", str(shared))
    body = """
.. fracturenet-run::

    import os
    print("Audit of " + os.environ["FN_TEST_SHARED"] + "/fracatlas: 3 images")
"""
    checkout = tmp_path / "main"  # its docs folder is main/src here
    checkout.mkdir()
    html = _build(checkout, body, monkeypatch).read_text(encoding="utf-8")
    assert "Audit of ../shared/data/fracatlas" in html
    assert str(tmp_path) not in html
