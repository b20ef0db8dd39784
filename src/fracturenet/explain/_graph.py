"""Model surgery explanations need: flattening, float32 copies, CAM layer lookup (private).

tf-keras-vis (0.8.7) cannot reach inside a backbone nested as a layer (its issues #63 and
#71) and only recognises float16 as mixed precision, so a ``mixed_bfloat16`` model breaks
its SciPy resizing. Both problems are solved here, before the model reaches tf-keras-vis.
"""

from __future__ import annotations

from typing import Any

import keras

from fracturenet.exceptions import ExplainError

_FLAT_HINT = (
    "Build the classifier as one flat functional graph, e.g. "
    "keras.Model(backbone.input, head(backbone.output)) or "
    "fracturenet.models.build_classifier(...), then copy the weights over with set_weights()."
)
# trailing layers that are not a feature map to weigh: pooling, cropping/padding (the map
# would no longer line up with the input), dropout
_NOT_CAM = (
    keras.layers.MaxPooling2D,
    keras.layers.AveragePooling2D,
    keras.layers.Cropping2D,
    keras.layers.ZeroPadding2D,
    keras.layers.Dropout,
    keras.layers.SpatialDropout2D,
)


def _is_graph_model(model: Any) -> bool:
    return isinstance(model, keras.Model) and hasattr(model, "_run_through_graph")


def flatten_model(model: keras.Model) -> keras.Model:
    """Returns ``model`` itself when flat, else a flat functional model sharing its layers.

    Raises:
        ExplainError: When the model (or a nested model) is subclassed and has no graph.
    """
    if not isinstance(model, keras.Model):
        raise ExplainError(
            f"Argument `model` must be a keras.Model. Received: model={type(model).__name__}"
        )
    nested = any(isinstance(layer, keras.Model) for layer in model.layers)
    if not nested and _is_graph_model(model) and not isinstance(model, keras.Sequential):
        return model

    def operation_fn(op: Any) -> Any:
        if isinstance(op, keras.Sequential):  # e.g. ConvNeXt's stem and downsampling blocks
            return lambda x, *args, **kwargs: _run_sequential(op, x, operation_fn)
        if isinstance(op, keras.Model):
            if not _is_graph_model(op):
                raise ExplainError(
                    f"Cannot flatten the nested model {op.name!r}: it is a subclassed model "
                    f"without a functional graph. {_FLAT_HINT} Received: model={model.name!r}"
                )
            return lambda *args, **kwargs: op._run_through_graph(
                args[0] if len(args) == 1 else list(args), operation_fn=operation_fn
            )
        return op

    if isinstance(model, keras.Sequential):
        x = inputs = keras.Input(shape=model.inputs[0].shape[1:], dtype=model.inputs[0].dtype)
        for layer in model.layers:
            x = operation_fn(layer)(x)
        return keras.Model(inputs, x, name=f"{model.name}_flat")
    if not _is_graph_model(model):
        raise ExplainError(
            f"Cannot explain the subclassed model {model.name!r}: it has no functional graph "
            f"to take a CAM layer from. {_FLAT_HINT} "
            f"Received: model={model.name!r}"
        )
    inputs = [keras.Input(shape=t.shape[1:], dtype=t.dtype, name=t.name) for t in model.inputs]
    try:
        outputs = model._run_through_graph(
            inputs[0] if len(inputs) == 1 else inputs, operation_fn=operation_fn
        )
        return keras.Model(
            inputs[0] if len(inputs) == 1 else inputs, outputs, name=f"{model.name}_flat"
        )
    except ExplainError:
        raise
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        raise ExplainError(
            f"Cannot flatten the nested model {model.name!r} ({err}). {_FLAT_HINT} "
            f"Received: model={model.name!r}"
        ) from err


def _run_sequential(model: keras.Sequential, x: Any, operation_fn: Any) -> Any:
    """Calls a nested Sequential's layers one by one, flattening any model inside it."""
    for layer in model.layers:
        x = operation_fn(layer)(x)
    return x


def is_reduced_precision(model: keras.Model) -> bool:
    """Whether any layer computes in a dtype other than float32 (e.g. ``mixed_bfloat16``)."""
    return any(layer.dtype_policy.compute_dtype not in ("float32", None) for layer in model.layers)


def has_shared_layers(model: keras.Model) -> bool:
    """Whether a layer is also called in another graph (e.g. after flattening)."""
    return any(len(getattr(layer, "_inbound_nodes", ())) > 1 for layer in model.layers)


def working_copy(model: keras.Model) -> keras.Model:
    """The model tf-keras-vis can use: ``model`` itself, or a clone with the same weights.

    A clone is made when a layer also belongs to another graph (tf-keras-vis reads
    ``layer.output``, which is then the other graph's tensor) or when layers compute in
    reduced precision (the clone computes in float32; mixed-precision weights are float32
    already, so nothing is lost).
    """
    reduced = is_reduced_precision(model)
    if not reduced and not has_shared_layers(model):
        return model

    def clone_function(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        if reduced and "dtype" in config:
            config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    # clone an uncompiled view of the graph: an explanation needs no loss or optimizer, so a
    # model compiled with objects Keras cannot rebuild (a user's closure loss) still works
    view = keras.Model(model.inputs, model.outputs, name=model.name)
    copy = keras.models.clone_model(view, clone_function=clone_function)
    copy.set_weights(model.get_weights())
    return copy


def _registry_cam_layer(model: keras.Model) -> str | None:
    try:  # the backbone registry lives in fracturenet.models (may not be installed yet)
        from fracturenet.models import backbone_of, get_backbone
    except ImportError:
        return None
    try:
        return get_backbone(backbone_of(model)).cam_layer
    except (ValueError, KeyError, AttributeError):  # not a fracturenet-built model
        return None


def find_cam_layer(model: keras.Model, layer: str | None = None) -> str:
    """Returns the name of the layer whose feature maps CAM methods weigh.

    Order: the explicit ``layer``, else the backbone registry, else the last layer with a
    4-D output that is not a trailing pooling, cropping, padding or dropout layer (the
    last convolution block).

    Raises:
        ExplainError: When ``layer`` is not in the model or is not 4-D, or none is found.
    """
    names = [item.name for item in model.layers]
    if layer is None:
        layer = _registry_cam_layer(model)
    if layer is None:
        candidates = [
            item.name
            for item in model.layers
            if len(item.output.shape) == 4 and not isinstance(item, keras.layers.InputLayer)
        ]
        while candidates and isinstance(model.get_layer(candidates[-1]), _NOT_CAM):
            candidates.pop()
        if not candidates:
            raise ExplainError(
                "No layer with a 4-D (batch, height, width, channels) output found for a "
                "class activation map; use method='saliency' or pass `layer=`. "
                f"Received: model={model.name!r}"
            )
        return candidates[-1]
    if layer not in names:
        raise ExplainError(
            f"Argument `layer` must name a layer of the model; the last 4-D layers are "
            f"{[n for n in names if len(model.get_layer(n).output.shape) == 4][-5:]}. "
            f"Received: layer={layer!r}"
        )
    if len(model.get_layer(layer).output.shape) != 4:
        raise ExplainError(
            "Argument `layer` must name a layer with a 4-D (batch, height, width, channels) "
            f"output. Received: layer={layer!r}"
        )
    return layer
