"""The import-linter contracts in pyproject.toml hold: layers, and no import cycles.

The contracts run on the package these tests import, so ``python -m pytest`` fails on a layer
breach. Each planted breach below shows that the contracts notice one (on a copy of the
package in a temporary folder).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fracturenet

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
PACKAGE = Path(fracturenet.__file__).resolve().parent

_LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True))"
)


def _lint(search_path: Path) -> subprocess.CompletedProcess:
    """Runs every contract on the ``fracturenet`` found in ``search_path``."""
    env = {**os.environ, "PYTHONPATH": str(search_path)}
    return subprocess.run(
        [sys.executable, "-c", _LINT, str(PYPROJECT)],
        capture_output=True,
        text=True,
        env=env,
        cwd=search_path,
        timeout=300,
    )


def test_contracts_are_kept():
    result = _lint(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# (module to edit, line appended to it, what the report names)
PLANTED = {
    "upward import": (
        "data/manifest.py",
        "from fracturenet.training import Trainer  # noqa",
        "fracturenet.data.manifest -> fracturenet.training",
    ),
    "inference on the trainer's package": (
        "inference/precision.py",
        "from fracturenet.training import rundir  # noqa",
        "fracturenet.inference.precision -> fracturenet.training",
    ),
    "data on the phantoms": (
        "data/discovery.py",
        "from fracturenet.phantoms import render_phantom  # noqa",
        "fracturenet.data.discovery -> fracturenet.phantoms",
    ),
    "cycle inside a package": (
        "data/manifest.py",
        "from fracturenet.data import discovery  # noqa",
        "No cycles are allowed in fracturenet.data.",
    ),
    "top-level module without a layer": ("stray.py", "X = 1", "fracturenet.stray"),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_a_planted_breach_breaks_a_contract(name, tmp_path):
    module, line, named = PLANTED[name]
    copy = tmp_path / "fracturenet"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    target.write_text(text + "\n" + line + "\n", encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and named in result.stdout, result.stdout
