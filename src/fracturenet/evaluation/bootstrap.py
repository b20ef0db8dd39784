"""Seeded percentile-bootstrap confidence intervals, single-model and paired.

Images are resampled with replacement ``n_boot`` times (NumPy ``default_rng(seed)``); each
resample's metric is computed from its confusion matrix (vectorised over resamples), and the
interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles. Resamples where a
metric is undefined (e.g. ROC-AUC with a class left without negatives) are skipped. The paired
version resamples the same images for two models, which is what makes a difference interval
honest: both models are scored on the same bootstrap test sets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fracturenet.evaluation.metrics import scores_from_confusion
from fracturenet.evaluation.ranking import macro_average, roc_auc_ovr

__all__ = [
    "ConfidenceInterval",
    "BOOTSTRAP_METRICS",
    "bootstrap_ci",
    "paired_bootstrap_diff",
    "resample_indices",
]

_COUNT_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "cohen_kappa", "mcc")
_PROB_METRICS = ("log_loss", "brier", "ece")  # per-image terms, averaged per resample
ECE_BINS = 15  # the bins of compute_metrics' ``ece``
BOOTSTRAP_METRICS: tuple[str, ...] = (*_COUNT_METRICS, "roc_auc_macro", *_PROB_METRICS)
"""Metric names :func:`bootstrap_ci` and :func:`paired_bootstrap_diff` accept."""


@dataclass(frozen=True)
class ConfidenceInterval:
    """A point estimate with its bootstrap interval.

    Attributes:
        estimate: The metric on the full data.
        low: Lower bound.
        high: Upper bound.
        level: Coverage, e.g. ``0.95``.
    """

    estimate: float
    low: float
    high: float
    level: float = 0.95

    def spans(self, value: float = 0.0) -> bool:
        """Returns whether ``value`` lies inside ``[low, high]``.

        Example:
            >>> ConfidenceInterval(0.02, -0.01, 0.05).spans(0.0)
            True
        """
        return bool(self.low <= value <= self.high)

    def to_dict(self) -> dict[str, float]:
        """Returns the fields as a dict (inverse of ``ConfidenceInterval(**d)``)."""
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "level": self.level}


def resample_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap indices of shape ``(n_boot, n)`` from ``numpy.random.default_rng(seed)``.

    Example:
        >>> resample_indices(3, 2, seed=0).shape
        (2, 3)
    """
    if int(n_boot) < 1:
        raise ValueError(
            f"`n_boot` must be a positive number of resamples. Received: n_boot={n_boot}"
        )
    return np.random.default_rng(seed).integers(0, n, size=(int(n_boot), int(n)))


def _check_metrics(metrics: Sequence[str]) -> None:
    unknown = [m for m in metrics if m not in BOOTSTRAP_METRICS]
    if unknown:
        raise ValueError(
            f"Unknown bootstrap metric(s) {unknown}. Accepted: {list(BOOTSTRAP_METRICS)}. "
            f"Received: metrics={list(metrics)}"
        )


def _metric_fn(
    y_true: np.ndarray,
    y_prob: np.ndarray,
    metrics: Sequence[str],
    y_pred: np.ndarray | None = None,
) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """Returns a function mapping resample indices ``(b, n)`` to metric arrays ``(b,)``."""
    k = y_prob.shape[1]
    pred = np.argmax(y_prob, axis=1) if y_pred is None else np.asarray(y_pred, dtype=np.int64)
    codes = y_true * k + pred

    def fn(idx: np.ndarray) -> dict[str, np.ndarray]:
        b = idx.shape[0]
        flat = (codes[idx] + (np.arange(b) * k * k)[:, None]).ravel()
        cms = np.bincount(flat, minlength=b * k * k).reshape(b, k, k)
        scores = scores_from_confusion(cms)
        out = {m: scores[m] for m in metrics if m in _COUNT_METRICS}
        out.update(_prob_scores(idx, y_true, y_prob, metrics))
        if "roc_auc_macro" in metrics:
            out["roc_auc_macro"] = np.array(
                [macro_average(roc_auc_ovr(y_true[i], y_prob[i])) for i in idx]
            )
        return out

    return fn


def _prob_scores(
    idx: np.ndarray, y_true: np.ndarray, y_prob: np.ndarray, metrics: Sequence[str]
) -> dict[str, np.ndarray]:
    """Log-loss, Brier score and top-label ECE of each resample ``idx[b]``, vectorised.

    Same definitions as :mod:`~fracturenet.evaluation.probability_metrics` (ECE with
    ``ECE_BINS`` equal-width bins ``(lo, hi]``): per bin, ``n_b |acc_b - conf_b|`` equals
    ``|sum(correct - confidence)|`` over its images.
    """
    out: dict[str, np.ndarray] = {}
    n = idx.shape[1]
    rows = np.arange(len(y_true))
    if "log_loss" in metrics:
        eps = np.finfo(np.float64).eps
        nll = -np.log(np.clip(y_prob[rows, y_true], eps, 1 - eps))
        out["log_loss"] = nll[idx].mean(axis=1)
    if "brier" in metrics:
        brier = np.sum((y_prob - np.eye(y_prob.shape[1])[y_true]) ** 2, axis=1)
        out["brier"] = brier[idx].mean(axis=1)
    if "ece" in metrics:
        conf = y_prob.max(axis=1)
        gap = (np.argmax(y_prob, axis=1) == y_true) - conf
        edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
        bins = np.searchsorted(edges[1:-1], conf, side="left")
        flat = (bins[idx] + ECE_BINS * np.arange(idx.shape[0])[:, None]).ravel()
        sums = np.bincount(flat, weights=gap[idx].ravel(), minlength=idx.shape[0] * ECE_BINS)
        out["ece"] = np.abs(sums.reshape(-1, ECE_BINS)).sum(axis=1) / n
    return out


