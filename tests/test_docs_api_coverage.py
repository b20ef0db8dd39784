"""Every public name (each subpackage's ``__all__``) is listed in the API reference."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"
PACKAGES = [
    "fracturenet",
    "fracturenet.data",
    "fracturenet.models",
    "fracturenet.training",
    "fracturenet.evaluation",
    "fracturenet.explain",
    "fracturenet.demo",
    "fracturenet.cli",
]


def _listed() -> dict[str, set[str]]:
    listed: dict[str, set[str]] = {}
    module = None
    for line in API.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = m.group(1)
            listed.setdefault(module, set())
        elif module and (m := re.match(r"   ([A-Za-z_]\w*)$", line)):
            listed[module].add(m.group(1))
    return listed


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_is_in_the_api_reference(package):
    public = {n for n in importlib.import_module(package).__all__ if n != "__version__"}
    missing = sorted(public - _listed().get(package, set()))
    assert not missing, f"add to docs/api.rst under {package}: {missing}"


def test_api_reference_lists_only_existing_names():
    stale = [
        f"{pkg}.{n}"
        for pkg, names in _listed().items()
        for n in names
        if not hasattr(importlib.import_module(pkg), n)
    ]
    assert not stale, f"docs/api.rst lists names that do not exist: {stale}"
