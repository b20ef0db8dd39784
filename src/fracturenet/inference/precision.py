"""Rebuild a loaded classifier under another dtype policy (e.g. ``mixed_bfloat16`` on CPUs).

Inference on CPUs with AVX512-BF16/AMX runs about twice as fast in bfloat16. The weights stay
float32 variables; only the computation changes. The ``predictions`` layer (softmax) and the
input preprocessing stay float32 so probabilities sum to 1 and pixel scaling keeps precision.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["INFERENCE_PRECISIONS", "resolve_precision", "with_precision"]

#: Accepted values of the ``precision`` argument of the Predictor.
INFERENCE_PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")

_KEEP_FLOAT32 = ("image", "preprocessing", "predictions")


def resolve_precision(precision: str) -> str:
    """Turns ``"auto"`` into the precision this machine runs fastest with.

    ``"auto"`` picks ``mixed_bfloat16`` on a CPU-only machine whose CPU has AVX512-BF16 or
    AMX-BF16, ``mixed_float16`` on a GPU with compute capability 7.0 or newer, else
    ``float32`` (the choice of :func:`fracturenet.hardware.plan_execution`).

    Args:
        precision: One of :data:`INFERENCE_PRECISIONS`.

    Returns:
        ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"``.

    Raises:
        ValueError: If ``precision`` is not accepted.

    Example:
        >>> resolve_precision("float32")
        'float32'
    """
    if precision not in INFERENCE_PRECISIONS:
        raise ValueError(
            f"Argument `precision` must be one of {list(INFERENCE_PRECISIONS)}. "
            f"Received: precision={precision!r}"
        )
    if precision != "auto":
        return precision
    from fracturenet.hardware import detect_hardware, plan_execution

    return plan_execution(detect_hardware(), precision="auto", strategy="default").precision


def _set_policies(config: Any, policy: str) -> Any:
    """Replaces every layer's dtype policy in a functional model config, in place."""
    if isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), dict):
            layer_cfg = config["config"]
            name = layer_cfg.get("name", "")
            dtype = layer_cfg.get("dtype")
            if isinstance(dtype, dict) and dtype.get("class_name") == "DTypePolicy":
                target = "float32" if name in _KEEP_FLOAT32 else policy
                dtype["config"] = {"name": target}
        for value in config.values():
            _set_policies(value, policy)
    elif isinstance(config, list):
        for value in config:
            _set_policies(value, policy)
    return config


def with_precision(model: Any, precision: str) -> Any:
    """Returns ``model`` rebuilt under ``precision`` with the same weights.

    The input, preprocessing and ``predictions`` layers stay float32. When the model already
    computes in ``precision`` it is returned unchanged.

    Args:
        model: A functional ``keras.Model`` (e.g. from :func:`fracturenet.models.load_model`).
        precision: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"`` or ``"auto"``.

    Returns:
        A ``keras.Model`` computing in ``precision``.

    Raises:
        ValueError: If ``precision`` is not accepted or the model cannot be rebuilt from its
            config (subclassed models).

    Example:
        >>> from fracturenet.models import build_classifier
        >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        >>> fast = with_precision(m, "mixed_bfloat16")
        >>> fast.get_layer("block1_conv1").compute_dtype, fast.get_layer("predictions").dtype_policy.name
        ('bfloat16', 'float32')
    """
    from fracturenet.models import preprocessing  # noqa: F401  (registers custom layers)

    target = resolve_precision(precision)
    current = {layer.dtype_policy.name for layer in model.layers if layer.name not in _KEEP_FLOAT32}
    if current == {target}:
        return model
    try:
        config = _set_policies(copy.deepcopy(model.get_config()), target)
        rebuilt = model.__class__.from_config(config)
    except (NotImplementedError, TypeError, ValueError) as err:
        raise ValueError(
            f"Cannot rebuild the model under precision={target!r} ({err}); use "
            f"precision='float32'. Received: model={getattr(model, 'name', type(model).__name__)!r}"
        ) from err
    rebuilt.set_weights(model.get_weights())
    return rebuilt
