"""Where a classifier comes from: backbone, input size, precision, weights, versions."""

from __future__ import annotations

import platform
from typing import Any

__all__ = ["model_provenance"]


def model_provenance(model: Any) -> dict[str, Any]:
    """Backbone, input size, precision, weights source and library versions of a model.

    Entries that cannot be read from ``model`` (e.g. a plain Keras model) are left out.

    Example:
        >>> from fracturenet.models import build_classifier
        >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        >>> p = model_provenance(m)
        >>> p["backbone"], p["input_shape"], p["precision"], p["weights"]["source"]
        ('vgg16', [32, 32, 3], 'float32', 'none')
    """
    import keras

    from fracturenet._version import __version__
    from fracturenet.exceptions import ModelFormatError
    from fracturenet.models import backbone_of, weights_info

    out: dict[str, Any] = {}
    try:
        out["backbone"] = backbone_of(model)
    except (ModelFormatError, ValueError, AttributeError):
        pass
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, tuple):
        out["input_shape"] = list(shape[1:])
    policy = getattr(model, "dtype_policy", None)
    if policy is not None:
        out["precision"] = getattr(policy, "name", str(policy))
    if weights_info(model) is not None:
        out["weights"] = weights_info(model)
    out["versions"] = {
        "fracturenet": __version__,
        "keras": keras.__version__,
        "tensorflow": _tf_version(),
        "python": platform.python_version(),
    }
    return out


def _tf_version() -> str | None:
    try:
        import tensorflow as tf
    except ImportError:
        return None
    return tf.__version__
