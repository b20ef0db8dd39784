"""Deprecated home of :func:`cross_validate`, which moved to :mod:`fracturenet.workflows`.

Cross-validation trains models, so it is orchestration above training and evaluation. The old
name still works from here, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

from fracturenet._deprecation import moved_names

__all__: list[str] = []

__getattr__ = moved_names(__name__, {"cross_validate": "fracturenet.workflows"})
