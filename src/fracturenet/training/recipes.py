"""Training recipes: how the Trainer trains, chosen from where the weights come from.

Two recipes, picked by ``Trainer.fit(recipe="auto")`` and written to the log and to
``config.json``:

* ``"transfer"`` (pretrained weights: ImageNet or a weights file): phase 1 trains the head
  on the frozen backbone (on cached features when the input allows); phase 2, if asked for,
  restores phase 1's best weights, unfreezes the top blocks with BatchNorm kept in inference
  mode, and trains at a low learning rate that warms up over the first epoch and then
  decays (cosine). A validation loss that blows up during fine-tuning is detected: the
  best weights are restored and the rate is divided by 10 (see :class:`BlowUpGuard`).
* ``"scratch"`` (``weights=None``): there is nothing to transfer, so a head on frozen random
  features is a poor model (measured: chance level on the phantoms). All layers train end to
  end from the first epoch, BatchNorm included, with AdamW, a linear warm-up and cosine
  decay, and label smoothing. The epochs of both phases (``epochs + fine_tune_epochs``) are
  spent this way.

Example:
    >>> r = resolve_recipe("auto", pretrained=False)
    >>> r.name, r.label_smoothing, r.warmup_epochs, r.lr
    ('scratch', 0.1, 1, 0.001)
    >>> resolve_recipe("auto", pretrained=True).name
    'transfer'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import keras

from fracturenet.models.losses import SparseCategoricalCrossentropyWithSmoothing

__all__ = [
    "RECIPES",
    "BlowUpGuard",
    "Recipe",
    "recipe_loss",
    "recipe_optimizer",
    "resolve_recipe",
    "warmup_cosine",
]

#: Accepted values of ``Trainer.fit(recipe=...)``.
RECIPES = ("auto", "transfer", "scratch")


@dataclass(frozen=True)
class Recipe:
    """The resolved recipe of one ``fit``, as recorded in ``config.json``.

    Attributes:
        name: ``"transfer"`` or ``"scratch"``.
        reason: Why this recipe was chosen, in words.
        label_smoothing: Label smoothing of the loss (0 for none).
        warmup_epochs: Epochs of linear learning-rate warm-up before the cosine decay.
        weight_decay: Decoupled weight decay (AdamW) of the end-to-end scratch phase.
        lr: The (peak) learning rate of phase 1: the end-to-end phase of ``"scratch"``, the
            head of ``"transfer"``.
    """

    name: str
    reason: str
    lr: float = 1e-3
    label_smoothing: float = 0.0
    warmup_epochs: int = 1
    weight_decay: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The recipe as a JSON-friendly dict."""
        return asdict(self)


