"""``compare_localisation``: every method and three baselines, scored against outlines.

Each method explains the same images for the same classes; the maps are scored on the model
input grid against the outlines mapped through the model's own resize
(:func:`~fracturenet.data.fit_mask`), aggregated with bootstrap intervals, and ranked in one
table with the deletion/insertion faithfulness of :mod:`~fracturenet.explain.faithfulness`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fracturenet.data.annotations import fit_mask
from fracturenet.exceptions import ExplainError
from fracturenet.explain.faithfulness import deletion_insertion, random_heatmaps
from fracturenet.explain.localisation import (
    METRICS,
    LocalisationScores,
    bootstrap_mean,
    brightness_map,
    gaussian_map,
    localisation_scores,
)

__all__ = ["BASELINE_MAPS", "LocalisationComparison", "LocalisationRow", "compare_localisation"]

#: The baseline maps scored alongside the methods.
BASELINE_MAPS = ("centre-gaussian", "random", "brightness")


@dataclass(frozen=True)
class LocalisationRow:
    """One method's (or baseline's) scores, each ``(mean, low, high)`` over the images.

    Attributes:
        method: Method or baseline name.
        baseline: Whether this row is a baseline map.
        pointing: Pointing-game hit rate.
        energy: Energy share inside the outlines.
        iou: IoU at top k %.
        dice: Dice at top k %.
        deletion_auc: Mean deletion AUC (lower is better), `None` when not computed.
        insertion_auc: Mean insertion AUC (higher is better), `None` when not computed.
        seconds: Wall time of the maps.
    """

    method: str
    baseline: bool
    pointing: tuple[float, float, float]
    energy: tuple[float, float, float]
    iou: tuple[float, float, float]
    dice: tuple[float, float, float]
    deletion_auc: float | None
    insertion_auc: float | None
    seconds: float


@dataclass(frozen=True)
class LocalisationComparison:
    """Methods and baselines ranked by pointing-game hit rate (then energy share).

    Attributes:
        rows: One :class:`LocalisationRow` per method and baseline, best first.
        scores: Per-image :class:`LocalisationScores` by name.
        names: The scored images' names, aligned with the per-image scores.
        excluded: Names of images left out (an outline outside the model input).
        best: The best-ranked method (not a baseline).
        best_vs_baselines: ``{baseline: {metric: (mean, low, high)}}``: paired bootstrap
            difference, best method minus baseline, for the pointing game and energy share.
        settings: Tolerance, top k, input size, resize mode, bootstrap and faithfulness
            settings, targets.
    """

    rows: tuple[LocalisationRow, ...]
    scores: Mapping[str, LocalisationScores]
    names: tuple[str, ...]
    excluded: tuple[str, ...]
    best: str
    best_vs_baselines: Mapping[str, Mapping[str, tuple[float, float, float]]]
    settings: Mapping[str, Any] = field(default_factory=dict)

    def beats_all_baselines(self, metric: str = "pointing") -> bool:
        """Whether every best-minus-baseline interval of ``metric`` lies above 0."""
        return all(diff[metric][1] > 0 for diff in self.best_vs_baselines.values())

    def ranked_images(self, method: str | None = None) -> list[int]:
        """Image positions from best to worst localised by ``method`` (default: the best).

        The order is by pointing-game hit, then energy share (``nan`` last).
        """
        s = self.scores[method or self.best]
        energy = np.nan_to_num(s.energy, nan=-1.0)
        return list(np.lexsort((-energy, -s.pointing)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: settings, the table, the differences and per-image scores."""
        return {
            "settings": dict(self.settings),
            "n_images": len(self.names),
            "excluded": list(self.excluded),
            "best": self.best,
            "best_beats_all_baselines_on_pointing": self.beats_all_baselines("pointing"),
            "rows": [
                {
                    "method": r.method,
                    "baseline": r.baseline,
                    **{
                        m: dict(zip(("mean", "low", "high"), getattr(r, m), strict=True))
                        for m in METRICS
                    },
                    "deletion_auc": r.deletion_auc,
                    "insertion_auc": r.insertion_auc,
                    "seconds": round(r.seconds, 2),
                }
                for r in self.rows
            ],
            "best_vs_baselines": {
                b: {m: dict(zip(("mean", "low", "high"), v, strict=True)) for m, v in d.items()}
                for b, d in self.best_vs_baselines.items()
            },
            "per_image": {
                name: {m: [_num(v) for v in s.metric(m)] for m in METRICS}
                for name, s in self.scores.items()
            },
            "images": list(self.names),
        }

    def to_markdown(self) -> str:
        """The ranking as a Markdown table with 95 % bootstrap intervals."""
        head = (
            "| rank | method | pointing game | energy share | IoU top k | Dice top k "
            "| deletion AUC ↓ | insertion AUC ↑ |\n|---:|---|---|---|---|---|---:|---:|"
        )
        lines = [head]
        for rank, r in enumerate(self.rows, start=1):
            name = f"{r.method} (baseline)" if r.baseline else r.method
            cells = [_ci(getattr(r, m)) for m in METRICS]
            fa = [f"{v:.3f}" if v is not None else "-" for v in (r.deletion_auc, r.insertion_auc)]
            lines.append(f"| {rank} | {name} | " + " | ".join(cells + fa) + " |")
        st = self.settings
        lines.append(
            f"\n{len(self.names)} images; tolerance {st.get('tolerance')} px on the "
            f"{st.get('input_size')} model input ({st.get('resize_mode')}); top k = "
            f"{st.get('top_k')}; mean [95 % bootstrap interval, {st.get('n_boot')} resamples]."
        )
        return "\n".join(lines)


