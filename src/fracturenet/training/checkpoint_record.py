"""Checkpoint records: the files of a completed epoch, published as one unit.

A checkpoint is a record, ``last.json``, naming the files it is made of (model weights,
optimizer state, best weights so far), each with its size and SHA-256. Publishing one:

1. every file is written atomically under a name no published record uses yet
   (``epoch-NNNN.*``, where ``NNNN`` is the epoch it holds; the best weights are the
   file of the epoch they come from, stored once);
2. the current ``last.json`` becomes ``previous.json`` (without its optimizer state, which
   is kept once);
3. the new ``last.json`` replaces the old one atomically;
4. files that neither record names are deleted.

A process killed at any instant therefore leaves ``last.json`` and ``previous.json``
pointing at complete files whose checksums match. Loading verifies every file of
``last.json`` and falls back to ``previous.json``, saying so, when one is missing or
corrupt. This module needs no TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fracturenet.exceptions import CheckpointError
from fracturenet.training.rundir import atomic_write_bytes, atomic_write_json

__all__ = ["FORMAT", "publish_checkpoint", "read_verified"]

#: Version of the record layout written to ``last.json``.
FORMAT = 2
LAST, PREVIOUS = "last.json", "previous.json"
_OWNED = re.compile(r"^(epoch-\d+|best-epoch-\d+)\.[\w.]+$|^\..*\.tmp")


def publish_checkpoint(
    directory: str | os.PathLike[str],
    state: Mapping[str, Any],
    files: Mapping[str, bytes],
    *,
    best: bytes | None = None,
    keep_all: bool = False,
) -> Path:
    """Publishes one completed epoch: its files, then the record that names them.

    Args:
        directory: The checkpoint folder.
        state: JSON-serialisable run state; must hold ``"epoch"`` (epochs completed) and
            ``"best_epoch"``.
        files: Role -> content, e.g. ``{"weights": ..., "optimizer": ...}``; each is
            written as ``epoch-NNNN.<role>.npz``.
        best: The best weights, when this epoch is the new best; when they equal
            ``files["weights"]`` the record points at that one file, otherwise they are
            written as ``best-epoch-NNNN.weights.npz``. Without it the previous record's
            best file is kept. Defaults to `None`.
        keep_all: Keep every epoch's weights file (for studies of the training path);
            by default only the files of ``last.json`` and ``previous.json`` are kept.
            Defaults to `False`.

    Returns:
        The path of ``last.json``.

    Raises:
        DiskFullError: If the disk fills up (temporary files are removed and the previous
            checkpoint stays intact).

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> _ = publish_checkpoint(d, {"epoch": 1, "best_epoch": 1}, {"weights": b"w"}, best=b"w")
        >>> read_verified(d)[0]["files"]["best"]["name"]
        'epoch-0001.weights.npz'
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    epoch = int(state["epoch"])
    entries: dict[str, Any] = {}
    for role, data in files.items():
        entries[role] = _write(directory / f"epoch-{epoch:04d}.{role}.npz", data)
    current = _read_record(directory / LAST)
    if best is not None:
        same = "weights" in files and files["weights"] == best
        entries["best"] = (
            entries["weights"]  # stored once: the epoch's weights are the best ones
            if same
            else _write(directory / f"best-epoch-{epoch:04d}.weights.npz", best)
        )
    elif current is not None and current.get("files", {}).get("best"):
        entries["best"] = current["files"]["best"]
    if current is not None and current.get("epoch") != epoch and _complete(directory, current):
        kept = {k: v for k, v in current["files"].items() if k != "optimizer"}
        atomic_write_json(directory / PREVIOUS, {**current, "files": kept})
    last = atomic_write_json(directory / LAST, {**state, "format": FORMAT, "files": entries})
    _collect_garbage(directory, keep_all)
    return last


def _write(path: Path, data: bytes) -> dict[str, Any]:
    atomic_write_bytes(path, data)
    return {"name": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _read_record(path: Path) -> dict[str, Any] | None:
    """The record at ``path``; ``None`` if absent or unreadable (a checked load reports why)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("format") == FORMAT else None


def _complete(directory: Path, record: Mapping[str, Any]) -> bool:
    """Every file of ``record`` exists with its recorded size (no hashing: this runs each epoch)."""
    for entry in record.get("files", {}).values():
        p = directory / entry["name"]
        if not p.is_file() or p.stat().st_size != entry["bytes"]:
            return False
    return True


def _collect_garbage(directory: Path, keep_all: bool = False) -> None:
    keep = set()
    for name in (LAST, PREVIOUS):
        record = _read_record(directory / name)
        if record is not None:
            keep.update(e["name"] for e in record.get("files", {}).values())
    for p in directory.iterdir():
        if keep_all and p.name.endswith(".weights.npz"):
            continue
        if p.name not in keep and _OWNED.match(p.name) and p.is_file():
            p.unlink(missing_ok=True)


def _verified(directory: Path, name: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The record ``name`` and its files' contents; raises ``CheckpointError`` naming a file."""
    path = directory / name
    try:
        text = path.read_text(encoding="utf-8")
        record = json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read {str(path)!r}: {exc}") from exc
    except ValueError as exc:
        raise CheckpointError(f"{str(path)!r} is not valid JSON (truncated?): {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        found = record.get("format", 1) if isinstance(record, dict) else "?"
        raise CheckpointError(
            f"{str(path)!r} has checkpoint format {found}; this version reads format "
            f"{FORMAT}. Start a new run to train with this version."
        )
    contents = {}
    for role, entry in record.get("files", {}).items():
        p = directory / entry["name"]
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"{role} file {str(p)!r} of {name} is unreadable: {exc}") from exc
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise CheckpointError(
                f"{role} file {str(p)!r} of {name} is corrupt: {len(data):,} bytes, checksum "
                f"mismatch (recorded {entry['bytes']:,} bytes)"
            )
        contents[role] = data
    return record, contents


def read_verified(
    directory: str | os.PathLike[str], log: Any = None
) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """Reads the latest complete checkpoint whose files all match their checksums.

    Tries ``last.json``, then ``previous.json`` (logging why it falls back).

    Args:
        directory: The checkpoint folder.
        log: Called with a message when falling back. Defaults to `None`.

    Returns:
        ``(record, {role: content})``, or ``None`` when the folder holds no checkpoint.

    Raises:
        CheckpointError: If checkpoints exist but none is complete (names every file).

    Example:
        >>> import tempfile
        >>> read_verified(tempfile.mkdtemp()) is None
        True
    """
    directory = Path(directory)
    problems = []
    for name in (LAST, PREVIOUS):
        if not (directory / name).exists():
            continue
        try:
            record, contents = _verified(directory, name)
        except CheckpointError as exc:
            problems.append(str(exc))
            continue
        if problems and log is not None:
            log(
                f"resume: {problems[0]}; falling back to the previous complete checkpoint "
                f"(epoch {record.get('epoch')}, {str(directory / name)!r})"
            )
        return record, contents
    if not problems:
        return None
    raise CheckpointError(
        "No complete checkpoint to resume from: "
        + "; ".join(problems)
        + ". Start a new run (another folder, or overwrite) to train from scratch."
    )
