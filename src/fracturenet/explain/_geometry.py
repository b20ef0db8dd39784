"""Letterbox geometry between an original image and the model input (private).

This is a stand-in for ``fracturenet.data.resize`` (``restore_geometry``), which the data
layer is building; the integrator will switch :mod:`fracturenet.explain` over to it. Only
the two operations explanations need live here: fitting an image into the model input and
mapping a heatmap from the model input back onto the original image.

Letterbox: the longer side is scaled to the model input, the aspect ratio is kept and the
rest is filled with black, centred (``top = (H - new_h) // 2``). Stretch: a plain resize.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from fracturenet.exceptions import ExplainError

RESIZE_MODES = ("letterbox", "stretch")


def check_resize_mode(resize_mode: str) -> None:
    if resize_mode not in RESIZE_MODES:
        raise ExplainError(
            f"Argument `resize_mode` must be one of {list(RESIZE_MODES)}. "
            f"Received: resize_mode={resize_mode!r}"
        )


def letterbox_box(original_hw: tuple[int, int], size_hw: tuple[int, int]) -> tuple[int, ...]:
    """Returns ``(top, left, new_h, new_w)`` of the image inside the letterboxed input."""
    h, w = original_hw
    out_h, out_w = size_hw
    scale = min(out_h / h, out_w / w)
    new_h = max(1, min(out_h, round(h * scale)))
    new_w = max(1, min(out_w, round(w * scale)))
    return (out_h - new_h) // 2, (out_w - new_w) // 2, new_h, new_w


def _resize_channels(array: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an ``(H, W)`` or ``(H, W, C)`` array in float32."""
    array = np.asarray(array, dtype=np.float32)
    if array.shape[:2] == tuple(hw):
        return array.copy()
    planes = array[..., None] if array.ndim == 2 else array
    size = (int(hw[1]), int(hw[0]))  # PIL wants (width, height)
    resized = [
        np.asarray(Image.fromarray(planes[..., c]).resize(size, Image.BILINEAR))
        for c in range(planes.shape[-1])
    ]
    out = np.stack(resized, axis=-1)
    return out[..., 0] if array.ndim == 2 else out


def fit_to_input(image: np.ndarray, size_hw: tuple[int, int], resize_mode: str) -> np.ndarray:
    """Fits one ``(H, W, C)`` image into the model input size (float32, black padding)."""
    if resize_mode == "stretch":
        return _resize_channels(image, size_hw)
    top, left, new_h, new_w = letterbox_box(image.shape[:2], size_hw)
    canvas = np.zeros((*size_hw, image.shape[-1]), dtype=np.float32)
    canvas[top : top + new_h, left : left + new_w] = _resize_channels(image, (new_h, new_w))
    return canvas


def restore_geometry(
    map2d: np.ndarray, original_hw: tuple[int, int], size_hw: tuple[int, int], mode: str
) -> np.ndarray:
    """Maps a heatmap on the model input back onto the original image (padding removed)."""
    if mode == "letterbox":
        top, left, new_h, new_w = letterbox_box(original_hw, size_hw)
        map2d = map2d[top : top + new_h, left : left + new_w]
    return _resize_channels(map2d, original_hw)
