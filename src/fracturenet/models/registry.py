"""The backbone registry: one frozen :class:`BackboneSpec` per supported backbone.

The registry is an explicit dictionary filled by plain :func:`register_backbone` calls.
The built-in backbones (see :mod:`fracturenet.models.backbones`) are registered lazily, the
first time the registry is read, so importing this module does no work.

Example:
    >>> from fracturenet.models import get_backbone, list_backbones
    >>> "resnet50" in list_backbones()
    True
    >>> spec = get_backbone("resnet50")
    >>> spec.preprocessing, spec.cam_layer
    ('caffe', 'conv5_block3_out')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fracturenet.exceptions import UnknownBackboneError

__all__ = [
    "BackboneSpec",
    "PREPROCESSING_MODES",
    "get_backbone",
    "list_backbones",
    "register_backbone",
]

#: Preprocessing modes understood by :class:`fracturenet.models.BackbonePreprocessing`.
PREPROCESSING_MODES = ("caffe", "torch", "tf", "none")

_REGISTRY: dict[str, BackboneSpec] = {}
_BUILTINS_LOADED = False


@dataclass(frozen=True)
class BackboneSpec:
    """Everything fracturenet needs to know about one backbone.

    Attributes:
        name: Registry name, lower case (``"resnet50"``).
        constructor: ``keras.applications`` callable accepting ``include_top``,
            ``weights`` and ``input_tensor``.
        preprocessing: How raw 0-255 RGB pixels are scaled for this backbone: ``"caffe"``
            (RGB->BGR, ImageNet mean subtracted), ``"torch"`` (0-1, ImageNet mean/std),
            ``"tf"`` (-1..1) or ``"none"`` (the Keras model rescales internally).
        default_input_size: Side length the ImageNet weights were trained at.
        min_input_size: Smallest side length the architecture accepts.
        cam_layer: Name of the layer whose 4-D output Grad-CAM should use. The factory adds
            an identity layer named ``"backbone_features"`` after the backbone; use that
            name where the last feature map comes from an auto-named Keras layer.
        blocks: Block boundaries for partial unfreezing, bottom to top. With
            ``block_boundary="start"`` each entry is a prefix of the first layer name of a
            block; with ``"end"`` each entry is the exact name of a block's last layer.
        weights_file: File name Keras downloads for the no-top ImageNet weights (stored in
            ``~/.keras/models/`` or ``$KERAS_HOME/models/``). Empty if there is none.
        weights_url: URL Keras downloads ``weights_file`` from.
        block_boundary: ``"start"`` or ``"end"``, see ``blocks``. Defaults to `"start"`.
        constructor_kwargs: Extra keyword arguments for ``constructor`` as ``(key, value)``
            pairs (a tuple, so the spec stays hashable). Defaults to `()`.
    """

    name: str
    constructor: Callable[..., Any]
    preprocessing: str
    default_input_size: int
    min_input_size: int
    cam_layer: str
    blocks: tuple[str, ...]
    weights_file: str = ""
    weights_url: str = ""
    block_boundary: str = "start"
    constructor_kwargs: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or self.name != self.name.lower():
            raise ValueError(
                "Argument `name` must be a non-empty lower-case string. "
                f"Received: name={self.name!r}"
            )
        if not callable(self.constructor):
            raise ValueError(
                "Argument `constructor` must be a callable such as keras.applications.VGG16. "
                f"Received: constructor={self.constructor!r}"
            )
        if self.preprocessing not in PREPROCESSING_MODES:
            raise ValueError(
                f"Argument `preprocessing` must be one of {list(PREPROCESSING_MODES)}. "
                f"Received: preprocessing={self.preprocessing!r}"
            )
        if self.block_boundary not in ("start", "end"):
            raise ValueError(
                "Argument `block_boundary` must be one of ['start', 'end']. "
                f"Received: block_boundary={self.block_boundary!r}"
            )
        if not self.blocks or not all(isinstance(b, str) and b for b in self.blocks):
            raise ValueError(
                "Argument `blocks` must be a non-empty tuple of layer-name strings. "
                f"Received: blocks={self.blocks!r}"
            )
        for field_name in ("default_input_size", "min_input_size"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"Argument `{field_name}` must be a positive int. "
                    f"Received: {field_name}={value!r}"
                )


def _ensure_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        from fracturenet.models.backbones import register_builtin_backbones

        register_builtin_backbones()


def register_backbone(spec: BackboneSpec) -> BackboneSpec:
    """Adds a backbone to the registry.

    Args:
        spec: The backbone description.

    Returns:
        The registered spec (so this can be used in an assignment).

    Raises:
        ValueError: If ``spec`` is not a :class:`BackboneSpec` or its name is taken.

    Example:
        >>> import dataclasses
        >>> from fracturenet.models import get_backbone, register_backbone
        >>> register_backbone(get_backbone("vgg16"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: A backbone named 'vgg16' is already registered; ...
        >>> custom = dataclasses.replace(get_backbone("vgg16"), name="my_vgg16")
        >>> # register_backbone(custom) would now make build_classifier("my_vgg16") work
    """
    if not isinstance(spec, BackboneSpec):
        raise ValueError(f"Argument `spec` must be a BackboneSpec. Received: spec={spec!r}")
    _ensure_builtins()
    if spec.name in _REGISTRY:
        raise ValueError(
            f"A backbone named {spec.name!r} is already registered; pick another name. "
            f"Received: spec.name={spec.name!r}"
        )
    _REGISTRY[spec.name] = spec
    return spec


def list_backbones() -> list[str]:
    """Returns the registered backbone names, sorted.

    Returns:
        The names accepted by :func:`get_backbone` and ``build_classifier``.

    Example:
        >>> from fracturenet.models import list_backbones
        >>> list_backbones()[:3]
        ['convnext_tiny', 'densenet121', 'efficientnetb0']
    """
    _ensure_builtins()
    return sorted(_REGISTRY)


def get_backbone(name: str) -> BackboneSpec:
    """Looks up a backbone by name.

    Args:
        name: Registered backbone name (see :func:`list_backbones`).

    Returns:
        The backbone's spec.

    Raises:
        UnknownBackboneError: If no backbone has that name (the message lists them).

    Example:
        >>> from fracturenet.models import get_backbone
        >>> get_backbone("vgg16").cam_layer
        'block5_conv3'
        >>> get_backbone("vgg61")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        fracturenet.exceptions.UnknownBackboneError: Unknown backbone 'vgg61'. ... Received: backbone='vgg61'
    """
    _ensure_builtins()
    spec = _REGISTRY.get(name) if isinstance(name, str) else None
    if spec is None:
        raise UnknownBackboneError(
            f"Unknown backbone {name!r}. Argument `backbone` must be one of "
            f"{list_backbones()}. Received: backbone={name!r}"
        )
    return spec
