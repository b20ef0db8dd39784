"""Crash-safe checkpoints: the last completed epoch (for resume) and the best weights.

A checkpoint is a set of files ``epoch-NNNN.weights.h5`` (model weights) and
``epoch-NNNN.optimizer.npz`` (optimizer variables), published by atomically replacing
``last.json``, which names them and holds the run's state (phase, completed epochs, history).
A process killed at any instant leaves either the previous or the new ``last.json``, both of
which point at complete files.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from fracturenet.training.rundir import atomic_write_json

__all__ = ["save_checkpoint", "load_checkpoint", "save_best_weights", "restore_optimizer"]


def _replace_into(path: Path, write: Any) -> None:
    tmp = path.with_name(".tmp-" + path.name)
    if tmp.exists():
        tmp.unlink()
    write(str(tmp))
    os.replace(tmp, path)


def save_best_weights(directory: str | os.PathLike[str], model: Any) -> Path:
    """Writes ``model``'s weights to ``directory/best.weights.h5`` atomically."""
    path = Path(directory) / "best.weights.h5"
    _replace_into(path, model.save_weights)
    return path


def save_checkpoint(
    directory: str | os.PathLike[str], model: Any, optimizer: Any, state: dict[str, Any]
) -> Path:
    """Writes the weights, optimizer variables and run state of a completed epoch.

    Args:
        directory: The run's checkpoint folder.
        model: The full model (its weights are saved).
        optimizer: The optimizer in use (its variables are saved), or ``None``.
        state: JSON-serialisable state; must hold ``"epoch"`` (epochs completed).

    Returns:
        The path of ``last.json``.
    """
    import keras

    directory = Path(directory)
    epoch = int(state["epoch"])
    stem = f"epoch-{epoch:04d}"
    _replace_into(directory / f"{stem}.weights.h5", model.save_weights)
    if optimizer is not None:
        values = {
            f"v{i:04d}": keras.ops.convert_to_numpy(v) for i, v in enumerate(optimizer.variables)
        }

        def _opt(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **values)

        _replace_into(directory / f"{stem}.optimizer.npz", _opt)
    previous = _read_last(directory)
    last = atomic_write_json(
        directory / "last.json",
        {
            **state,
            "weights": f"{stem}.weights.h5",
            "optimizer": f"{stem}.optimizer.npz" if optimizer is not None else None,
        },
    )
    if previous and previous.get("epoch") != epoch:  # drop the superseded files
        for key in ("weights", "optimizer"):
            name = previous.get(key)
            if name and (directory / name).exists():
                (directory / name).unlink()
    return last


def _read_last(directory: Path) -> dict[str, Any] | None:
    p = directory / "last.json"
    if not p.exists():
        return None
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def load_checkpoint(directory: str | os.PathLike[str], model: Any) -> dict[str, Any] | None:
    """Loads the last checkpoint's weights into ``model`` and returns its state.

    Args:
        directory: The run's checkpoint folder.
        model: A model of the same architecture.

    Returns:
        The saved state (with ``"optimizer_values"``: the list of optimizer arrays, or
        ``None``), or ``None`` when the folder holds no checkpoint.
    """
    directory = Path(directory)
    state = _read_last(directory)
    if state is None:
        return None
    with warnings.catch_warnings():  # weight files hold no optimizer state; that is expected
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(str(directory / state["weights"]))
    values = None
    if state.get("optimizer"):
        with np.load(directory / state["optimizer"]) as z:
            values = [z[k] for k in sorted(z.files)]
    state["optimizer_values"] = values
    return state


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