def _num(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 5)


def _ci(triple: tuple[float, float, float]) -> str:
    mean, low, high = triple
    return "n/a" if not np.isfinite(mean) else f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def compare_localisation(
    model: Any,
    images: Sequence[Any],
    masks: Sequence[Any],
    *,
    methods: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    target: Any = "predicted",
    class_names: Sequence[str] | None = None,
    resize_mode: str | None = None,
    tolerance: float | None = None,
    top_k: float = 0.05,
    faithfulness_steps: int = 16,
    n_boot: int = 2000,
    seed: int = 0,
    batch_size: int = 8,
    method_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
) -> LocalisationComparison:
    """Scores every method and three baseline maps against expert outlines.

    Args:
        model: The classifier (raw 0-255 pixels in).
        images: ``(H, W[, C])`` images as loaded (e.g. :func:`~fracturenet.data.load_image`).
        masks: One boolean ``(H, W)`` mask per image, on the image (e.g.
            :func:`~fracturenet.data.annotation_mask`); mapped onto the model input here.
        methods: Method names from ``METHODS``. Defaults to `None`: all of them.
        names: One name per image. Defaults to `None`: ``image_0000``, ...
        target: As for ``explain``; for fracture outlines, the fracture class. Defaults to
            `"predicted"`.
        class_names: As for ``explain``. Defaults to `None`.
        resize_mode: How images (and masks) are fitted to the model input. Defaults to
            `None`: the model's own (its input description), else ``"letterbox"``.
        tolerance: Pointing-game tolerance in pixels of the model input. Defaults to
            `None`: 15 px at 224 px, in proportion for other input sizes (6.7 % of the
            longer side), so a small model's hottest pixel does not hit from across half
            the image.
        top_k: Fraction of input pixels kept for IoU/Dice. Defaults to `0.05`.
        faithfulness_steps: Deletion/insertion steps; `0` skips them. Defaults to `16`.
        n_boot: Bootstrap resamples. Defaults to `2000`.
        seed: Seed of the random baseline, tie orders, SmoothGrad and the bootstrap.
            Defaults to `0`.
        batch_size: Images per explain call. Defaults to `8`.
        method_kwargs: Extra keyword arguments per method. Defaults to `None`.

    Returns:
        A :class:`LocalisationComparison`.

    Raises:
        ExplainError: For unknown methods, masks that do not match their images, or no
            image with an outline left on the model input.

    Example:
        >>> import keras, numpy as np
        >>> x = keras.Input((8, 8, 3))
        >>> f = keras.layers.Conv2D(2, 3, padding="same", name="conv")(x)
        >>> p = keras.layers.GlobalAveragePooling2D()(f)
        >>> model = keras.Model(x, keras.layers.Dense(2, activation="softmax")(p))
        >>> mask = np.zeros((8, 8), bool); mask[2:4, 2:4] = True
        >>> c = compare_localisation(model, [np.ones((8, 8))] * 2, [mask] * 2,
        ...                          methods=["gradcam"], n_boot=50, faithfulness_steps=0)
        >>> sorted(r.method for r in c.rows if r.baseline)
        ['brightness', 'centre-gaussian', 'random']
    """
    from fracturenet.explain.cam import METHODS, explain
    from fracturenet.explain.inputs import fit_images, resolve_resize_mode

    methods = list(METHODS) if methods is None else list(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ExplainError(
            f"Argument `methods` must be a non-empty list drawn from {list(METHODS)}. "
            f"Received: methods={methods!r}"
        )
    images = list(images)
    masks = [np.asarray(m, dtype=bool) for m in masks]
    names = [f"image_{i:04d}" for i in range(len(images))] if names is None else list(names)
    if not (len(images) == len(masks) == len(names)):
        raise ExplainError(
            "Arguments `images`, `masks` and `names` must have one entry per image. Received: "
            f"{len(images)} images, {len(masks)} masks, {len(names)} names"
        )
    for name, image, mask in zip(names, images, masks, strict=True):
        if np.shape(image)[:2] != mask.shape:
            raise ExplainError(
                f"The mask of {name!r} must have its image's size {np.shape(image)[:2]}; "
                f"rasterise outlines at the image's stored size. Received: mask.shape={mask.shape}"
            )
    mode = resolve_resize_mode(model, resize_mode)
    fitted, _ = fit_images(model, images, resize_mode=mode)
    size = fitted.shape[1:3]
    fitted_masks = np.stack([fit_mask(m, size, mode) for m in masks])
    if tolerance is None:
        tolerance = round(15.0 * max(size) / 224, 2)
    keep = np.array([m.any() for m in fitted_masks])
    if not keep.any():
        raise ExplainError(
            "No image has an outline left on the model input. Received: "
            f"{len(images)} images, resize_mode={mode!r}"
        )
    fitted, fitted_masks = fitted[keep], fitted_masks[keep]
    excluded = tuple(n for n, k in zip(names, keep, strict=True) if not k)
    names = tuple(n for n, k in zip(names, keep, strict=True) if k)
    if not isinstance(target, (str, int, np.integer)):
        target = [t for t, k in zip(target, keep, strict=True) if k]

    def score(maps: np.ndarray) -> LocalisationScores:
        return localisation_scores(maps, fitted_masks, tolerance=tolerance, top_k=top_k, seed=seed)

    def faithful(maps: np.ndarray, targets: Any) -> tuple[float | None, float | None]:
        if not faithfulness_steps:
            return None, None
        f = deletion_insertion(
            model, fitted, maps, targets=targets, steps=faithfulness_steps, seed=seed
        )
        return float(f.deletion_auc.mean()), float(f.insertion_auc.mean())

    extra = dict(method_kwargs or {})
    scores: dict[str, LocalisationScores] = {}
    timing: dict[str, float] = {}
    faith: dict[str, tuple[float | None, float | None]] = {}
    targets = target
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
            resize_mode=mode,
            **kwargs,
        )
        timing[method] = time.perf_counter() - start
        targets = result.target_index  # every method explains the same classes
        scores[method] = score(result.input_heatmaps)
        faith[method] = faithful(result.input_heatmaps, targets)
    n = len(fitted)
    base_maps = {
        "centre-gaussian": np.broadcast_to(gaussian_map(tuple(size)), (n, *size)),
        "random": random_heatmaps((n, *size), seed=seed),
        "brightness": brightness_map(fitted),
    }
    for name, maps in base_maps.items():
        scores[name] = score(np.asarray(maps))
        timing[name] = 0.0
        faith[name] = faithful(np.ascontiguousarray(maps), targets)

    def summary(s: LocalisationScores, metric: str) -> tuple[float, float, float]:
        return bootstrap_mean(s.metric(metric), n_boot=n_boot, seed=seed)

    rows = [
        LocalisationRow(
            method=name,
            baseline=name in BASELINE_MAPS,
            **{m: summary(s, m) for m in METRICS},
            deletion_auc=faith[name][0],
            insertion_auc=faith[name][1],
            seconds=timing[name],
        )
        for name, s in scores.items()
    ]
    rows.sort(
        key=lambda r: (
            -np.nan_to_num(r.pointing[0], nan=-1),
            -np.nan_to_num(r.energy[0], nan=-1),
            r.method,
        )
    )
    best = next(r.method for r in rows if not r.baseline)
    diffs = {
        b: {
            m: bootstrap_mean(
                scores[best].metric(m) - scores[b].metric(m), n_boot=n_boot, seed=seed
            )
            for m in ("pointing", "energy")
        }
        for b in BASELINE_MAPS
    }
    settings = {
        "tolerance": float(tolerance),
        "top_k": float(top_k),
        "input_size": [int(v) for v in size],
        "resize_mode": mode,
        "n_boot": int(n_boot),
        "level": 0.95,
        "seed": int(seed),
        "faithfulness_steps": int(faithfulness_steps),
        "targets": [int(t) for t in np.asarray(targets).ravel()]
        if not isinstance(targets, str)
        else targets,
    }
    return LocalisationComparison(
        rows=tuple(rows),
        scores=scores,
        names=names,
        excluded=excluded,
        best=best,
        best_vs_baselines=diffs,
        settings=settings,
    )
