"""After training a two-class model: choose its decision threshold on the validation data.

Called once by the Trainer, on the restored best weights, before ``model.keras`` is
written: the validation images are predicted, :func:`~fracturenet.models.choose_threshold`
applies the rule, and the model carries the result
(:func:`~fracturenet.models.decision_threshold_of`), so ``save_model`` stores it in the
``.keras`` file and the Predictor, ``predict`` and ``evaluate`` use it. Without validation
data (or with ``rule=None``) nothing is chosen, and the log says so: labels then come from
argmax. The threshold is chosen on the set that also picked the best epoch; evaluate it on
images that took no part in either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from fracturenet.models.decision import (
    DecisionThreshold,
    check_threshold_rule,
    choose_threshold,
    remember_decision_threshold,
)

__all__ = ["check_decision_arguments", "choose_after_training", "predict_labelled"]


def check_decision_arguments(rule: Any, positive_class: Any) -> None:
    """Validates ``Trainer.fit(decision_threshold=..., positive_class=...)`` where they enter."""
    if rule is not None:
        try:
            check_threshold_rule(rule)
        except ValueError:
            raise ValueError(
                "Argument `decision_threshold` must be 'youden', 'sensitivity:T' or "
                f"'specificity:T' with T in (0, 1], or None. Received: decision_threshold={rule!r}"
            ) from None
    if positive_class is not None and not isinstance(positive_class, (str, int)):
        raise ValueError(
            "Argument `positive_class` must be a class name, an index 0/1 or None. "
            f"Received: positive_class={positive_class!r}"
        )


def _batches(data: Any, batch_size: int) -> Iterable[tuple[Any, Any]]:
    if isinstance(data, tuple) and len(data) >= 2:
        x, y = data[0], data[1]
        return (
            (x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size)
        )
    return ((b[0], b[1]) for b in data)


def predict_labelled(model: Any, data: Any, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, probabilities (n, 2))`` of a binary model over ``(x, y)`` or a dataset.

    One-hot labels are turned into indices; a single sigmoid output into two columns.
    """
    import keras

    labels, probs = [], []
    for x, y in _batches(data, batch_size):
        out = keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float64)
        if out.shape[-1] == 1:
            out = np.concatenate([1.0 - out, out], axis=-1)
        y = np.asarray(y)
        labels.append(np.argmax(y, axis=-1) if y.ndim == 2 and y.shape[-1] > 1 else y.reshape(-1))
        probs.append(out)
    return np.concatenate(labels).astype(np.int64), np.concatenate(probs)


def choose_after_training(
    model: Any,
    val: Any,
    *,
    rule: str | None,
    positive_class: str | int | None,
    class_names: Sequence[str] | None,
    log: Callable[[str], None],
    batch_size: int = 32,
) -> DecisionThreshold | None:
    """Chooses and attaches ``model``'s decision threshold on ``val``; returns it (or None).

    Args:
        model: The trained model (best weights restored).
        val: The validation pipeline or ``(x, y)`` arrays the Trainer used, or ``None``.
        rule: A rule of :func:`~fracturenet.models.choose_threshold`, or ``None`` (none).
        positive_class: Name or index of the positive class, or ``None`` (the minority
            class of the validation labels).
        class_names: The two class names, or ``None``.
        log: Where to say what was chosen.
        batch_size: Batch size for ``(x, y)`` arrays. Defaults to `32`.
    """
    if int(model.output_shape[-1]) > 2:
        return None
    if rule is None:
        remember_decision_threshold(model, None)
        log("decision threshold: none chosen (decision_threshold=None); labels come from argmax")
        return None
    if val is None:
        remember_decision_threshold(model, None)
        log(
            "decision threshold: none chosen (no validation data to choose it on); labels "
            "come from argmax, which is rarely the operating point wanted on skewed classes"
        )
        return None
    y, p = predict_labelled(model, val, batch_size)
    try:
        decision = choose_threshold(
            y, p, rule=rule, positive_class=positive_class, class_names=class_names, split="val"
        )
    except ValueError as err:  # e.g. one class only in a tiny validation set
        remember_decision_threshold(model, None)
        log(f"decision threshold: none chosen ({err}); labels come from argmax")
        return None
    remember_decision_threshold(model, decision)
    log(f"decision threshold: {decision.describe()}; saved with the model")
    return decision