def resolve_recipe(
    recipe: str,
    *,
    pretrained: bool | None,
    label_smoothing: float | None = None,
    warmup_epochs: int | None = None,
    lr: float | None = None,
) -> Recipe:
    """Chooses the recipe and its defaults.

    Args:
        recipe: ``"auto"``, ``"transfer"`` or ``"scratch"``.
        pretrained: Whether the backbone starts from pretrained weights; ``None`` when not
            known (a Keras model without fracturenet's provenance), which ``"auto"`` treats
            as pretrained.
        label_smoothing: Overrides the recipe's label smoothing (0.1 scratch, 0 transfer).
        warmup_epochs: Overrides the warm-up epochs (1 for both).
        lr: Overrides the phase-1 rate: 1e-3 (peak) for scratch; 1e-3 for the transfer
            head too, which on cached features starts from the fitted linear probe and
            refines it (measured on real ImageNet VGG16 features of Bone Break, grouped
            5-fold CV, accuracy after 10 epochs from the probe's 0.338: 0.337 at 1e-4,
            0.346 at 1e-3, 0.329 at 3e-3; the earlier 3e-3, chosen on random-feature
            phantoms for a head that started from random weights, undid the probe).

    Returns:
        The :class:`Recipe`.

    Raises:
        ValueError: For a value outside the accepted ones.

    Example:
        >>> resolve_recipe("scratch", pretrained=True).reason
        "recipe='scratch' was asked for"
    """
    if recipe not in RECIPES:
        raise ValueError(
            f"Argument `recipe` must be one of {list(RECIPES)}. Received: recipe={recipe!r}"
        )
    if label_smoothing is not None and not (
        isinstance(label_smoothing, (int, float)) and 0.0 <= label_smoothing < 1.0
    ):
        raise ValueError(
            "Argument `label_smoothing` must be None or a float in [0, 1). "
            f"Received: label_smoothing={label_smoothing!r}"
        )
    if warmup_epochs is not None and (
        isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, int) or warmup_epochs < 0
    ):
        raise ValueError(
            "Argument `warmup_epochs` must be None or an int >= 0. "
            f"Received: warmup_epochs={warmup_epochs!r}"
        )
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0):
        raise ValueError(f"Argument `lr` must be None or a float > 0. Received: lr={lr!r}")
    if recipe == "auto":
        if pretrained is False:
            name = "scratch"
            reason = "weights=None: no pretrained features to transfer, so all layers train"
        elif pretrained is None:
            name = "transfer"
            reason = "the model does not say where its weights came from: assumed pretrained"
        else:
            name = "transfer"
            reason = "pretrained weights: head first, then optional fine-tuning"
    else:
        name, reason = recipe, f"recipe={recipe!r} was asked for"
    scratch = name == "scratch"
    return Recipe(
        name=name,
        reason=reason,
        label_smoothing=float(
            label_smoothing if label_smoothing is not None else (0.1 if scratch else 0.0)
        ),
        warmup_epochs=int(warmup_epochs if warmup_epochs is not None else 1),
        weight_decay=0.05 if scratch else 0.0,
        lr=float(lr if lr is not None else 1e-3),
    )


def warmup_cosine(
    peak_lr: float, total_steps: int, warmup_steps: int, final_fraction: float = 0.01
) -> keras.optimizers.schedules.LearningRateSchedule:
    """A linear warm-up from 0 to ``peak_lr``, then a cosine decay to ``final_fraction``.

    Args:
        peak_lr: The rate reached at the end of the warm-up.
        total_steps: Optimizer steps of the whole phase.
        warmup_steps: Steps of the linear warm-up (0 for none).
        final_fraction: The last rate as a fraction of ``peak_lr``. Defaults to `0.01`.

    Returns:
        A Keras ``CosineDecay`` schedule (serialisable, resumable from ``iterations``).

    Example:
        >>> s = warmup_cosine(1e-3, total_steps=100, warmup_steps=10)
        >>> [round(float(s(step)), 6) for step in (0, 5, 10, 100)]
        [0.0, 0.0005, 0.001, 1e-05]
    """
    warmup_steps = max(0, min(int(warmup_steps), int(total_steps) - 1))
    decay = max(1, int(total_steps) - warmup_steps)
    if warmup_steps == 0:
        return keras.optimizers.schedules.CosineDecay(peak_lr, decay, alpha=final_fraction)
    return keras.optimizers.schedules.CosineDecay(
        0.0,
        decay,
        alpha=final_fraction,
        warmup_target=peak_lr,
        warmup_steps=warmup_steps,
    )


def recipe_optimizer(
    recipe: Recipe, lr: float, steps_per_epoch: int | None, epochs: int, *, end_to_end: bool
) -> keras.optimizers.Optimizer:
    """The optimizer of one phase: Adam for a head, AdamW + warm-up/cosine for the rest.

    Args:
        recipe: The resolved recipe.
        lr: The phase's (peak) learning rate.
        steps_per_epoch: Optimizer steps per epoch, or ``None`` when unknown (a dataset of
            unknown length): the rate is then constant.
        epochs: Epochs of the phase (the length of the schedule).
        end_to_end: ``True`` for the scratch phase and fine-tuning (scheduled), ``False``
            for a head on frozen features (plain Adam at ``lr``).

    Returns:
        An uncompiled Keras optimizer.
    """
    if not end_to_end or steps_per_epoch is None:
        return keras.optimizers.Adam(lr)
    schedule = warmup_cosine(
        lr, steps_per_epoch * max(1, epochs), steps_per_epoch * recipe.warmup_epochs
    )
    if recipe.weight_decay:
        return keras.optimizers.AdamW(schedule, weight_decay=recipe.weight_decay)
    return keras.optimizers.Adam(schedule)


