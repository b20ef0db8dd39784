"""``compare_methods``: rank explanation methods by deletion and insertion AUC."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fracturenet.exceptions import ExplainError
from fracturenet.explain.faithfulness import deletion_insertion, random_heatmaps

__all__ = ["DEFAULT_METHODS", "RANDOM", "MethodScore", "MethodComparison", "compare_methods"]

DEFAULT_METHODS = ("gradcam", "gradcam++", "faster-scorecam", "layercam", "saliency", "smoothgrad")
RANDOM = "random"


@dataclass(frozen=True)
class MethodScore:
    """Mean faithfulness of one method over the images (``random`` is the baseline).

    Attributes:
        method: Method name, or ``"random"`` for uniform random maps.
        deletion_auc: Mean deletion AUC (lower is better).
        insertion_auc: Mean insertion AUC (higher is better).
        deletion_sem: Standard error of the mean deletion AUC.
        insertion_sem: Standard error of the mean insertion AUC.
        seconds: Wall time to compute the maps (0 for random).
    """

    method: str
    deletion_auc: float
    insertion_auc: float
    deletion_sem: float
    insertion_sem: float
    seconds: float

    @property
    def score(self) -> float:
        """``insertion_auc - deletion_auc``: the ranking key (higher is better)."""
        return self.insertion_auc - self.deletion_auc


@dataclass(frozen=True)
class MethodComparison:
    """Methods ranked best first by :attr:`MethodScore.score`, with the random baseline.

    Attributes:
        rows: One :class:`MethodScore` per method, best first.
        n_images: Number of images scored.
        steps: Deletion/insertion steps used.
    """

    rows: tuple[MethodScore, ...]
    n_images: int
    steps: int

    @property
    def ranking(self) -> list[str]:
        """Method names, best first."""
        return [row.method for row in self.rows]

    def to_markdown(self) -> str:
        """Renders the ranking as a Markdown table.

        Returns:
            The table, with a note on how to read it.
        """
        lines = [
            "| rank | method | insertion AUC (higher better) | deletion AUC (lower better) "
            "| insertion - deletion | seconds |",
            "|---:|---|---:|---:|---:|---:|",
        ]
        for rank, row in enumerate(self.rows, start=1):
            lines.append(
                f"| {rank} | {row.method} | {row.insertion_auc:.3f} ± {row.insertion_sem:.3f} "
                f"| {row.deletion_auc:.3f} ± {row.deletion_sem:.3f} | {row.score:.3f} "
                f"| {row.seconds:.1f} |"
            )
        lines.append(
            f"\n{self.n_images} images, {self.steps} steps; ± is the standard error. "
            "A method that does not beat `random` is not explaining this model."
        )
        return "\n".join(lines)


def _sem(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def compare_methods(
    model: Any,
    images: Any,
    *,
    methods: Sequence[str] = DEFAULT_METHODS,
    target: Any = "predicted",
    class_names: Sequence[str] | None = None,
    steps: int = 32,
    seed: int = 0,
    batch_size: int = 8,
    method_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
) -> MethodComparison:
    """Ranks explanation methods on a set of images by deletion and insertion AUC.

    Every method explains the same class per image; a uniform random map is scored as
    the baseline (name ``"random"``). See :mod:`fracturenet.explain.faithfulness` for the
    metrics (black deletion baseline, blurred insertion baseline).

    Args:
        model: The classifier (raw 0-255 pixels in).
        images: ``(N, H, W[, C])`` images or a sequence of them, as for ``explain``.
        methods: Method names from ``METHODS``. Defaults to :data:`DEFAULT_METHODS`
            (full Score-CAM is left out as it is slow; add ``"scorecam"`` to include it).
        target: As for ``explain``. Defaults to `"predicted"`.
        class_names: As for ``explain``. Defaults to `None`.
        steps: Deletion/insertion steps. Defaults to `32`.
        seed: Seed of the random baseline, tie order and SmoothGrad noise. Defaults to `0`.
        batch_size: Images per explain call. Defaults to `8`.
        method_kwargs: Extra keyword arguments per method, e.g.
            ``{"faster-scorecam": {"max_N": 4}}``. Defaults to `None`.

    Returns:
        A :class:`MethodComparison`, best method first.

    Raises:
        ExplainError: For an unknown method (listing the valid ones) or bad arguments.

    Example:
        >>> import keras, numpy as np
        >>> x = keras.Input((8, 8, 3))
        >>> f = keras.layers.Conv2D(2, 3, padding="same")(x)
        >>> p = keras.layers.GlobalAveragePooling2D()(f)
        >>> model = keras.Model(x, keras.layers.Dense(2, activation="softmax")(p))
        >>> result = compare_methods(model, np.ones((2, 8, 8, 3)), methods=["gradcam"], steps=4)
        >>> sorted(result.ranking)
        ['gradcam', 'random']
    """
    from fracturenet.explain.cam import METHODS, explain
    from fracturenet.explain.inputs import fit_images

    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ExplainError(
            f"Argument `methods` must be a non-empty list drawn from {list(METHODS)}. "
            f"Received: methods={list(methods)!r}"
        )
    extra = dict(method_kwargs or {})
    fitted, _ = fit_images(model, images)
    rows, targets = [], target
    for method in methods:
        kwargs = dict(extra.get(method, {}))
        if method == "smoothgrad":
            kwargs.setdefault("seed", seed)
        start = time.perf_counter()
        result = explain(
            model,
            fitted,
            method=method,
            target=targets,
            class_names=class_names,
            batch_size=batch_size,
            **kwargs,
        )
        seconds = time.perf_counter() - start
        targets = result.target_index  # every method explains the same classes
        scores = deletion_insertion(
            model, fitted, result.input_heatmaps, targets=targets, steps=steps, seed=seed
        )
        rows.append(_row(method, scores, seconds))
    noise = random_heatmaps(fitted.shape[:3], seed=seed)
    scores = deletion_insertion(model, fitted, noise, targets=targets, steps=steps, seed=seed)
    rows.append(_row(RANDOM, scores, 0.0))
    rows.sort(key=lambda row: row.score, reverse=True)
    return MethodComparison(rows=tuple(rows), n_images=len(fitted), steps=steps)


def _row(method: str, scores: Any, seconds: float) -> MethodScore:
    return MethodScore(
        method=method,
        deletion_auc=float(scores.deletion_auc.mean()),
        insertion_auc=float(scores.insertion_auc.mean()),
        deletion_sem=_sem(scores.deletion_auc),
        insertion_sem=_sem(scores.insertion_auc),
        seconds=seconds,
    )
