"""Frozen dataclasses describing what a run is made of: data, model and training.

They are plain values (no TensorFlow import), can be turned into dictionaries for the run
directory and rebuilt from them (``from_dict``), which is what the CLI's TOML configs and
``resume`` rely on.

Example:
    >>> from fracturenet.config import ModelConfig
    >>> cfg = ModelConfig(backbone="resnet50", num_classes=4, input_shape=(64, 64, 3))
    >>> cfg.to_dict()["backbone"]
    'resnet50'
    >>> ModelConfig.from_dict(cfg.to_dict()) == cfg
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["DataConfig", "ModelConfig", "TrainingConfig", "RunConfig"]

_T = TypeVar("_T", bound="_ConfigMixin")


class _ConfigMixin:
    def to_dict(self) -> dict[str, Any]:
        """Returns the config as a JSON-serialisable dictionary (tuples become lists)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[_T], values: dict[str, Any]) -> _T:
        """Builds the config from a dictionary, rejecting unknown keys by name.

        Args:
            values: Mapping of field names to values, e.g. from ``to_dict`` or a TOML file.

        Returns:
            The config instance.

        Raises:
            ValueError: If a key is not a field of this config.
        """
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(
                f"Unknown {cls.__name__} keys {unknown}. Valid keys: {sorted(names)}. "
                f"Received: {dict((k, values[k]) for k in unknown)}"
            )
        kwargs = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in values:
                v = values[f.name]
                kwargs[f.name] = tuple(v) if isinstance(v, list) else v
        return cls(**kwargs)


@dataclass(frozen=True)
class DataConfig(_ConfigMixin):
    """How images are found, decoded and fed.

    Attributes:
        path: Dataset root folder or CSV manifest.
        image_size: Side length (pixels) images are resized to. Defaults to `224`.
        resize_mode: ``"letterbox"`` (aspect kept, padded), ``"stretch"`` or ``"crop"``.
            Defaults to `"letterbox"`.
        batch_size: Batch size per step. Defaults to `32`.
        val_fraction: Fraction of the training data held out for validation when the
            layout has no validation split. Defaults to `0.2`.
        augment: Augmentation preset name or ``None``. Defaults to `"radiograph"`.
        on_error: ``"raise"`` or ``"skip"`` for unreadable images. Defaults to `"raise"`.
        seed: Seed for splits and shuffling. Defaults to `42`.
    """

    path: str = ""
    image_size: int = 224
    resize_mode: str = "letterbox"
    batch_size: int = 32
    val_fraction: float = 0.2
    augment: str | None = "radiograph"
    on_error: str = "raise"
    seed: int = 42


@dataclass(frozen=True)
class ModelConfig(_ConfigMixin):
    """Arguments of :func:`fracturenet.models.build_classifier`.

    Attributes:
        backbone: Registered backbone name. Defaults to `"vgg16"`.
        num_classes: Number of output classes. Defaults to `2`.
        input_shape: ``(height, width, channels)``. Defaults to `(224, 224, 3)`.
        weights: ``"imagenet"``, ``None`` or a path to a weights file. Defaults to `None`.
        pooling: ``"avg"``, ``"max"`` or ``"flatten"``. Defaults to `"avg"`.
        dropout: Dropout rate in the head. Defaults to `0.3`.
        dense_units: Width of an optional hidden dense layer. Defaults to `None`.
        resize_mode: How images are fitted to ``input_shape`` (``"letterbox"``,
            ``"stretch"`` or ``"crop"``), recorded in the model's input description.
            Defaults to `"letterbox"`.
    """

    backbone: str = "vgg16"
    num_classes: int = 2
    input_shape: tuple[int, int, int] = (224, 224, 3)
    weights: str | None = None
    pooling: str = "avg"
    dropout: float = 0.3
    dense_units: int | None = None
    resize_mode: str = "letterbox"


@dataclass(frozen=True)
class TrainingConfig(_ConfigMixin):
    """How the :class:`~fracturenet.training.Trainer` fits a model.

    Attributes:
        epochs: Head-only epochs (phase 1). Defaults to `10`.
        fine_tune_epochs: Epochs with the top blocks unfrozen (phase 2). Defaults to `0`.
        unfreeze: Top blocks (int) or layer name to unfreeze from in phase 2.
            Defaults to `2`.
        lr: Phase-1 learning rate. Defaults to `1e-3`.
        fine_tune_lr: Phase-2 learning rate. Defaults to `1e-5`.
        class_weight: ``"balanced"`` or ``None``. Defaults to `"balanced"`.
        early_stopping: Patience in epochs, or ``None`` to train all epochs.
            Defaults to `None`.
        monitor: Validation metric used to pick the best weights.
            Defaults to `"val_accuracy"`.
        precision: ``"auto"``, ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``.
            Defaults to `"auto"`.
        feature_cache: ``"auto"``, ``"memory"``, ``"disk"`` or ``"off"``.
            Defaults to `"auto"`.
        seed: Seed for weights init and shuffling. Defaults to `42`.
    """

    epochs: int = 10
    fine_tune_epochs: int = 0
    unfreeze: int | str = 2
    lr: float = 1e-3
    fine_tune_lr: float = 1e-5
    class_weight: str | None = "balanced"
    early_stopping: int | None = None
    monitor: str = "val_accuracy"
    precision: str = "auto"
    feature_cache: str = "auto"
    seed: int = 42


@dataclass(frozen=True)
class RunConfig(_ConfigMixin):
    """Everything a training run is made of; saved as ``config.json`` in the run directory."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:  # type: ignore[override]
        """Builds a run config from ``{"data": {...}, "model": {...}, "training": {...}}``."""
        unknown = sorted(set(values) - {"data", "model", "training"})
        if unknown:
            raise ValueError(
                f"Unknown RunConfig sections {unknown}. Valid sections: "
                f"['data', 'model', 'training']. Received: {unknown}"
            )
        return cls(
            data=DataConfig.from_dict(values.get("data", {})),
            model=ModelConfig.from_dict(values.get("model", {})),
            training=TrainingConfig.from_dict(values.get("training", {})),
        )
