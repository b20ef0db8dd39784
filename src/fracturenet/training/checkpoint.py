"""Crash-safe checkpoints of a model and its optimizer (see :mod:`.checkpoint_record`).

Each completed epoch is published as one record naming its weights, its optimizer state and
the best weights so far, so that a kill at any instant, or a full disk, never leaves files
that disagree with the record. Weights are stored as ``.npz`` arrays in the order of
``model.get_weights()``, serialised in memory first: a full disk fails cleanly before any
file is touched.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from fracturenet.exceptions import CheckpointError
from fracturenet.training.checkpoint_record import LAST, publish_checkpoint, read_verified

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "load_best_weights",
    "restore_optimizer",
    "save_best_weights",
]


def _npz(arrays: list[Any]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{f"v{i:04d}": np.asarray(a) for i, a in enumerate(arrays)})
    return buf.getvalue()


def _arrays(data: bytes, path: Path) -> list[np.ndarray]:
    try:
        with np.load(io.BytesIO(data)) as z:
            return [z[k] for k in sorted(z.files)]
    except Exception as exc:  # noqa: BLE001 - any decoding failure names the file
        raise CheckpointError(f"cannot decode {str(path)!r}: {exc}") from exc


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
        keep_all: Keep every epoch's weights, not only the latest, the previous and the
            best. Defaults to `False`.

    Returns:
        The path of ``last.json``.

    Raises:
        DiskFullError: If the disk is full (the previous checkpoint stays intact).
    """
    import keras

    weights = _npz(model.get_weights())
    files = {"weights": weights}
    if optimizer is not None:
        files["optimizer"] = _npz([keras.ops.convert_to_numpy(v) for v in optimizer.variables])
    return publish_checkpoint(
        directory, state, files, best=weights if best else None, keep_all=keep_all
    )


def load_checkpoint(
    directory: str | os.PathLike[str], model: Any, log: Any = None
) -> dict[str, Any] | None:
    """Loads the latest complete checkpoint's weights into ``model`` and returns its state.

    Every file of the checkpoint, the best weights included, is checked against its
    recorded checksum first; when the latest checkpoint is damaged, the previous one is
    used and ``log`` is told.

    Args:
        directory: The run's checkpoint folder.
        model: A model of the same architecture.
        log: Called with a message when an older checkpoint is used. Defaults to `None`.

    Returns:
        The saved state (with ``"optimizer_values"``: the list of optimizer arrays, or
        ``None``), or ``None`` when the folder holds no checkpoint.

    Raises:
        CheckpointError: If no complete checkpoint exists or the weights do not fit
            ``model`` (the message names the file).
    """
    directory = Path(directory)
    found = read_verified(directory, log)
    if found is None:
        return None
    state, contents = found
    names = {role: directory / e["name"] for role, e in state["files"].items()}
    _set_weights(model, _arrays(contents["weights"], names["weights"]), names["weights"])
    values = None
    if "optimizer" in contents:
        values = _arrays(contents["optimizer"], names["optimizer"])
    elif log is not None:
        log("resume: this checkpoint keeps no optimizer state; the optimizer starts fresh")
    if "best" in contents:
        _arrays(contents["best"], names["best"])  # decodable now, not after the whole run
    state["optimizer_values"] = values
    return state


def load_best_weights(directory: str | os.PathLike[str], model: Any) -> int | None:
    """Loads the best weights recorded in ``last.json`` into ``model``.

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
    path = directory / record["files"]["best"]["name"]
    _set_weights(model, _arrays(contents["best"], path), path)
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
