"""Is a heatmap faithful to the model? Deletion and insertion AUC, and a method ranking.

Deletion and insertion follow Petsiuk, Das and Saenko (2018), "RISE: Randomized Input
Sampling for Explanation of Black-box Models", BMVC. Pixels are ranked by heat (ties broken
by a fixed random order, not raster order); ``steps`` times, the next ``1/steps`` of them is

- **deleted**: replaced by the deletion baseline, by default black (zeros in raw 0-255
  pixels, i.e. what the letterbox padding already looks like to the model);
- **inserted**: copied from the image into the insertion baseline, by default a Gaussian
  blur of the image (sigma = max(H, W) / 45, about RISE's sigma 5 at 224 px).

The curve is the model's probability for the target class after each step, and the score
is the area under it over the fraction of pixels changed (trapezoid rule), so both lie in
``[0, 1]``. A faithful map has a LOW deletion AUC (the probability collapses once the hot
pixels go) and a HIGH insertion AUC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fracturenet.exceptions import ExplainError

__all__ = [
    "BASELINES",
    "Faithfulness",
    "deletion_insertion",
    "random_heatmaps",
    "heat_in_mask_ratio",
]

BASELINES = ("black", "blur")


@dataclass(frozen=True)
class Faithfulness:
    """Deletion and insertion results for a batch of heatmaps.

    Attributes:
        deletion_auc: ``(N,)`` area under the deletion curve (lower is better).
        insertion_auc: ``(N,)`` area under the insertion curve (higher is better).
        deletion_curves: ``(N, steps + 1)`` target probability as pixels are deleted.
        insertion_curves: ``(N, steps + 1)`` target probability as pixels are inserted.
        fractions: ``(steps + 1,)`` fraction of pixels changed at each point.
    """

    deletion_auc: np.ndarray
    insertion_auc: np.ndarray
    deletion_curves: np.ndarray
    insertion_curves: np.ndarray
    fractions: np.ndarray


def _baseline(images: np.ndarray, kind: str, name: str) -> np.ndarray:
    if kind == "black":
        return np.zeros_like(images)
    if kind == "blur":
        from scipy.ndimage import gaussian_filter

        sigma = max(images.shape[1:3]) / 45.0
        return gaussian_filter(images, sigma=(0, sigma, sigma, 0), mode="nearest")
    raise ExplainError(
        f"Argument `{name}` must be one of {list(BASELINES)}. Received: {name}={kind!r}"
    )


def _target_probabilities(
    model: Any, batch: np.ndarray, targets: np.ndarray, kind: str, batch_size: int
):
    outs = []
    for i in range(0, len(batch), batch_size):
        probs = np.asarray(model(batch[i : i + batch_size], training=False), dtype=np.float32)
        if kind == "sigmoid":
            probs = np.concatenate([1.0 - probs, probs], axis=1)
        outs.append(probs)
    probs = np.concatenate(outs)
    return probs if targets is None else probs[np.arange(len(probs)), targets]


def deletion_insertion(
    model: Any,
    images: Any,
    heatmaps: Any,
    *,
    targets: Sequence[int] | None = None,
    steps: int = 32,
    deletion_baseline: str = "black",
    insertion_baseline: str = "blur",
    batch_size: int = 64,
    seed: int = 0,
) -> Faithfulness:
    """Scores heatmaps by deleting and inserting pixels in order of heat (RISE, 2018).

    Args:
        model: The classifier the heatmaps explain (raw 0-255 pixels in, probabilities out).
        images: ``(N, H, W, C)`` images at the model's input size, as the model saw them.
        heatmaps: ``(N, H, W)`` maps on the model input, e.g. ``explain(...).input_heatmaps``.
        targets: Class index per image. Defaults to `None`: the predicted class.
        steps: Number of deletion/insertion steps. Defaults to `32`.
        deletion_baseline: ``"black"`` or ``"blur"``. Defaults to `"black"`.
        insertion_baseline: ``"black"`` or ``"blur"``. Defaults to `"blur"`.
        batch_size: Images per model call. Defaults to `64`.
        seed: Seed of the order among pixels of equal heat. Defaults to `0`.

    Returns:
        A :class:`Faithfulness` with per-image AUCs and curves.

    Raises:
        ExplainError: When shapes disagree, ``steps`` < 1, or a baseline is unknown.

    Example:
        >>> import keras, numpy as np
        >>> x = keras.Input((8, 8, 1))
        >>> p = keras.layers.GlobalAveragePooling2D()(x)
        >>> model = keras.Model(x, keras.layers.Dense(2, activation="softmax")(p))
        >>> f = deletion_insertion(model, np.ones((1, 8, 8, 1)), np.ones((1, 8, 8)), steps=4)
        >>> f.deletion_curves.shape, bool(0 <= f.deletion_auc[0] <= 1)
        ((1, 5), True)
    """
    from fracturenet.explain._graph import flatten_model
    from fracturenet.explain.scores import head_kind

    images = np.asarray(images, dtype=np.float32)
    heat = np.asarray(heatmaps, dtype=np.float64)
    if images.ndim != 4 or heat.shape != images.shape[:3]:
        raise ExplainError(
            "Arguments `images` (N, H, W, C) and `heatmaps` (N, H, W) must match. "
            f"Received: images.shape={images.shape}, heatmaps.shape={heat.shape}"
        )
    if not isinstance(steps, int) or steps < 1:
        raise ExplainError(f"Argument `steps` must be an int >= 1. Received: steps={steps!r}")
    kind = head_kind(flatten_model(model))
    deleted_into = _baseline(images, deletion_baseline, "deletion_baseline")
    inserted_into = _baseline(images, insertion_baseline, "insertion_baseline")
    if targets is None:
        targets = _target_probabilities(model, images, None, kind, batch_size).argmax(axis=1)
    targets = np.asarray(targets, dtype=np.int64)
    n, h, w = heat.shape
    pixels = h * w
    counts = np.round(np.linspace(0, pixels, steps + 1)).astype(np.int64)
    tiebreak = np.random.default_rng(seed).permutation(pixels)
    curves = {"deletion": [], "insertion": []}
    for i in range(n):
        order = np.lexsort((tiebreak, -np.nan_to_num(heat[i]).ravel()))
        rank = np.empty(pixels, dtype=np.int64)
        rank[order] = np.arange(pixels)
        changed = (rank[None, :] < counts[:, None]).reshape(steps + 1, h, w, 1)
        deletion = np.where(changed, deleted_into[i], images[i])
        insertion = np.where(changed, images[i], inserted_into[i])
        both = np.concatenate([deletion, insertion]).astype(np.float32)
        probs = _target_probabilities(model, both, np.full(len(both), targets[i]), kind, batch_size)
        curves["deletion"].append(probs[: steps + 1])
        curves["insertion"].append(probs[steps + 1 :])
    fractions = counts / pixels
    deletion_curves = np.stack(curves["deletion"])
    insertion_curves = np.stack(curves["insertion"])
    return Faithfulness(
        deletion_auc=np.trapezoid(deletion_curves, fractions, axis=1).astype(np.float32),
        insertion_auc=np.trapezoid(insertion_curves, fractions, axis=1).astype(np.float32),
        deletion_curves=deletion_curves,
        insertion_curves=insertion_curves,
        fractions=fractions,
    )


def random_heatmaps(shape: tuple[int, int, int], *, seed: int = 0) -> np.ndarray:
    """Uniform random maps in ``[0, 1)``: the baseline a real method must beat.

    Args:
        shape: ``(N, H, W)``.
        seed: Random seed. Defaults to `0`.

    Returns:
        float32 array of ``shape``.

    Example:
        >>> random_heatmaps((2, 3, 4)).shape
        (2, 3, 4)
    """
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def heat_in_mask_ratio(heatmap: Any, mask: Any) -> float:
    """Mean heat inside a region divided by mean heat outside it.

    Above 1 means the map concentrates on the region (e.g. a phantom's fracture mask); the
    ratio does not depend on how large the region is.

    Args:
        heatmap: ``(H, W)`` non-negative map.
        mask: ``(H, W)`` boolean region, neither empty nor the whole image.

    Returns:
        The ratio; ``inf`` when all heat is inside, ``nan`` when the map is all zeros.

    Raises:
        ExplainError: When shapes differ or the mask is empty or full.

    Example:
        >>> import numpy as np
        >>> heat = np.zeros((4, 4)); heat[:2] = 1.0; heat[2:] = 0.25
        >>> heat_in_mask_ratio(heat, heat == 1.0)
        4.0
    """
    heat = np.asarray(heatmap, dtype=np.float64)
    region = np.asarray(mask, dtype=bool)
    if heat.shape != region.shape or heat.ndim != 2:
        raise ExplainError(
            "Arguments `heatmap` and `mask` must be 2-D with the same shape. "
            f"Received: heatmap.shape={heat.shape}, mask.shape={region.shape}"
        )
    if region.all() or not region.any():
        raise ExplainError(
            "Argument `mask` must mark some but not all pixels. "
            f"Received: mask with {int(region.sum())} of {region.size} pixels set"
        )
    inside, outside = float(heat[region].mean()), float(heat[~region].mean())
    if outside == 0.0:
        return float("nan") if inside == 0.0 else float("inf")
    return inside / outside
