"""Does the heat land on the fracture? Localisation scores of maps against expert outlines.

All scores compare a map and a boolean mask of the same shape, normally both on the model
input grid (``explain(...).input_heatmaps`` and :func:`~fracturenet.data.fit_mask`), so a
letterbox or crop is accounted for exactly as the model saw the image.

* **Pointing game** (Zhang et al. 2016, "Top-down Neural Attention by Excitation Backprop",
  ECCV): a hit when the hottest pixel lies within ``tolerance`` pixels of the mask. When
  several pixels share the maximum, the score is the fraction of them that hit (the
  expected hit under a random tie-break; an all-zero map scores the region's area share).
* **Energy share**: the map's total heat inside the mask over its total heat (maps are
  clipped at 0; ``nan`` for an all-zero map).
* **IoU / Dice at top k %**: the map cut at its hottest ``k`` % of pixels (ties broken in a
  seeded random order) against the mask.

Baselines a method must beat, on the same images: :func:`gaussian_map` (a centred blob),
:func:`~fracturenet.explain.random_heatmaps` and :func:`brightness_map` (grey intensity:
what a model that only sees bright bone would highlight).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fracturenet.exceptions import ExplainError

__all__ = [
    "LocalisationScores",
    "bootstrap_mean",
    "brightness_map",
    "gaussian_map",
    "localisation_scores",
]

METRICS = ("pointing", "energy", "iou", "dice")


@dataclass(frozen=True)
class LocalisationScores:
    """Per-image localisation scores of one method (arrays of length ``N``).

    Attributes:
        pointing: Pointing-game hit (``0``-``1``; fractional only on tied maxima).
        energy: Share of the map's heat inside the mask (``nan`` for an all-zero map).
        iou: IoU of the top-``top_k`` map region with the mask.
        dice: Dice of the top-``top_k`` map region with the mask.
        tolerance: The pointing-game tolerance in pixels of the map grid.
        top_k: The fraction of pixels kept for IoU and Dice.
    """

    pointing: np.ndarray
    energy: np.ndarray
    iou: np.ndarray
    dice: np.ndarray
    tolerance: float
    top_k: float

    def metric(self, name: str) -> np.ndarray:
        """The per-image values of one of ``pointing``, ``energy``, ``iou``, ``dice``."""
        if name not in METRICS:
            raise ExplainError(
                f"Argument `name` must be one of {list(METRICS)}. Received: name={name!r}"
            )
        return getattr(self, name)


def _check(maps: Any, masks: Any) -> tuple[np.ndarray, np.ndarray]:
    heat = np.asarray(maps, dtype=np.float64)
    region = np.asarray(masks)
    if heat.ndim == 2:
        heat, region = heat[None], region[None]
    if heat.ndim != 3 or heat.shape != region.shape:
        raise ExplainError(
            "Arguments `maps` and `masks` must be (N, H, W) (or one (H, W)) with the same shape; "
            "map masks onto the model input with fracturenet.data.fit_mask. "
            f"Received: maps.shape={np.shape(maps)}, masks.shape={np.shape(masks)}"
        )
    region = region.astype(bool)
    empty = [i for i in range(len(region)) if not region[i].any()]
    if empty:
        raise ExplainError(
            "Argument `masks` must mark at least one pixel per image (an outline cut off by "
            f"a crop leaves none; drop such images). Received: empty masks at {empty[:5]}"
        )
    return np.clip(np.nan_to_num(heat), 0.0, None), region


def localisation_scores(
    maps: Any, masks: Any, *, tolerance: float = 15.0, top_k: float = 0.05, seed: int = 0
) -> LocalisationScores:
    """Scores maps against masks: pointing game, energy share, IoU and Dice at top k %.

    Args:
        maps: ``(N, H, W)`` non-negative maps (negative values are clipped to 0).
        masks: ``(N, H, W)`` boolean regions on the same grid, none empty.
        tolerance: Pointing-game tolerance: the hottest pixel may lie this many pixels
            (Euclidean, of the map grid) outside the mask. Defaults to `15.0` (Zhang et al.'s
            15 px at 224 px input).
        top_k: Fraction of pixels, hottest first, kept for IoU and Dice. Defaults to `0.05`.
        seed: Seed of the order among pixels of equal heat at the top-k cut. Defaults to `0`.

    Returns:
        A :class:`LocalisationScores`.

    Raises:
        ExplainError: For mismatched shapes, an empty mask, a negative tolerance or a
            ``top_k`` outside ``(0, 1]``.

    Example:
        >>> heat = np.zeros((1, 8, 8)); heat[0, 1:4, 1:4] = 0.5; heat[0, 2, 2] = 1.0
        >>> mask = np.zeros((1, 8, 8), bool); mask[0, 1:4, 2:4] = True
        >>> s = localisation_scores(heat, mask, tolerance=0, top_k=9 / 64)
        >>> float(s.pointing[0]), float(s.energy[0]), float(s.iou[0]), float(s.dice[0])
        (1.0, 0.7, 0.6666666666666666, 0.8)
    """
    from scipy.ndimage import distance_transform_edt

    if not float(tolerance) >= 0:
        raise ExplainError(
            f"Argument `tolerance` must be >= 0 pixels. Received: tolerance={tolerance!r}"
        )
    if not 0.0 < float(top_k) <= 1.0:
        raise ExplainError(f"Argument `top_k` must be in (0, 1]. Received: top_k={top_k!r}")
    heat, region = _check(maps, masks)
    n, h, w = heat.shape
    keep = max(1, int(round(top_k * h * w)))
    tiebreak = np.random.default_rng(seed).permutation(h * w)
    out = {name: np.empty(n) for name in METRICS}
    for i in range(n):
        near = distance_transform_edt(~region[i]) <= tolerance
        peak = heat[i] >= heat[i].max()
        out["pointing"][i] = near[peak].mean()
        total = heat[i].sum()
        out["energy"][i] = heat[i][region[i]].sum() / total if total > 0 else np.nan
        order = np.lexsort((tiebreak, -heat[i].ravel()))
        top = np.zeros(h * w, dtype=bool)
        top[order[:keep]] = True
        top = top.reshape(h, w)
        both = float((top & region[i]).sum())
        out["iou"][i] = both / float((top | region[i]).sum())
        out["dice"][i] = 2 * both / float(top.sum() + region[i].sum())
    return LocalisationScores(**out, tolerance=float(tolerance), top_k=float(top_k))


def gaussian_map(shape: tuple[int, int], *, sigma: float = 0.25) -> np.ndarray:
    """A centred Gaussian blob in ``[0, 1]``: the "look at the middle" baseline.

    Args:
        shape: ``(H, W)``.
        sigma: Standard deviation as a fraction of each side. Defaults to `0.25`.

    Returns:
        float32 ``(H, W)`` map, 1 at the centre.

    Example:
        >>> g = gaussian_map((5, 5)); float(g[2, 2]), bool(g[0, 0] < g[1, 1] < 1)
        (1.0, True)
    """
    h, w = shape
    ys = (np.arange(h) + 0.5 - h / 2) / (sigma * h)
    xs = (np.arange(w) + 0.5 - w / 2) / (sigma * w)
    blob = np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2))
    return (blob / blob.max()).astype(np.float32)


def brightness_map(images: Any) -> np.ndarray:
    """The grey intensity of model inputs, scaled to ``[0, 1]`` per image.

    What a model that only sees bright bone would highlight; letterbox padding is black so
    it gets no heat.

    Args:
        images: ``(N, H, W, C)`` or ``(N, H, W)`` model inputs in 0-255.

    Returns:
        float32 ``(N, H, W)`` maps.

    Example:
        >>> m = brightness_map(np.full((1, 2, 2, 3), 51.0))
        >>> m.shape, round(float(m.max()), 3)
        ((1, 2, 2), 0.2)
    """
    array = np.asarray(images, dtype=np.float64)
    if array.ndim == 4:
        array = array.mean(axis=-1)
    if array.ndim != 3:
        raise ExplainError(
            f"Argument `images` must be (N, H, W[, C]). Received: images.shape={np.shape(images)}"
        )
    return np.clip(array / 255.0, 0.0, 1.0).astype(np.float32)


def bootstrap_mean(
    values: Any, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean of per-image values with a percentile-bootstrap interval (``nan`` skipped).

    Images are resampled with ``numpy.random.default_rng(seed)``; the same ``seed`` and
    ``n`` give the same resamples, so differences of paired per-image values (two methods on
    the same images) get a paired interval.

    Args:
        values: ``(N,)`` per-image values.
        n_boot: Number of resamples. Defaults to `2000`.
        seed: Resampling seed. Defaults to `0`.
        level: Coverage. Defaults to `0.95`.

    Returns:
        ``(mean, low, high)``; all ``nan`` when no value is finite.

    Example:
        >>> mean, low, high = bootstrap_mean([1.0, 0.0, 1.0, 1.0], n_boot=200)
        >>> mean, bool(low <= mean <= high)
        (0.75, True)
    """
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if int(n_boot) < 1 or not 0.0 < level < 1.0:
        raise ExplainError(
            f"Arguments `n_boot` must be >= 1 and `level` in (0, 1). Received: n_boot={n_boot!r}, level={level!r}"
        )
    if len(data) == 0:
        return (float("nan"),) * 3
    idx = np.random.default_rng(seed).integers(0, len(data), size=(int(n_boot), len(data)))
    means = data[idx].mean(axis=1)
    low, high = np.percentile(means, [50 * (1 - level), 50 * (1 + level)])
    return float(data.mean()), float(low), float(high)
