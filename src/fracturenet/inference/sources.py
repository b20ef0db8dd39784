"""Where the Predictor's inputs come from: image files in folders, arrays, run folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from fracturenet.exceptions import ModelFormatError

__all__ = ["as_image_batch", "iter_image_files", "run_model_path"]


def iter_image_files(inputs: Any) -> Iterator[str]:
    """Yields image paths from a file, a folder (recursively, sorted) or a list of either.

    Hidden files and files without an image extension inside folders are skipped; paths given
    one by one are yielded as they are (a missing or unreadable one is reported by
    :meth:`Predictor.predict`).

    Args:
        inputs: A path or a sequence of paths.

    Yields:
        File paths as strings.

    Example:
        >>> list(iter_image_files(["a.png", "b.jpg"]))
        ['a.png', 'b.jpg']
    """
    from fracturenet.data import IMAGE_EXTENSIONS

    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    for item in items:
        path = os.fspath(item)
        if not os.path.isdir(path):
            yield path
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                    yield os.path.join(folder, name)


def as_image_batch(array: np.ndarray) -> np.ndarray:
    """Returns ``array`` as a batch: one image ``(H, W[, C])`` gains a leading axis.

    Example:
        >>> as_image_batch(np.zeros((5, 6, 3))).shape, as_image_batch(np.zeros((2, 5, 6))).shape
        ((1, 5, 6, 3), (2, 5, 6))
    """
    a = np.asarray(array)
    if a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (1, 3, 4)):
        a = a[None]
    if a.ndim not in (3, 4):
        raise ValueError(
            "Array input must be one image (H, W[, C]) or a batch (N, H, W[, C]). "
            f"Received: array shape={a.shape}"
        )
    return a


def run_model_path(path: str | os.PathLike[str]) -> Path:
    """Returns the ``model.keras`` of a run directory (or ``path`` itself if it is a file).

    Args:
        path: A run directory or a ``.keras`` file.

    Returns:
        The model file path.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ModelFormatError: If the folder has no ``model.keras``.

    Example:
        >>> run_model_path("missing-run")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: ... 'missing-run' does not exist...
    """
    p = Path(path)
    if p.is_file():
        return p
    if not p.exists():
        raise FileNotFoundError(
            f"Run directory or model file {str(p)!r} does not exist. Pass a folder written by "
            f"`fracturenet train` or a .keras file. Received: path={str(path)!r}"
        )
    model = p / "model.keras"
    if not model.is_file():
        raise ModelFormatError(
            f"{str(p)!r} holds no model.keras: the run has not finished (resume it with "
            f"`fracturenet train --resume`) or this is not a run directory. "
            f"Received: path={str(path)!r}"
        )
    return model
