"""One run folder, one writer: an exclusive lock file holding the writer's pid and host.

The lock is ``run.lock`` in the run folder: a JSON record (pid, host, start time) under an
OS advisory lock (``fcntl.flock``), which the kernel drops when the process dies, even by
``kill -9``. A second process that finds the lock held is refused with the holder's pid and
host. A lock left by a process that no longer runs (same host, advisory lock free) is stale:
it is taken over and reported; a lock recorded by another host is never taken over, since
its process cannot be checked from here (the message says how to remove it).
"""

from __future__ import annotations

import gc
import json
import os
import socket
import weakref
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fracturenet.exceptions import RunLockedError

try:  # POSIX; on Windows the record alone guards the folder
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunLock"]

LOCK_NAME = "run.lock"


class RunLock:
    """Holds ``folder/run.lock`` until :meth:`release` (or the process ends).

    Args:
        folder: The run folder.

    Attributes:
        stale: The record of a stale lock that was taken over, or ``None``.

    Raises:
        RunLockedError: If another live process holds the lock, or a lock recorded by
            another host is present.

    Example:
        >>> import tempfile
        >>> lock = RunLock(tempfile.mkdtemp())
        >>> lock.holder["pid"] == os.getpid()
        True
        >>> lock.release()
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.stale: dict[str, Any] | None = None
        self.holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        fd = self._acquire()
        try:
            previous = _read(fd)
            if previous and previous.get("host") not in (None, self.holder["host"]):
                raise RunLockedError(
                    f"Run folder {str(self.path.parent)!r} is locked by a process on another "
                    f"host ({_describe(previous)}), which cannot be checked from here. If it "
                    f"no longer runs, delete {str(self.path)!r} and try again. "
                    f"Received: path={str(self.path.parent)!r}"
                )
            if previous:
                self.stale = previous
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(self.holder) + "\n").encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._finalizer = weakref.finalize(self, _release, fd, str(self.path))

    def _acquire(self) -> int:
        collected = False
        for _ in range(5):  # the holder may remove the file between our open and flock
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if fcntl is None:
                return fd
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read(fd)
                os.close(fd)
                if holder and holder.get("pid") == os.getpid():
                    if not collected:  # a failed Trainer of ours may just await collection
                        gc.collect()
                        collected = True
                        continue
                    raise RunLockedError(
                        f"Run folder {str(self.path.parent)!r} is held by an earlier Trainer "
                        "in this same process. Call its `run.release()` (or delete it) "
                        f"first. Received: path={str(self.path.parent)!r}"
                    ) from None
                raise RunLockedError(
                    f"Run folder {str(self.path.parent)!r} is in use by another process "
                    f"({_describe(holder)}). Wait for it to finish, stop it, or use "
                    f"another folder. Received: path={str(self.path.parent)!r}"
                ) from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)
        raise RunLockedError(  # pragma: no cover - needs a lock churning under us
            f"Could not lock {str(self.path)!r}: it keeps being replaced by another process."
        )

    def describe_stale(self) -> str | None:
        """A sentence about the stale lock that was taken over, or ``None``."""
        if self.stale is None:
            return None
        return (
            f"took over a stale lock on {str(self.path.parent)!r} left by a process that no "
            f"longer runs ({_describe(self.stale)})"
        )

    def release(self) -> None:
        """Removes the lock file and drops the lock (idempotent)."""
        self._finalizer()


def _release(fd: int, path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
    os.close(fd)  # drops the flock


def _read(fd: int) -> dict[str, Any] | None:
    raw = os.pread(fd, 4096, 0)
    if not raw.strip():
        return None
    try:
        value = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return {"pid": None, "host": None, "started": None, "unreadable": True}
    return value if isinstance(value, dict) else None


def _describe(record: dict[str, Any] | None) -> str:
    if not record:
        return "pid and host not recorded"
    return (
        f"pid {record.get('pid')} on host {record.get('host')!r}, started {record.get('started')}"
    )
