"""A memory budget shared by every image decode in the process.

The pixel guard (``max_pixels``) stops decompression bombs, but eight threads each decoding a
legal 100-megapixel PNG still need gigabytes. Each decode first reserves what it will hold
(estimated from the header: Pillow keeps RGB as 4 bytes a pixel, plus the arrays made from
it) in a :func:`decode_scope` and waits while the budget is spent, so the number of images decoded at once adapts to
their size: many small radiographs run in parallel, huge ones one at a time. An image whose
decode alone exceeds the budget is refused with an :class:`~fracturenet.exceptions.ImageDecodeError`
that names the memory needed and how to raise the limit.

The budget defaults to :data:`DEFAULT_DECODE_MEMORY` bytes, or ``FRACTURENET_DECODE_MEMORY_MB``
megabytes when that environment variable is set (read on first use), and can be changed
with :func:`set_decode_memory`.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import threading
from collections.abc import Callable, Iterator

from fracturenet.exceptions import ImageDecodeError

__all__ = [
    "DEFAULT_DECODE_MEMORY",
    "decode_memory",
    "estimate_decode_bytes",
    "charge_decode",
    "decode_scope",
    "set_decode_memory",
]

#: Bytes that all decodes in flight may hold together, unless configured otherwise.
DEFAULT_DECODE_MEMORY: int = 768 * 2**20

#: Scopes that held at least this much return freed memory to the OS when they end.
_TRIM_BYTES = 64 * 2**20

_cond = threading.Condition()
_state = {"limit": None, "used": 0}
_local = threading.local()
# bytes Pillow holds per pixel for a decoded image of each mode (RGB is stored as 32 bits)
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 4, "I;16": 2, "I;16B": 2, "I": 4, "F": 4}


def decode_memory() -> int:
    """The decode memory budget in bytes."""
    with _cond:
        if _state["limit"] is None:
            env = os.environ.get("FRACTURENET_DECODE_MEMORY_MB")
            _state["limit"] = int(float(env) * 2**20) if env else DEFAULT_DECODE_MEMORY
        return int(_state["limit"])


def set_decode_memory(limit: int) -> None:
    """Sets the decode memory budget (bytes) for the whole process.

    Args:
        limit: Bytes all decodes in flight may hold together; > 0.

    Raises:
        ValueError: If ``limit`` is not a positive integer.

    Example:
        >>> previous = decode_memory()
        >>> set_decode_memory(2 * 2**30); decode_memory()
        2147483648
        >>> set_decode_memory(previous)
    """
    if not isinstance(limit, int) or limit <= 0:
        raise ValueError(f"Argument `limit` must be a positive integer. Received: limit={limit!r}")
    with _cond:
        _state["limit"] = limit
        _cond.notify_all()


def estimate_decode_bytes(size: tuple[int, int], mode: str, copies: int = 1) -> int:
    """Bytes a decode of an image of ``size`` (width, height) and Pillow ``mode`` holds.

    Args:
        size: ``(width, height)`` as decoded (after any JPEG draft reduction).
        mode: The Pillow mode of the decoded image.
        copies: Full-size copies the caller makes from it (arrays, converted or re-wrapped
            images), counted at 4 bytes a pixel. Defaults to `1`.

    Returns:
        The estimate in bytes.

    Example:
        >>> estimate_decode_bytes((1000, 1000), "RGB", copies=1)
        8000000
    """
    pixels = int(size[0]) * int(size[1])
    return pixels * (_MODE_BYTES.get(mode, 4) + 4 * copies)


def _count(copies: int | Callable[[str], int], mode: str) -> int:
    return copies(mode) if callable(copies) else copies


@contextlib.contextmanager
def decode_scope(copies: int | Callable[[str], int] = 1) -> Iterator[None]:
    """Holds the budget charged by decodes in this block (this thread) until it ends.

    Wrap the work that keeps a decoded image alive: the decode, the arrays made from it and
    whatever consumes them. Scopes nest: an inner one joins the outer one (the larger count
    of copies applies).

    Args:
        copies: Full-size copies of the image the block makes (see
            :func:`estimate_decode_bytes`), or a function of the decoded Pillow mode giving
            them (a block that keeps L and RGB images in Pillow makes fewer). Defaults to `1`.

    Example:
        >>> with decode_scope(copies=2):
        ...     charge_decode((100, 100), "RGB", "a.png")
    """
    outer = getattr(_local, "scope", None)
    if outer is not None:
        inner, before = copies, outer["copies"]
        outer["copies"] = lambda mode: max(_count(before, mode), _count(inner, mode))
        try:
            yield
        finally:
            outer["copies"] = before
        return
    _local.scope = {"copies": copies, "held": 0}
    try:
        yield
    finally:
        held = _local.scope["held"]
        _local.scope = None
        if held:
            if held >= _TRIM_BYTES:
                _return_freed_memory()
            with _cond:
                _state["used"] -= held
                _cond.notify_all()


def _return_freed_memory() -> None:
    """Gives memory freed by a large decode back to the operating system (glibc only).

    glibc keeps a separate heap per thread: 381 MB freed after a decode in one tf.data thread
    stayed resident while the next huge image was decoded in another, so four 9999 x 9999
    RGB PNGs decoded one at a time still peaked at 2 x 381 MB over the process (measured).
    ``malloc_trim`` returns the free pages of every heap. Elsewhere this does nothing.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        return None


def charge_decode(size: tuple[int, int], mode: str, path: str) -> None:
    """Charges a decode of ``size`` (width, height) in ``mode`` to the budget, waiting if needed.

    Called by the decoders just before pixels are decoded. Outside a :func:`decode_scope`
    only the limit is checked.

    Raises:
        ImageDecodeError: If this decode alone exceeds the budget.
    """
    scope = getattr(_local, "scope", None)
    nbytes = estimate_decode_bytes(size, mode, _count(scope["copies"], mode) if scope else 1)
    limit = decode_memory()
    if nbytes > limit:
        raise ImageDecodeError(
            path,
            f"decoding {size[0]}x{size[1]} pixels needs about {nbytes / 2**20:,.0f} MB, more "
            f"than the decode memory limit of {limit / 2**20:,.0f} MB (raise it with "
            "fracturenet.data.decode_budget.set_decode_memory or FRACTURENET_DECODE_MEMORY_MB)",
        )
    if scope is None:
        return
    with _cond:
        # a scope that already holds budget never waits (it could wait for itself)
        while not scope["held"] and _state["used"] and _state["used"] + nbytes > limit:
            _cond.wait()
        _state["used"] += nbytes
        scope["held"] += nbytes
