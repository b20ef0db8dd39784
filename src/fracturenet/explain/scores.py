"""Score functions and model modifiers that turn a classifier head into a CAM target.

A softmax head is explained on its logits (tf-keras-vis ``ReplaceToLinear`` +
``CategoricalScore``) so that one class's score is not inflated by the others shrinking; a
single-unit sigmoid head on its logit with ``BinaryScore`` (+logit for class 1, -logit for
class 0). Score-CAM applies a softmax to the model outputs itself, so it also gets the
linear model (softmax of logits = the head's probabilities); for a sigmoid head the logit
``z`` is widened to ``[0, z]``, whose softmax is exactly ``[1 - p, p]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from fracturenet.exceptions import ExplainError

__all__ = ["head_kind", "build_score", "build_model_modifiers"]


def head_kind(model: keras.Model) -> str:
    """Tells whether a classifier ends in a softmax or a single sigmoid unit.

    Args:
        model: A single-output Keras classifier whose last layer has an activation.

    Returns:
        ``"softmax"`` for an ``(N, K)`` softmax output, ``"sigmoid"`` for ``(N, 1)`` sigmoid.

    Raises:
        ExplainError: When the model has several outputs or another kind of head.

    Example:
        >>> import keras
        >>> x = keras.Input((4,))
        >>> head_kind(keras.Model(x, keras.layers.Dense(3, activation="softmax")(x)))
        'softmax'
    """
    if len(model.outputs) != 1:
        raise ExplainError(
            "Argument `model` must have exactly one output (the class probabilities). "
            f"Received: model with {len(model.outputs)} outputs"
        )
    last = model.get_layer(model.output_names[0]) if hasattr(model, "output_names") else None
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    units = model.outputs[0].shape[-1]
    if activation == "softmax" and units and units >= 2:
        return "softmax"
    if activation == "sigmoid" and units == 1:
        return "sigmoid"
    raise ExplainError(
        "The model's output layer must be a Dense softmax over >= 2 classes or a single "
        f"sigmoid unit, so the score can be taken on its logits. Received: "
        f"activation={activation!r} with {units} output units"
    )


def build_score(kind: str, target_indices: Sequence[int], *, for_scorecam: bool = False) -> Any:
    """Returns the tf-keras-vis score for one target class per image.

    Args:
        kind: ``"softmax"`` or ``"sigmoid"`` (see :func:`head_kind`).
        target_indices: The class index to explain for each image in the batch.
        for_scorecam: Whether the score is for Score-CAM, whose sigmoid head is widened to
            two logits by :func:`build_model_modifiers`. Defaults to `False`.

    Returns:
        A ``CategoricalScore`` or ``BinaryScore`` instance.

    Raises:
        ExplainError: When ``kind`` is neither ``"softmax"`` nor ``"sigmoid"``.

    Example:
        >>> build_score("softmax", [0, 2]).indices
        [0, 2]
    """
    from tf_keras_vis.utils.scores import BinaryScore, CategoricalScore

    indices = [int(i) for i in target_indices]
    if kind == "softmax" or (kind == "sigmoid" and for_scorecam):
        return CategoricalScore(indices)
    if kind == "sigmoid":
        return BinaryScore([bool(i) for i in indices])
    raise ExplainError(
        f"Argument `kind` must be one of ['softmax', 'sigmoid']. Received: kind={kind!r}"
    )


def _two_logits(model: keras.Model) -> keras.Model:
    logit = model.outputs[0]
    both = keras.layers.Concatenate(axis=-1)([keras.ops.zeros_like(logit), logit])
    return keras.Model(model.inputs, both)


def build_model_modifiers(kind: str, *, for_scorecam: bool = False) -> list[Any]:
    """Returns the tf-keras-vis model modifiers that expose the head's logits.

    Args:
        kind: ``"softmax"`` or ``"sigmoid"`` (see :func:`head_kind`).
        for_scorecam: Whether the modifiers are for Score-CAM (a sigmoid logit ``z`` then
            becomes the two logits ``[0, z]``). Defaults to `False`.

    Returns:
        A list of modifiers for ``ModelVisualization(model, model_modifier=...)``; they
        act on a clone, never on the caller's model.

    Example:
        >>> [type(m).__name__ for m in build_model_modifiers("softmax")]
        ['ReplaceToLinear']
    """
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear

    modifiers: list[Any] = [ReplaceToLinear()]
    if kind == "sigmoid" and for_scorecam:
        modifiers.append(_two_logits)
    return modifiers
