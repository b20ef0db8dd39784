"""Resize images to the network input, and map results on the input back onto the original.

Modes:

* ``"letterbox"`` (default): scale so the whole image fits, keep the aspect ratio, pad the
  rest with 0 (black), centred. X-rays are often tall strips; stretching them distorts bone.
* ``"stretch"``: scale each axis independently to the target size.
* ``"crop"``: take the largest centred region with the target aspect ratio, then scale it.

:func:`restore_geometry` undoes the geometry for a 2-D map (a Grad-CAM heat map) computed on
the resized image, so it can be laid over the original picture.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["RESIZE_MODES", "resize_image", "restore_geometry", "resize_geometry"]

#: Accepted values of ``mode``.
RESIZE_MODES: tuple[str, ...] = ("letterbox", "stretch", "crop")


def _as_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    try:
        h, w = (int(size), int(size)) if isinstance(size, int | np.integer) else map(int, size)
    except (TypeError, ValueError):
        h = w = 0
    if h <= 0 or w <= 0:
        raise ValueError(
            f"size must be a positive int or (height, width) of positive ints. Received: size={size!r}"
        )
    return h, w


def _check_mode(mode: str) -> None:
    if mode not in RESIZE_MODES:
        raise ValueError(f"mode must be one of {RESIZE_MODES}. Received: mode={mode!r}")


def resize_geometry(
    original_hw: tuple[int, int], size: int | tuple[int, int], mode: str = "letterbox"
) -> dict[str, tuple[int, int, int, int]]:
    """Returns where the original image lands in the output, and which part of it is used.

    Args:
        original_hw: ``(height, width)`` of the original image.
        size: Output side length, or ``(height, width)``.
        mode: One of :data:`RESIZE_MODES`. Defaults to `"letterbox"`.

    Returns:
        ``{"source": (top, left, height, width), "target": (top, left, height, width)}``:
        the ``source`` box of the original is scaled into the ``target`` box of the output.

    Raises:
        ValueError: If ``mode`` or a size is invalid.

    Example:
        >>> resize_geometry((100, 50), 64)["target"]
        (0, 16, 64, 32)
        >>> resize_geometry((100, 50), 64, "crop")["source"]
        (25, 0, 50, 50)
    """
    _check_mode(mode)
    h, w = _as_hw(original_hw)
    oh, ow = _as_hw(size)
    if mode == "stretch":
        return {"source": (0, 0, h, w), "target": (0, 0, oh, ow)}
    if mode == "letterbox":
        scale = min(oh / h, ow / w)
        nh, nw = max(1, min(oh, round(h * scale))), max(1, min(ow, round(w * scale)))
        return {"source": (0, 0, h, w), "target": ((oh - nh) // 2, (ow - nw) // 2, nh, nw)}
    ch = max(1, min(h, round(w * oh / ow)))
    cw = max(1, min(w, round(h * ow / oh)))
    return {"source": ((h - ch) // 2, (w - cw) // 2, ch, cw), "target": (0, 0, oh, ow)}


def _resize_plane(plane: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Bilinear (antialiased when shrinking) resize of one 2-D float or uint8 plane."""
    if plane.shape == hw:
        return plane
    mode = "L" if plane.dtype == np.uint8 else "F"
    img = Image.fromarray(plane if mode == "L" else plane.astype(np.float32), mode=mode)
    return np.asarray(img.resize((hw[1], hw[0]), Image.Resampling.BILINEAR))


