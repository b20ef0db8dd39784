"""``examples/<script> --quick``: the docs build's run of it when there is one, else a fresh run.

CI builds the docs (which run every example in ``--quick`` mode, ``docs/_ext/run_examples.py``)
before the README test command. The docs build keeps each run's output under a hash of the
script and the library sources (``docs/_ext/example_outputs.py``); when that folder exists for
the current sources, the tests check it instead of running the same script on the same code a
second time. Without a docs build (or after any source change) the script runs here.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _docs_output_dir(script: Path) -> Path:
    spec = importlib.util.spec_from_file_location(
        "example_outputs", REPO / "docs" / "_ext" / "example_outputs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.output_dir(REPO, script)


@dataclass(frozen=True)
class QuickRun:
    """What one ``--quick`` run printed and wrote, and where that run happened."""

    returncode: int
    stdout: str
    stderr: str
    out: Path
    source: str  # "docs build" or "this test"


def run_example(script: str, out: Path, cache: Path) -> subprocess.CompletedProcess:
    """Runs ``examples/<script> --quick --out <out>`` offline, with its phantoms in ``cache``
    and ``cache``'s parent as the working folder."""
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="2",
        MPLBACKEND="Agg",
        FRACTURENET_CACHE=str(cache),
        FRACTURENET_OFFLINE="1",
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=Path(cache).parent,
        check=False,
    )


def quick_run(script: str, tmp_path: Path, *, reuse_docs: bool = True) -> QuickRun:
    """``examples/<script> --quick``: :func:`run_example` into ``tmp_path / "out"``.

    With ``reuse_docs`` and a completed docs-build run of the same script on the same library
    sources, returns that run instead (exit code 0: the docs build keeps only runs that
    succeeded).
    """
    path = EXAMPLES / script
    if reuse_docs:
        cached = _docs_output_dir(path)
        if (cached / "stdout.txt").is_file():
            stdout = (cached / "stdout.txt").read_text(encoding="utf-8")
            return QuickRun(0, stdout, "", cached, "docs build")
    out = tmp_path / "out"
    proc = run_example(script, out, tmp_path / "cache")
    return QuickRun(proc.returncode, proc.stdout, proc.stderr, out, "this test")
