"""Checkpoint records: the files of a completed epoch, published as one unit.

A checkpoint is a record, ``last.json``, naming the files it is made of (model weights,
optimizer state, best weights so far), each with its size and SHA-256. Publishing one:

1. every new file is written atomically under a name no published record uses yet
   (``epoch-NNNN.*``, where ``NNNN`` is the epoch it holds); a file that did not change
   (the frozen part of a model, say) is named again instead of being written again, and
   the best weights are the files of the epoch they come from: every file is stored once;
2. the current ``last.json`` becomes ``previous.json`` (without its optimizer state, which
   is kept once);
3. the new ``last.json`` replaces the old one atomically;
4. files that neither record names are deleted (with ``keep_all``, each epoch's record is
   kept as ``epoch-NNNN.json`` and its files with it).

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

__all__ = [
    "FORMAT",
    "discard_checkpoints",
    "kept_epochs",
    "latest_record",
    "publish_checkpoint",
    "read_verified",
]

#: Version of the record layout written to ``last.json`` (3: weights may be split into a
#: shared ``base`` file and a per-epoch file of the arrays that differ from it).
FORMAT = 3
#: Record versions this version reads.
READABLE = (2, 3)
LAST, PREVIOUS = "last.json", "previous.json"
#: The parts of a model's weights (role -> role of the same part of the best weights).
WEIGHT_PARTS = {"weights": "best", "base": "best_base"}
_OWNED = re.compile(r"^(epoch-\d+|best-epoch-\d+)\.[\w.]+$|^\..*\.tmp")
_EPOCH_RECORD = re.compile(r"^epoch-\d+\.json$")


def publish_checkpoint(
    directory: str | os.PathLike[str],
    state: Mapping[str, Any],
    files: Mapping[str, bytes | Mapping[str, Any]],
    *,
    best: bytes | bool | None = None,
    keep_all: bool = False,
) -> Path:
    """Publishes one completed epoch: its files, then the record that names them.

    Args:
        directory: The checkpoint folder.
        state: JSON-serialisable run state; must hold ``"epoch"`` (epochs completed) and
            ``"best_epoch"``.
        files: Role -> content, e.g. ``{"weights": ..., "optimizer": ...}``; each content
            is written as ``epoch-NNNN.<role>.npz``. A content may instead be the entry of
            a file the current ``last.json`` names (``latest_record(d)["files"][role]``):
            that file is named again, not written again.
        best: This epoch's weights are the best so far: ``True``, or bytes equal to
            ``files["weights"]``; the record's best roles (``best``, and ``best_base``
            when the weights have a ``base`` part) then point at this epoch's files. Other
            bytes are full best weights, written as ``best-epoch-NNNN.weights.npz``.
            Without it the previous record's best files are kept. Defaults to `None`.
        keep_all: Keep every epoch's record (as ``epoch-NNNN.json``, without optimizer
            state) and the weights it names, for studies of the training path; by default
            only the files of ``last.json`` and ``previous.json`` are kept.
            Defaults to `False`.

    Returns:
        The path of ``last.json``.

    Raises:
        DiskFullError: If the disk fills up (temporary files are removed and the previous
            checkpoint stays intact).
        CheckpointError: If a named file is missing or does not have its recorded size.

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
        if isinstance(data, (bytes, bytearray, memoryview)):
            entries[role] = _write(directory / f"epoch-{epoch:04d}.{role}.npz", bytes(data))
        else:
            entries[role] = _existing(directory, role, data)
    current = _read_record(directory / LAST)
    this_epoch_is_best = best is True or (
        isinstance(best, (bytes, bytearray)) and "weights" in files and files["weights"] == best
    )
    if this_epoch_is_best:
        for part, best_role in WEIGHT_PARTS.items():  # stored once: the epoch's own files
            if part in entries:
                entries[best_role] = entries[part]
    elif isinstance(best, (bytes, bytearray)):
        entries["best"] = _write(directory / f"best-epoch-{epoch:04d}.weights.npz", bytes(best))
    elif current is not None:
        for best_role in WEIGHT_PARTS.values():
            if current.get("files", {}).get(best_role):
                entries[best_role] = current["files"][best_role]
    if current is not None and current.get("epoch") != epoch and _complete(directory, current):
        atomic_write_json(directory / PREVIOUS, _without_optimizer(current))
    record = {**state, "format": FORMAT, "files": entries}
    if keep_all:
        atomic_write_json(directory / f"epoch-{epoch:04d}.json", _without_optimizer(record))
    last = atomic_write_json(directory / LAST, record)
    _collect_garbage(directory, keep_all)
    return last


