"""How the Trainer turns its arguments into a model, a plan and run metadata."""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from fracturenet.config import ModelConfig, TrainingConfig
from fracturenet.data.manifest import Manifest
from fracturenet.hardware import ExecutionPlan, HardwareInfo, apply_plan, plan_execution

__all__ = [
    "FEATURE_CACHE_MODES",
    "build_under_plan",
    "check_fit_arguments",
    "environment_info",
    "fit_config",
    "load_weights_quietly",
    "model_builder",
    "plan_for_built_model",
    "resolve_class_weight",
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


def plan_for_built_model(model: Any, hw: HardwareInfo, strategy: Any) -> ExecutionPlan:
    """The plan for a model built outside the Trainer: default strategy, its own precision."""
    if not isinstance(strategy, str) or strategy not in ("auto", "default"):
        raise ValueError(
            "A model that is already built can only train on the default strategy; pass "
            "a ModelConfig or a callable that builds the model to use "
            f"strategy={strategy!r}. Received: model=<built keras.Model>"
        )
    policy = model.dtype_policy.name
    base = plan_execution(hw, precision="float32", strategy="default")
    return ExecutionPlan(
        device=base.device,
        strategy="default",
        precision=policy,
        replicas=1,
        memory_growth=base.memory_growth,
        reasons=base.reasons[:1]
        + (
            "strategy: model built outside the Trainer -> default",
            f"precision: {policy} (the model's own policy)",
        ),
    )


def build_under_plan(
    builder: Callable[[], Any], hw: HardwareInfo, precision: str, strategy: Any
) -> tuple[ExecutionPlan, Any, Any]:
    """Plans, then builds the model under the plan's precision policy and strategy scope.

    The global Keras precision policy is restored afterwards: the built layers keep theirs.

    Returns:
        ``(plan, strategy or None, model)``.
    """
    previous = keras.mixed_precision.global_policy().name
    try:
        if isinstance(strategy, str):
            plan = plan_execution(hw, precision=precision, strategy=strategy)
            live = apply_plan(plan)
        else:  # a tf.distribute.Strategy instance chosen by the caller
            base = plan_execution(hw, precision=precision, strategy="default")
            n = int(strategy.num_replicas_in_sync)
            name = type(strategy).__name__
            plan = ExecutionPlan(
                device=base.device,
                strategy=name,
                precision=base.precision,
                replicas=n,
                memory_growth=base.memory_growth,
                reasons=base.reasons + (f"strategy: {name} with {n} replicas (given by the user)",),
            )
            keras.mixed_precision.set_global_policy(plan.precision)
            live = strategy
        if live is not None:
            with live.scope():
                model = builder()
        else:
            model = builder()
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return plan, live, model


def environment_info(plan: ExecutionPlan, hw: HardwareInfo, seed: int) -> dict[str, Any]:
    import numpy

    from fracturenet._version import __version__

    versions = {
        "python": platform.python_version(),
        "fracturenet": __version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
    }
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    return {
        "versions": versions,
        "backend": keras.backend.backend(),
        "seed": seed,
        "platform": platform.platform(),
        "hardware": hw.to_dict(),
        "plan": plan.to_dict(),
    }


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


def model_builder(model: Any) -> Callable[[], Any]:
    if isinstance(model, ModelConfig):
        from fracturenet.models import build_classifier

        kwargs = model.kwargs()
        kwargs["input_shape"] = tuple(kwargs["input_shape"])
        return lambda: build_classifier(**kwargs)
    if callable(model):
        return model
    raise TypeError(
        "Argument `model` must be a keras.Model, a ModelConfig or a callable that "
        f"returns a keras.Model. Received: model={type(model).__name__}"
    )


def load_weights_quietly(model: Any, path: Any) -> None:
    """Loads weights; the optimizer-variable mismatch warning does not apply to weight files."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(str(path))


def resolve_class_weight(
    class_weight: Any, train: Any, num_classes: int | None = None
) -> dict[int, float] | None:
    """Per-class loss weights for ``Trainer.fit``: a mode of :func:`fracturenet.data.class_weights`.

    ``"balanced"``, ``"sqrt"`` or ``"none"`` are computed from the training labels by the
    public :func:`~fracturenet.data.class_weights` (one formula for the library); a dict and
    ``None`` pass through.
    """
    from fracturenet.data import CLASS_WEIGHT_MODES, class_weights

    if class_weight is None or isinstance(class_weight, dict):
        return class_weight
    if class_weight not in CLASS_WEIGHT_MODES:
        raise ValueError(
            f"Argument `class_weight` must be one of {list(CLASS_WEIGHT_MODES)}, a dict or "
            f"None. Received: class_weight={class_weight!r}"
        )
    if isinstance(train, Manifest):
        return class_weights(train, class_weight)
    if isinstance(train, tuple):
        labels = np.asarray(train[1]).reshape(-1)
    else:
        labels = np.concatenate([np.asarray(b[1]).reshape(-1) for b in train])
    return class_weights(labels.astype(int), class_weight, num_classes=num_classes)
