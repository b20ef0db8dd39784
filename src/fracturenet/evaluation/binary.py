"""What a clinician reads off a binary classifier, in pure NumPy, agreeing with scikit-learn.

For a two-class problem with a *positive* class (the finding) and an operating point (a
threshold on the positive class's probability, see
:class:`~fracturenet.models.DecisionThreshold`; ``argmax`` when there is none):

* ``auroc``: area under the ROC curve of the positive class's probability
  (``sklearn.metrics.roc_auc_score``); threshold-free.
* ``pr_auc``: average precision of the positive class (``average_precision_score``);
  threshold-free, and the one to read when positives are rare (chance level = prevalence).
* ``sensitivity`` (recall of the positive class), ``specificity`` (recall of the negative
  class), ``ppv`` (precision), ``npv`` and ``balanced_accuracy`` (their mean of sensitivity
  and specificity) at the operating point, with its confusion counts ``tp, fp, tn, fn``.
* ``sensitivity_at_90_specificity``: the highest sensitivity of any threshold whose
  specificity is at least 0.90 (``max(tpr[fpr <= 0.1])`` of ``sklearn.metrics.roc_curve``);
  threshold-free, read off the test set's own ROC curve (so optimistic as an operating
  point: the threshold that achieves it was not fixed beforehand).

Undefined values (no positive or no negative in the data) are ``nan``.
:func:`binary_bootstrap` gives seeded percentile-bootstrap intervals of all of them, same
resamples as :func:`~fracturenet.evaluation.bootstrap_ci` for the same ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fracturenet.evaluation.bootstrap import ConfidenceInterval, resample_indices
from fracturenet.evaluation.ranking import (
    binary_average_precision,
    binary_roc_auc,
    binary_roc_curve,
)

__all__ = [
    "BINARY_METRICS",
    "binary_bootstrap",
    "binary_metrics",
    "sensitivity_at_specificity",
]

#: The scalar metrics of :func:`binary_metrics`, in report order (all get bootstrap CIs).
BINARY_METRICS: tuple[str, ...] = (
    "auroc",
    "pr_auc",
    "sensitivity",
    "specificity",
    "balanced_accuracy",
    "ppv",
    "npv",
    "sensitivity_at_90_specificity",
)


def sensitivity_at_specificity(y: np.ndarray, scores: np.ndarray, specificity: float) -> float:
    """Highest sensitivity among thresholds with specificity ``>= specificity``.

    Args:
        y: Binary targets (1/True positive), shape ``(n,)``.
        scores: Scores, higher meaning more likely positive.
        specificity: The minimum specificity in ``[0, 1]``.

    Returns:
        The sensitivity, or ``nan`` without positives or negatives.

    Example:
        >>> sensitivity_at_specificity(np.array([0, 0, 1, 1]), np.array([.1, .6, .5, .9]), 0.5)
        1.0
    """
    fpr, tpr = binary_roc_curve(y, scores)
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return float("nan")
    return float(tpr[fpr <= 1.0 - specificity + 1e-12].max())


def _rates(tp: np.ndarray, fp: np.ndarray, tn: np.ndarray, fn: np.ndarray) -> dict:
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), np.nan)
        spec = np.where(tn + fp > 0, tn / np.maximum(tn + fp, 1), np.nan)
        ppv = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), np.nan)
        npv = np.where(tn + fn > 0, tn / np.maximum(tn + fn, 1), np.nan)
    return {
        "sensitivity": sens,
        "specificity": spec,
        "balanced_accuracy": (sens + spec) / 2.0,
        "ppv": ppv,
        "npv": npv,
    }


def _as_binary(y_true: np.ndarray, y_prob: np.ndarray, positive: int) -> tuple:
    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_prob, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or positive not in (0, 1):
        raise ValueError(
            "Binary metrics need (n, 2) probabilities and a positive class 0 or 1. "
            f"Received: y_prob.shape={p.shape}, positive={positive!r}"
        )
    return y == positive, p[:, positive]


def binary_metrics(
    y_true: np.ndarray,
    y_prob: np.ndarray,
    y_pred: np.ndarray,
    *,
    positive: int,
) -> dict:
    """The binary metrics of the module notes for one operating point.

    Args:
        y_true: Integer labels 0/1, shape ``(n,)``.
        y_prob: Probabilities, shape ``(n, 2)``.
        y_pred: Predicted labels 0/1 at the operating point, shape ``(n,)``.
        positive: Index of the positive class.

    Returns:
        Dict of :data:`BINARY_METRICS` (floats) plus ``n_positive``, ``n_negative``,
        ``prevalence``, ``tp``, ``fp``, ``tn``, ``fn``.

    Example:
        >>> y = np.array([0, 0, 1, 1]); p1 = np.array([.1, .6, .5, .9])
        >>> m = binary_metrics(y, np.stack([1 - p1, p1], 1), (p1 >= .5).astype(int), positive=1)
        >>> m["sensitivity"], m["specificity"], m["auroc"]
        (1.0, 0.5, 0.75)
    """
    y_pos, score = _as_binary(y_true, y_prob, positive)
    pred_pos = np.asarray(y_pred) == positive
    tp = int(np.sum(y_pos & pred_pos))
    fp = int(np.sum(~y_pos & pred_pos))
    tn = int(np.sum(~y_pos & ~pred_pos))
    fn = int(np.sum(y_pos & ~pred_pos))
    rates = _rates(*(np.float64(v) for v in (tp, fp, tn, fn)))
    out = {
        "auroc": binary_roc_auc(y_pos, score),
        "pr_auc": binary_average_precision(y_pos, score),
        **{k: float(v) for k, v in rates.items()},
        "sensitivity_at_90_specificity": sensitivity_at_specificity(y_pos, score, 0.9),
    }
    out = {k: out[k] for k in BINARY_METRICS}
    n_pos = int(y_pos.sum())
    out.update(
        n_positive=n_pos,
        n_negative=len(y_pos) - n_pos,
        prevalence=n_pos / len(y_pos),
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
    )
    return out


def binary_bootstrap(
    y_true: np.ndarray,
    y_prob: np.ndarray,
    y_pred: np.ndarray,
    *,
    positive: int,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    metrics: Sequence[str] = BINARY_METRICS,
) -> dict[str, ConfidenceInterval]:
    """Percentile-bootstrap intervals of :func:`binary_metrics` (images resampled).

    Count-based metrics are vectorised over resamples; the ranking ones (``auroc``,
    ``pr_auc``, ``sensitivity_at_90_specificity``) are computed per resample, skipping
    resamples where they are undefined.

    Args:
        y_true: Integer labels 0/1, shape ``(n,)``.
        y_prob: Probabilities, shape ``(n, 2)``.
        y_pred: Predicted labels at the operating point, shape ``(n,)``.
        positive: Index of the positive class.
        n_boot: Resamples. Defaults to `1000`.
        seed: Seed of the resampling. Defaults to `0`.
        level: Coverage. Defaults to `0.95`.
        metrics: Which of :data:`BINARY_METRICS`. Defaults to all.

    Returns:
        Metric name -> :class:`~fracturenet.evaluation.ConfidenceInterval`.

    Raises:
        ValueError: On an unknown metric, ``n_boot < 1`` or ``level`` outside ``(0, 1)``.

    Example:
        >>> y = np.array([0, 0, 1, 1] * 5); p1 = np.tile([.1, .6, .5, .9], 5)
        >>> ci = binary_bootstrap(y, np.stack([1 - p1, p1], 1), (p1 >= .5).astype(int),
        ...                       positive=1, n_boot=200, metrics=["sensitivity"])
        >>> ci["sensitivity"].estimate, ci["sensitivity"].low
        (1.0, 1.0)
    """
    unknown = [m for m in metrics if m not in BINARY_METRICS]
    if unknown:
        raise ValueError(
            f"Unknown binary metric(s) {unknown}. Accepted: {list(BINARY_METRICS)}. "
            f"Received: metrics={list(metrics)}"
        )
    if not 0.0 < level < 1.0:
        raise ValueError(f"`level` must lie strictly between 0 and 1. Received: level={level}")
    y_pos, score = _as_binary(y_true, y_prob, positive)
    pred_pos = np.asarray(y_pred) == positive
    full = binary_metrics(y_true, y_prob, y_pred, positive=positive)
    idx = resample_indices(len(y_pos), n_boot, seed)
    yp, pp = y_pos[idx], pred_pos[idx]
    counts = [
        np.sum(a, axis=1).astype(np.float64) for a in (yp & pp, ~yp & pp, ~yp & ~pp, yp & ~pp)
    ]
    samples: dict[str, np.ndarray] = dict(_rates(*counts))
    ranking = {
        "auroc": binary_roc_auc,
        "pr_auc": binary_average_precision,
        "sensitivity_at_90_specificity": lambda y, s: sensitivity_at_specificity(y, s, 0.9),
    }
    for name, fn in ranking.items():
        if name in metrics:
            samples[name] = np.array([fn(y_pos[i], score[i]) for i in idx], dtype=np.float64)
    out = {}
    for m in metrics:
        s = samples[m][~np.isnan(samples[m])]
        if len(s) == 0 or np.isnan(full[m]):
            out[m] = ConfidenceInterval(float(full[m]), float("nan"), float("nan"), level)
            continue
        lo, hi = np.percentile(s, [50 * (1 - level), 50 * (1 + level)])
        out[m] = ConfidenceInterval(float(full[m]), float(lo), float(hi), level)
    return out
