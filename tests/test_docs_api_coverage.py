"""Every public name (each subpackage's ``__all__``) is documented in the API reference."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
API = DOCS / "api.rst"
PACKAGES = [
    "fracturenet",
    "fracturenet.data",
    "fracturenet.models",
    "fracturenet.training",
    "fracturenet.evaluation",
    "fracturenet.explain",
    "fracturenet.hardware",
    "fracturenet.phantoms",
    "fracturenet.workflows",
    "fracturenet.cli",
    "fracturenet.inference",
    "fracturenet.inference.export",
]


def _public_constants(package: str) -> list[str]:
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from constants import public_constants
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return [name for name, _ in public_constants(package)]


def _listed() -> dict[str, set[str]]:
    """Names per module: autosummary entries and, with the constants directive, constants."""
    listed: dict[str, set[str]] = {}
    module = None
    for line in API.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = m.group(1)
            listed.setdefault(module, set())
        elif m := re.match(r"\.\. fracturenet-constants:: (\S+)", line):
            listed.setdefault(m.group(1), set()).update(_public_constants(m.group(1)))
        elif module and (m := re.match(r"   ([A-Za-z_]\w*)$", line)):
            listed[module].add(m.group(1))
    return listed


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_is_in_the_api_reference(package):
    listed = _listed()
    documented = {
        id(getattr(importlib.import_module(pkg), n)) for pkg, names in listed.items() for n in names
    }
    module = importlib.import_module(package)
    public = {n for n in module.__all__ if n != "__version__"}
    # a re-export counts as documented when the same object is listed under another package
    missing = sorted(
        n for n in public - listed.get(package, set()) if id(getattr(module, n)) not in documented
    )
    assert not missing, f"add to docs/api.rst under {package}: {missing}"


def test_api_reference_lists_only_existing_names():
    stale = [
        f"{pkg}.{n}"
        for pkg, names in _listed().items()
        for n in names
        if not hasattr(importlib.import_module(pkg), n)
    ]
    assert not stale, f"docs/api.rst lists names that do not exist: {stale}"


def test_constants_directive_skips_classes_and_functions():
    names = _public_constants("fracturenet.explain")
    assert "METHODS" in names
    assert "explain" not in names and "Explanation" not in names
