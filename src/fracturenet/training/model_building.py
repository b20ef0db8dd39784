"""How the Trainer builds its model: the execution plan, the build under it, the environment."""

from __future__ import annotations

import platform
from collections.abc import Callable
from typing import Any

import keras

from fracturenet.config import ModelConfig
from fracturenet.hardware import ExecutionPlan, HardwareInfo, apply_plan, plan_execution

__all__ = [
    "build_under_plan",
    "environment_info",
    "load_weights_quietly",
    "model_builder",
    "plan_for_built_model",
]


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

