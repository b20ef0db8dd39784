"""Where a classifier comes from: backbone, input size, precision, weights, versions."""

from __future__ import annotations

import platform
import weakref
from typing import Any

__all__ = ["model_provenance", "remember_training_data", "training_data_of"]

# The images each model was trained and selected on (see training_data_of); weak keys, so
# models are still freed.
_TRAINING_DATA: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def remember_training_data(model: Any, record: dict[str, Any] | None) -> None:
    """Attaches the record of the images ``model`` was trained on (``None``: nothing).

    Called by the Trainer when it fits ``model`` and by
    :func:`~fracturenet.models.load_model` from the saved metadata; read back with
    :func:`training_data_of`.

    Args:
        model: A Keras model.
        record: ``{"sets": {name: {...}}}`` as the Trainer writes it (see
            :func:`training_data_of`), or ``None``.
    """
    if record is not None:
        _TRAINING_DATA[model] = dict(record)


def training_data_of(model: Any) -> dict[str, Any] | None:
    """The images a model was trained and selected on, or ``None`` when not recorded.

    Recorded by the Trainer (and saved in ``model.keras``'s metadata as ``training_data``):
    ``{"sets": {"train": s, "val": s}}`` where each ``s`` is a
    :func:`~fracturenet.data.fingerprint.content_set` record (content digests of the
    files; ``None`` values for inputs without files, such as arrays) plus
    ``used_for_selection``: whether the set picked the best epoch, stopped training early
    or steered the fine-tuning. Models saved before fracturenet recorded it have none.

    Example:
        >>> from fracturenet.models import build_classifier
        >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        >>> training_data_of(m) is None
        True
        >>> remember_training_data(m, {"sets": {"train": {"n": 3, "used_for_selection": False}}})
        >>> training_data_of(m)["sets"]["train"]["n"]
        3
    """
    return _TRAINING_DATA.get(model)


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
