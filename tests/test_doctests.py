"""Runs every docstring example in src/fracturenet, so docs and code cannot drift apart."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import fracturenet

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(fracturenet.__path__, prefix="fracturenet.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    tests = [t for t in doctest.DocTestFinder().find(module) if t.examples]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures: list[str] = []
    for test in tests:
        result = runner.run(test, out=failures.append, clear_globs=True)
        del result
    assert runner.failures == 0, "".join(failures)


def test_doctests_are_found():
    """Guards the finder itself: the library has dozens of examples, not zero."""
    found = sum(
        len([t for t in doctest.DocTestFinder().find(importlib.import_module(n)) if t.examples])
        for n in MODULES
    )
    assert found >= 50
