"""Deprecated home of the hardware planning, which moved to :mod:`fracturenet.hardware`.

Hardware planning serves training and inference alike, so it lives below both. The old names
still work from here, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

from fracturenet._deprecation import moved_names

_MOVED = (
    "HardwareInfo",
    "ExecutionPlan",
    "detect_hardware",
    "plan_execution",
    "apply_plan",
    "is_chief",
    "PRECISIONS",
    "STRATEGIES",
)

__all__: list[str] = []

__getattr__ = moved_names(__name__, dict.fromkeys(_MOVED, "fracturenet.hardware"))
