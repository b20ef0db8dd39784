"""What a resumed run must share with the run it continues: settings and data.

A run folder's ``config.json`` records the model, the fit arguments, the class names, the
precision and a fingerprint of the data. Resuming compares the new run's record with the
saved one key by key (nested keys are dotted: ``"model.input_shape"``) and refuses any
difference outside :data:`SAFE_TO_CHANGE_ON_RESUME`; nothing is relabelled or silently
replaced. Keys that the saved record does not hold (a folder written by an older version)
are not compared.

Safe to change on resume: the number of epochs of each phase (train for longer, or stop
sooner), early stopping's patience and the feature-cache mode and folder (where features are
kept does not change what is learnt). Everything else (backbone, classes and their order, image
size, precision, learning rates, optimizer, batch size, augmentation, monitor, data) needs
a new run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from fracturenet.exceptions import ResumeMismatchError

__all__ = [
    "SAFE_TO_CHANGE_ON_RESUME",
    "changed_keys",
    "check_resume",
    "data_fingerprint",
]

#: Dotted ``config.json`` keys that may differ between a run and its resumption.
SAFE_TO_CHANGE_ON_RESUME: frozenset[str] = frozenset(
    {
        "fit.epochs",
        "fit.fine_tune_epochs",
        "fit.early_stopping",
        "fit.feature_cache",
        "fit.feature_cache_dir",
    }
)

_ABSENT = "<absent>"

#: Recorded keys whose argument a user knows by another name: ``(name, CLI flag)``.
_USER_NAMES: dict[str, tuple[str, str]] = {
    "model.input_shape": ("image_size", "--image-size"),
    "model.backbone": ("backbone", "--backbone"),
    "model.weights": ("weights", "--weights"),
    "precision": ("precision", "--precision"),
}


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def changed_keys(
    saved: Mapping[str, Any],
    current: Mapping[str, Any],
    allowed: Iterable[str] = SAFE_TO_CHANGE_ON_RESUME,
) -> list[tuple[str, Any, Any]]:
    """Lists the keys whose values differ between two run records, outside ``allowed``.

    Nested mappings are compared key by key under dotted names. A key present only in
    ``current`` (the saved record predates it) is not compared; a key present only in
    ``saved`` is reported with the new value ``"<absent>"``.

    Args:
        saved: The record of the run being resumed (``config.json``).
        current: The record the resuming run would write.
        allowed: Dotted keys that may differ. Defaults to
            :data:`SAFE_TO_CHANGE_ON_RESUME`.

    Returns:
        ``(key, saved value, current value)`` for each refused difference, sorted by key.

    Example:
        >>> changed_keys({"fit": {"lr": 0.001, "epochs": 2}}, {"fit": {"lr": 0.5, "epochs": 9}})
        [('fit.lr', 0.001, 0.5)]
    """
    allowed = frozenset(allowed)
    old, new = _flatten(saved), _flatten(current)
    diffs = []
    for key in sorted(old):
        if key in allowed:
            continue
        value = new.get(key, _ABSENT)
        if _canonical(old[key]) != _canonical(value):
            diffs.append((key, old[key], value))
    return diffs


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def check_resume(
    saved: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    path: str,
    allowed: Iterable[str] = SAFE_TO_CHANGE_ON_RESUME,
) -> None:
    """Raises :class:`~fracturenet.exceptions.ResumeMismatchError` when a resume would mix runs.

    Args:
        saved: The saved record (``config.json`` of the run folder).
        current: The record of the run that wants to continue it.
        path: The run folder, named in the message.
        allowed: Dotted keys that may differ. Defaults to
            :data:`SAFE_TO_CHANGE_ON_RESUME`.

    Raises:
        ResumeMismatchError: Listing each changed key with its saved and new value.

    Example:
        >>> check_resume({"fit": {"epochs": 2}}, {"fit": {"epochs": 5}}, path="runs/x")
    """
    diffs = changed_keys(saved, current, allowed)
    if not diffs:
        return
    lines = "\n".join(_describe(k, old, new) for k, old, new in diffs)
    raise ResumeMismatchError(
        f"Cannot resume {path!r}: {len(diffs)} setting(s) differ from the saved run, and "
        f"continuing would mix two runs:\n{lines}\n"
        "Resume with the saved values, or start a new run in another folder (a new --out, "
        "or run_dir in Python). Safe to change on resume: "
        f"{', '.join(sorted(SAFE_TO_CHANGE_ON_RESUME))}."
    )


def _describe(key: str, old: Any, new: Any) -> str:
    """One line of the refusal: the key, how the user names it, both values.

    Example:
        >>> _describe("model.input_shape", [32, 32, 3], [48, 48, 3])
        '  image_size (--image-size; model.input_shape): saved 32 -> now 48 (input shape [32, 32, 3] -> [48, 48, 3])'
    """
    if key not in _USER_NAMES:
        return f"  {key}: saved {_show(old)} -> now {_show(new)}"
    name, flag = _USER_NAMES[key]
    line = f"  {name} ({flag}; {key}): saved {_show(old)} -> now {_show(new)}"
    if key == "model.input_shape" and _square(old) and _square(new):
        line = (
            f"  {name} ({flag}; {key}): saved {old[0]} -> now {new[0]} "
            f"(input shape {_show(old)} -> {_show(new)})"
        )
    return line


def _square(shape: Any) -> bool:
    return isinstance(shape, list) and len(shape) == 3 and shape[0] == shape[1]


def _show(value: Any) -> str:
    text = _canonical(value)
    return text if len(text) <= 120 else text[:117] + "..."


def data_fingerprint(data: Any) -> dict[str, Any] | None:
    """A short, content-based description of a training or validation input.

    Args:
        data: A :class:`~fracturenet.data.Manifest` (hashes its file names relative to the
            dataset root, labels and class names), a tuple ``(x, y)`` of arrays (hashes the
            values), a ``tf.data.Dataset`` (not hashed: it may be infinite) or ``None``.

    Returns:
        ``{"kind": ..., "items": n, "sha256": ...}``, ``{"kind": "dataset"}`` or ``None``.

    Example:
        >>> fp = data_fingerprint((np.zeros((2, 4)), np.array([0, 1])))
        >>> fp["kind"], fp["items"], len(fp["sha256"])
        ('arrays', 2, 64)
    """
    from fracturenet.data.manifest import Manifest

    if data is None:
        return None
    h = hashlib.sha256()
    if isinstance(data, Manifest):
        root = str(data.root).rstrip("/\\")
        rel = [p[len(root) + 1 :] if root and p.startswith(root) else p for p in data.paths]
        h.update(json.dumps([rel, list(data.labels), list(data.class_names)]).encode())
        return {"kind": "manifest", "items": len(data), "sha256": h.hexdigest()}
    if isinstance(data, tuple):
        for part in data:
            a = np.ascontiguousarray(np.asarray(part))
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(memoryview(a).cast("B"))
        return {"kind": "arrays", "items": int(len(data[0])), "sha256": h.hexdigest()}
    return {"kind": "dataset"}