def recipe_loss(binary: bool, num_classes: int, label_smoothing: float) -> Any:
    """The loss for integer labels, with label smoothing when asked for.

    Always a plain Keras loss name or a registered Keras loss object, never a closure, so a
    compiled model can be cloned (``keras.models.clone_model``), rebuilt from its config and
    loaded with ``compile=True``. Keras' sparse cross-entropy has no label smoothing, so the
    smoothed loss is :class:`~fracturenet.models.SparseCategoricalCrossentropyWithSmoothing`,
    which one-hot encodes the integer labels itself (``class_weight`` needs integer labels).

    Args:
        binary: One sigmoid output (labels 0/1) instead of a softmax.
        num_classes: Number of softmax outputs (kept for callers; the smoothed loss reads
            the class count from the predictions).
        label_smoothing: Smoothing in [0, 1).

    Returns:
        A Keras loss name or a registered Keras loss object.

    Example:
        >>> import numpy as np
        >>> loss = recipe_loss(False, 3, 0.1)
        >>> round(float(loss(np.array([0]), np.array([[0.9, 0.05, 0.05]]))), 4)
        0.2981
        >>> recipe_loss(False, 3, 0.0)
        'sparse_categorical_crossentropy'
    """
    if binary:
        if not label_smoothing:
            return "binary_crossentropy"
        return keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing)
    if not label_smoothing:
        return "sparse_categorical_crossentropy"
    return SparseCategoricalCrossentropyWithSmoothing(label_smoothing=label_smoothing)


def steps_per_epoch(data: Any, global_batch: int) -> int | None:
    """Optimizer steps in one epoch of ``data`` (arrays, a ``Manifest`` or a dataset)."""
    if isinstance(data, tuple):
        return max(1, math.ceil(len(data[0]) / global_batch))
    if hasattr(data, "paths") and hasattr(data, "labels"):
        return max(1, math.ceil(len(data.paths) / global_batch))
    cardinality = getattr(data, "cardinality", None)
    if cardinality is not None:
        n = int(cardinality())
        return n if n > 0 else None
    return None


class BlowUpGuard(keras.callbacks.Callback):
    """Stops a fine-tuning phase whose validation loss blows up, for the Trainer to recover.

    The loss has blown up when it exceeds ``factor`` times the reference (the best
    validation loss before fine-tuning) plus ``margin``. The guard then stops training;
    the Trainer restores the best weights, divides the learning rate by 10 and continues
    with the remaining epochs, at most ``retries`` times, and logs each step.

    Args:
        reference: The validation loss to stay near (phase 1's best).
        factor: Allowed ratio to ``reference``. Defaults to `1.5`.
        margin: Allowed absolute excess. Defaults to `0.1`.
        key: The logged loss to watch. Defaults to `"val_loss"`.
    """

    def __init__(
        self, reference: float, factor: float = 1.5, margin: float = 0.1, key: str = "val_loss"
    ) -> None:
        super().__init__()
        self.reference, self.factor, self.margin, self.key = reference, factor, margin, key
        self.tripped: tuple[int, float] | None = None

    @property
    def limit(self) -> float:
        """The largest loss accepted."""
        return self.reference * self.factor + self.margin

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        value = (logs or {}).get(self.key)
        if value is not None and (not math.isfinite(float(value)) or value > self.limit):
            self.tripped = (epoch + 1, float(value))
            self.model.stop_training = True
