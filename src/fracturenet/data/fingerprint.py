"""Fingerprints of sets of image files: by relative path and size, or by content.

:func:`file_set_fingerprint` identifies a file list wherever the data folder lives;
:func:`content_set` identifies the files by their bytes, so that a renamed or moved copy of an
image still matches, and :func:`count_shared` counts how many files of another set are in it
(how a model's training and selection images are found in an evaluated set).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from typing import Any

__all__ = [
    "DIGEST_BYTES",
    "content_set",
    "count_shared",
    "file_digest",
    "file_set_fingerprint",
]


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


#: Bytes of each file's SHA-256 kept in a :func:`content_set` (64 bits: a false match between
#: two sets of 100 000 images each has a probability near 5e-10).
DIGEST_BYTES = 8


def file_digest(path: str | os.PathLike[str]) -> str | None:
    """The SHA-256 of a file's bytes (hex), or ``None`` when the file cannot be read.

    The digest depends on the content only, so a renamed or moved copy of an image has the
    same digest; a re-encoded or rotated copy does not (the audit finds those).

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as f:
        ...     _ = f.write(b"abc")
        >>> file_digest(f.name)[:16], file_digest(f.name + ".missing")
        ('ba7816bf8f01cfea', None)
    """
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def content_set(paths: Sequence[str | os.PathLike[str]]) -> dict[str, Any]:
    """A content-based record of a set of files, from which overlaps can be counted.

    Args:
        paths: The files (images) of the set.

    Returns:
        ``{"n": number of paths, "hashed": files read, "sha256": SHA-256 of the sorted
        per-file digests (the set's fingerprint, independent of names, places and order),
        "digests": the sorted, distinct first :data:`DIGEST_BYTES` bytes of each file's
        SHA-256, base64-encoded}`` (about 11 KB per 1000 images).

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> for name, data in (("a.png", b"1"), ("b.png", b"2"), ("copy.png", b"1")):
        ...     with open(os.path.join(folder, name), "wb") as f:
        ...         _ = f.write(data)
        >>> s = content_set([os.path.join(folder, n) for n in ("a.png", "b.png")])
        >>> s["n"], count_shared(s, [file_digest(os.path.join(folder, "copy.png"))])
        (2, 1)
    """
    full = [d for d in (file_digest(p) for p in paths) if d is not None]
    short = sorted({bytes.fromhex(d)[:DIGEST_BYTES] for d in full})
    return {
        "n": len(paths),
        "hashed": len(full),
        "sha256": hashlib.sha256("\n".join(sorted(full)).encode()).hexdigest(),
        "digests": base64.b64encode(b"".join(short)).decode("ascii"),
    }


def _digest_set(record: dict[str, Any]) -> set[bytes]:
    raw = base64.b64decode(record.get("digests") or "")
    return {raw[i : i + DIGEST_BYTES] for i in range(0, len(raw), DIGEST_BYTES)}


def count_shared(record: dict[str, Any], digests: Sequence[str | None]) -> int:
    """How many files, given by their digests, have the same content as a file of a set.

    Args:
        record: A :func:`content_set` record.
        digests: Full SHA-256 hex digests from :func:`file_digest`; ``None`` entries
            (unreadable files) never match.

    Returns:
        The number of entries of ``digests`` (duplicates counted) whose content is in the set.
    """
    known = _digest_set(record)
    return sum(1 for d in digests if d is not None and bytes.fromhex(d)[:DIGEST_BYTES] in known)
