"""Sphinx extension: runs each script in ``examples/`` in ``--quick`` mode during the build and
writes a page per example with its source, its printed output and the figures it saved.

A failing example fails the build (an example that does not run is a bug). Outputs are cached
beside the build folder under a hash of the script and the library sources
(``docs/_ext/example_outputs.py``), so a rebuild without changes runs nothing, and the tests of
the examples check this run's outputs instead of running the script again on the same code.
``FRACTURENET_DOCS_EXAMPLES=skip`` builds the pages without running the scripts (the pages
then say so).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from example_outputs import output_dir
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _run(script: Path, out: Path, repo: Path, timeout: int) -> str:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg", FRACTURENET_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo / "src"), env.get("PYTHONPATH")]))
    env.setdefault("FRACTURENET_CACHE", str(out.parent / "cache"))
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=repo,
    )
    if proc.returncode != 0:
        raise ExtensionError(
            f"examples/{script.name} --quick failed (exit {proc.returncode}):\n"
            f"{proc.stderr[-3000:]}"
        )
    # the folder the page's command line names, not the build machine's temporary path
    # and the phantom cache where a user's default cache would be
    shown = proc.stdout.replace(str(tmp), f"runs/{script.stem}")
    shown = shown.replace(env["FRACTURENET_CACHE"], "~/.cache/fracturenet")
    (tmp / "stdout.txt").write_text(shown, encoding="utf-8")
    tmp.rename(out)
    logger.info(f"[examples] {script.name}: {time.perf_counter() - start:.0f} s")
    return proc.stdout


# folders of inputs and per-image pages, whose PNGs are data rather than results
_NOT_FIGURES = {"phantoms", "dataset", "per_image", "checkpoints", "cache"}


def _figures(out: Path) -> list[Path]:
    """The PNGs an example wrote: its own figures and the Trainer's training curves."""
    return sorted(
        p for p in out.rglob("*.png") if not _NOT_FIGURES & set(p.relative_to(out).parts[:-1])
    )


def _page(script: Path, title: str, stdout: str | None, figures: list[str]) -> str:
    doc = (script.read_text(encoding="utf-8").split('"""')[1]).strip().splitlines()
    lines = [
        title,
        "=" * len(title),
        "",
        *doc[1:],
        "",
        "Output of ``--quick``",
        "-" * 21,
        "",
    ]
    if stdout is None:
        lines += ["Not executed in this build (``FRACTURENET_DOCS_EXAMPLES=skip``).", ""]
    else:
        lines += [
            f"Printed by ``python examples/{script.name} --quick --out runs/{script.stem}`` "
            "in this build "
            "(tiny phantoms, one epoch: the numbers show the pipeline, not a result):",
            "",
            ".. code-block:: text",
            "",
        ]
        lines += ["   " + ln for ln in stdout.rstrip().splitlines()] + [""]
        for fig in figures:
            lines += [f".. image:: {fig}", f"   :alt: {fig} written by {script.name}", ""]
    # the output first, the (long) source after it
    lines += [
        "Source",
        "------",
        "",
        f"``examples/{script.name}``:",
        "",
        f".. literalinclude:: ../../../examples/{script.name}",
        "   :language: python",
        "",
    ]
    return "\n".join(lines)


def build_example_pages(app: Sphinx) -> None:
    repo = Path(app.srcdir).parent
    gen = Path(app.srcdir) / "examples" / "generated"
    gen.mkdir(parents=True, exist_ok=True)
    skip = os.environ.get("FRACTURENET_DOCS_EXAMPLES", "").lower() == "skip"
    for name, title in app.config.fracturenet_examples:
        script = repo / "examples" / name
        if not script.is_file():
            raise ExtensionError(f"fracturenet_examples lists {name!r}, which is not in examples/")
        stem = script.stem
        stdout, figures = None, []
        if not skip:
            out = output_dir(repo, script, Path(app.outdir))
            if not out.is_dir():
                _run(script, out, repo, app.config.fracturenet_examples_timeout)
            stdout = (out / "stdout.txt").read_text(encoding="utf-8")
            figdir = gen / stem
            shutil.rmtree(figdir, ignore_errors=True)
            figdir.mkdir()
            for png in _figures(out):
                name = "_".join(png.relative_to(out).parts)
                shutil.copy(png, figdir / name)
                figures.append(f"{stem}/{name}")
        text = _page(script, title, stdout, figures)
        target = gen / f"{stem}.rst"
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.add_config_value("fracturenet_examples", [], "env")
    app.add_config_value("fracturenet_examples_timeout", 600, "env")
    app.connect("builder-inited", build_example_pages)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
