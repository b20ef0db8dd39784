"""Deprecated home of the phantom generator, which moved to :mod:`fracturenet.phantoms`.

The old names still work from here, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

from fracturenet._deprecation import moved_names

_PUBLIC = ("PHANTOM_CLASSES", "render_phantom", "make_synthetic_fractures", "load_fracture_mask")

__all__: list[str] = []

__getattr__ = moved_names(
    __name__,
    {
        **dict.fromkeys(_PUBLIC, "fracturenet.phantoms"),
        "NO_FRACTURE": "fracturenet.phantoms.generator",
    },
)
