"""What ``Trainer.fit`` accepts: argument checks, the recorded fit arguments, class weights."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from fracturenet.config import TrainingConfig
from fracturenet.data.manifest import Manifest

__all__ = [
    "FEATURE_CACHE_MODES",
    "check_fit_arguments",
    "fit_config",
    "resolve_class_weight",
    "resolve_class_weight_choice",
]


#: Accepted values of ``Trainer.fit(feature_cache=...)``.
FEATURE_CACHE_MODES = ("auto", "memory", "disk", "off")


def check_fit_arguments(feature_cache: str, epochs: Any, fine_tune_epochs: Any) -> None:
    """Raises a ``ValueError`` naming the argument when ``Trainer.fit`` gets a bad value."""
    if feature_cache not in FEATURE_CACHE_MODES:
        raise ValueError(
            f"Argument `feature_cache` must be one of {list(FEATURE_CACHE_MODES)}."
            f" Received: feature_cache={feature_cache!r}"
        )
    for name, value in (("epochs", epochs), ("fine_tune_epochs", fine_tune_epochs)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(
                f"Argument `{name}` must be an integer >= 0. Received: {name}={value!r}"
            )
    if epochs + fine_tune_epochs == 0:
        raise ValueError(
            "Nothing to train: epochs and fine_tune_epochs are both 0. "
            "Received: epochs=0, fine_tune_epochs=0"
        )


def fit_config(values: dict[str, Any]) -> dict[str, Any]:
    """The fit arguments recorded in ``config.json``: every :class:`TrainingConfig` field.

    Values that are not plain JSON (a callable augmentation, a path object) are recorded as
    their ``repr``/string.
    """
    out = {}
    for f in dataclasses.fields(TrainingConfig):
        v = values.get(f.name, f.default)
        if isinstance(v, os.PathLike):
            v = os.fspath(v)
        out[f.name] = v if isinstance(v, (int, float, str, type(None), dict)) else repr(v)
    return out


def resolve_class_weight(
    class_weight: Any, train: Any, num_classes: int | None = None
) -> dict[int, float] | None:
    """Per-class loss weights for ``Trainer.fit``: a mode of :func:`fracturenet.data.class_weights`.

    ``"auto"``, ``"balanced"``, ``"sqrt"`` or ``"none"`` are computed from the training
    labels by the public :func:`~fracturenet.data.class_weights` (one formula for the
    library); a dict and ``None`` pass through.
    """
    return resolve_class_weight_choice(class_weight, train, num_classes)[0]


def resolve_class_weight_choice(
    class_weight: Any, train: Any, num_classes: int | None = None
) -> tuple[dict[int, float] | None, str]:
    """As :func:`resolve_class_weight`, with the sentence saying what was chosen and why."""
    from fracturenet.data import CLASS_WEIGHT_MODES, class_weight_choice

    if class_weight is None or isinstance(class_weight, dict):
        return class_weight, f"class_weight={class_weight!r} (as given)"
    if class_weight not in CLASS_WEIGHT_MODES:
        raise ValueError(
            f"Argument `class_weight` must be one of {list(CLASS_WEIGHT_MODES)}, a dict or "
            f"None. Received: class_weight={class_weight!r}"
        )
    if isinstance(train, Manifest):
        return class_weight_choice(train, class_weight)
    if isinstance(train, tuple):
        labels = np.asarray(train[1])
    else:
        labels = np.concatenate([np.asarray(b[1]) for b in train])
    if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot
        labels = np.argmax(labels, axis=1)
    labels = labels.reshape(-1).astype(int)
    return class_weight_choice(labels, class_weight, num_classes=num_classes)
