"""BatchNorm statistics that match the weights they are used with ("precise BN").

BatchNormalization normalises a training batch with that batch's own statistics, but at
validation and inference it uses moving averages that trail the weights by about
``1 / (1 - momentum)`` steps (100 for Keras' ResNet50). On a small dataset a whole run is a
few hundred steps, and while the weights move fast the averages describe a network that no
longer exists: validation then sees wrongly scaled activations. This is what made the old
fine-tuning phase collapse (BatchNorm switched to training after a frozen phase: VGG16's val
loss 14.4 on the demo phantoms, ResNet50's 2.7 -> 7.2 on the Bone Break split) and what kept
a from-scratch ResNet50 at chance on validation while its training loss fell.

:func:`recalibrate_batchnorm` recomputes the statistics with the current weights: it runs a
few training batches forward in training mode and sets every trainable BatchNorm layer's
moving mean and variance to the average over those batches (the momentum of batch ``i`` is
``(i - 1) / i``). :class:`PreciseBatchNorm` does it before each validation during ``fit``,
so the recorded validation metrics, the checkpoints and the saved model all use statistics of
the weights they hold.

Example:
    >>> import keras, numpy as np
    >>> inputs = keras.Input((4,))
    >>> model = keras.Model(inputs, keras.layers.BatchNormalization()(inputs))
    >>> x = np.random.default_rng(0).normal(5.0, 2.0, (64, 4)).astype("float32")
    >>> recalibrate_batchnorm(model, [(x[:32], None), (x[32:], None)])
    1
    >>> bn = model.layers[-1]
    >>> bool(np.allclose(bn.moving_mean, x.mean(0), atol=1e-4))
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras

__all__ = ["PreciseBatchNorm", "recalibrate_batchnorm"]


def _batchnorm_layers(model: Any) -> list[Any]:
    layers = model._flatten_layers(include_self=False, recursive=True)
    return [
        layer
        for layer in layers
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]


def recalibrate_batchnorm(model: Any, batches: Iterable[Any], max_batches: int = 10) -> int:
    """Sets trainable BatchNorm layers' moving statistics from forward passes of ``batches``.

    Args:
        model: A Keras model.
        batches: ``(images, labels)`` batches (labels are ignored) or image batches.
        max_batches: Batches to average over at most. Defaults to `10`.

    Returns:
        The number of BatchNorm layers recalibrated (0 when none is trainable, or no batch).
    """
    layers = _batchnorm_layers(model)
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    seen = 0
    try:
        for i, batch in enumerate(batches, 1):
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            for layer in layers:
                layer.momentum = (i - 1) / i  # cumulative mean over the batches so far
            model(x, training=True)
            seen = i
            if i >= max_batches:
                break
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    return len(layers) if seen else 0


def _array_batches(x: Any, batch_size: int) -> Iterable[Any]:
    for start in range(0, len(x), batch_size):
        yield x[start : start + batch_size]


class PreciseBatchNorm(keras.callbacks.Callback):
    """Recalibrates BatchNorm statistics before each validation (or at each epoch's end).

    Put it before the callbacks that read the weights at the end of an epoch (checkpoints).

    Args:
        data: The training input: an ``(x, y)`` tuple of arrays or a dataset of batches.
        batch_size: Batch size for array input. Defaults to `32`.
        max_batches: Batches averaged per recalibration. Defaults to `10`.
    """

    def __init__(self, data: Any, batch_size: int = 32, max_batches: int = 10) -> None:
        super().__init__()
        self.data, self.batch_size, self.max_batches = data, batch_size, max_batches
        self._done = False

    def _batches(self) -> Iterable[Any]:
        if isinstance(self.data, tuple):
            return _array_batches(self.data[0], self.batch_size)
        return iter(self.data.take(self.max_batches))

    def _recalibrate(self) -> None:
        if not self._done:
            recalibrate_batchnorm(self.model, self._batches(), self.max_batches)
            self._done = True

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._done = False

    def on_test_begin(self, logs: Any = None) -> None:
        self._recalibrate()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._recalibrate()
