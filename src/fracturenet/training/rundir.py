"""Run directories: where a training run writes its config, logs and checkpoints.

Every file is written atomically (to a temporary file in the same folder, then
``os.replace``), so a crash, even ``kill -9``, never leaves a half-written file behind.
A new run never reuses an existing, non-empty directory unless asked.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fracturenet.exceptions import RunDirectoryExistsError

__all__ = ["RunDirectory", "atomic_write", "atomic_write_json", "new_run_path"]


def atomic_write(path: str | os.PathLike[str], writer: Callable[[str], None]) -> Path:
    """Writes a file atomically by letting ``writer`` fill a temporary path first.

    Args:
        path: Final file path.
        writer: Called with a temporary path in the same folder; must create that file.

    Returns:
        The final path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent
    )
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Writes ``data`` as indented JSON atomically."""
    text = json.dumps(data, indent=2, sort_keys=False, default=_json_default)

    def _write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text + "\n")

    return atomic_write(path, _write)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def new_run_path(parent: str | os.PathLike[str], prefix: str = "run") -> Path:
    """Returns a fresh, not yet existing path ``parent/<prefix>-YYYYmmdd-HHMMSS[-N]``."""
    parent = Path(parent)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    candidate = parent / f"{prefix}-{stamp}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = parent / f"{prefix}-{stamp}-{n}"
    return candidate


class RunDirectory:
    """A training run's folder.

    Layout::

        config.json        what the run is made of
        environment.json   versions, devices, strategy, precision, seed
        history.csv/json   one row per completed epoch
        training_curves.png
        checkpoints/       last.json -> epoch-N.* files (resume), best.weights.h5
        model.keras        the final model with metadata

    Args:
        path: The folder.
        overwrite: Allow a non-empty existing folder to be reused for a new run (files with
            the same names are replaced; nothing else is deleted). Defaults to `False`.
        resume: Open an existing run to continue it. Defaults to `False`.

    Raises:
        RunDirectoryExistsError: If ``path`` exists, is not empty, and neither
            ``overwrite`` nor ``resume`` is set.
        FileNotFoundError: If ``resume`` is set and ``path`` holds no run.

    Example:
        >>> import tempfile, os
        >>> run = RunDirectory(os.path.join(tempfile.mkdtemp(), "run1"))
        >>> run.write_json("config.json", {"epochs": 1}).name
        'config.json'
    """

    def __init__(
        self, path: str | os.PathLike[str], *, overwrite: bool = False, resume: bool = False
    ) -> None:
        self.path = Path(path)
        exists = self.path.exists() and any(self.path.iterdir())
        if resume:
            if not (self.path / "config.json").exists():
                raise FileNotFoundError(
                    f"Cannot resume: {str(self.path)!r} holds no run (no config.json). "
                    f"Start a new run there without resume. Received: path={str(self.path)!r}"
                )
        elif exists and not overwrite:
            raise RunDirectoryExistsError(
                f"Run directory {str(self.path)!r} already exists and is not empty. Choose a "
                "new path, pass resume=True (--resume) to continue that run, or "
                f"overwrite=True (--overwrite) to reuse it. Received: path={str(self.path)!r}"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.checkpoints.mkdir(exist_ok=True)

    @property
    def checkpoints(self) -> Path:
        """The checkpoint folder."""
        return self.path / "checkpoints"

    def file(self, name: str) -> Path:
        """Returns the path of ``name`` inside the run directory."""
        return self.path / name

    def write_json(self, name: str, data: Any) -> Path:
        """Writes ``data`` to ``name`` as JSON, atomically."""
        return atomic_write_json(self.path / name, data)

    def read_json(self, name: str) -> Any:
        """Reads a JSON file of the run."""
        with open(self.path / name, encoding="utf-8") as f:
            return json.load(f)

    def write_history(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Writes the per-epoch history as ``history.csv`` and ``history.json``."""
        self.write_json("history.json", list(rows))
        keys: list[str] = []
        for r in rows:
            keys.extend(k for k in r if k not in keys)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)

        def _write(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(buf.getvalue())

        atomic_write(self.path / "history.csv", _write)
