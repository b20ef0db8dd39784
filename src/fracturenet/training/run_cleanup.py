"""Removing a run folder that a failed start created, so the obvious retry works."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["discard_new_run_dir"]


def discard_new_run_dir(path: str | os.PathLike[str]) -> bool:
    """Deletes ``path`` if it holds nothing but empty folders and small setup files.

    Called only for a folder the failed call itself created; the size check is a second
    guard so that nothing a user put there is ever deleted.

    Args:
        path: The run folder.

    Returns:
        Whether the folder was removed.

    Example:
        >>> import tempfile, pathlib
        >>> run = pathlib.Path(tempfile.mkdtemp()) / "run"
        >>> (run / "checkpoints").mkdir(parents=True)
        >>> discard_new_run_dir(run), run.exists()
        (True, False)
    """
    root = Path(path)
    if not root.is_dir():
        return False
    files = [p for p in root.rglob("*") if not p.is_dir()]
    if any(p.is_symlink() or p.stat().st_size > 1_000_000 for p in files):
        return False
    shutil.rmtree(root, ignore_errors=True)
    return not root.exists()
