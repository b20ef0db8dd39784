"""Overlays of a heatmap on its image, and a grid figure a clinician can read."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fracturenet.exceptions import ExplainError

__all__ = ["draw_outline", "outline_colour", "overlay", "save_explanation_grid"]

# Outline colours to choose from, most distinct first when tied.
_OUTLINE_CANDIDATES = ((255, 0, 255), (255, 255, 255), (0, 255, 0), (0, 255, 255), (255, 0, 0))


def _as_rgb_uint8(image: Any) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise ExplainError(
            "Argument `image` must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4). "
            f"Received: image.shape={np.shape(image)}"
        )
    array = array[..., :3]
    if array.dtype != np.uint8:
        array = np.clip(np.nan_to_num(array.astype(np.float64)), 0, 255).round().astype(np.uint8)
    return array


def overlay(image: Any, heatmap: Any, *, alpha: float = 0.4, cmap: str = "jet") -> np.ndarray:
    """Blends a colour-mapped heatmap over an image.

    Args:
        image: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` image in 0-255 (uint8 or float).
        heatmap: ``(H, W)`` map in ``[0, 1]`` (values outside are clipped), aligned to the
            image, e.g. ``explain(...).heatmaps[i]``.
        alpha: Weight of the heatmap colour, in ``[0, 1]``. Defaults to `0.4`.
        cmap: A Matplotlib colormap name. Defaults to `"jet"`.

    Returns:
        ``(H, W, 3)`` uint8 RGB image.

    Raises:
        ExplainError: When the shapes do not match, ``alpha`` is outside ``[0, 1]`` or
            ``cmap`` is not a Matplotlib colormap.

    Example:
        >>> import numpy as np
        >>> out = overlay(np.zeros((4, 6), np.uint8), np.ones((4, 6)), alpha=0.5)
        >>> out.shape, out.dtype, out[0, 0].tolist()
        ((4, 6, 3), dtype('uint8'), [64, 0, 0])
    """
    import matplotlib

    if not 0.0 <= float(alpha) <= 1.0:
        raise ExplainError(f"Argument `alpha` must be in [0, 1]. Received: alpha={alpha!r}")
    if cmap not in matplotlib.colormaps:
        raise ExplainError(
            "Argument `cmap` must be a Matplotlib colormap name such as 'jet', 'inferno' or "
            f"'viridis'. Received: cmap={cmap!r}"
        )
    rgb = _as_rgb_uint8(image)
    heat = np.asarray(heatmap, dtype=np.float64)
    if heat.shape != rgb.shape[:2]:
        raise ExplainError(
            f"Argument `heatmap` must have the image's height and width {rgb.shape[:2]}; "
            "use explain(...).heatmaps, which are aligned to the original images. "
            f"Received: heatmap.shape={heat.shape}"
        )
    colours = matplotlib.colormaps[cmap](np.clip(np.nan_to_num(heat), 0.0, 1.0))[..., :3] * 255
    blended = (1.0 - alpha) * rgb.astype(np.float64) + alpha * colours
    return np.clip(blended.round(), 0, 255).astype(np.uint8)


def outline_colour(cmap: str = "jet") -> tuple[int, int, int]:
    """An RGB colour the colormap does not use, for drawing outlines over its heatmaps.

    The candidate (magenta, white, green, cyan, red) farthest from every colour of the
    colormap is chosen, so an outline cannot be mistaken for heat.

    Args:
        cmap: A Matplotlib colormap name. Defaults to `"jet"`.

    Returns:
        ``(r, g, b)`` in 0-255.

    Example:
        >>> outline_colour("jet"), outline_colour("gray")
        ((255, 0, 255), (255, 0, 255))
    """
    import matplotlib

    colours = matplotlib.colormaps[cmap](np.linspace(0.0, 1.0, 256))[:, :3] * 255
    candidates = np.array(_OUTLINE_CANDIDATES, dtype=np.float64)
    distance = np.linalg.norm(candidates[:, None, :] - colours[None], axis=2).min(axis=1)
    return tuple(int(v) for v in _OUTLINE_CANDIDATES[int(np.argmax(distance))])


def draw_outline(
    image: Any, mask: Any, *, colour: tuple[int, int, int] = (255, 0, 255), width: int | None = None
) -> np.ndarray:
    """Draws the boundary of a region on an image.

    Args:
        image: ``(H, W[, C])`` image in 0-255.
        mask: ``(H, W)`` boolean region, aligned to the image.
        colour: RGB colour of the line. Defaults to magenta.
        width: Line width in pixels. Defaults to `None`: ``max(H, W) / 200``, at least 1.

    Returns:
        ``(H, W, 3)`` uint8 RGB copy with the region's inner boundary painted.

    Raises:
        ExplainError: When the mask's shape differs from the image's.

    Example:
        >>> m = np.zeros((5, 5), bool); m[1:4, 1:4] = True
        >>> out = draw_outline(np.zeros((5, 5)), m, colour=(9, 9, 9))
        >>> int((out[..., 0] == 9).sum()), int(out[2, 2, 0])
        (8, 0)
    """
    from scipy.ndimage import binary_erosion

    rgb = _as_rgb_uint8(image).copy()
    region = np.asarray(mask, dtype=bool)
    if region.shape != rgb.shape[:2]:
        raise ExplainError(
            f"Argument `mask` must have the image's height and width {rgb.shape[:2]}. "
            f"Received: mask.shape={region.shape}"
        )
    width = width or max(1, round(max(region.shape) / 200))
    edge = region & ~binary_erosion(region, iterations=width, border_value=0)
    rgb[edge] = colour
    return rgb


def class_name(index: int, label: str | None, class_names: Sequence[str] | None) -> str:
    """The label to show for a class: its name when known, else ``"class <index>"``."""
    if label is not None:
        return label
    return class_names[index] if class_names is not None else f"class {index}"


def true_label_text(true_label: Any, class_names: Sequence[str] | None) -> str:
    """A true label given as a name or an index, as text."""
    return (
        true_label
        if isinstance(true_label, str)
        else class_name(int(true_label), None, class_names)
    )


def _caption(explanation: Any, true_label: Any, class_names: Sequence[str] | None) -> str:
    def name(index: int, label: str | None) -> str:
        return class_name(index, label, class_names)

    text = (
        f"pred: {name(explanation.predicted_index, explanation.predicted_label)} "
        f"(p={explanation.probability:.2f})"
    )
    if explanation.target_index != explanation.predicted_index:
        text += f"\nmap for: {name(explanation.target_index, explanation.target_label)}"
    if true_label is not None:
        text += f"\ntrue: {true_label_text(true_label, class_names)}"
    return text


def _colormaps() -> Any:
    import matplotlib

    return matplotlib.colormaps


def _heatmap_colorbar(figure: Any, axes: Any, cmap: str) -> None:
    """A colour bar for the overlays: heatmaps are scaled to 0-1 per image."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    bar = figure.colorbar(
        ScalarMappable(Normalize(0.0, 1.0), cmap=cmap),
        ax=list(axes),
        location="bottom",
        fraction=0.04 / max(1, len(axes)) ** 0.5,
        pad=0.02,
    )
    bar.set_label("importance (0-1 within each image)", fontsize=8)
    bar.ax.tick_params(labelsize=7)


def save_explanation_grid(
    images: Sequence[Any],
    explanations: Any,
    path: str | Path,
    *,
    true_labels: Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    alpha: float = 0.4,
    cmap: str = "jet",
    overwrite: bool = False,
    outlines: Sequence[Any] | None = None,
) -> Path:
    """Saves a PNG with one row per image: the image, and its overlay captioned.

    A colour bar under the overlays gives the heatmap scale (0-1 within each image).
    Expert outlines, when given, are drawn on both panels in :func:`outline_colour`.

    Args:
        images: The original images, as given to :func:`~fracturenet.explain.explain`.
        explanations: The :class:`~fracturenet.explain.Explanations` for those images.
        path: Where to write the PNG.
        true_labels: True class index or name per image, shown when given. Defaults to
            `None`.
        class_names: Class names, used when the explanations carry none. Defaults to `None`
            (the explanations' own).
        alpha: Heatmap weight in the overlay. Defaults to `0.4`.
        cmap: Matplotlib colormap name. Defaults to `"jet"`.
        overwrite: Whether an existing file may be replaced. Defaults to `False`.
        outlines: One boolean ``(H, W)`` mask (or `None`) per image, on the original
            image, e.g. :func:`~fracturenet.data.annotation_mask`. Defaults to `None`.

    Returns:
        The path written.

    Raises:
        ExplainError: When the numbers of images, explanations and labels differ.
        FileExistsError: When ``path`` exists and ``overwrite`` is False.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> from fracturenet.explain import Explanations
        >>> ex = Explanations("gradcam", [np.ones((8, 8), np.float32)], np.ones((1, 8, 8)),
        ...     np.array([1]), np.array([0.9]), np.array([1]), np.array([0.9]), ("ok", "broken"))
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "grid.png"
        >>> save_explanation_grid([np.zeros((8, 8))], ex, out, true_labels=["broken"]).exists()
        True
    """
    from matplotlib.figure import Figure

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{str(path)!r} already exists; choose another path or pass overwrite=True. "
            f"Received: path={str(path)!r}"
        )
    images = list(images)
    if len(images) != len(explanations) or (
        true_labels is not None and len(true_labels) != len(images)
    ):
        raise ExplainError(
            "Arguments `images`, `explanations` and `true_labels` must have one entry per image."
            f" Received: {len(images)} images, {len(explanations)} explanations, "
            f"{None if true_labels is None else len(true_labels)} true labels"
        )
    if outlines is not None and len(outlines) != len(images):
        raise ExplainError(
            "Argument `outlines` must have one mask (or None) per image. "
            f"Received: {len(outlines)} outlines for {len(images)} images"
        )
    if class_names is None:
        class_names = getattr(explanations, "class_names", None)
    colour = outline_colour(cmap) if cmap in _colormaps() else (255, 0, 255)
    rows = len(images)
    figure = Figure(figsize=(5.0, 2.6 * rows), dpi=100, layout="constrained")
    axes = figure.subplots(rows, 2, squeeze=False)
    for i, (image, explanation) in enumerate(zip(images, explanations, strict=True)):
        rgb = _as_rgb_uint8(image)
        mixed = overlay(rgb, explanation.heatmap, alpha=alpha, cmap=cmap)
        outline = None if outlines is None else outlines[i]
        if outline is not None:
            rgb, mixed = (draw_outline(a, outline, colour=colour) for a in (rgb, mixed))
        axes[i, 0].imshow(rgb)
        axes[i, 0].set_title("image" if outline is None else "image, expert outline", fontsize=9)
        axes[i, 1].imshow(mixed)
        true = None if true_labels is None else true_labels[i]
        axes[i, 1].set_title(_caption(explanation, true, class_names), fontsize=9)
        for axis in axes[i]:
            axis.set_axis_off()
    _heatmap_colorbar(figure, axes[:, 1], cmap)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path
