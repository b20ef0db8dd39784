"""Crash-safe checkpoints of a model and its optimizer (see :mod:`.checkpoint_record`).

Each completed epoch is published as one record naming its weights, its optimizer state and
the best weights so far, so that a kill at any instant, or a full disk, never leaves files
that disagree with the record. Weights are stored as ``.npz`` arrays keyed by their index
in ``model.get_weights()``, serialised in memory first: a full disk fails cleanly before any
file is touched.

Weights are stored in two parts so that what did not change is stored once: a ``base``
file with every array, shared by the epochs that follow, and a per-epoch ``weights`` file
with only the arrays that differ from the base (a frozen backbone is stored once, its head
every epoch). A new base is written when more than half of the bytes changed.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from fracturenet.exceptions import CheckpointError
from fracturenet.training.checkpoint_record import (
    LAST,
    latest_record,
    publish_checkpoint,
    read_verified,
)

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "load_best_weights",
    "restore_optimizer",
    "save_best_weights",
]


def _npz(arrays: list[Any] | dict[int, Any]) -> bytes:
    items = arrays.items() if isinstance(arrays, dict) else enumerate(arrays)
    buf = io.BytesIO()
    np.savez(buf, **{f"v{i:04d}": np.asarray(a) for i, a in items})
    return buf.getvalue()


def _indexed(data: bytes, path: Path) -> dict[int, np.ndarray]:
    try:
        with np.load(io.BytesIO(data)) as z:
            return {int(k[1:]): z[k] for k in z.files}
    except Exception as exc:  # noqa: BLE001 - any decoding failure names the file
        raise CheckpointError(f"cannot decode {str(path)!r}: {exc}") from exc


def _arrays(data: bytes, path: Path) -> list[np.ndarray]:
    found = _indexed(data, path)
    return [found[i] for i in sorted(found)]


def _merged(
    contents: dict[str, bytes], names: dict[str, Path], part: str, base: str
) -> list[np.ndarray]:
    """The full weights of a record: its ``base`` arrays replaced by its ``part`` arrays."""
    if base not in contents:  # format 2, or a record whose weights file is complete
        return _arrays(contents[part], names[part])
    arrays = _indexed(contents[base], names[base])
    if sorted(arrays) != list(range(len(arrays))):
        raise CheckpointError(f"{str(names[base])!r} does not hold a complete set of weights")
    changed = _indexed(contents[part], names[part])
    if any(i not in arrays for i in changed):
        raise CheckpointError(
            f"{str(names[part])!r} holds weights its base {str(names[base])!r} lacks"
        )
    arrays.update(changed)
    return [arrays[i] for i in range(len(arrays))]


def _digest(array: np.ndarray) -> str:
    a = np.ascontiguousarray(array)
    h = hashlib.blake2b(f"{a.dtype.str}{a.shape}".encode(), digest_size=16)
    h.update(a.reshape(-1).view(np.uint8))  # no copy; empty arrays too
    return h.hexdigest()


# (folder, base file name, sha256) -> digests of its arrays: a base is hashed once a process;
# only the latest few are kept (a run that writes a new base every epoch adds one each)
_BASE_DIGESTS: dict[tuple[str, str, str], list[str]] = {}
_BASE_DIGESTS_KEPT = 8


def _base_digests(
    directory: Path, entry: dict[str, Any] | None, data: bytes | None = None
) -> list[str] | None:
    """Digests of the arrays of the base file ``entry`` (content ``data`` when already read
    and verified); ``None`` if it is missing or damaged."""
    if not entry:
        return None
    key = (str(directory.resolve()), entry["name"], entry["sha256"])
    if key not in _BASE_DIGESTS:
        try:
            data = (directory / entry["name"]).read_bytes() if data is None else data
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            return None
        try:
            digests = [_digest(a) for a in _arrays(data, directory / entry["name"])]
        except CheckpointError:
            return None
        _remember_base(directory, entry, digests)
    return _BASE_DIGESTS[key]


def _remember_base(directory: Path, entry: dict[str, Any], digests: list[str]) -> None:
    _BASE_DIGESTS[(str(directory.resolve()), entry["name"], entry["sha256"])] = digests
    while len(_BASE_DIGESTS) > _BASE_DIGESTS_KEPT:
        del _BASE_DIGESTS[next(iter(_BASE_DIGESTS))]


def _set_weights(model: Any, values: list[np.ndarray], path: Path) -> None:
    try:
        model.set_weights(values)
    except ValueError as exc:
        raise CheckpointError(
            f"the weights in {str(path)!r} do not fit this model ({exc}). The checkpoint "
            "belongs to another architecture: start a new run."
        ) from exc


def save_checkpoint(
    directory: str | os.PathLike[str],
    model: Any,
    optimizer: Any,
    state: dict[str, Any],
    *,
    best: bool = False,
    keep_all: bool = False,
) -> Path:
    """Publishes the weights, optimizer variables and run state of a completed epoch.

    Args:
        directory: The run's checkpoint folder.
        model: The full model (its weights are saved).
        optimizer: The optimizer in use (its variables are saved), or ``None``.
        state: JSON-serialisable state; must hold ``"epoch"`` (epochs completed) and
            ``"best_epoch"``.
        best: This epoch is the best so far: its weights become the best weights, in the
            same record. Defaults to `False`.
        keep_all: Keep every epoch's checkpoint (its record ``epoch-NNNN.json`` and weights;
            optimizer state only for the latest), not only the latest, the previous and
            the best. Defaults to `False`.

    Returns:
        The path of ``last.json``.

    Raises:
        DiskFullError: If the disk is full (the previous checkpoint stays intact).
    """
    import keras

    directory = Path(directory)
    arrays = [np.asarray(a) for a in model.get_weights()]
    digests = [_digest(a) for a in arrays]
    current = latest_record(directory)
    base_entry = (current or {}).get("files", {}).get("base")
    base_digests = _base_digests(directory, base_entry)
    files: dict[str, Any] = {}
    if base_digests is not None and len(base_digests) == len(digests):
        changed = [i for i, (a, b) in enumerate(zip(digests, base_digests)) if a != b]
        if 2 * sum(arrays[i].nbytes for i in changed) <= sum(a.nbytes for a in arrays):
            files["base"] = base_entry  # named again, not written again
            files["weights"] = _npz({i: arrays[i] for i in changed})
    if not files:  # a new base holds every array; the epoch's own file holds none
        files["base"] = _npz(arrays)
        files["weights"] = _npz({})
    if optimizer is not None:
        files["optimizer"] = _npz([keras.ops.convert_to_numpy(v) for v in optimizer.variables])
    last = publish_checkpoint(directory, state, files, best=bool(best) or None, keep_all=keep_all)
    if isinstance(files["base"], bytes):  # the next epoch compares with it without reading it
        _remember_base(directory, latest_record(directory)["files"]["base"], digests)
    return last


def load_checkpoint(
    directory: str | os.PathLike[str], model: Any, log: Any = None, *, epoch: int | None = None
) -> dict[str, Any] | None:
    """Loads the latest complete checkpoint's weights into ``model`` and returns its state.

    Every file of the checkpoint, the best weights included, is checked against its
    recorded checksum first; when the latest checkpoint is damaged, the previous one is
    used and ``log`` is told.

    Args:
        directory: The run's checkpoint folder.
        model: A model of the same architecture.
        log: Called with a message when an older checkpoint is used. Defaults to `None`.
        epoch: Load this epoch's checkpoint instead: the latest, the previous, or any
            epoch of a run that kept every epoch (``keep_checkpoints="all"``).
            Defaults to `None`.

    Returns:
        The saved state (with ``"optimizer_values"``: the list of optimizer arrays, or
        ``None``), or ``None`` when the folder holds no checkpoint.

    Raises:
        CheckpointError: If no complete checkpoint exists, ``epoch`` is not kept, or the
            weights do not fit ``model`` (the message names the file).

    Example:
        >>> import tempfile, keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> d = tempfile.mkdtemp()
        >>> _ = save_checkpoint(d, model, None, {"epoch": 1, "best_epoch": 1}, best=True)
        >>> load_checkpoint(d, model)["epoch"]
        1
    """
    directory = Path(directory)
    found = read_verified(directory, log, epoch=epoch)
    if found is None:
        return None
    state, contents = found
    names = {role: directory / e["name"] for role, e in state["files"].items()}
    _set_weights(model, _merged(contents, names, "weights", "base"), names["weights"])
    if "base" in contents:  # the next checkpoint compares with it without reading it again
        _base_digests(directory, state["files"]["base"], contents["base"])
    values = None
    if "optimizer" in contents:
        values = _arrays(contents["optimizer"], names["optimizer"])
    elif log is not None:
        log("resume: this checkpoint keeps no optimizer state; the optimizer starts fresh")
    if "best" in contents:  # decodable now, not after the whole run
        _merged(contents, names, "best", "best_base")
    state["optimizer_values"] = values
    return state


def load_best_weights(directory: str | os.PathLike[str], model: Any) -> int | None:
    """Loads the best weights recorded in ``last.json`` into ``model``.

    Args:
        directory: The run's checkpoint folder.
        model: A model of the same architecture.

    Returns:
        The epoch those weights come from, or ``None`` when no best weights are recorded.

    Raises:
        CheckpointError: If the best-weights file is missing, corrupt or does not fit.
    """
    directory = Path(directory)
    if not (directory / LAST).exists():
        return None
    found = read_verified(directory)
    if found is None or "best" not in found[1]:
        return None
    record, contents = found
    names = {role: directory / e["name"] for role, e in record["files"].items()}
    _set_weights(model, _merged(contents, names, "best", "best_base"), names["best"])
    return record.get("best_epoch")


def save_best_weights(directory: str | os.PathLike[str], model: Any) -> Path:
    """Deprecated: writes ``directory/best.weights.h5`` outside any checkpoint record.

    The Trainer no longer calls it: best weights are now part of each checkpoint record
    (``save_checkpoint(..., best=True)``), so they can never disagree with ``last.json``.
    """
    import warnings

    from fracturenet.training.rundir import atomic_write

    warnings.warn(
        "save_best_weights is deprecated and will be removed in the next minor release; "
        "use save_checkpoint(..., best=True).",
        DeprecationWarning,
        stacklevel=2,
    )
    return atomic_write(Path(directory) / "best.weights.h5", model.save_weights)


def restore_optimizer(
    optimizer: Any, variables: list[Any], values: list[np.ndarray] | None
) -> bool:
    """Builds ``optimizer`` for ``variables`` and assigns saved values.

    Returns:
        ``True`` if the state was restored, ``False`` if there was none or it did not fit
        (then the optimizer starts fresh, which only affects momentum, not weights).
    """
    if not values:
        return False
    optimizer.build(variables)
    if len(optimizer.variables) != len(values):
        return False
    for var, val in zip(optimizer.variables, values):
        if tuple(var.shape) != tuple(val.shape):
            return False
    for var, val in zip(optimizer.variables, values):
        var.assign(val)
    return True
