"""Deprecated home of the demo, which moved to :mod:`fracturenet.workflows`.

The old names still work from here, with a :class:`DeprecationWarning`;
``fracturenet.run_demo`` works without one.
"""

from __future__ import annotations

from fracturenet._deprecation import moved_names

_MOVED = ("DemoSettings", "DemoResult", "run_demo", "default_cache_dir", "QUICK", "STANDARD")

__all__: list[str] = []

__getattr__ = moved_names(__name__, dict.fromkeys(_MOVED, "fracturenet.workflows"))
