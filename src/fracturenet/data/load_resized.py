"""Decode and resize in one pass: the fast path the tf.data pipeline uses.

``load_resized(path, size, mode)`` gives the same geometry as
``resize_image(load_image(path), size, mode)`` (so :func:`restore_geometry` applies to it)
but is several times faster on large JPEGs: the JPEG is decoded at a reduced DCT scale that
still covers the target size, the crop/scale is one Pillow ``resize`` with a source box, and
grayscale images are resized on one channel before being repeated to three.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageChops

from fracturenet.data.decode import (
    DEFAULT_MAX_PIXELS,
    is_dicom,
    load_image,
    open_oriented,
    read_header,
    to_rgb_array,
)
from fracturenet.data.decode_budget import decode_scope
from fracturenet.data.resize import _as_hw, resize_geometry

__all__ = ["cover_size", "load_drafted", "load_resized", "scaled_box"]

# Pillow modes load_resized reduces and resizes without converting to RGB first.
_PILLOW_MODES = ("L", "RGB")


def load_resized(
    path: str | os.PathLike[str],
    size: int | tuple[int, int],
    mode: str = "letterbox",
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Reads an image file straight to the network input size as ``uint8`` RGB.

    Args:
        path: Image file (any format :func:`load_image` reads, DICOM included).
        size: Output side length, or ``(height, width)``.
        mode: ``"letterbox"``, ``"stretch"`` or ``"crop"``. Defaults to `"letterbox"`.
        max_pixels: Decompression-bomb guard, as in :func:`load_image`.
            Defaults to `DEFAULT_MAX_PIXELS`.

    Returns:
        ``uint8`` array of shape ``(height, width, 3)``.

    Raises:
        ImageDecodeError: As :func:`load_image`.
        ValueError: If ``size`` or ``mode`` is invalid.

    Example:
        >>> import tempfile, os
        >>> from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "strip.jpg")
        >>> Image.new("L", (40, 160), 200).save(p)
        >>> out = load_resized(p, 64)
        >>> out.shape, int(out[32, 0, 0]), int(out[32, 32, 0]) > 190
        ((64, 64, 3), 0, True)
    """
    out = _load_resized_planes(path, size, mode, max_pixels=max_pixels)
    return np.repeat(out, 3, axis=2) if out.shape[2] == 1 else out


def _load_resized_planes(
    path: str | os.PathLike[str],
    size: int | tuple[int, int],
    mode: str = "letterbox",
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """:func:`load_resized` before grey is repeated: ``(h, w, 1)`` for a grey picture.

    A picture is grey when its file is single-channel or when its three decoded channels are
    equal (most radiographs saved as RGB JPEGs); it is then resized on one channel, a third
    of the work of an RGB resize, with the same pixels. The ``tf.data`` pipeline broadcasts
    it into its ``(h, w, 3)`` batch, which gives exactly :func:`load_resized`'s output.
    """
    hw = _as_hw(size)
    resize_geometry((1, 1), hw, mode)  # validates mode before any file work
    with decode_scope(copies=_pillow_copies):
        image, (top, left, sh, sw), (tt, tl, th, tw) = _decode_reduced(
            os.fspath(path), hw, mode, max_pixels, keep_pillow=True
        )
        with image:
            plane = _grey_plane(image)  # already reduced to under 2x the target: cheap
            try:
                part = (image if plane is None else plane).resize(
                    (tw, th), Image.Resampling.BILINEAR, box=(left, top, left + sw, top + sh)
                )
            finally:
                if plane is not None:
                    plane.close()
    if (th, tw) != hw:
        canvas = Image.new(part.mode, (hw[1], hw[0]), 0)
        canvas.paste(part, (tl, tt))
        part = canvas
    out = np.asarray(part)
    return out[:, :, None] if out.ndim == 2 else out


def _grey_plane(image: Image.Image) -> Image.Image | None:
    """The one channel of an RGB image whose three channels are equal, else ``None``."""
    if image.mode != "RGB":
        return None
    r, g, b = image.split()
    try:
        if ImageChops.difference(r, g).getbbox() or ImageChops.difference(r, b).getbbox():
            r.close()
            return None
        return r
    finally:
        g.close()
        b.close()


def load_drafted(
    path: str | os.PathLike[str],
    size: int | tuple[int, int],
    mode: str = "letterbox",
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int, int, int]]:
    """Decodes, shrinks to under 2x the target, and returns where to crop and place it.

    This is the work that must happen in Python; the scaling itself can then run anywhere
    (Pillow in :func:`load_resized`, TensorFlow in the pipeline).

    Args:
        path: Image file.
        size: Output side length, or ``(height, width)``.
        mode: ``"letterbox"``, ``"stretch"`` or ``"crop"``. Defaults to `"letterbox"`.
        max_pixels: Decompression-bomb guard. Defaults to `DEFAULT_MAX_PIXELS`.

    Returns:
        ``(image, source, target)``: the decoded ``uint8`` RGB image (JPEGs drafted to the
        1/2, 1/4 or 1/8 scale that still covers the target, see :func:`cover_size`, then any
        format box-reduced by an integer factor while at
        least 2x larger than needed), the ``(top, left, height, width)`` box of it to scale (in its
        own pixels), and the box of the output it goes to (see :func:`resize_geometry`).

    Raises:
        ImageDecodeError: As :func:`load_image`.
        ValueError: If ``size`` or ``mode`` is invalid.
    """
    path = os.fspath(path)
    hw = _as_hw(size)
    resize_geometry((1, 1), hw, mode)  # validates mode before any file work
    with decode_scope(copies=2):  # the RGB array and its reduced copy
        return _decode_reduced(path, hw, mode, max_pixels)