def _resize_any(image: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if image.shape[:2] == hw:
        return image
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        img = Image.fromarray(image, mode="RGB")
        return np.asarray(img.resize((hw[1], hw[0]), Image.Resampling.BILINEAR))
    if image.ndim == 2:
        return _resize_plane(image, hw)
    planes = [
        _resize_plane(np.ascontiguousarray(image[:, :, c]), hw) for c in range(image.shape[2])
    ]
    return np.stack(planes, axis=2)


def resize_image(
    image: np.ndarray, size: int | tuple[int, int], mode: str = "letterbox"
) -> np.ndarray:
    """Resizes an ``HxW`` or ``HxWxC`` image with bilinear, antialiased interpolation.

    Args:
        image: ``uint8`` or float image array.
        size: Output side length, or ``(height, width)``.
        mode: ``"letterbox"`` (fit, keep aspect, pad with 0), ``"stretch"`` or ``"crop"``
            (centre crop to the target aspect). Defaults to `"letterbox"`.

    Returns:
        The resized image, same dtype and channel count, spatial shape ``size``.

    Raises:
        ValueError: If ``mode``, ``size`` or the image shape is invalid.

    Example:
        >>> import numpy as np
        >>> tall = np.full((100, 50, 3), 255, np.uint8)
        >>> out = resize_image(tall, 64)
        >>> out.shape, int(out[32, 0, 0]), int(out[32, 32, 0])
        ((64, 64, 3), 0, 255)
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or min(image.shape[:2]) == 0:
        raise ValueError(
            f"image must be a non-empty HxW or HxWxC array. Received: image.shape={image.shape}"
        )
    geo = resize_geometry(image.shape[:2], size, mode)
    st, sl, sh, sw = geo["source"]
    tt, tl, th, tw = geo["target"]
    part = _resize_any(np.ascontiguousarray(image[st : st + sh, sl : sl + sw]), (th, tw))
    oh, ow = _as_hw(size)
    if (th, tw) == (oh, ow):
        return part
    out = np.zeros((oh, ow) + image.shape[2:], dtype=part.dtype)
    out[tt : tt + th, tl : tl + tw] = part
    return out


def restore_geometry(
    map2d: np.ndarray,
    original_hw: tuple[int, int],
    size: int | tuple[int, int],
    mode: str = "letterbox",
    *,
    fill: float = 0.0,
) -> np.ndarray:
    """Maps a 2-D map computed on a resized image back onto the original image's pixels.

    The map may have any resolution (e.g. a 7x7 CAM); it is first scaled to ``size``. For
    ``"letterbox"`` the padding is removed, for ``"crop"`` the map is placed on the cropped
    region and the rest is ``fill``, for ``"stretch"`` it is simply scaled back.

    Args:
        map2d: ``HxW`` map on the network input (``size``) grid.
        original_hw: ``(height, width)`` of the original image.
        size: The ``size`` given to :func:`resize_image`.
        mode: The ``mode`` given to :func:`resize_image`. Defaults to `"letterbox"`.
        fill: Value outside the cropped region (``"crop"`` only). Defaults to `0.0`.

    Returns:
        ``float32`` array of shape ``original_hw``.

    Raises:
        ValueError: If ``map2d`` is not 2-D, or ``mode`` or a size is invalid.

    Example:
        >>> import numpy as np
        >>> cam = np.zeros((64, 64), np.float32); cam[:, 16:48] = 1.0
        >>> back = restore_geometry(cam, (100, 50), 64)
        >>> back.shape, float(back.min()), float(back.max())
        ((100, 50), 1.0, 1.0)
    """
    map2d = np.asarray(map2d, dtype=np.float32)
    if map2d.ndim != 2:
        raise ValueError(f"map2d must be a 2-D array. Received: map2d.shape={map2d.shape}")
    geo = resize_geometry(original_hw, size, mode)
    h, w = _as_hw(original_hw)
    full = _resize_plane(map2d, _as_hw(size))
    tt, tl, th, tw = geo["target"]
    st, sl, sh, sw = geo["source"]
    part = _resize_plane(np.ascontiguousarray(full[tt : tt + th, tl : tl + tw]), (sh, sw))
    if (sh, sw) == (h, w):
        return part.astype(np.float32)
    out = np.full((h, w), fill, np.float32)
    out[st : st + sh, sl : sl + sw] = part
    return out
