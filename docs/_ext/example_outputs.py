"""Where the docs build keeps the output of each example's ``--quick`` run.

One folder per example and version: ``<build>-examples/<stem>-<key>``, where the key hashes the
example's source and the library's sources (``src/**/*.py``), so the output always belongs to
the code it shows and an unchanged example does not run again in the same build folder. The
folder holds everything the script wrote into ``--out`` plus ``stdout.txt``; it appears only
when the run succeeded (written beside it, then renamed).

``docs/_ext/run_examples.py`` writes these folders; ``tests/examples`` reads them, so CI, which
builds the docs before the README test command, runs each example once rather than twice.
No Sphinx import here: the tests use this module without a Sphinx application.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# the README's build command: ``sphinx-build -W -b html docs docs/_build/html``
DEFAULT_OUTDIR = Path("docs", "_build", "html")


def source_key(script: Path, src: Path) -> str:
    """A 16-hex-digit hash of ``script`` and every ``*.py`` file under ``src`` (names too)."""
    h = hashlib.sha256(Path(script).read_bytes())
    for path in sorted(Path(src).rglob("*.py")):
        h.update(str(path.relative_to(src)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def output_dir(repo: Path, script: Path, outdir: Path | None = None) -> Path:
    """The folder holding ``script``'s ``--quick`` output for the current sources.

    Args:
        repo: The repository root (holds ``src/`` and ``examples/``).
        script: The example script.
        outdir: The HTML build folder. Defaults to `repo / DEFAULT_OUTDIR`.

    Returns:
        ``<outdir>-examples/<stem>-<key>``; it exists only if that run has completed.
    """
    outdir = Path(outdir) if outdir is not None else Path(repo) / DEFAULT_OUTDIR
    cache = outdir.parent / (outdir.name + "-examples")
    return cache / f"{Path(script).stem}-{source_key(script, Path(repo) / 'src')}"
