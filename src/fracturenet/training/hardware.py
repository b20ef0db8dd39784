"""Deprecated home of the hardware planning, which moved to :mod:`fracturenet.hardware`.

Hardware planning serves training and inference alike, so it lives below both. The old names
still work from here, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

from fracturenet import hardware as _hardware
from fracturenet._deprecation import moved_names

__all__: list[str] = []

__getattr__ = moved_names(__name__, dict.fromkeys(_hardware.__all__, "fracturenet.hardware"))
