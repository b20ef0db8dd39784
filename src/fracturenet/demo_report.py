"""Deprecated home of the demo's HTML report, which moved to
:mod:`fracturenet.workflows.demo_report`.

The old names still work from here, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

from fracturenet._deprecation import moved_names

_MOVED = ("write_demo_report", "phantom_contact_sheet")

__all__: list[str] = []

__getattr__ = moved_names(__name__, dict.fromkeys(_MOVED, "fracturenet.workflows.demo_report"))
