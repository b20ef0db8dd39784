"""Losses the training recipes compile with, as registered, serialisable Keras objects.

A model compiled with a Python closure cannot be cloned (``keras.models.clone_model``
recompiles the clone from ``get_compile_config()``), rebuilt from its config, or loaded with
``compile=True``: Keras finds the closure by name only. Every loss here is a
:class:`keras.losses.Loss` subclass registered under the ``"fracturenet"`` package, with a
``get_config`` that holds all it needs, like Keras' own losses. Importing
``fracturenet.models`` (which :func:`fracturenet.models.load_model` does) registers them.

Example:
    >>> import keras, numpy as np
    >>> loss = SparseCategoricalCrossentropyWithSmoothing(label_smoothing=0.1)
    >>> round(float(loss(np.array([0]), np.array([[0.9, 0.05, 0.05]]))), 4)
    0.2981
    >>> clone = keras.losses.deserialize(keras.losses.serialize(loss))
    >>> type(clone).__name__, clone.label_smoothing
    ('SparseCategoricalCrossentropyWithSmoothing', 0.1)
"""

from __future__ import annotations

from typing import Any

import keras

__all__ = ["SparseCategoricalCrossentropyWithSmoothing", "smoothed_sparse_crossentropy"]


def smoothed_sparse_crossentropy(y_true: Any, y_pred: Any, label_smoothing: float = 0.0) -> Any:
    """Per-example cross-entropy of integer labels against probabilities, with smoothing.

    The labels are one-hot encoded over the last axis of ``y_pred`` (so the number of
    classes is never stored separately) and smoothed as Keras'
    ``categorical_crossentropy(label_smoothing=...)`` does.

    Args:
        y_true: Integer class indices, shape ``(batch,)`` or ``(batch, 1)``.
        y_pred: Class probabilities, shape ``(batch, classes)``.
        label_smoothing: Smoothing in [0, 1). Defaults to `0.0`.

    Returns:
        The loss of each example, shape ``(batch,)``.

    Example:
        >>> import numpy as np
        >>> y = np.array([1, 0]); p = np.array([[0.2, 0.8], [0.6, 0.4]])
        >>> np.round(np.asarray(smoothed_sparse_crossentropy(y, p)), 4).tolist()
        [0.2231, 0.5108]
    """
    labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
    onehot = keras.ops.one_hot(labels, keras.ops.shape(y_pred)[-1], dtype=y_pred.dtype)
    return keras.losses.categorical_crossentropy(onehot, y_pred, label_smoothing=label_smoothing)


@keras.saving.register_keras_serializable(package="fracturenet")
class SparseCategoricalCrossentropyWithSmoothing(keras.losses.Loss):
    """Sparse categorical cross-entropy with label smoothing (Keras' sparse loss has none).

    The labels given to ``fit`` stay integers, which ``class_weight`` needs; the loss one-hot
    encodes them itself.

    Args:
        label_smoothing: Smoothing in [0, 1). Defaults to `0.0`.
        reduction: Keras loss reduction. Defaults to `"sum_over_batch_size"`.
        name: Name of the loss. Defaults to
            `"sparse_categorical_crossentropy_with_smoothing"`.
        dtype: The dtype of the loss computation. Defaults to `None` (Keras' float type).

    Raises:
        ValueError: If ``label_smoothing`` is not in [0, 1).

    Example:
        >>> SparseCategoricalCrossentropyWithSmoothing(1.5)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Argument `label_smoothing` must be a float in [0, 1). Received: label_smoothing=1.5
    """

    def __init__(
        self,
        label_smoothing: float = 0.0,
        reduction: str = "sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy_with_smoothing",
        dtype: Any = None,
    ) -> None:
        if isinstance(label_smoothing, bool) or not (
            isinstance(label_smoothing, (int, float)) and 0.0 <= label_smoothing < 1.0
        ):
            raise ValueError(
                "Argument `label_smoothing` must be a float in [0, 1). "
                f"Received: label_smoothing={label_smoothing!r}"
            )
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return smoothed_sparse_crossentropy(y_true, y_pred, self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}
