"""Run directories: where a training run writes its config, logs and checkpoints.

Every file is written atomically (to a temporary file in the same folder, then
``os.replace``), so a crash, even ``kill -9``, never leaves a half-written file behind.
A new run never reuses an existing, non-empty directory unless asked.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fracturenet.exceptions import DiskFullError, RunDirectoryExistsError
from fracturenet.training.run_lock import RunLock

__all__ = [
    "RunDirectory",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "free_bytes",
    "new_run_path",
]


def atomic_write(
    path: str | os.PathLike[str], writer: Callable[[str], None], *, size_hint: int = 0
) -> Path:
    """Writes a file atomically by letting ``writer`` fill a temporary path first.

    The temporary file is removed whatever happens; running out of disk space raises
    :class:`~fracturenet.exceptions.DiskFullError`, which names the path and the bytes needed.

    Args:
        path: Final file path.
        writer: Called with a temporary path in the same folder; must create that file.
        size_hint: Bytes the file will take, when known (reported if the disk is full).
            Defaults to `0`.

    Returns:
        The final path.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
        >>> atomic_write(p, lambda tmp: open(tmp, "w").close()).name
        'a.txt'
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
    except OSError as exc:
        written = os.path.getsize(tmp) if os.path.exists(tmp) else 0
        _remove(tmp)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(
                str(path), max(size_hint, written + 1), free_bytes(path.parent)
            ) from exc
        raise
    except BaseException:
        _remove(tmp)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Writes ``data`` atomically and durably (fsync), checking the free space first.

    Args:
        path: Final file path.
        data: The file's content.

    Returns:
        The final path.

    Raises:
        DiskFullError: If the filesystem has not enough free space (nothing is written).

    Example:
        >>> import tempfile, os
        >>> atomic_write_bytes(os.path.join(tempfile.mkdtemp(), "b.bin"), b"xyz").name
        'b.bin'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    needed = len(data) + _SLACK
    free = free_bytes(path.parent)
    if needed > free:
        raise DiskFullError(str(path), needed, free)

    def _write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    return atomic_write(path, _write, size_hint=needed)


def free_bytes(folder: str | os.PathLike[str]) -> int:
    """Bytes free for this user on the filesystem holding ``folder``."""
    try:
        return int(shutil.disk_usage(folder).free)
    except OSError:
        return 0


_SLACK = 8192  # a file takes whole blocks, plus its inode's metadata


def _remove(tmp: str) -> None:
    try:
        os.remove(tmp)
    except FileNotFoundError:
        pass


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Writes ``data`` as indented JSON atomically."""
    text = json.dumps(data, indent=2, sort_keys=False, default=_json_default)
    return atomic_write_bytes(path, (text + "\n").encode("utf-8"))


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
        run.lock           the writing process (pid, host) while a run is active
        checkpoints/       last.json and previous.json -> epoch-N.base.npz (all arrays, shared
                           while unchanged), epoch-N.weights.npz (arrays that differ from
                           the base), epoch-N.optimizer.npz (latest only); with
                           keep_checkpoints="all" also epoch-N.json per epoch
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
        RunLockedError: If another process is writing to ``path`` (see
            :class:`~fracturenet.training.run_lock.RunLock`).

    Example:
        >>> import tempfile, os
        >>> run = RunDirectory(os.path.join(tempfile.mkdtemp(), "run1"))
        >>> run.write_json("config.json", {"epochs": 1}).name
        'config.json'
        >>> run.release()
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
        self.lock = RunLock(self.path)  # one writer per folder; refused before any write
        self.checkpoints.mkdir(exist_ok=True)

    def release(self) -> None:
        """Releases the folder's lock (the run is finished; idempotent)."""
        self.lock.release()

    @property
    def checkpoints(self) -> Path:
        """The checkpoint folder."""
        return self.path / "checkpoints"

    def file(self, name: str) -> Path:
        """Returns the path of ``name`` inside the run directory."""
        return self.path / name

    def append_log(self, message: str) -> None:
        """Appends a line to ``train.log``.

        Raises:
            DiskFullError: If the disk is full (names the log and the bytes needed).
        """
        line = (message + "\n").encode("utf-8")
        try:
            with open(self.path / "train.log", "ab") as f:
                f.write(line)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFullError(
                    str(self.path / "train.log"), len(line), free_bytes(self.path)
                ) from exc
            raise

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
        atomic_write_bytes(self.path / "history.csv", buf.getvalue().encode("utf-8"))
