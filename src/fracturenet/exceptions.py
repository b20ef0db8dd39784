"""Exceptions raised by fracturenet.

Every error the library raises on purpose derives from :class:`FractureNetError`, so
callers can catch the library's errors in one place. Where an error is also a misuse of
an argument or a missing optional dependency, it additionally derives from the matching
built-in (``ValueError``, ``ImportError``, ``FileNotFoundError``) so that generic handlers
keep working.
"""

from __future__ import annotations

__all__ = [
    "FractureNetError",
    "DatasetError",
    "ImageDecodeError",
    "UnknownBackboneError",
    "WeightsUnavailableError",
    "WeightsMismatchError",
    "ModelFormatError",
    "MissingExtraError",
    "RunDirectoryExistsError",
    "ComparisonError",
    "ExplainError",
    "ResumeMismatchError",
    "RunLockedError",
    "CheckpointError",
    "DiskFullError",
]


class FractureNetError(Exception):
    """Base class of every error raised by fracturenet on purpose."""


class DatasetError(FractureNetError, ValueError):
    """A dataset path, layout, manifest or split is unusable (names the path and the fix)."""


class ImageDecodeError(DatasetError):
    """An image file could not be read or decoded.

    Attributes:
        path: The file that failed.
        reason: Short human-readable cause (``"zero-byte file"``, ``"truncated JPEG"``, ...).
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(
            f"Cannot read image {self.path!r}: {reason}. Fix or remove the file, or pass "
            "on_error='skip' to leave it out (skipped files are listed in the report)."
        )

    def __reduce__(self):  # keep picklable for worker processes
        return (type(self), (self.path, self.reason))


class UnknownBackboneError(FractureNetError, ValueError):
    """A backbone name is not in the registry (the message lists the valid names)."""


class WeightsUnavailableError(FractureNetError, FileNotFoundError):
    """Pretrained weights cannot be obtained (offline and not cached, or a missing file)."""


class WeightsMismatchError(FractureNetError, ValueError):
    """A weights file does not fit the backbone (too few layers matched)."""


class ModelFormatError(FractureNetError, ValueError):
    """A saved model is missing fracturenet metadata or comes from an incompatible version."""


class MissingExtraError(FractureNetError, ImportError):
    """An optional dependency is not installed; the message carries the pip command."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{purpose} needs the optional dependency {package!r}, which is not installed. "
            f"Install it with: pip install 'fracturenet[{extra}]'"
        )

    def __reduce__(self):
        return (type(self), (self.package, self.extra, str(self).split(" needs ")[0]))


class RunDirectoryExistsError(FractureNetError, FileExistsError):
    """A run directory already exists and would be overwritten (pass overwrite or resume)."""


class ComparisonError(FractureNetError, ValueError):
    """Predictions cannot be compared (different images, labels or class names)."""


class ExplainError(FractureNetError, ValueError):
    """An explanation cannot be computed (unknown method, bad target, no CAM layer)."""


class ResumeMismatchError(FractureNetError, ValueError):
    """A resumed run's settings or data differ from the saved run (the message lists each key)."""


class RunLockedError(FractureNetError, RuntimeError):
    """Another process holds the run folder's lock, or a stale lock needs a decision."""


class CheckpointError(FractureNetError, OSError):
    """A checkpoint file is missing, truncated or does not fit the model (names the file)."""


class DiskFullError(FractureNetError, OSError):
    """A write ran out of disk space (names the path and the bytes needed).

    Attributes:
        path: The file that could not be written.
        needed: Bytes the write needed.
        free: Bytes free on that filesystem when the write failed.
    """

    def __init__(self, path: str, needed: int, free: int) -> None:
        self.path, self.needed, self.free = str(path), int(needed), int(free)
        super().__init__(
            f"No space left on the device to write {self.path!r}: it needs {self.needed:,} "
            f"bytes and {self.free:,} are free. Free some space or choose another folder; "
            "a run can then continue with resume (--resume)."
        )

    def __reduce__(self):
        return (type(self), (self.path, self.needed, self.free))
