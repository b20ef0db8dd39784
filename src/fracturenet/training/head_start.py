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

__all__ = ["start_head"]


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
        class_weight: The loss's class weights.
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
    context.log(
        "head: standardised features (training-set statistics), L2 logistic regression "
        f"{how}; " + ("started from it" if written else "its statistics only")
    )
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
