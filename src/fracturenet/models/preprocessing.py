"""A backbone's input preprocessing inside the model, made of standard Keras layers.

Models built by :func:`fracturenet.models.build_classifier` take raw pixel values (0-255,
RGB or single-channel). :func:`preprocessing_layer` returns the standard Keras layer that
does the rest (``Normalization``, a frozen ``Dense`` over the channels, or ``Identity``), so
a saved ``model.keras`` loads with plain ``keras.saving.load_model`` in a process that
never imported fracturenet, and converts to TF Serving / TFLite without custom code.

:class:`BackbonePreprocessing` and :class:`GrayscaleToRGB` are the custom layers that models
saved by fracturenet 0.1 contain; they stay registered so those files still load.

Example:
    >>> import numpy as np
    >>> from fracturenet.models import preprocessing_layer
    >>> layer = preprocessing_layer("tf")
    >>> [round(float(v), 6) for v in np.asarray(layer(np.array([[[[0.0, 127.5, 255.0]]]]))).ravel()]
    [-1.0, 0.0, 1.0]
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from fracturenet.models.registry import PREPROCESSING_MODES

__all__ = ["BackbonePreprocessing", "GrayscaleToRGB", "preprocessing_layer"]

_IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
_IMAGENET_STD_RGB = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def preprocessing_layer(mode: str, *, name: str = "preprocessing") -> keras.layers.Layer:
    """Returns a standard Keras layer that scales raw 0-255 RGB pixels for a backbone.

    The modes match ``keras.applications.imagenet_utils.preprocess_input``: ``"tf"``
    scales to -1..1 and ``"torch"`` standardises with the ImageNet mean and std (both a
    ``Normalization`` layer with fixed mean and variance); ``"caffe"`` flips RGB to BGR and
    subtracts the ImageNet mean (a frozen ``Dense`` layer over the channel axis whose kernel
    is the channel permutation and whose bias is minus the mean); ``"none"`` passes pixels
    through (``Identity``, for backbones that rescale inside the Keras model).

    Args:
        mode: One of ``"caffe"``, ``"torch"``, ``"tf"``, ``"none"``.
        name: Layer name. Defaults to `"preprocessing"`.

    Returns:
        An unbuilt, non-trainable Keras layer for 3-channel input.

    Raises:
        ValueError: If ``mode`` is unknown.

    Example:
        >>> import numpy as np
        >>> from fracturenet.models import preprocessing_layer
        >>> layer = preprocessing_layer("caffe")
        >>> [round(float(v), 3) for v in np.asarray(layer(np.array([[[[255.0, 0.0, 0.0]]]]))).ravel()]
        [-103.939, -116.779, 131.32]
    """
    if mode not in PREPROCESSING_MODES:
        raise ValueError(
            f"Argument `mode` must be one of {list(PREPROCESSING_MODES)}. Received: mode={mode!r}"
        )
    if mode == "none":
        return keras.layers.Identity(name=name)
    if mode == "caffe":
        flip = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]  # x @ flip: RGB -> BGR
        return keras.layers.Dense(
            3,
            kernel_initializer=keras.initializers.Constant(flip),
            bias_initializer=keras.initializers.Constant([-m for m in _CAFFE_MEAN_BGR]),
            trainable=False,
            name=name,
        )
    if mode == "tf":
        mean, std = (127.5,) * 3, (127.5,) * 3
    else:  # torch: (x / 255 - mean) / std == (x - 255 mean) / (255 std)
        mean = tuple(255.0 * m for m in _IMAGENET_MEAN_RGB)
        std = tuple(255.0 * s for s in _IMAGENET_STD_RGB)
    return keras.layers.Normalization(
        axis=-1, mean=list(mean), variance=[s * s for s in std], name=name
    )


@keras.saving.register_keras_serializable(package="fracturenet")
class BackbonePreprocessing(keras.layers.Layer):
    """Scales raw 0-255 RGB pixels the way a backbone's ImageNet weights expect (legacy).

    Deprecated: ``build_classifier`` uses :func:`preprocessing_layer` (standard Keras layers)
    since 0.2; this class stays so models saved by fracturenet 0.1 still load.

    The modes match ``keras.applications.imagenet_utils.preprocess_input``: ``"caffe"``
    flips RGB to BGR and subtracts the ImageNet mean, ``"torch"`` scales to 0-1 and
    standardises with the ImageNet mean and std, ``"tf"`` scales to -1..1 and ``"none"``
    passes pixels through (for backbones that rescale inside the Keras model).

    Args:
        backbone: Name of the backbone this layer feeds (kept in the config so a loaded
            model knows its backbone).
        mode: One of ``"caffe"``, ``"torch"``, ``"tf"``, ``"none"``.
        **kwargs: Standard layer arguments (``name``, ``dtype`` ...).

    Raises:
        ValueError: If ``mode`` is unknown or ``backbone`` is not a non-empty string.

    Example:
        >>> from fracturenet.models import BackbonePreprocessing
        >>> BackbonePreprocessing(backbone="vgg16", mode="caffe").get_config()["mode"]
        'caffe'
    """

    def __init__(self, backbone: str, mode: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(
                f"Argument `mode` must be one of {list(PREPROCESSING_MODES)}. "
                f"Received: mode={mode!r}"
            )
        if not isinstance(backbone, str) or not backbone:
            raise ValueError(
                f"Argument `backbone` must be a non-empty string. Received: backbone={backbone!r}"
            )
        self.backbone = backbone
        self.mode = mode

    def call(self, inputs: Any) -> Any:
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_IMAGENET_MEAN_RGB, dtype=self.compute_dtype)
            std = ops.convert_to_tensor(_IMAGENET_STD_RGB, dtype=self.compute_dtype)
            return (x / 255.0 - mean) / std
        if self.mode == "caffe":
            mean = ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=self.compute_dtype)
            return ops.flip(x, axis=-1) - mean
        return x

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"backbone": self.backbone, "mode": self.mode})
        return config


@keras.saving.register_keras_serializable(package="fracturenet")
class GrayscaleToRGB(keras.layers.Layer):
    """Repeats a single-channel image to three channels (identity for 3 channels; legacy).

    Deprecated: ``build_classifier`` uses a standard ``Concatenate`` layer since 0.2; this
    class stays so models saved by fracturenet 0.1 still load.

    Args:
        **kwargs: Standard layer arguments (``name``, ``dtype`` ...).

    Example:
        >>> import numpy as np
        >>> from fracturenet.models import GrayscaleToRGB
        >>> tuple(GrayscaleToRGB()(np.zeros((2, 8, 8, 1))).shape)
        (2, 8, 8, 3)
    """

    def call(self, inputs: Any) -> Any:
        if inputs.shape[-1] == 3:
            return inputs
        return ops.repeat(inputs, 3, axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*tuple(input_shape)[:-1], 3)
