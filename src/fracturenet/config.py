"""One configuration model: frozen dataclasses whose fields are the library's arguments.

Each class mirrors one function exactly (same names, same defaults; a test keeps them equal):

* :class:`ModelConfig`: :func:`fracturenet.models.build_classifier`;
* :class:`DataConfig`: the keyword arguments of :func:`fracturenet.data.make_dataset`;
* :class:`TrainerConfig`: :class:`fracturenet.training.Trainer`'s keyword arguments that are
  plain values (not ``strategy``, ``hardware`` or ``class_names``);
* :class:`TrainingConfig`: the keyword arguments of :meth:`fracturenet.training.Trainer.fit`;
* :class:`RunConfig`: the four together.

They are plain values (no TensorFlow import) and round-trip through dictionaries
(``to_dict``/``from_dict``). ``kwargs()`` gives the arguments to pass on. The CLI's
``fracturenet train`` flags and TOML keys take their defaults from these classes, the
Trainer records ``ModelConfig`` and ``TrainingConfig`` fields in the run folder's
``config.json``, and resume compares those records.

Example:
    >>> from fracturenet.config import ModelConfig, TrainingConfig
    >>> cfg = ModelConfig("resnet50", num_classes=4, input_shape=(64, 64, 3), weights=None)
    >>> cfg.to_dict()["backbone"]
    'resnet50'
    >>> ModelConfig.from_dict(cfg.to_dict()) == cfg
    True
    >>> TrainingConfig(epochs=3).kwargs()["epochs"]
    3
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["DataConfig", "ModelConfig", "RunConfig", "TrainerConfig", "TrainingConfig"]

_T = TypeVar("_T", bound="_ConfigMixin")


class _ConfigMixin:
    def to_dict(self) -> dict[str, Any]:
        """Returns the config as a dictionary of plain values (``config.json`` writes tuples
        as lists; ``from_dict`` turns them back into tuples)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def kwargs(self) -> dict[str, Any]:
        """The fields as keyword arguments for the function the class mirrors."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

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
class ModelConfig(_ConfigMixin):
    """The arguments of :func:`fracturenet.models.build_classifier`, with its defaults.

    ``build_classifier(**config.kwargs())`` builds the model; the
    :class:`~fracturenet.training.Trainer` accepts the config instead of a model and builds
    it under its distribution strategy and precision.

    Attributes:
        backbone: Registered backbone name. Defaults to `"resnet50"`.
        num_classes: Number of output classes (``build_classifier`` requires it).
            Defaults to `2`.
        input_shape: ``(height, width, channels)``. Defaults to `(224, 224, 3)`.
        weights: ``"imagenet"``, ``None`` (random initialisation) or a path to a weights
            file. Defaults to `"imagenet"`.
        pooling: ``"avg"``, ``"max"`` or ``"flatten"``. Defaults to `"avg"`.
        dropout: Dropout rate in the head. Defaults to `0.3`.
        dense_units: Width of an optional hidden dense layer. Defaults to `None`.
        resize_mode: How images are fitted to ``input_shape`` (``"letterbox"``,
            ``"stretch"`` or ``"crop"``), recorded in the model's input description.
            Defaults to `"letterbox"`.
        freeze: Whether the backbone starts frozen. Defaults to `True`.
        binary: One sigmoid output for two classes. Defaults to `False`.
        name: The model's name. Defaults to `None` (derived from the backbone).
        feature_norm: Whether the head standardises the pooled features. Defaults to
            `None` (with pretrained weights, or a backbone without BatchNorm).
        allow_partial_weights: Accept a weights file that matches only part of the
            backbone. Defaults to `False`.
    """

    backbone: str = "resnet50"
    num_classes: int = 2
    input_shape: tuple[int, int, int] = (224, 224, 3)
    weights: str | None = "imagenet"
    pooling: str = "avg"
    dropout: float = 0.3
    dense_units: int | None = None
    resize_mode: str = "letterbox"
    freeze: bool = True
    binary: bool = False
    name: str | None = None
    feature_norm: bool | None = None
    allow_partial_weights: bool = False


@dataclass(frozen=True)
class DataConfig(_ConfigMixin):
    """The keyword arguments of :func:`fracturenet.data.make_dataset`, with its defaults.

    ``make_dataset(manifest, **config.kwargs())`` builds the pipeline.

    Attributes:
        image_size: Output side, or ``(height, width)``. Defaults to `224`.
        batch_size: Images per batch. Defaults to `32`.
        training: Shuffle and augment (a training pipeline). Defaults to `False`.
        augment: Augmentation preset name or ``None``. Defaults to `None`.
        shuffle: Shuffle; ``None`` follows ``training``. Defaults to `None`.
        cache: ``None`` (in memory), ``"off"`` or a cache file path. Defaults to `None`.
        seed: Seed of the shuffle and the augmentation. Defaults to `0`.
        resize_mode: ``"letterbox"``, ``"stretch"`` or ``"crop"``. Defaults to
            `"letterbox"`.
        on_error: ``"raise"`` or ``"skip"`` for unreadable images. Defaults to `"raise"`.
        channels: 1 (grey) or 3. Defaults to `3`.
        drop_remainder: Drop the last partial batch. Defaults to `False`.
        balanced: Sample classes equally often. Defaults to `False`.
    """

    image_size: int | tuple[int, int] = 224
    batch_size: int = 32
    training: bool = False
    augment: str | None = None
    shuffle: bool | None = None
    cache: str | None = None
    seed: int = 0
    resize_mode: str = "letterbox"
    on_error: str = "raise"
    channels: int = 3
    drop_remainder: bool = False
    balanced: bool = False


@dataclass(frozen=True)
class TrainerConfig(_ConfigMixin):
    """The plain-value keyword arguments of :class:`fracturenet.training.Trainer`.

    ``Trainer(model, **config.kwargs())``; ``strategy``, ``hardware`` and ``class_names``
    are objects or data, passed alongside.

    Attributes:
        run_dir: The run folder, or ``None`` for none. Defaults to `None`.
        overwrite: Reuse a non-empty run folder. Defaults to `False`.
        resume: Continue the run in ``run_dir``. Defaults to `False`.
        precision: ``"auto"``, ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``.
            Defaults to `"auto"`.
        seed: Seed of weights initialisation and shuffling. Defaults to `42`.
        verbose: 0 silent, 1 progress bars, 2 one line an epoch. Defaults to `1`.
        keep_checkpoints: ``"last"``, ``"all"`` or ``"none"``. Defaults to `"last"`.
    """

    run_dir: str | None = None
    overwrite: bool = False
    resume: bool = False
    precision: str = "auto"
    seed: int = 42
    verbose: int = 1
    keep_checkpoints: str = "last"


@dataclass(frozen=True)
class TrainingConfig(_ConfigMixin):
    """The keyword arguments of :meth:`fracturenet.training.Trainer.fit`, with its defaults.

    ``trainer.fit(train, val, **config.kwargs())``. The Trainer records these fields, as it
    resolved them, under ``fit`` in the run folder's ``config.json``.

    Attributes:
        epochs: Phase-1 epochs (head only with the transfer recipe; all layers with the
            scratch recipe). Defaults to `10`.
        fine_tune_epochs: Phase-2 epochs with the top blocks unfrozen. Defaults to `0`.
        unfreeze: Top blocks (int), a layer name or ``"all"`` for phase 2. Defaults to `2`.
        lr: Phase-1 learning rate; ``None`` takes the recipe's. Defaults to `None`.
        fine_tune_lr: Phase-2 learning rate. Defaults to `1e-5`.
        class_weight: ``"auto"`` (balanced when the classes are skewed), ``"balanced"``,
            ``"sqrt"``, ``"none"`` or ``None``. Defaults to `"auto"`.
        early_stopping: Patience in epochs, or ``None`` to train all epochs.
            Defaults to `None`.
        monitor: Validation metric that picks the best weights. Defaults to
            `"val_accuracy"`.
        feature_cache: ``"auto"``, ``"memory"``, ``"disk"`` or ``"off"``. Defaults to
            `"auto"`.
        feature_cache_dir: Folder of the disk feature cache. Defaults to `None`.
        batch_size: Images per step. Defaults to `32`.
        augment: Augmentation preset name or ``None``. Defaults to `None`.
        train_batchnorm: Whether BatchNorm trains in phase 2. Defaults to `None`.
        on_error: ``"raise"`` or ``"skip"`` for unreadable images. Defaults to `"raise"`.
        recipe: ``"auto"``, ``"transfer"`` or ``"scratch"``. Defaults to `"auto"`.
        label_smoothing: Overrides the recipe's. Defaults to `None`.
        warmup_epochs: Overrides the recipe's. Defaults to `None`.
        resize_mode: Overrides the model's resize mode. Defaults to `None`.
        decision_threshold: Rule choosing a two-class model's decision threshold on the
            validation data (``"youden"``, ``"sensitivity:T"``, ``"specificity:T"``) or
            ``None``. Defaults to `"youden"`.
        positive_class: The positive class (name or index) for the threshold; ``None``:
            the minority class. Defaults to `None`.
    """

    epochs: int = 10
    fine_tune_epochs: int = 0
    unfreeze: int | str = 2
    lr: float | None = None
    fine_tune_lr: float = 1e-5
    class_weight: str | None = "auto"
    early_stopping: int | None = None
    monitor: str = "val_accuracy"
    feature_cache: str = "auto"
    feature_cache_dir: str | None = None
    batch_size: int = 32
    augment: str | None = None
    train_batchnorm: bool | None = None
    on_error: str = "raise"
    recipe: str = "auto"
    label_smoothing: float | None = None
    warmup_epochs: int | None = None
    resize_mode: str | None = None
    decision_threshold: str | None = "youden"
    positive_class: str | int | None = None


_SECTIONS = {
    "data": DataConfig,
    "model": ModelConfig,
    "trainer": TrainerConfig,
    "training": TrainingConfig,
}


@dataclass(frozen=True)
class RunConfig(_ConfigMixin):
    """A training run's four configurations: data pipeline, model, Trainer and fit.

    Example:
        >>> from fracturenet.config import RunConfig
        >>> cfg = RunConfig.from_dict({"model": {"backbone": "smallcnn", "weights": None}})
        >>> cfg.model.backbone, cfg.training.epochs
        ('smallcnn', 10)
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:  # type: ignore[override]
        """Builds a run config from ``{"model": {...}, "training": {...}, ...}`` sections."""
        unknown = sorted(set(values) - set(_SECTIONS))
        if unknown:
            raise ValueError(
                f"Unknown RunConfig sections {unknown}. Valid sections: "
                f"{sorted(_SECTIONS)}. Received: {unknown}"
            )
        return cls(**{k: c.from_dict(values.get(k, {})) for k, c in _SECTIONS.items()})
