"""Bookkeeping of a phantom folder (private helper of ``generator``): its stamp file.

The stamp ``<root>/.fracturenet-synthetic.json`` records the generator's arguments, drawing
format, package version and every file it wrote (with its size). It is what lets the
generator reuse a complete folder, finish an interrupted one, and delete only its own files.
"""

from __future__ import annotations

import json
import os

from fracturenet._version import __version__
from fracturenet.exceptions import DatasetError

__all__ = [
    "FORMAT",
    "MASK_DIR",
    "STAMP_NAME",
    "foreign_files",
    "is_intact",
    "read_stamp",
    "remove_generated",
    "write_stamp",
]

STAMP_NAME = ".fracturenet-synthetic.json"
MASK_DIR = ".masks"
# Bump when the drawing changes: a stamp of another format never counts as a matching folder.
FORMAT = 1


def _safe(rel: object) -> bool:
    """A stamp may only name PNG files below its root (no absolute paths, no ``..``)."""
    if not isinstance(rel, str) or not rel.endswith(".png") or os.path.isabs(rel):
        return False
    return ".." not in rel.replace("\\", "/").split("/")


def read_stamp(root: str) -> dict | None:
    """Returns the stamp of ``root`` or ``None`` when there is none.

    Raises:
        DatasetError: If the stamp is unreadable or lists files outside the phantom layout.
    """
    path = os.path.join(root, STAMP_NAME)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            stamp = json.load(f)
    except (OSError, ValueError) as err:
        raise DatasetError(
            f"The phantom stamp {path!r} is unreadable ({err}). Delete the folder yourself or "
            f"choose another root. Received: root={root!r}"
        ) from err
    files = stamp.get("files") if isinstance(stamp, dict) else None
    if not isinstance(files, dict) or not all(_safe(rel) for rel in files):
        raise DatasetError(
            f"The phantom stamp {path!r} is not one this generator wrote. Delete the folder "
            f"yourself or choose another root. Received: root={root!r}"
        )
    return stamp


def write_stamp(root: str, args: dict, files: dict, complete: bool) -> None:
    """Atomically writes the stamp; ``files`` maps relative paths to sizes (``None``: planned)."""
    stamp = {
        "generator": "fracturenet.phantoms.make_synthetic_fractures",
        "format": FORMAT,
        "version": __version__,
        "complete": complete,
        "arguments": args,
        "files": files,
        "note": "Synthetic phantoms for pipeline tests; not medical data.",
    }
    tmp = os.path.join(root, STAMP_NAME + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(stamp, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(root, STAMP_NAME))


def is_intact(root: str, stamp: dict) -> bool:
    """Whether every file the stamp lists exists with the recorded size."""
    for rel, size in stamp["files"].items():
        path = os.path.join(root, rel)
        if not os.path.isfile(path) or (size is not None and os.path.getsize(path) != size):
            return False
    return True


def foreign_files(root: str, stamp: dict) -> list[str]:
    """Relative paths of files below ``root`` that the stamp does not list."""
    ours = set(stamp["files"]) | {STAMP_NAME, STAMP_NAME + ".tmp"}
    found = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            if rel not in ours:
                found.append(rel)
    return sorted(found)


def remove_generated(root: str, stamp: dict) -> None:
    """Deletes the files a stamp lists (only those) and the folders they leave empty."""
    dirs = set()
    for rel in stamp["files"]:
        path = os.path.join(root, rel)
        if os.path.isfile(path):
            os.remove(path)
        parent = os.path.dirname(rel)
        while parent:
            dirs.add(parent)
            parent = os.path.dirname(parent)
    for rel in sorted(dirs, key=lambda d: d.count("/"), reverse=True):
        path = os.path.join(root, rel)
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
    for name in (STAMP_NAME + ".tmp", STAMP_NAME):
        if os.path.isfile(os.path.join(root, name)):
            os.remove(os.path.join(root, name))
