"""Transfer phase 1 on cached features: start the head from the linear probe, keep its penalty.

The Trainer calls :func:`start_head` once the frozen features are at hand. It fits the
standardised, L2-regularised logistic regression of :mod:`fracturenet.training.linear_probe`
(penalty chosen by a grouped inner cross-validation of the training features), writes it
into the head and returns a context manager that holds the same L2 penalty on the
``"predictions"`` kernel while the head's epochs run, so they refine the probe instead of
drifting away from it into overfitting.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

from fracturenet.data.manifest import Manifest
from fracturenet.training.context import RunContext
from fracturenet.training.linear_probe import fit_linear_probe, write_probe

__all__ = ["PROBE_REFINE_LR", "start_head"]

#: The head's default rate after the probe start. Measured on real ImageNet VGG16 features
#: (grouped 5-fold CV, 10 epochs of Adam from the probe, with its penalty): Bone Break
#: accuracy 0.338 (probe) -> 0.337 at 1e-4, 0.346 at 1e-3, 0.329 at 3e-3; FracAtlas 96 px
#: AUROC (first three folds) 0.798 -> 0.798 at 1e-4, 0.789 at 1e-3, 0.782 at 3e-3. The
#: probe is already the penalised optimum: larger steps only move away from it.
PROBE_REFINE_LR = 1e-4


def start_head(
    context: RunContext,
    head: Any,
    features: np.ndarray,
    labels: np.ndarray,
    train: Any,
    class_weight: dict[int, float] | None,
    state: dict[str, Any] | None,
    seed: int,
) -> contextlib.AbstractContextManager[None]:
    """Fits the probe, writes it into ``head`` (unless resuming the head phase) and logs it.

    Args:
        context: The Trainer's run context (its log).
        head: The head from ``split_feature_extractor``.
        features: The training images' frozen features.
        labels: Their labels.
        train: The training input (a ``Manifest`` gives the groups of the inner folds).
        class_weight: Class weights turned into shifted intercepts (``None``: none; the
            Trainer passes ``None`` when a validation threshold sets the operating point).
        state: The resumed run's state, or ``None``.
        seed: Seed of the inner folds.

    Returns:
        A context manager that holds the probe's L2 penalty on the head's kernel.
    """
    outputs = int(head.output_shape[-1])
    groups = train.groups if isinstance(train, Manifest) and any(train.groups) else None
    probe = fit_linear_probe(
        features, labels, num_classes=max(outputs, 2), binary=outputs == 1, groups=groups,
        class_weight=class_weight, seed=seed,
    )  # fmt: skip
    resuming = bool(state and state.get("phase") == "head")
    written = False if resuming else write_probe(head, probe)
    if resuming and "head_norm" in {layer.name for layer in head.layers}:
        head.get_layer("head_norm").trainable = False  # statistics come with the checkpoint
    how = (
        f"C={probe.C:g} by {probe.folds}-fold inner CV "
        f"({'grouped' if groups is not None else 'ungrouped'}, log-loss)"
        if probe.folds
        else f"C={probe.C:g} (too few images per class for an inner CV)"
    )
    shifted = bool(class_weight) and len(set(class_weight.values())) > 1
    priors = "intercepts shifted by log(class weight)" if shifted else "no prior shift"
    context.log(
        "head: standardised features (training-set statistics), L2 logistic regression "
        f"{how}, {priors}; "
        + (f"started from it, refined at lr {PROBE_REFINE_LR:g} by default" if written
           else "its statistics only")
    )  # fmt: skip
    kernel = head.get_layer("predictions").kernel
    return _penalty(kernel, probe.l2(len(labels)))


@contextlib.contextmanager
def _penalty(variable: Any, factor: float) -> Iterator[None]:
    """Holds an L2 penalty on ``variable`` (not saved with the model: it is the phase's)."""
    before = variable.regularizer
    variable.regularizer = keras.regularizers.L2(factor)
    try:
        yield
    finally:
        variable.regularizer = before
