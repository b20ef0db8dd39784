"""Sphinx extension: fails the build when a built page shows a placeholder or a machine path.

Examples and generated pages run on the build machine; their printed output must not leak
its temporary folders or home directory, nor placeholders such as ``outputs: OUT``.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

#: What must never appear in a built page's text.
FORBIDDEN = {
    "temporary folder": re.compile(r"/tmp/(tmp|pytest-of-)[\w.-]*"),
    "home folder": re.compile(r"(/root/|/home/[\w.-]+/)"),
    "build-machine checkout": re.compile(r"/work/[\w.-]+"),
    "placeholder": re.compile(r"\b(outputs?|out_dir|report|saved to): OUT\b"),
}


def page_problems(text: str, checkout: str | None = None) -> list[str]:
    """The forbidden things in one page's visible text.

    Args:
        text: The page's HTML.
        checkout: The absolute path of the checkout the docs are built from; it must not
            appear either, wherever the build machine keeps it.
    """
    visible = re.sub(
        r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", "", text, flags=re.S)
    )
    patterns = dict(FORBIDDEN)
    if checkout:
        patterns["this checkout"] = re.compile(re.escape(checkout.rstrip("/")) + r"/")
    return [
        f"{what}: {m.group(0)!r}"
        for what, pat in patterns.items()
        for m in [pat.search(visible)]
        if m
    ]


def check_pages(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    problems = []
    checkout = str(Path(app.srcdir).resolve().parent)
    for page in sorted(Path(app.outdir).rglob("*.html")):
        if "_modules" in page.parts:  # highlighted source code, not prose
            continue
        for problem in page_problems(page.read_text(encoding="utf-8"), checkout):
            problems.append(f"{page.relative_to(app.outdir)}: {problem}")
    if problems:
        raise ExtensionError("built pages leak machine details:\n  " + "\n  ".join(problems))


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", check_pages)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