def _interval(estimate: float, samples: np.ndarray, level: float) -> ConfidenceInterval:
    samples = samples[~np.isnan(samples)]
    if len(samples) == 0:
        return ConfidenceInterval(float(estimate), float("nan"), float("nan"), level)
    lo, hi = np.percentile(samples, [50 * (1 - level), 50 * (1 + level)])
    return ConfidenceInterval(float(estimate), float(lo), float(hi), level)


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"`level` must lie strictly between 0 and 1. Received: level={level}")


def bootstrap_ci(
    y_true: np.ndarray,
    y_prob: np.ndarray,
    *,
    metrics: Sequence[str] = ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc_macro"),
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    y_pred: np.ndarray | None = None,
) -> dict[str, ConfidenceInterval]:
    """Percentile-bootstrap intervals of headline metrics of one model.

    Args:
        y_true: Integer labels, shape ``(n,)`` (validated, e.g. by ``validate_predictions``).
        y_prob: Probabilities, shape ``(n, k)``.
        metrics: Names from :data:`BOOTSTRAP_METRICS`. Defaults to accuracy, balanced
            accuracy, macro-F1 and macro ROC-AUC.
        n_boot: Number of resamples. Defaults to `1000`.
        seed: Seed of the resampling. Defaults to `0`.
        level: Coverage. Defaults to `0.95`.
        y_pred: Predicted labels for the count-based metrics (a binary model's decision
            threshold). Defaults to `None`: ``argmax(y_prob)``.

    Returns:
        Metric name -> :class:`ConfidenceInterval`.

    Raises:
        ValueError: On an unknown metric, ``n_boot < 1`` or ``level`` outside ``(0, 1)``.

    Example:
        >>> y = np.array([0, 1, 1, 0]); p = np.array([[.9, .1], [.2, .8], [.6, .4], [.7, .3]])
        >>> ci = bootstrap_ci(y, p, metrics=["accuracy"], n_boot=200)["accuracy"]
        >>> ci.estimate, 0.0 <= ci.low <= ci.estimate <= ci.high <= 1.0
        (0.75, True)
    """
    _check_metrics(metrics)
    _check_level(level)
    y_true = np.asarray(y_true, dtype=np.int64)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    fn = _metric_fn(y_true, y_prob, metrics, y_pred)
    full = fn(np.arange(len(y_true))[None, :])
    boot = fn(resample_indices(len(y_true), n_boot, seed))
    return {m: _interval(float(full[m][0]), boot[m], level) for m in metrics}


def paired_bootstrap_diff(
    y_true: np.ndarray,
    y_prob_a: np.ndarray,
    y_prob_b: np.ndarray,
    *,
    metrics: Sequence[str] = ("accuracy", "macro_f1"),
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, ConfidenceInterval]:
    """Paired-bootstrap intervals of ``metric(a) - metric(b)`` on the same images.

    Args:
        y_true: Integer labels, shape ``(n,)``.
        y_prob_a: Probabilities of model a, shape ``(n, k)``.
        y_prob_b: Probabilities of model b, shape ``(n, k)``.
        metrics: Names from :data:`BOOTSTRAP_METRICS`. Defaults to accuracy and macro-F1.
        n_boot: Number of resamples. Defaults to `2000`.
        seed: Seed of the resampling. Defaults to `0`.
        level: Coverage. Defaults to `0.95`.

    Returns:
        Metric name -> :class:`ConfidenceInterval` of the difference (a minus b).

    Example:
        >>> y = np.array([0, 1, 1, 0]); p = np.array([[.9, .1], [.2, .8], [.6, .4], [.7, .3]])
        >>> paired_bootstrap_diff(y, p, p, metrics=["accuracy"], n_boot=50)["accuracy"]
        ConfidenceInterval(estimate=0.0, low=0.0, high=0.0, level=0.95)
    """
    _check_metrics(metrics)
    _check_level(level)
    y_true = np.asarray(y_true, dtype=np.int64)
    fa = _metric_fn(y_true, np.asarray(y_prob_a, dtype=np.float64), metrics)
    fb = _metric_fn(y_true, np.asarray(y_prob_b, dtype=np.float64), metrics)
    full_idx = np.arange(len(y_true))[None, :]
    full_a, full_b = fa(full_idx), fb(full_idx)
    idx = resample_indices(len(y_true), n_boot, seed)
    boot_a, boot_b = fa(idx), fb(idx)
    return {
        m: _interval(float(full_a[m][0] - full_b[m][0]), boot_a[m] - boot_b[m], level)
        for m in metrics
    }
