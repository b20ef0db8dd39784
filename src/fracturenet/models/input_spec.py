"""The model's input description: what every consumer feeds a classifier, in one value.

A classifier carries an :class:`InputSpec`: its input ``height``, ``width`` and
``channels``, how images of another size are fitted to it (``resize_mode``, one of
:data:`fracturenet.data.RESIZE_MODES`) and the backbone's pixel ``preprocessing`` (done
inside the model; recorded so a consumer outside Keras knows what the graph expects).
:func:`~fracturenet.models.build_classifier` records it, the Trainer records the mode it
trained with, :func:`~fracturenet.models.save_model` writes it into the metadata and
:func:`~fracturenet.models.load_model` gives it back; training, evaluation, prediction,
explanation and export read it with :func:`input_spec` (timm's ``resolve_data_config`` in
spirit) instead of re-deriving it from ``model.input_shape``.

Example:
    >>> from fracturenet.models import build_classifier, input_spec
    >>> model = build_classifier("vgg16", num_classes=2, input_shape=(32, 48, 1),
    ...                          weights=None, resize_mode="stretch")
    >>> spec = input_spec(model)
    >>> spec.size, spec.channels, spec.resize_mode, spec.preprocessing
    ((32, 48), 1, 'stretch', 'caffe')
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fracturenet.data.resize import RESIZE_MODES
from fracturenet.exceptions import ModelFormatError
from fracturenet.models.layout import backbone_of
from fracturenet.models.registry import PREPROCESSING_MODES, get_backbone

__all__ = ["InputSpec", "input_spec"]

#: The resize mode of models that record none (every model saved before the spec existed
#: was trained on letterboxed images: the Trainer's pipeline had no other mode).
DEFAULT_RESIZE_MODE = "letterbox"

# The spec each live model carries (weak keys, so models are still freed); set by
# build_classifier, the Trainer and load_model, read by input_spec.
_SPECS: weakref.WeakKeyDictionary[Any, InputSpec] = weakref.WeakKeyDictionary()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_resize_mode(resize_mode: Any) -> str:
    """Returns ``resize_mode`` if it is one of :data:`~fracturenet.data.RESIZE_MODES`.

    Raises:
        ValueError: Naming the argument and the accepted values.
    """
    if resize_mode not in RESIZE_MODES:
        raise ValueError(
            f"Argument `resize_mode` must be one of {list(RESIZE_MODES)}. "
            f"Received: resize_mode={resize_mode!r}"
        )
    return resize_mode


@dataclass(frozen=True)
class InputSpec:
    """What a classifier takes as input, and how images are fitted to it.

    Attributes:
        height: Input height in pixels.
        width: Input width in pixels.
        channels: 1 (greyscale) or 3 (RGB).
        resize_mode: How images of another size are fitted to ``(height, width)``: one of
            :data:`fracturenet.data.RESIZE_MODES`. Defaults to `"letterbox"`.
        preprocessing: The backbone's pixel scaling, applied inside the model (one of
            :data:`fracturenet.models.PREPROCESSING_MODES`): inputs are raw 0-255 pixels.
            Defaults to `"none"`.

    Raises:
        ValueError: If a field is invalid (the message names it).

    Example:
        >>> spec = InputSpec(64, 32, 3, resize_mode="stretch", preprocessing="torch")
        >>> spec.shape, spec.size
        ((64, 32, 3), (64, 32))
        >>> InputSpec.from_dict(spec.to_dict()) == spec
        True
        >>> InputSpec(64, 32, 2)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Argument `channels` must be 1 or 3. Received: channels=2
    """

    height: int
    width: int
    channels: int
    resize_mode: str = DEFAULT_RESIZE_MODE
    preprocessing: str = "none"

    def __post_init__(self) -> None:
        for name in ("height", "width"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(
                    f"Argument `{name}` must be a positive int. Received: {name}={value!r}"
                )
        if self.channels not in (1, 3) or not _is_int(self.channels):
            raise ValueError(
                f"Argument `channels` must be 1 or 3. Received: channels={self.channels!r}"
            )
        check_resize_mode(self.resize_mode)
        if self.preprocessing not in PREPROCESSING_MODES:
            raise ValueError(
                f"Argument `preprocessing` must be one of {list(PREPROCESSING_MODES)}. "
                f"Received: preprocessing={self.preprocessing!r}"
            )

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)``, the ``image_size`` of :func:`fracturenet.data.make_dataset`."""
        return (self.height, self.width)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)``, the model's input shape without the batch axis."""
        return (self.height, self.width, self.channels)

    def replace(self, **changes: Any) -> InputSpec:
        """Returns a copy with some fields changed (validated like the constructor)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Returns the spec as a JSON-serialisable dictionary."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> InputSpec:
        """Builds a spec from :meth:`to_dict`'s dictionary.

        Args:
            values: ``{"height": ..., "width": ..., "channels": ..., "resize_mode": ...,
                "preprocessing": ...}``; the last two may be missing (their defaults).

        Returns:
            The spec.

        Raises:
            ValueError: If a key is unknown or missing, or a value invalid.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(values, Mapping):
            raise ValueError(
                f"Argument `values` must be a mapping with keys {names}. "
                f"Received: values={values!r}"
            )
        unknown = sorted(set(values) - set(names))
        missing = [n for n in ("height", "width", "channels") if n not in values]
        if unknown or missing:
            raise ValueError(
                f"Argument `values` must have the keys {names} (the last two optional); "
                f"unknown: {unknown}, missing: {missing}. Received: values={dict(values)!r}"
            )
        return cls(**values)


