"""The top-level public surface has one source, and the static imports agree with it."""

from __future__ import annotations

import ast
from pathlib import Path

import fracturenet
import fracturenet.exceptions

INIT = Path(fracturenet.__file__)


def _imported(block: list[ast.stmt]) -> set[str]:
    return {
        alias.asname or alias.name
        for node in block
        if isinstance(node, ast.ImportFrom) and node.module != "__future__"
        for alias in node.names
    }


def test_all_is_made_of_the_lazy_map_and_the_exceptions():
    assert fracturenet.__all__ == [
        "__version__", *fracturenet.exceptions.__all__, *fracturenet._LAZY
    ]  # fmt: skip
    assert len(set(fracturenet.__all__)) == len(fracturenet.__all__)


def test_static_imports_list_exactly_the_public_names():
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    checking = next(
        node for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
    )  # fmt: skip
    assert _imported(checking.body) == set(fracturenet._LAZY)
    eager = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "fracturenet.exceptions"
        for alias in node.names
    }
    assert eager == set(fracturenet.exceptions.__all__)


def test_every_public_name_resolves_from_the_module_the_map_names():
    import importlib

    for name, module in fracturenet._LAZY.items():
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def test_value_and_type_errors_use_one_style():
    """Every ValueError/TypeError the package raises says what it received (Keras' style:
    "Argument `x` must be ... Received: x=...")."""
    src = INIT.parent
    offenders = []
    for path in sorted(src.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and getattr(node.exc.func, "id", "") in ("ValueError", "TypeError")
                and "Received" not in (ast.get_source_segment(text, node.exc) or "")
            ):
                offenders.append(f"{path.relative_to(src)}:{node.lineno}")
    assert not offenders, offenders
