"""Names of the layers every fracturenet classifier has, and how to find its parts.

A model from :func:`fracturenet.models.build_classifier` is one flat functional graph::

    image -> backbone_name_<backbone> -> [to_rgb] -> preprocessing -> <backbone layers>
          -> backbone_features
          -> head_pool -> head_dropout -> [head_dense] -> predictions

Example:
    >>> from fracturenet.models import build_classifier, backbone_of
    >>> model = build_classifier("vgg16", num_classes=3, input_shape=(32, 32, 3), weights=None)
    >>> backbone_of(model)
    'vgg16'
"""

from __future__ import annotations

from typing import Any

from fracturenet.exceptions import ModelFormatError

__all__ = ["HEAD_LAYERS", "backbone_layers", "backbone_of"]

#: Layer names of the classification head, in order (``head_norm`` and ``head_dense`` are
#: optional).
HEAD_LAYERS = ("head_pool", "head_norm", "head_dropout", "head_dense", "predictions")
PREPROCESSING_LAYER = "preprocessing"
FEATURES_LAYER = "backbone_features"
RGB_LAYER = "to_rgb"
#: Prefix of the ``Identity`` layer whose name records the backbone (standard Keras layers
#: have no free-form config, and the model must load without fracturenet).
BACKBONE_MARKER = "backbone_name_"


def backbone_marker(backbone: str) -> str:
    """Returns the name of the layer that records ``backbone`` in a classifier."""
    return f"{BACKBONE_MARKER}{backbone}"


def _layer_or_error(model: Any, name: str) -> Any:
    names = {layer.name for layer in getattr(model, "layers", [])}
    if name not in names:
        raise ModelFormatError(
            f"The model has no layer named {name!r}, so it was not built by "
            "fracturenet.models.build_classifier (or was rebuilt without its layer names). "
            f"Build it with build_classifier or load it with load_model. "
            f"Received: model={getattr(model, 'name', model)!r}"
        )
    return model.get_layer(name)


def backbone_of(model: Any) -> str:
    """Returns the backbone name recorded in a classifier.

    Works on loaded models too: the name is that of an ``Identity`` layer
    ``backbone_name_<backbone>`` (in models saved by fracturenet 0.1, a field of the
    ``"preprocessing"`` layer's config).

    Args:
        model: A model built by ``build_classifier`` (or loaded by ``load_model``).

    Returns:
        The backbone name, e.g. ``"resnet50"``.

    Raises:
        ModelFormatError: If the model records no backbone.

    Example:
        >>> from fracturenet.models import build_classifier, backbone_of
        >>> backbone_of(build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 1),
        ...                              weights=None))
        'vgg16'
    """
    for layer in getattr(model, "layers", []):
        if layer.name.startswith(BACKBONE_MARKER):
            return layer.name[len(BACKBONE_MARKER) :]
    layer = _layer_or_error(model, PREPROCESSING_LAYER)
    name = layer.get_config().get("backbone")  # models saved by fracturenet 0.1
    if not name:
        raise ModelFormatError(
            "The model records no backbone name (no 'backbone_name_<backbone>' layer). "
            f"Received: model={model.name!r}"
        )
    return name


def backbone_layers(model: Any) -> list[Any]:
    """Returns the backbone's layers of a classifier, bottom to top.

    These are the layers strictly between ``"preprocessing"`` and ``"head_pool"``, so the
    input, channel-mapping, preprocessing and head layers are excluded.

    Args:
        model: A model built by ``build_classifier``.

    Returns:
        The list of layers, in the model's topological order.

    Raises:
        ModelFormatError: If the model lacks the fracturenet layer names.

    Example:
        >>> from fracturenet.models import build_classifier, backbone_layers
        >>> model = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3),
        ...                          weights=None)
        >>> [layer.name for layer in backbone_layers(model)][:2]
        ['block1_conv1', 'block1_conv2']
    """
    _layer_or_error(model, PREPROCESSING_LAYER)
    _layer_or_error(model, "head_pool")
    names = [layer.name for layer in model.layers]
    start = names.index(PREPROCESSING_LAYER) + 1
    stop = names.index("head_pool")
    return [layer for layer in model.layers[start:stop] if layer.name != FEATURES_LAYER]