def _pillow_copies(mode: str) -> int:
    """Full-size copies :func:`load_resized` makes of a decoded image in Pillow ``mode``."""
    # L and RGB stay in Pillow: the reduced copy is at most a quarter of the decode and the
    # output is network-sized. Other modes go through to_rgb_array first (see _decode_reduced).
    return 0 if mode in _PILLOW_MODES else 2


def _decode_reduced(
    path: str, hw: tuple[int, int], mode: str, max_pixels: int, *, keep_pillow: bool = False
) -> tuple[np.ndarray | Image.Image, tuple[int, int, int, int], tuple[int, int, int, int]]:
    """Decodes ``path`` reduced for ``hw``; see :func:`load_drafted`.

    With ``keep_pillow`` the image is returned as a Pillow image in mode ``L`` or ``RGB``: L
    and RGB files are reduced in Pillow, so no full-size array is ever made (Pillow releases
    the GIL while it decodes, reduces and resizes; NumPy copies of the whole picture hold it
    and cost memory). The pixels are the same as the array path's, grey repeated on three
    channels.
    """
    pil = None
    if is_dicom(path, read_header(path)):
        image = load_image(path, max_pixels=max_pixels)
        h, w = image.shape[:2]
    else:

        def cover(h: int, w: int) -> tuple[int, int]:
            return cover_size((h, w), resize_geometry((h, w), hw, mode))

        pil, (h, w) = open_oriented(path, max_pixels=max_pixels, draft=cover)
        if not (keep_pillow and pil.mode in _PILLOW_MODES):
            with pil:
                image = to_rgb_array(pil, path)
            pil = None
    if keep_pillow and pil is None:
        pil = Image.fromarray(image)
    size = pil.size[::-1] if pil is not None else image.shape[:2]
    geo = resize_geometry((h, w), hw, mode)
    # Shrink by an integer box filter (cheap, alias-free) until less than 2x remains, so
    # the final bilinear step never skips pixels.
    _, _, sh, sw = geo["source"]
    _, _, th, tw = geo["target"]
    factor = int(min(sh * size[0] / h / th, sw * size[1] / w / tw))
    if pil is not None:
        if factor >= 2:
            with pil:
                pil = pil.reduce(factor)
        return pil, scaled_box(geo["source"], (h, w), pil.size[::-1]), geo["target"]
    if factor >= 2:
        image = np.asarray(Image.fromarray(image).reduce(factor))
    source = scaled_box(geo["source"], (h, w), image.shape[:2])
    return image, source, geo["target"]


def cover_size(
    original_hw: tuple[int, int], geometry: dict[str, tuple[int, int, int, int]]
) -> tuple[int, int]:
    """The whole-picture size at which ``geometry``'s source box is as large as its target.

    Decoding a JPEG at a DCT scale that still covers this size loses nothing the resize
    would keep (Pillow's ``draft`` picks the largest such 1/2, 1/4 or 1/8 scale).

    Args:
        original_hw: ``(height, width)`` of the picture.
        geometry: From :func:`resize_geometry` for that picture.

    Returns:
        ``(height, width)``, rounded up.

    Example:
        >>> from fracturenet.data import resize_geometry
        >>> cover_size((640, 443), resize_geometry((640, 443), 224))
        (224, 155)
    """
    h, w = original_hw
    _, _, sh, sw = geometry["source"]
    _, _, th, tw = geometry["target"]
    return -(-th * h // sh), -(-tw * w // sw)


def scaled_box(
    box: tuple[int, int, int, int], original_hw: tuple[int, int], scaled_hw: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Maps a ``(top, left, height, width)`` box of the original into a scaled copy of it.

    Args:
        box: The box in original pixels.
        original_hw: ``(height, width)`` of the original.
        scaled_hw: ``(height, width)`` of the scaled copy (a drafted or reduced decode).

    Returns:
        The box in the copy's pixels, rounded, at least 1 pixel on each side.

    Example:
        >>> scaled_box((0, 0, 640, 443), (640, 443), (320, 222))
        (0, 0, 320, 222)
    """
    sy, sx = scaled_hw[0] / original_hw[0], scaled_hw[1] / original_hw[1]
    top, left, sh, sw = box
    t0, l0 = round(top * sy), round(left * sx)
    return t0, l0, max(1, round((top + sh) * sy) - t0), max(1, round((left + sw) * sx) - l0)
