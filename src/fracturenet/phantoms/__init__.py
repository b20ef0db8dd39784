"""Phantoms: the synthetic radiograph generator (a pipeline test bed, not medical data).

Procedurally drawn long bones with eight fracture patterns, written in the Bone Break folder
layout with a fracture mask per image, for the demo, the examples and the tests. The
generator builds on the data layer (it returns a :class:`~fracturenet.data.Manifest`); the
data layer does not import it. Only NumPy and Pillow are used.

Example:
    >>> import tempfile
    >>> from fracturenet.phantoms import make_synthetic_fractures
    >>> make_synthetic_fractures(tempfile.mkdtemp(), images_per_class=2, image_size=32).num_classes
    8
"""

from fracturenet.phantoms.generator import (
    PHANTOM_CLASSES,
    load_fracture_mask,
    make_synthetic_fractures,
    render_phantom,
)

__all__ = [
    "PHANTOM_CLASSES",
    "load_fracture_mask",
    "make_synthetic_fractures",
    "render_phantom",
]
