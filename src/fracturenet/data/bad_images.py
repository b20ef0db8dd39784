"""Bad images met by a pipeline: the files it kept, and the error behind TensorFlow's.

A decode error raised inside ``tf.data`` reaches the caller as a TensorFlow error whose text
embeds the Python traceback. :func:`decode_error_from` recovers the original
:class:`~fracturenet.exceptions.ImageDecodeError` (file and reason) so that callers, the
command line first, can report it in one line. :func:`kept_paths` lists a skipping
pipeline's files without the skipped ones, for ids that must align with its outputs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from fracturenet.exceptions import ImageDecodeError

__all__ = ["decode_error_from", "kept_paths", "readable_files", "remember_decode_error"]

_RAISED: OrderedDict[str, ImageDecodeError] = OrderedDict()
_LOCK = threading.Lock()
_KEEP = 64


def remember_decode_error(error: ImageDecodeError) -> None:
    """Records ``error`` (raised inside a pipeline) so :func:`decode_error_from` finds it."""
    with _LOCK:
        _RAISED[error.path] = error
        _RAISED.move_to_end(error.path)
        while len(_RAISED) > _KEEP:
            _RAISED.popitem(last=False)


def decode_error_from(exc: BaseException) -> ImageDecodeError | None:
    """The image decode error that ``exc`` is or wraps, or ``None``.

    Args:
        exc: Any exception, e.g. a ``tf.errors.InvalidArgumentError`` from iterating a
            :func:`~fracturenet.data.make_dataset` pipeline with ``on_error="raise"``.

    Returns:
        The original :class:`~fracturenet.exceptions.ImageDecodeError`, or ``None``.

    Example:
        >>> err = ImageDecodeError("/data/x.jpg", "truncated JPEG")
        >>> remember_decode_error(err)
        >>> decode_error_from(RuntimeError("... /data/x.jpg ... Traceback ...")) is err
        True
    """
    if isinstance(exc, ImageDecodeError):
        return exc
    text = str(exc)
    with _LOCK:
        for path, error in reversed(_RAISED.items()):
            if repr(path) in text or path in text:
                return error
    return None


class _KeptPaths(Sequence):
    def __init__(self, paths: Sequence[str], report: Any) -> None:
        self._paths, self._report = list(paths), report

    def _kept(self) -> list[str]:
        skipped = {p for p, _ in self._report.skipped}
        return [p for p in self._paths if p not in skipped]

    def __len__(self) -> int:
        return len(self._kept())

    def __getitem__(self, i: Any) -> Any:
        return self._kept()[i]

    def __iter__(self) -> Any:
        return iter(self._kept())

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        import numpy as np

        return np.asarray(self._kept(), dtype=dtype)


def kept_paths(dataset: Any) -> Sequence[str]:
    """The files of a :func:`~fracturenet.data.make_dataset` pipeline minus those it skipped.

    The sequence is evaluated when read, so it is complete once the dataset has been
    iterated (e.g. as the ``ids`` of an evaluation, read after the predictions).

    Args:
        dataset: A dataset returned by :func:`~fracturenet.data.make_dataset`.

    Returns:
        A read-only sequence of paths in dataset order.

    Example:
        >>> from fracturenet.data.pipeline import DecodeReport
        >>> class Fake:
        ...     file_paths, decode_report = ["a.png", "b.png"], DecodeReport()
        >>> ds = Fake()
        >>> ids = kept_paths(ds)
        >>> import warnings; warnings.simplefilter("ignore")
        >>> ds.decode_report.add("a.png", "zero-byte file")
        >>> list(ids)
        ['b.png']
    """
    return _KeptPaths(dataset.file_paths, dataset.decode_report)


def readable_files(paths: Sequence[Any]) -> tuple[list[Any], list[tuple[str, str]]]:
    """Splits ``paths`` into the images that decode and ``(path, reason)`` for the others.

    For commands that take a few images and cannot skip one midway (explanations).

    Args:
        paths: Image files.

    Returns:
        ``(readable paths, [(path, reason), ...])``, both in the given order.

    Example:
        >>> import tempfile, os
        >>> bad = os.path.join(tempfile.mkdtemp(), "bad.png")
        >>> open(bad, "wb").close()
        >>> readable_files([bad])[1][0][1].startswith('zero-byte file')
        True
    """
    from fracturenet.data.decode import load_image

    good, bad = [], []
    for p in paths:
        try:
            load_image(p)
        except ImageDecodeError as e:
            bad.append((str(p), e.reason))
        else:
            good.append(p)
    return good, bad
