"""Metrics of the probabilities themselves: log loss, Brier score, calibration error.

Inputs are validated arrays (see :func:`fracturenet.evaluation.metrics.validate_predictions`):
integer labels ``(n,)`` and probabilities ``(n, k)``. Calibration is measured on the top label:
the confidence of an image is its highest probability, and it is right when that class is the
true one. Bins are equal-width ``(lo, hi]`` over ``[0, 1]``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["log_loss", "brier_score", "reliability_curve", "expected_calibration_error"]


def log_loss(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class (natural log, clipped probabilities).

    Example:
        >>> round(log_loss(np.array([0]), np.array([[0.5, 0.5]])), 4)
        0.6931
    """
    eps = np.finfo(np.float64).eps
    p = np.clip(y_prob[np.arange(len(y_true)), y_true], eps, 1 - eps)
    return float(-np.mean(np.log(p)))


def brier_score(y_true: np.ndarray, y_prob: np.ndarray) -> float:
    """Multi-class Brier score ``mean_i sum_c (p_ic - [y_i = c])^2`` in ``[0, 2]``.

    Example:
        >>> brier_score(np.array([0]), np.array([[0.5, 0.5]]))
        0.5
    """
    onehot = np.eye(y_prob.shape[1])[y_true]
    return float(np.mean(np.sum((y_prob - onehot) ** 2, axis=1)))


def reliability_curve(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = 15) -> dict:
    """Top-label reliability-diagram data: equal-width confidence bins ``(lo, hi]``.

    Args:
        y_true: Integer labels, shape ``(n,)``.
        y_prob: Probabilities, shape ``(n, k)``.
        n_bins: Number of bins over ``[0, 1]``. Defaults to `15`.

    Returns:
        Dict with ``bin_edges`` (``n_bins + 1``), ``bin_counts``, ``bin_confidence`` (mean top
        probability) and ``bin_accuracy`` per bin, ``nan`` for empty bins, all as lists.

    Example:
        >>> r = reliability_curve(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]), 2)
        >>> r["bin_counts"], r["bin_accuracy"]
        ([0, 2], [nan, 0.5])
    """
    if int(n_bins) < 1:
        raise ValueError(f"`n_bins` must be >= 1. Received: n_bins={n_bins}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    conf = y_prob.max(axis=1)
    correct = (np.argmax(y_prob, axis=1) == y_true).astype(np.float64)
    idx = np.searchsorted(edges[1:-1], conf, side="left")
    counts = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / counts
        mean_acc = np.bincount(idx, weights=correct, minlength=n_bins) / counts
    return {
        "bin_edges": edges.tolist(),
        "bin_counts": counts.astype(int).tolist(),
        "bin_confidence": mean_conf.tolist(),
        "bin_accuracy": mean_acc.tolist(),
    }


def expected_calibration_error(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = 15) -> float:
    """Top-label ECE: ``sum_b (n_b / n) |accuracy_b - confidence_b|`` over non-empty bins.

    Example:
        >>> round(expected_calibration_error(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]])), 4)
        0.45
    """
    r = reliability_curve(y_true, y_prob, n_bins)
    counts = np.asarray(r["bin_counts"], dtype=np.float64)
    gap = np.abs(np.asarray(r["bin_accuracy"]) - np.asarray(r["bin_confidence"]))
    return float(np.sum(np.where(counts > 0, gap * counts, 0.0)) / counts.sum())