def _remember_input_spec(model: Any, spec: InputSpec) -> None:
    """Attaches ``spec`` to ``model`` (read back by :func:`input_spec`)."""
    _SPECS[model] = spec


def _from_metadata(meta: Mapping[str, Any]) -> InputSpec:
    if meta.get("input_spec") is not None:
        return InputSpec.from_dict(meta["input_spec"])
    # metadata written before the spec existed: input_shape, backbone/preprocessing, and
    # the resize_mode the Trainer wrote (always "letterbox")
    shape = meta.get("input_shape")
    if not isinstance(shape, (list, tuple)) or len(shape) != 3:
        raise ModelFormatError(
            "The metadata describes no input (neither `input_spec` nor a 3-item "
            f"`input_shape`). Received: input_shape={shape!r}"
        )
    preprocessing = meta.get("preprocessing")
    if preprocessing is None and meta.get("backbone"):
        preprocessing = get_backbone(meta["backbone"]).preprocessing
    return InputSpec(
        int(shape[0]),
        int(shape[1]),
        int(shape[2]),
        resize_mode=meta.get("resize_mode") or DEFAULT_RESIZE_MODE,
        preprocessing=preprocessing or "none",
    )


def _from_model(model: Any) -> InputSpec:
    try:
        spec = _SPECS.get(model)
    except TypeError:  # not weak-referenceable (None, a number...): not a model
        spec = None
    if spec is not None:
        return spec
    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple) or len(shape) != 4 or None in shape[1:]:
        raise ModelFormatError(
            "Argument `model` must take (batch, height, width, channels) images of a fixed "
            f"size. Received: input_shape={shape!r}"
        )
    _, h, w, c = shape
    return InputSpec(
        int(h),
        int(w),
        int(c),
        resize_mode=DEFAULT_RESIZE_MODE,
        preprocessing=get_backbone(backbone_of(model)).preprocessing,
    )


def input_spec(model_or_metadata: Any) -> InputSpec:
    """Resolves the input description of a classifier or of a saved model's metadata.

    Like timm's ``resolve_data_config(model=...)``: the description the model carries when
    there is one (recorded by :func:`~fracturenet.models.build_classifier`, the Trainer or
    :func:`~fracturenet.models.load_model`), else one made from what the model records:
    ``model.input_shape``, the preprocessing of the backbone named by its
    ``backbone_name_<backbone>`` layer, and ``"letterbox"`` (what models saved before the
    description existed were trained with).

    Args:
        model_or_metadata: A model from ``build_classifier``/``load_model``, the metadata
            dictionary of :func:`~fracturenet.models.read_metadata` (its ``input_spec``, or
            for older files its ``input_shape``, ``preprocessing`` and ``resize_mode``), or
            an :class:`InputSpec` (returned as it is).

    Returns:
        The :class:`InputSpec`.

    Raises:
        ModelFormatError: If the model or metadata does not describe its input (a plain
            Keras model without the ``backbone_name_<backbone>`` layer, say).
        ValueError: If a recorded value is invalid.

    Example:
        >>> from fracturenet.models import build_classifier, input_spec
        >>> m = build_classifier("resnet50", num_classes=2, input_shape=(32, 32, 3),
        ...                      weights=None)
        >>> input_spec(m)
        InputSpec(height=32, width=32, channels=3, resize_mode='letterbox', preprocessing='caffe')
        >>> input_spec({"input_shape": [64, 48, 1], "backbone": "vgg16"}).size
        (64, 48)
    """
    if isinstance(model_or_metadata, InputSpec):
        return model_or_metadata
    if isinstance(model_or_metadata, Mapping):
        return _from_metadata(model_or_metadata)
    return _from_model(model_or_metadata)


def resolve_input_spec(model: Any, resize_mode: str | None = None) -> InputSpec:
    """The model's :func:`input_spec`, with ``resize_mode`` when given (validated).

    For consumers that accept any Keras model taking fixed-size raw pixels (the Trainer with
    a model-building callable, the Predictor, evaluation): a model that describes no input
    gets its ``input_shape``, ``"letterbox"`` and preprocessing ``"none"`` (whatever it
    does to the pixels happens inside it).

    Raises:
        ModelFormatError: If the model's input is not ``(batch, height, width, channels)``
            of fixed size.
        ValueError: If ``resize_mode`` is not one of the accepted modes.
    """
    if resize_mode is not None:
        check_resize_mode(resize_mode)
    try:
        spec = input_spec(model)
    except (ModelFormatError, ValueError):
        shape = getattr(model, "input_shape", None)
        if not isinstance(shape, tuple) or len(shape) != 4 or None in shape[1:]:
            raise
        spec = InputSpec(int(shape[1]), int(shape[2]), int(shape[3]))
    return spec if resize_mode is None else spec.replace(resize_mode=resize_mode)


def resolve_resize_mode(model: Any, resize_mode: str | None) -> str:
    """``resize_mode`` when given (validated), else the model's, else ``"letterbox"``.

    For consumers that accept any Keras model (explanation, the Predictor, the Trainer with
    a model-building callable): a model that describes no input is fitted with letterbox.
    """
    if resize_mode is not None:
        return check_resize_mode(resize_mode)
    try:
        return input_spec(model).resize_mode
    except (ModelFormatError, ValueError):
        return DEFAULT_RESIZE_MODE
