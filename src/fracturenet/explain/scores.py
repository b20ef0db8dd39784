"""Score functions and model modifiers that turn a classifier head into a CAM target.

A softmax head is explained on its logits with ``CategoricalScore``, so that one class's
score is not inflated by the others shrinking (what tf-keras-vis ``ReplaceToLinear`` does,
without cloning the backbone; see :func:`logits_model`); a single-unit sigmoid head on its logit with ``BinaryScore`` (+logit for class 1, -logit for
class 0). Score-CAM applies a softmax to the model outputs itself, so it also gets the
linear model (softmax of logits = the head's probabilities); for a sigmoid head the logit
``z`` is widened to ``[0, z]``, whose softmax is exactly ``[1 - p, p]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from fracturenet.exceptions import ExplainError

__all__ = ["head_kind", "build_score", "logits_model"]


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
    last = model.outputs[0]._keras_history[0]  # the layer that produces the output
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
            two logits by :func:`logits_model`. Defaults to `False`.

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


def logits_model(model: keras.Model, kind: str, *, for_scorecam: bool = False) -> keras.Model:
    """Returns a model sharing ``model``'s layers whose output is the head's logits.

    This does what tf-keras-vis ``ReplaceToLinear`` does, without cloning the backbone
    (cloning ResNet50 costs seconds per call) and without touching the caller's model:
    only the output layer is rebuilt with a linear activation and its weights copied.

    Args:
        model: A flat functional classifier (see :func:`head_kind`).
        kind: ``"softmax"`` or ``"sigmoid"``.
        for_scorecam: Whether the model is for Score-CAM; a sigmoid logit ``z`` then
            becomes the two logits ``[0, z]``, whose softmax is ``[1 - p, p]``. Defaults
            to `False`.

    Returns:
        A functional model from the same inputs to the logits.

    Example:
        >>> import keras, numpy as np
        >>> x = keras.Input((2,))
        >>> model = keras.Model(x, keras.layers.Dense(3, activation="softmax")(x))
        >>> logits = logits_model(model, "softmax")
        >>> bool(np.allclose(keras.ops.softmax(logits(np.ones((1, 2)))), model(np.ones((1, 2)))))
        True
    """
    head, node_index, _ = model.outputs[0]._keras_history
    head_input = head._inbound_nodes[node_index].input_tensors[0]  # this graph's, not another's
    config = {**head.get_config(), "activation": "linear"}
    linear = head.__class__.from_config(config)
    logits = linear(head_input)
    linear.set_weights(head.get_weights())
    if kind == "sigmoid" and for_scorecam:
        logits = keras.layers.Concatenate(axis=-1)([keras.ops.zeros_like(logits), logits])
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, logits, name=f"{model.name}_logits")
