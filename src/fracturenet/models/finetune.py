"""Fine-tuning controls: which backbone layers train, and a summary of parameters.

The backbone's BatchNormalization layers stay frozen (``trainable=False`` makes Keras run
them in inference mode), as the Keras transfer-learning guide recommends: updating their
batch statistics on a small dataset destroys what the pretrained network learned. Only a
backbone trained from random weights should pass ``train_batchnorm=True``.

Example:
    >>> from fracturenet.models import build_classifier, set_trainable, trainable_summary
    >>> model = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3),
    ...                          weights=None, feature_norm=False)
    >>> trainable_summary(model)["trainable_params"]  # head only: 512 * 2 + 2
    1026
    >>> set_trainable(model, 1)  # top block: block5_conv1..3
    >>> trainable_summary(model)["trainable_params"]
    7080450
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from fracturenet.models.layout import HEAD_LAYERS, backbone_layers, backbone_of
from fracturenet.models.registry import get_backbone

__all__ = ["block_start_index", "set_trainable", "trainable_summary"]


def block_start_index(model: keras.Model, top_blocks: int) -> int:
    """Returns the index (in :func:`backbone_layers`) where the top ``top_blocks`` start.

    Args:
        model: A model from ``build_classifier`` or ``load_model``.
        top_blocks: Number of blocks counted from the top, ``0`` to ``len(spec.blocks)``.

    Returns:
        The index of the first backbone layer of those blocks (``len`` for 0 blocks).

    Raises:
        ValueError: If ``top_blocks`` is out of range or the block boundaries are missing.

    Example:
        >>> from fracturenet.models import build_classifier, backbone_layers, block_start_index
        >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        >>> backbone_layers(m)[block_start_index(m, 2)].name
        'block4_conv1'
    """
    spec = get_backbone(backbone_of(model))
    layers = backbone_layers(model)
    count = len(spec.blocks)
    if (
        isinstance(top_blocks, bool)
        or not isinstance(top_blocks, int)
        or not 0 <= top_blocks <= count
    ):
        raise ValueError(
            f"Argument `policy` as a number of top blocks must be an int from 0 to {count} for "
            f"backbone {spec.name!r}. Received: policy={top_blocks!r}"
        )
    if top_blocks == 0:
        return len(layers)
    names = [layer.name for layer in layers]
    if spec.block_boundary == "end":
        if top_blocks == count:
            return 0
        end = spec.blocks[count - top_blocks - 1]
        if end not in names:
            raise ValueError(
                f"Backbone {spec.name!r} has no block-end layer {end!r} (its registry entry "
                f"names blocks this model lacks). Received: policy={top_blocks!r}"
            )
        return names.index(end) + 1
    prefix = spec.blocks[count - top_blocks]
    for index, lname in enumerate(names):
        if lname.startswith(prefix):
            return index
    raise ValueError(
        f"Backbone {spec.name!r} has no layer starting with {prefix!r} (its registry entry "
        f"names blocks this model lacks). Received: policy={top_blocks!r}"
    )


def set_trainable(model: keras.Model, policy: str | int, *, train_batchnorm: bool = False) -> None:
    """Chooses which backbone layers train; the head always trains, BatchNorm by default never.

    Recompile the model after calling this for the change to take effect in ``fit``.

    Args:
        model: A model from ``build_classifier`` or ``load_model``.
        policy: ``"none"`` (freeze the backbone), ``"all"`` (unfreeze it), an int ``N``
            (unfreeze the top ``N`` blocks of ``spec.blocks``) or a backbone layer name
            (unfreeze from that layer to the top).
        train_batchnorm: Let unfrozen BatchNormalization layers train (and update their
            statistics). Keep the default for pretrained weights (the Keras transfer-learning
            rule: BatchNorm stays in inference mode); set it for a backbone trained from
            random weights, whose BatchNorm statistics mean nothing yet. Defaults to `False`.

    Raises:
        ValueError: If ``policy`` is not one of these (the message says which are valid).

    Example:
        >>> from fracturenet.models import build_classifier, set_trainable
        >>> m = build_classifier("resnet50", num_classes=2, input_shape=(32, 32, 3),
        ...                      weights=None)
        >>> set_trainable(m, "conv5_block3_1_conv")
        >>> m.get_layer("conv5_block3_1_conv").trainable, m.get_layer("conv5_block3_1_bn").trainable
        (True, False)
    """
    layers = backbone_layers(model)
    names = [layer.name for layer in layers]
    if isinstance(policy, str) and policy in ("none", "all"):
        start = len(layers) if policy == "none" else 0
    elif isinstance(policy, int) and not isinstance(policy, bool):
        start = block_start_index(model, policy)
    elif isinstance(policy, str) and policy in names:
        start = names.index(policy)
    else:
        spec = get_backbone(backbone_of(model))
        raise ValueError(
            "Argument `policy` must be 'none', 'all', an int from 0 to "
            f"{len(spec.blocks)} (top blocks) or the name of a layer of the {spec.name!r} "
            f"backbone (e.g. {names[len(names) // 2]!r}). Received: policy={policy!r}"
        )
    model.trainable = True
    in_backbone = {id(layer) for layer in layers}
    for layer in model.layers:  # head always trains; input, to_rgb, preprocessing never
        if id(layer) not in in_backbone:
            layer.trainable = layer.name in HEAD_LAYERS
    for index, layer in enumerate(layers):
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = index >= start and (train_batchnorm or not is_bn)


def _count(weights: list[Any]) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


def trainable_summary(model: keras.Model) -> dict[str, Any]:
    """Counts trainable and frozen parameters of a model.

    Args:
        model: Any Keras model.

    Returns:
        ``{"trainable_params", "non_trainable_params", "total_params",
        "trainable_layers"}``; ``trainable_layers`` lists the names of layers with
        trainable weights, in model order.

    Example:
        >>> from fracturenet.models import build_classifier, trainable_summary
        >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        >>> trainable_summary(m)["trainable_layers"]  # the head: feature norm + classifier
        ['head_norm', 'predictions']
    """
    trainable = _count(model.trainable_weights)
    frozen = _count(model.non_trainable_weights)
    return {
        "trainable_params": trainable,
        "non_trainable_params": frozen,
        "total_params": trainable + frozen,
        "trainable_layers": [layer.name for layer in model.layers if layer.trainable_weights],
    }
