"""Sphinx extension: ``.. fracturenet-constants:: package`` documents the package's public
constants (the names in ``__all__`` that are neither classes, functions nor modules) with
their current values, read at build time so the page cannot drift from the code.

Autosummary would show the docstring of each value's *type* (``dict``, ``tuple``) instead.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


def public_constants(package: str) -> list[tuple[str, Any]]:
    """Returns ``(name, value)`` for each public constant of ``package``."""
    module = importlib.import_module(package)
    return [
        (name, getattr(module, name))
        for name in module.__all__
        if not name.startswith("__")
        and not (inspect.isclass(getattr(module, name)) or callable(getattr(module, name)))
        and not inspect.ismodule(getattr(module, name))
    ]


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping with keys " + ", ".join(f"``{k!r}``" for k in value)
    text = repr(value)
    return f"``{text if len(text) <= 300 else text[:297] + '...'}``"


class ConstantsDirective(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        package = self.arguments[0]
        lines: list[str] = []
        for name, value in public_constants(package):
            lines += [f".. py:data:: {package}.{name}", "", f"   {_describe(value)}", ""]
        if not lines:
            return []
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(StringList(lines, source=package), self.content_offset, node)
        return node.children


def setup(app: Sphinx) -> dict:
    app.add_directive("fracturenet-constants", ConstantsDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
