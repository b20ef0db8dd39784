"""Class weights for imbalanced datasets (the ``class_weight`` argument of ``Model.fit``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from fracturenet.data.manifest import Manifest

__all__ = ["CLASS_WEIGHT_MODES", "class_weights"]

#: Accepted values of ``mode``.
CLASS_WEIGHT_MODES: tuple[str, ...] = ("balanced", "sqrt", "none")


def class_weights(
    manifest_or_labels: Manifest | Sequence[int] | np.ndarray,
    mode: str = "balanced",
    *,
    num_classes: int | None = None,
) -> dict[int, float]:
    """Computes one weight per class so that rare classes count as much as common ones.

    ``"balanced"`` gives ``n / (k * n_c)`` (the scikit-learn formula: the weighted count of
    every class is ``n / k``); ``"sqrt"`` its square root (a milder correction); ``"none"``
    all ones. A class with no image gets weight ``1.0`` (it never contributes to the loss).

    Args:
        manifest_or_labels: A :class:`Manifest` (its labels and class count are used) or
            integer labels.
        mode: One of :data:`CLASS_WEIGHT_MODES`. Defaults to `"balanced"`.
        num_classes: Number of classes for plain labels. Defaults to `None`
            (``max(label) + 1``; a manifest's own class count always wins).

    Returns:
        ``{class_index: weight}`` for every class index ``0..k-1``.

    Raises:
        ValueError: If ``mode`` is unknown, labels are empty or negative, or a label is
            ``>= num_classes``.

    Example:
        >>> class_weights([0, 0, 0, 1])
        {0: 0.6666666666666666, 1: 2.0}
    """
    if mode not in CLASS_WEIGHT_MODES:
        raise ValueError(f"mode must be one of {CLASS_WEIGHT_MODES}. Received: mode={mode!r}")
    if isinstance(manifest_or_labels, Manifest):
        labels = list(manifest_or_labels.labels)
        num_classes = manifest_or_labels.num_classes
    else:
        labels = [int(x) for x in np.asarray(manifest_or_labels).ravel()]
    if not labels:
        raise ValueError("class_weights needs at least one label. Received: 0 labels")
    if min(labels) < 0:
        raise ValueError(f"labels must be >= 0. Received: min(labels)={min(labels)}")
    k = num_classes if num_classes is not None else max(labels) + 1
    if max(labels) >= k:
        raise ValueError(f"labels must be < num_classes={k}. Received: max(labels)={max(labels)}")
    counts = Counter(labels)
    n = len(labels)
    out: dict[int, float] = {}
    for c in range(k):
        if mode == "none" or counts[c] == 0:
            out[c] = 1.0
        else:
            w = n / (k * counts[c])
            out[c] = float(np.sqrt(w)) if mode == "sqrt" else float(w)
    return out
