"""Images in, model inputs out: fitting images to a classifier's input for explanation."""

from __future__ import annotations

from typing import Any

import numpy as np

from fracturenet.data.resize import RESIZE_MODES, resize_image
from fracturenet.exceptions import ExplainError

__all__ = ["fit_images"]


def prepare_images(images: Any, size_hw, original_sizes, resize_mode: str, channels: int):
    """Returns model-ready float32 ``(N, h, w, C)`` images and the original sizes."""
    arrays = []
    for i, image in enumerate(images):
        array = np.asarray(image, dtype=np.float32)
        if array.ndim == 2:
            array = array[..., None]
        if array.ndim != 3 or array.shape[-1] not in (1, 3, channels):
            raise ExplainError(
                "Argument `images` must hold (H, W), (H, W, 1) or (H, W, 3) images. "
                f"Received: images[{i}].shape={np.shape(image)}"
            )
        if array.shape[-1] != channels:
            array = np.repeat(array[..., :1], channels, axis=-1)
        arrays.append(array)
    if not arrays:
        raise ExplainError("Argument `images` must hold at least one image. Received: images=[]")
    if original_sizes is not None:
        original_sizes = [tuple(int(v) for v in hw) for hw in original_sizes]
        if len(original_sizes) != len(arrays) or any(len(hw) != 2 for hw in original_sizes):
            raise ExplainError(
                "Argument `original_sizes` must hold one (height, width) pair per image "
                f"({len(arrays)}). Received: original_sizes={original_sizes!r}"
            )
    else:
        original_sizes = [a.shape[:2] for a in arrays]
    fitted = [
        a if a.shape[:2] == tuple(size_hw) else resize_image(a, size_hw, resize_mode)
        for a in arrays
    ]
    return np.stack(fitted), original_sizes


def resolve_resize_mode(model: Any, resize_mode: str | None) -> str:
    """``resize_mode`` if given, else the model's (its input description; ``"letterbox"``
    for a model without one). Raises :class:`ExplainError` for a mode outside
    :data:`fracturenet.data.RESIZE_MODES`."""
    from fracturenet.models.input_spec import resolve_resize_mode as _model_mode

    if resize_mode is not None and resize_mode not in RESIZE_MODES:
        raise ExplainError(
            f"Argument `resize_mode` must be one of {list(RESIZE_MODES)} or None (the "
            f"model's). Received: resize_mode={resize_mode!r}"
        )
    return _model_mode(model, resize_mode)


def input_size(model: Any, images: Any) -> tuple[tuple[int, int], int]:
    shape = model.inputs[0].shape
    if len(shape) != 4:
        raise ExplainError(
            f"Argument `model` must take (N, H, W, C) images. Received: input shape {shape}"
        )
    try:
        first = np.asarray(images[0])
    except (TypeError, IndexError, KeyError) as err:
        raise ExplainError(
            "Argument `images` must be an (N, H, W[, C]) array or a non-empty sequence of "
            f"images. Received: images={type(images).__name__}"
        ) from err
    size = tuple(int(s) if s else int(first.shape[i]) for i, s in enumerate(shape[1:3]))
    return size, int(shape[3])


def fit_images(
    model: Any, images: Any, *, resize_mode: str | None = None
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Fits images to a model's input size, as :func:`explain` does before explaining.

    Args:
        model: A Keras model taking ``(N, H, W, C)`` images.
        images: A ``(N, H, W[, C])`` array or a sequence of ``(H, W[, C])`` arrays, 0-255.
        resize_mode: ``"letterbox"``, ``"stretch"`` or ``"crop"``. Defaults to `None`: the
            model's (see :func:`~fracturenet.models.input_spec`), ``"letterbox"`` for a
            model that records none.

    Returns:
        ``(batch, original_sizes)``: float32 ``(N, h, w, C)`` model inputs (grey images
        repeated to the model's channels) and each image's ``(height, width)``.

    Raises:
        ExplainError: For an image that is not 2-D or 3-D, or an unknown ``resize_mode``.

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten()])
        >>> batch, sizes = fit_images(model, [np.full((4, 8), 255, np.uint8)])
        >>> batch.shape, sizes, batch[0, :, 0, 0].tolist()
        ((1, 8, 8, 3), [(4, 8)], [0.0, 0.0, 255.0, 255.0, 255.0, 255.0, 0.0, 0.0])
    """
    resize_mode = resolve_resize_mode(model, resize_mode)
    size_hw, channels = input_size(model, images)
    return prepare_images(images, size_hw, None, resize_mode, channels)