def latest_record(directory: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The record of ``directory/last.json`` as written, without checking its files.

    Args:
        directory: The checkpoint folder.

    Returns:
        The record, or ``None`` when there is none (or it is unreadable or of another
        format: :func:`read_verified` says why).

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> _ = publish_checkpoint(d, {"epoch": 1, "best_epoch": 1}, {"weights": b"w"})
        >>> latest_record(d)["epoch"]
        1
    """
    return _read_record(Path(directory) / LAST)


def discard_checkpoints(directory: str | os.PathLike[str]) -> int:
    """Deletes every checkpoint in ``directory``: the records first, then their files.

    A kill part-way leaves files no record names, never a record without its files.

    Args:
        directory: The checkpoint folder.

    Returns:
        The number of bytes freed.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> _ = publish_checkpoint(d, {"epoch": 1, "best_epoch": 1}, {"weights": b"w"})
        >>> discard_checkpoints(d) > 0, os.listdir(d)
        (True, [])
    """
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    freed = 0
    records = [directory / PREVIOUS, directory / LAST]
    records += sorted(p for p in directory.iterdir() if _EPOCH_RECORD.match(p.name))
    owned = [p for p in directory.iterdir() if _OWNED.match(p.name) and p not in records]
    for p in records + owned:
        if p.is_file():
            freed += p.stat().st_size
            p.unlink(missing_ok=True)
    return freed


def _without_optimizer(record: Mapping[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in record.get("files", {}).items() if k != "optimizer"}
    return {**record, "files": kept}


def _existing(directory: Path, role: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """``entry`` of a file already published, checked to be there with its size."""
    p = directory / str(entry.get("name", ""))
    if not p.is_file() or p.stat().st_size != entry.get("bytes"):
        raise CheckpointError(
            f"{role} file {str(p)!r} named again by this checkpoint is missing or has "
            f"another size than recorded ({entry.get('bytes')} bytes)"
        )
    return {k: entry[k] for k in ("name", "bytes", "sha256")}


def _write(path: Path, data: bytes) -> dict[str, Any]:
    atomic_write_bytes(path, data)
    return {"name": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _read_record(path: Path) -> dict[str, Any] | None:
    """The record at ``path``; ``None`` if absent or unreadable (a checked load reports why)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("format") in READABLE else None


def _complete(directory: Path, record: Mapping[str, Any]) -> bool:
    """Every file of ``record`` exists with its recorded size (no hashing: this runs each epoch)."""
    for entry in record.get("files", {}).values():
        p = directory / entry["name"]
        if not p.is_file() or p.stat().st_size != entry["bytes"]:
            return False
    return True


def _collect_garbage(directory: Path, keep_all: bool = False) -> None:
    records = [LAST, PREVIOUS]
    if keep_all:
        records += [p.name for p in directory.iterdir() if _EPOCH_RECORD.match(p.name)]
    keep = set(records)
    for name in records:
        record = _read_record(directory / name)
        if record is not None:
            keep.update(e["name"] for e in record.get("files", {}).values())
    for p in directory.iterdir():
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
    if not isinstance(record, dict) or record.get("format") not in READABLE:
        found = record.get("format", 1) if isinstance(record, dict) else "?"
        readable = " and ".join(map(str, READABLE))
        raise CheckpointError(
            f"{str(path)!r} has checkpoint format {found}; this version reads formats "
            f"{readable}. Start a new run to train with this version."
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
    directory: str | os.PathLike[str], log: Any = None, *, epoch: int | None = None
) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """Reads the latest complete checkpoint whose files all match their checksums.

    Tries ``last.json``, then ``previous.json`` (logging why it falls back).

    Args:
        directory: The checkpoint folder.
        log: Called with a message when falling back. Defaults to `None`.
        epoch: Read the checkpoint of this epoch instead of the latest one: the one
            ``last.json`` or ``previous.json`` names, or a record kept by ``keep_all``.
            Defaults to `None`.

    Returns:
        ``(record, {role: content})``, or ``None`` when the folder holds no checkpoint.

    Raises:
        CheckpointError: If checkpoints exist but none is complete (names every file), or
            no checkpoint of ``epoch`` is kept.

    Example:
        >>> import tempfile
        >>> read_verified(tempfile.mkdtemp()) is None
        True
    """
    directory = Path(directory)
    names = [LAST, PREVIOUS]
    if epoch is not None:
        names = [n for n in (LAST, PREVIOUS) if _epoch_of(directory / n) == epoch]
        names.append(f"epoch-{int(epoch):04d}.json")
        if not any((directory / n).exists() for n in names):
            raise CheckpointError(
                f"No checkpoint of epoch {epoch} in {str(directory)!r}; kept epochs: "
                f"{kept_epochs(directory) or 'none'} (keep_checkpoints='all' keeps every "
                f"epoch). Received: epoch={epoch!r}"
            )
    problems = []
    for name in names:
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


def kept_epochs(directory: str | os.PathLike[str]) -> list[int]:
    """The epochs whose checkpoint records ``directory`` holds, in order.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> for e in (1, 2, 3):
        ...     _ = publish_checkpoint(d, {"epoch": e, "best_epoch": 1}, {"weights": b"w"})
        >>> kept_epochs(d)
        [2, 3]
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    names = [LAST, PREVIOUS] + [p.name for p in directory.iterdir() if _EPOCH_RECORD.match(p.name)]
    return sorted({e for e in (_epoch_of(directory / n) for n in names) if e is not None})


def _epoch_of(path: Path) -> int | None:
    record = _read_record(path)
    return None if record is None else record.get("epoch")
