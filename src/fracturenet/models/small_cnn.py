"""``SmallCNN``: a compact backbone that trains from scratch on a CPU in minutes.

VGG16 and ResNet50 are built for ImageNet-sized data and hardware. A hospital that wants to
pretrain on its own archive without a GPU (see :doc:`/guide/training`) needs a backbone that
learns from a few thousand images on a few cores: three blocks of two 3x3 convolutions with
BatchNorm and ReLU, each followed by 2x2 max-pooling (32, 64 and 128 channels, 0.29 M
weights). BatchNorm uses momentum 0.9, because with the tens of steps per epoch of a small
dataset Keras' default 0.99 leaves the moving variance many times the batch variance for the
whole run, and inference then predicts one class.

It follows the ``keras.applications`` signature, so the registry, :func:`build_classifier`
and weights files treat it like the others. It has no ImageNet weights: pass
``weights=None`` or a file saved with :func:`~fracturenet.models.save_backbone_weights`.

Example:
    >>> model = SmallCNN(include_top=False, weights=None, input_shape=(64, 64, 3))
    >>> model.output.shape
    (None, 8, 8, 128)
    >>> model.count_params()
    288352
    >>> SmallCNN(input_shape=(64, 64, 3), widths=TINY_WIDTHS).count_params()
    72752
"""

from __future__ import annotations

from typing import Any

import keras

__all__ = ["TINY_WIDTHS", "WIDTHS", "SmallCNN"]

#: Channels of the three blocks.
WIDTHS = (32, 64, 128)
#: Channels of the three blocks of the registered ``"smallcnn_tiny"`` (0.07 M weights).
TINY_WIDTHS = (16, 32, 64)


def SmallCNN(  # noqa: N802 (named like keras.applications constructors)
    include_top: bool = False,
    weights: str | None = None,
    input_tensor: Any = None,
    input_shape: tuple[int | None, int | None, int] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    name: str = "small_cnn",
    widths: tuple[int, int, int] = WIDTHS,
) -> keras.Model:
    """Builds the compact three-block CNN backbone.

    Args:
        include_top: Add global average pooling and a ``classes``-way dense layer.
            Defaults to `False`.
        weights: Must be `None` (random initialisation); load a weights file with
            ``build_classifier(weights=path)``. Defaults to `None`.
        input_tensor: A Keras tensor to build on (as ``build_classifier`` does). Defaults
            to `None`.
        input_shape: ``(height, width, channels)`` when ``input_tensor`` is None. Defaults
            to `None` (any size, 3 channels).
        pooling: ``None`` (4-D feature map), ``"avg"`` or ``"max"`` when
            ``include_top`` is False. Defaults to `None`.
        classes: Classes of the top layer. Defaults to `1000`.
        classifier_activation: Activation of the top layer. Defaults to `"softmax"`.
        name: Model name. Defaults to `"small_cnn"`.
        widths: Channels of the three blocks. Defaults to `(32, 64, 128)`; the registry's
            ``"smallcnn_tiny"`` uses `(16, 32, 64)`.

    Returns:
        A functional Keras model.

    Raises:
        ValueError: If ``weights`` is not None, ``pooling`` is unknown or ``widths`` is not
            three positive integers.
    """
    if weights is not None:
        raise ValueError(
            "SmallCNN has no pretrained weights of its own. Pass weights=None, and load a "
            "file saved with save_backbone_weights through build_classifier(weights=path). "
            f"Received: weights={weights!r}"
        )
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"`pooling` must be None, 'avg' or 'max'. Received: pooling={pooling!r}")
    widths = tuple(widths)
    if len(widths) != 3 or not all(isinstance(w, int) and w > 0 for w in widths):
        raise ValueError(f"`widths` must be three positive integers. Received: widths={widths!r}")
    if input_tensor is None:
        inputs = keras.Input(shape=input_shape or (None, None, 3))
        x = inputs
    else:
        inputs = keras.utils.get_source_inputs(input_tensor)
        x = input_tensor
    for block, filters in enumerate(widths, start=1):
        for conv in (1, 2):
            x = keras.layers.Conv2D(
                filters, 3, padding="same", use_bias=False, name=f"block{block}_conv{conv}"
            )(x)
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn{conv}")(x)
            x = keras.layers.ReLU(name=f"block{block}_relu{conv}")(x)
        x = keras.layers.MaxPooling2D(name=f"block{block}_pool")(x)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return keras.Model(inputs, x, name=name)
