"""Sphinx extension: ``.. fracturenet-run::`` runs a guide's code during the build.

The directive's content is Python. It runs when the page is read, in a namespace shared by
the page's blocks (like cells of a notebook) and in a working folder of its own, so files the
code writes have short relative names. The page shows the code, then what it printed, then
the figures it wrote (``:figure: a.png, b.png``). Output therefore always matches the library
the docs are built from; code that raises fails the build.

``FRACTURENET_DOCS_EXAMPLES=skip`` builds the pages without running anything (the pages then
say so), like the example pages; ``FRACTURENET_DOCS_GUIDE=skip`` or ``run`` decides for the
guide pages alone.

.. code-block:: rst

    .. fracturenet-run::
       :figure: curves.png

       print(1 + 1)
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import textwrap
import time
import traceback
import warnings
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

_NAMESPACE = "fracturenet_run_namespace"


def _skipped() -> bool:
    """``FRACTURENET_DOCS_GUIDE=skip|run`` decides; otherwise the examples' setting does."""
    guide = os.environ.get("FRACTURENET_DOCS_GUIDE", "").lower()
    if guide in ("skip", "run"):
        return guide == "skip"
    return os.environ.get("FRACTURENET_DOCS_EXAMPLES", "").lower() == "skip"


def _beside_checkout(printed: str, srcdir: Path) -> str:
    """Shows data found beside the repository (``../shared/data``) as the page's prose names
    it, ``../shared/...``, not as the build machine's absolute path.

    Example:
        >>> _beside_checkout("Audit of /ci/work/shared/x: 3 images", Path("/ci/work/main/docs"))
        'Audit of ../shared/x: 3 images'
    """
    for beside in {Path(os.path.abspath(srcdir)).parents[1], srcdir.resolve().parents[1]}:
        if len(beside.parts) > 1:  # a checkout at the file system's root: nothing to shorten
            printed = printed.replace(str(beside) + os.sep, ".." + os.sep)
    return printed


class GuideRun(SphinxDirective):
    """Runs its Python content and shows the code, the printed output and the figures."""

    has_content = True
    option_spec = {"figure": directives.unchanged, "width": directives.unchanged}

    def _workdir(self) -> Path:
        outdir = Path(self.env.app.outdir)
        return outdir.parent / (outdir.name + "-guide-runs") / self.env.docname.replace("/", "-")

    def _namespace(self) -> dict:
        # temp_data lives while one document is read: one namespace a page, fresh each build
        ns = self.env.temp_data.get(_NAMESPACE)
        if ns is None:
            work = self._workdir()
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            import keras

            keras.utils.set_random_seed(0)  # the same numbers on every build of the same code
            ns = {"__name__": "__guide__"}
            self.env.temp_data[_NAMESPACE] = ns
        return ns

    def _execute(self, code: str) -> str:
        ns = self._namespace()
        work = self._workdir()
        buffer = io.StringIO()
        here = os.getcwd()
        start = time.perf_counter()
        try:
            os.chdir(work)
            with contextlib.redirect_stdout(buffer), warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                exec(compile(code, f"<{self.env.docname} line {self.lineno}>", "exec"), ns)
            for warning in seen:  # what a user running the code sees on stderr
                if issubclass(warning.category, (UserWarning, DeprecationWarning)) and (
                    "fracturenet" in str(warning.filename) or warning.filename.startswith("<")
                ):
                    buffer.write(f"{warning.category.__name__}: {warning.message}\n")
        except Exception as error:
            raise ExtensionError(
                f"{self.env.docname}.rst line {self.lineno}: the fracturenet-run block "
                f"raised {type(error).__name__}: {error}\n{traceback.format_exc()[-3000:]}"
            ) from error
        finally:
            os.chdir(here)
        logger.info(
            f"[guide] {self.env.docname} line {self.lineno}: {time.perf_counter() - start:.0f} s"
        )
        printed = buffer.getvalue().replace(str(work) + os.sep, "").replace(str(work), ".")
        return _beside_checkout(printed, Path(self.env.app.srcdir))

    def _figures(self, names: list[str]) -> list[str]:
        """Copies the figures beside the page's source; their paths relative to the page."""
        page = Path(self.env.doc2path(self.env.docname))
        stem = self.env.docname.replace("/", "-")
        target = page.parent / "generated" / stem
        target.mkdir(parents=True, exist_ok=True)
        shown = []
        for name in names:
            produced = self._workdir() / name
            if not produced.is_file():
                raise ExtensionError(
                    f"{self.env.docname}.rst line {self.lineno}: the block names the figure "
                    f"{name!r} but did not write it"
                )
            copy = target / Path(name).name
            shutil.copy(produced, copy)
            shown.append(copy.relative_to(page.parent).as_posix())
        return shown

    def run(self) -> list:
        # options indented by 3 and code by 4 leave one space on every line: remove it
        code = textwrap.dedent("\n".join(self.content))
        lines = [".. code-block:: python", ""] + ["   " + ln for ln in code.splitlines()] + [""]
        figures = [f.strip() for f in self.options.get("figure", "").split(",") if f.strip()]
        if _skipped():
            lines += ["*Not executed in this build* (``FRACTURENET_DOCS_EXAMPLES=skip``).", ""]
        else:
            printed = self._execute(code)
            if printed.strip():
                lines += [
                    ".. rst-class:: run-output",
                    "",
                    "Printed when this documentation was built:",
                    "",
                    ".. code-block:: text",
                    "",
                ]
                lines += ["   " + ln.rstrip() for ln in printed.rstrip().splitlines()] + [""]
            for fig in self._figures(figures):
                lines += [
                    f".. image:: {fig}",
                    f"   :alt: {Path(fig).name}, written by the code "
                    "above when this documentation was built",
                    f"   :width: {self.options.get('width', '560px')}",
                    "",
                ]
        holder = nodes.container(classes=["fracturenet-run"])
        self.state.nested_parse(StringList(lines, source=self.env.docname), self.content_offset,
                                holder)  # fmt: skip
        return [holder]


def setup(app: Sphinx) -> dict:
    app.add_directive("fracturenet-run", GuideRun)
    # pages with run blocks are read one at a time: the blocks share a namespace and a folder
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
