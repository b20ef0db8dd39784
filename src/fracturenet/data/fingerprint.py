"""A location- and order-independent fingerprint of a set of image files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

__all__ = ["file_set_fingerprint"]


def file_set_fingerprint(paths: Sequence[str], labels: Sequence[Any] | None = None) -> dict:
    """A fingerprint of a set of files: count and SHA-256 of their sorted relative paths,
    sizes and labels (independent of where the data folder lives and of the order).

    Example:
        >>> a = file_set_fingerprint(["/x/a.png", "/x/b.png"], [0, 1])
        >>> b = file_set_fingerprint(["/y/b.png", "/y/a.png"], [1, 0])
        >>> a == b, a["n"]
        (True, 2)
    """
    paths = [str(p) for p in paths]
    try:
        root = os.path.commonpath(paths) if len(paths) > 1 else os.path.dirname(paths[0])
    except (ValueError, IndexError):  # no paths, or absolute and relative ones mixed
        root = ""
    if len(paths) > 1 and root in paths:  # a single-file "common path" is not a folder
        root = os.path.dirname(root)
    lines = []
    for i, p in enumerate(paths):
        size = os.path.getsize(p) if os.path.isfile(p) else -1
        label = "" if labels is None else str(labels[i])
        lines.append(f"{os.path.relpath(p, root) if root else p}\t{size}\t{label}")
    digest = hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()
    return {"n": len(paths), "sha256": digest}
