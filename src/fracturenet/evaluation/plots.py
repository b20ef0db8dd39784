"""Matplotlib figures for evaluation reports and comparisons.

Figures are built with the object-oriented API on an Agg canvas attached to each figure, so
nothing here touches pyplot or the global backend; matplotlib is imported on first use.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from fracturenet.evaluation.ranking import binary_roc_curve

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "plot_confusion_matrix",
    "plot_roc_curves",
    "plot_reliability_diagram",
    "plot_per_class",
    "plot_intervals",
    "figure_to_base64_png",
]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_to_base64_png(fig: Figure, dpi: int = 100) -> str:
    """Renders a figure to PNG and returns it base64-encoded (for ``<img src="data:...">``).

    Example:
        >>> fig = plot_per_class({"a": {"precision": 1.0, "recall": 0.5, "f1": 0.67}})
        >>> figure_to_base64_png(fig)[:8]
        'iVBORw0K'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plot_confusion_matrix(
    cm: Sequence[Sequence[float]], class_names: Sequence[str], *, normalized: bool = True
) -> Figure:
    """Heat map of a confusion matrix, true classes as rows, with the counts written in.

    Args:
        cm: Counts, shape ``(k, k)``.
        class_names: ``k`` names.
        normalized: Colour by row fraction (recall) instead of raw counts. Defaults to `True`.

    Returns:
        The figure.
    """
    counts = np.asarray(cm, dtype=np.float64)
    k = len(class_names)
    rows = counts.sum(axis=1, keepdims=True)
    shade = (
        np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0) if normalized else counts
    )
    size = max(4.0, 0.55 * k + 2.5)
    fig = _figure(size, size)
    ax = fig.add_subplot()
    im = ax.imshow(shade, cmap="Blues", vmin=0.0, vmax=1.0 if normalized else None)
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of true class" if normalized else "count")
    ax.set_xticks(range(k), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            colour = "white" if shade[i, j] > 0.6 * (shade.max() or 1) else "black"
            ax.text(
                j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=7, color=colour
            )
    ax.set_title("Confusion matrix")
    return fig


def plot_roc_curves(
    y_true: np.ndarray, y_prob: np.ndarray, class_names: Sequence[str], aucs: Sequence[float]
) -> Figure:
    """One-vs-rest ROC curve of every class with a defined AUC.

    Args:
        y_true: Integer labels, shape ``(n,)``.
        y_prob: Probabilities, shape ``(n, k)``.
        class_names: ``k`` names.
        aucs: Per-class AUC for the legend (``nan`` classes are not drawn).

    Returns:
        The figure.
    """
    fig = _figure(6.0, 5.0)
    ax = fig.add_subplot()
    for c, name in enumerate(class_names):
        if np.isnan(aucs[c]):
            continue
        fpr, tpr = binary_roc_curve(y_true == c, y_prob[:, c])
        ax.plot(fpr, tpr, lw=1.2, label=f"{name} ({aucs[c]:.2f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (one-vs-rest)")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def plot_reliability_diagram(reliability: Mapping[str, Sequence[float]]) -> Figure:
    """Accuracy against mean confidence per bin, with the counts as a histogram below.

    Args:
        reliability: Output of :func:`~fracturenet.evaluation.metrics.reliability_curve`.

    Returns:
        The figure.
    """
    edges = np.asarray(reliability["bin_edges"], dtype=np.float64)
    acc = np.asarray(reliability["bin_accuracy"], dtype=np.float64)
    counts = np.asarray(reliability["bin_counts"], dtype=np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = _figure(5.0, 6.0)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    top.bar(centres, np.nan_to_num(acc), width=np.diff(edges), edgecolor="black", alpha=0.7)
    top.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8, label="perfect calibration")
    top.set(ylabel="accuracy", title="Reliability diagram", ylim=(0, 1))
    top.legend(fontsize=8)
    bottom.bar(centres, counts, width=np.diff(edges), color="grey")
    bottom.set(xlabel="confidence (top probability)", ylabel="images", xlim=(0, 1))
    return fig


def plot_per_class(per_class: Mapping[str, Mapping[str, float]]) -> Figure:
    """Grouped bars of precision, recall and F1 per class.

    Args:
        per_class: Class name -> dict with ``precision``, ``recall`` and ``f1``.

    Returns:
        The figure.
    """
    names = list(per_class)
    x = np.arange(len(names))
    fig = _figure(max(5.0, 0.7 * len(names) + 2.0), 4.0)
    ax = fig.add_subplot()
    for i, key in enumerate(("precision", "recall", "f1")):
        ax.bar(x + (i - 1) * 0.27, [per_class[n][key] for n in names], width=0.27, label=key)
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.set(ylim=(0, 1.05), title="Per-class scores")
    ax.legend(fontsize=8)
    return fig


def plot_intervals(
    rows: Mapping[str, Mapping[str, tuple[float, float, float]]],
    *,
    title: str,
    reference: float | None = None,
) -> Figure:
    """Forest plot: one panel per metric, one point with its interval per row label.

    Args:
        rows: Metric -> label -> ``(estimate, low, high)``.
        title: Figure title.
        reference: Draw a dashed vertical line here (e.g. 0 for differences).
            Defaults to `None`.

    Returns:
        The figure.
    """
    metrics = list(rows)
    labels = list(next(iter(rows.values()))) if rows else []
    fig = _figure(4.0 * max(1, len(metrics)), 0.5 * len(labels) + 1.8)
    axes = np.atleast_1d(fig.subplots(1, max(1, len(metrics)), sharey=True))
    for ax, metric in zip(axes, metrics, strict=False):
        for y, label in enumerate(labels):
            est, lo, hi = rows[metric][label]
            ax.errorbar(est, y, xerr=[[est - lo], [hi - est]], fmt="o", capsize=4)
        if reference is not None:
            ax.axvline(reference, color="grey", ls="--", lw=0.8)
        ax.set_title(metric, fontsize=9)
    axes[0].set_yticks(range(len(labels)), labels, fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle(title)
    return fig
