"""Decode any supported image file into an ``HxWx3`` ``uint8`` RGB array.

Conversions (chosen for radiographs):

* grayscale, 1-bit, palette, CMYK, YCbCr and LAB images are converted to RGB by Pillow;
* transparency (RGBA, LA, palette with transparency) is composited on **black**, because
  X-ray backgrounds are dark and a white fill would add a bright frame;
* 16-bit and 32-bit grayscale (``I;16``, ``I``, ``F``) are scaled **linearly from the
  image's own minimum..maximum** to 0..255, so 12-bit detector data stored in 16-bit PNGs
  uses the full 8-bit range instead of coming out almost black (a constant image gives 0);
* the EXIF orientation tag is applied, so phone photos of films are upright;
* DICOM files (``.dcm``/``.dicom`` or the ``DICM`` magic) go through
  :func:`fracturenet.data.dicom.load_dicom`.

Every failure raises :class:`~fracturenet.exceptions.ImageDecodeError` with the file and a
specific reason.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fracturenet.data.decode_budget import charge_decode, decode_scope
from fracturenet.exceptions import ImageDecodeError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "is_dicom",
    "load_image",
    "open_image",
    "open_oriented",
    "read_header",
    "to_rgb_array",
]

#: Default decompression-bomb guard: 100 megapixels (a 10,000 x 10,000 film scan).
DEFAULT_MAX_PIXELS: int = 100_000_000

_DICOM_EXTENSIONS = (".dcm", ".dicom")
_ALPHA_MODES = ("RGBA", "LA", "La", "RGBa", "PA")
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_TO_RGB_MODES = ("RGB", "L", "1", "CMYK", "YCbCr", "LAB", "HSV", "RGBX")
_ORIENTATION = 0x0112  # EXIF tag
_SWAPPING_ORIENTATIONS = (5, 6, 7, 8)  # the transposes and 90/270 degree rotations


def _not_an_image_reason(head: bytes) -> str:
    sample = head[:64]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return "not an image: the format is not recognised (unknown file signature)"
    if all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return f"not an image: the file holds text (starts with {text[:24]!r})"
    return "not an image: the format is not recognised (unknown file signature)"


def _damage(error: Exception) -> str:
    return "truncated" if "truncat" in str(error).lower() else "corrupt"


def _check_pixels(path: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageDecodeError(
            path,
            f"too many pixels ({width}x{height} = {width * height:,} > max_pixels="
            f"{max_pixels:,}); this guards against decompression bombs, raise max_pixels "
            "if the image is genuine",
        )


def _scale_to_uint8(arr: np.ndarray) -> np.ndarray:
    arr = arr.astype(np.float64)
    lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        return np.zeros(arr.shape, np.uint8)
    return np.round((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[:, :, None], 3, axis=2)


def to_rgb_array(image: Image.Image, path: str) -> np.ndarray:
    """Converts a loaded Pillow image to ``HxWx3`` ``uint8`` RGB (see module docstring).

    Args:
        image: A Pillow image (already loaded).
        path: The file it came from, for error messages.

    Returns:
        The RGB array.

    Raises:
        ImageDecodeError: If the image mode cannot be converted.

    Example:
        >>> from PIL import Image
        >>> to_rgb_array(Image.new("LA", (4, 2), (200, 0)), "x.png").max()
        np.uint8(0)
    """
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in _ALPHA_MODES:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        out = rgba[:, :, :3] * (rgba[:, :, 3:4] / 255.0)  # composite on black
        return np.round(out).astype(np.uint8)
    if mode in _HIGH_DEPTH_MODES:
        return _gray_to_rgb(_scale_to_uint8(np.asarray(image)))
    if mode == "RGB":
        return np.asarray(image, dtype=np.uint8).copy()  # writable, contiguous
    if mode in _TO_RGB_MODES:
        return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    raise ImageDecodeError(
        path,
        f"unsupported image mode {mode!r}; supported modes: "
        f"{sorted(set(_TO_RGB_MODES + _ALPHA_MODES + _HIGH_DEPTH_MODES + ('P',)))}",
    )


def open_image(path: str, *, max_pixels: int = DEFAULT_MAX_PIXELS, draft: int | None = None):
    """Opens, guards, decodes and orients a raster image with Pillow.

    Args:
        path: Image file (not DICOM).
        max_pixels: Largest accepted ``width * height``. Defaults to `DEFAULT_MAX_PIXELS`.
        draft: If set, JPEGs are decoded at the smallest 1/2, 1/4 or 1/8 scale whose short
            side still covers ``draft`` pixels (much faster for thumbnails). Defaults to
            `None` (full resolution).

    Returns:
        A loaded :class:`PIL.Image.Image` with EXIF orientation applied.

    Raises:
        ImageDecodeError: For truncated, corrupt, unrecognised or oversized files.

    Example:
        >>> import tempfile, os
        >>> from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "a.png")
        >>> Image.new("L", (5, 3)).save(p)
        >>> open_image(p).size
        (5, 3)
    """
    return open_oriented(path, max_pixels=max_pixels, draft=draft)[0]


def open_oriented(
    path: str,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft: int | tuple[int, int] | Callable[[int, int], tuple[int, int]] | None = None,
) -> tuple[Image.Image, tuple[int, int]]:
    """Like :func:`open_image`, also returning the full-resolution ``(height, width)``.

    The size is the one after EXIF orientation and before any ``draft`` reduction, so
    geometry computed from it matches :func:`load_image` exactly.

    Args:
        path: Image file (not DICOM).
        max_pixels: Largest accepted ``width * height``. Defaults to `DEFAULT_MAX_PIXELS`.
        draft: See :func:`open_image`; also ``(height, width)`` of the upright picture: JPEGs
            are then decoded at the largest 1/2, 1/4 or 1/8 scale still covering that size
            on both sides (Pillow's ``draft``); or a callable mapping the upright
            ``(height, width)`` to that size. Defaults to `None`.

    Returns:
        ``(image, (height, width))``.

    Raises:
        ImageDecodeError: For truncated, corrupt, unrecognised or oversized files.
    """
    try:
        with warnings.catch_warnings():
            # max_pixels below is the guard; Pillow's own error still stops > 2x its limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as e:
        raise ImageDecodeError(path, f"too many pixels for Pillow's bomb guard ({e})") from e
    except UnidentifiedImageError as e:
        with open(path, "rb") as f:
            head = f.read(64)
        raise ImageDecodeError(path, _not_an_image_reason(head)) from e
    except OSError as e:  # a header cut short or garbled
        ext = os.path.splitext(path)[1].lstrip(".").upper().replace("JPG", "JPEG") or "image"
        raise ImageDecodeError(path, f"{_damage(e)} {ext} data ({e})") from e
    fmt = image.format or "image"
    width, height = image.size
    _check_pixels(path, width, height, max_pixels)
    if draft and fmt == "JPEG" and image.mode in ("RGB", "L"):
        if isinstance(draft, int):
            request = (draft, draft)
        else:  # (height, width) of the upright picture -> (width, height) as stored
            swapped = _orientation(image) in _SWAPPING_ORIENTATIONS
            upright = (width, height) if swapped else (height, width)
            dh, dw = draft(*upright) if callable(draft) else draft
            request = (dh, dw) if swapped else (dw, dh)
        image.draft(image.mode, request)
    charge_decode(image.size, image.mode, path)  # waits while other decodes hold the memory
    try:
        image.load()
        if image.getexif().get(_ORIENTATION, 1) in _SWAPPING_ORIENTATIONS:
            width, height = height, width
        ImageOps.exif_transpose(image, in_place=True)
    except (OSError, SyntaxError, ValueError) as e:  # Pillow reports truncation as OSError
        raise ImageDecodeError(path, f"{_damage(e)} {fmt} data ({e})") from e
    return image, (height, width)


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_ORIENTATION, 1))
    except (OSError, SyntaxError, ValueError, TypeError):  # a garbled EXIF block: load() tells
        return 1


def read_header(path: str) -> bytes:
    """Returns the first 132 bytes of ``path`` after checking it exists and is not empty.

    Args:
        path: File to check.

    Returns:
        Up to 132 leading bytes (enough for the DICOM ``DICM`` magic at offset 128).

    Raises:
        ImageDecodeError: If the file is missing, unreadable or zero bytes long.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(132)
    except FileNotFoundError as e:
        raise ImageDecodeError(path, "file not found") from e
    except OSError as e:
        raise ImageDecodeError(path, f"cannot open the file ({e.strerror or e})") from e
    if size == 0:
        raise ImageDecodeError(path, "zero-byte file (empty, probably an interrupted copy)")
    return head


def is_dicom(path: str, head: bytes) -> bool:
    """Whether ``path`` is DICOM: a ``.dcm``/``.dicom`` name or the ``DICM`` magic in ``head``."""
    return path.lower().endswith(_DICOM_EXTENSIONS) or head[128:132] == b"DICM"


def load_image(
    path: str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    dicom_window: tuple[float, float] | None = None,
    draft: int | None = None,
) -> np.ndarray:
    """Reads an image file as an ``HxWx3`` ``uint8`` RGB array.

    Supports JPEG, PNG (8 and 16-bit), BMP, TIFF, WebP, GIF (first frame), grayscale,
    RGBA and palette images (composited on black), CMYK, EXIF orientation, and DICOM through
    the ``dicom`` extra. See the module docstring for how each is converted.

    Args:
        path: Image file.
        max_pixels: Largest accepted ``width * height`` (decompression-bomb guard).
            Defaults to `DEFAULT_MAX_PIXELS` (100 megapixels).
        dicom_window: ``(center, width)`` window for DICOM files, overriding the file's VOI
            LUT / window. Ignored for other formats. Defaults to `None`.
        draft: Speed hint for callers that shrink the image anyway: JPEGs are decoded at
            the smallest 1/2, 1/4 or 1/8 scale that still has at least ``draft`` pixels on
            both sides, so the result can be smaller than the file. Defaults to `None`
            (full resolution).

    Returns:
        The image as a C-contiguous ``uint8`` array of shape ``(height, width, 3)``.

    Raises:
        ImageDecodeError: Naming the file and the reason: missing, zero-byte, not an image,
            truncated or corrupt data, too many pixels, unsupported mode.
        MissingExtraError: For a DICOM file when pydicom is not installed.

    Example:
        >>> import tempfile, os
        >>> from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "gray.png")
        >>> Image.new("L", (6, 4), 128).save(p)
        >>> img = load_image(p)
        >>> img.shape, img.dtype, int(img[0, 0, 1])
        ((4, 6, 3), dtype('uint8'), 128)
    """
    path = os.fspath(path)
    if max_pixels <= 0:
        raise ValueError(
            f"max_pixels must be a positive integer. Received: max_pixels={max_pixels}"
        )
    head = read_header(path)
    if is_dicom(path, head):
        from fracturenet.data.dicom import load_dicom

        return load_dicom(path, window=dicom_window, max_pixels=max_pixels)
    with decode_scope(copies=2), open_image(path, max_pixels=max_pixels, draft=draft) as image:
        return to_rgb_array(image, path)
