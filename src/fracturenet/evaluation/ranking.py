"""Threshold-free ranking metrics in pure NumPy: ROC curve, ROC-AUC and average precision.

Each function takes binary targets and scores for one class; the ``*_ovr`` helpers apply them
one-vs-rest to every column of a probability matrix. Ties between scores are handled as
scikit-learn does (mid-ranks for ROC-AUC, one threshold per distinct score), and a class with
no positive or no negative example has no defined value: the result is ``nan``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "binary_roc_curve",
    "binary_roc_auc",
    "binary_average_precision",
    "roc_auc_ovr",
    "average_precision_ovr",
    "macro_average",
]


def _midranks(scores: np.ndarray) -> np.ndarray:
    """Returns 1-based ranks of ``scores`` with tied values sharing their average rank."""
    order = np.argsort(scores, kind="mergesort")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    group_rank = (starts + 1 + ends) / 2.0
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.repeat(group_rank, ends - starts)
    return ranks


def binary_roc_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve for one class (Mann-Whitney U with mid-ranks for ties).

    Args:
        y: Binary targets (``True``/``1`` for the positive class), shape ``(n,)``.
        scores: Scores, higher meaning more likely positive, shape ``(n,)``.

    Returns:
        The AUC in ``[0, 1]``, or ``nan`` when ``y`` has no positive or no negative.

    Example:
        >>> binary_roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
        0.75
    """
    y = np.asarray(y).astype(bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _midranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _threshold_counts(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positive counts at each distinct score, highest threshold first."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    y_sorted = np.asarray(y).astype(bool)[order]
    s_sorted = np.asarray(scores, dtype=np.float64)[order]
    ends = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), len(s_sorted) - 1]
    tps = np.cumsum(y_sorted)[ends].astype(np.float64)
    fps = ends + 1 - tps
    return tps, fps


def binary_roc_curve(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve points for one class, one point per distinct score plus the origin.

    Args:
        y: Binary targets, shape ``(n,)``.
        scores: Scores, higher meaning more likely positive, shape ``(n,)``.

    Returns:
        ``(fpr, tpr)`` arrays starting at ``(0, 0)`` and ending at ``(1, 1)``. When ``y`` has
        no positive (or no negative) the undefined rate is returned as ``nan``.

    Example:
        >>> fpr, tpr = binary_roc_curve(np.array([0, 1, 1]), np.array([0.2, 0.9, 0.5]))
        >>> fpr.tolist(), tpr.tolist()
        ([0.0, 0.0, 0.0, 1.0], [0.0, 0.5, 1.0, 1.0])
    """
    tps, fps = _threshold_counts(y, scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.r_[0.0, tps] / tps[-1] if tps[-1] > 0 else np.full(len(tps) + 1, np.nan)
        fpr = np.r_[0.0, fps] / fps[-1] if fps[-1] > 0 else np.full(len(fps) + 1, np.nan)
    return fpr, tpr


def binary_average_precision(y: np.ndarray, scores: np.ndarray) -> float:
    """Average precision (area under the step precision-recall curve) for one class.

    ``AP = sum_n (R_n - R_{n-1}) P_n`` over the distinct scores, as in scikit-learn.

    Args:
        y: Binary targets, shape ``(n,)``.
        scores: Scores, higher meaning more likely positive, shape ``(n,)``.

    Returns:
        AP in ``[0, 1]``, or ``nan`` when ``y`` has no positive (scikit-learn returns 0 with
        a warning there; an undefined value must not drag a macro average down).

    Example:
        >>> binary_average_precision(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
        0.8333333333333333
    """
    tps, fps = _threshold_counts(y, scores)
    if tps[-1] == 0:
        return float("nan")
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def roc_auc_ovr(y_true: np.ndarray, y_prob: np.ndarray) -> np.ndarray:
    """One-vs-rest ROC-AUC of every class (``nan`` for a class absent or alone in ``y_true``).

    Args:
        y_true: Integer labels, shape ``(n,)``.
        y_prob: Class probabilities, shape ``(n, k)``.

    Returns:
        Array of shape ``(k,)``.

    Example:
        >>> roc_auc_ovr(np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]])).tolist()
        [1.0, 1.0]
    """
    return np.array(
        [binary_roc_auc(y_true == c, y_prob[:, c]) for c in range(y_prob.shape[1])],
        dtype=np.float64,
    )


def average_precision_ovr(y_true: np.ndarray, y_prob: np.ndarray) -> np.ndarray:
    """One-vs-rest average precision of every class (``nan`` for a class absent from ``y_true``).

    Args:
        y_true: Integer labels, shape ``(n,)``.
        y_prob: Class probabilities, shape ``(n, k)``.

    Returns:
        Array of shape ``(k,)``.

    Example:
        >>> average_precision_ovr(np.array([0, 0]), np.array([[0.9, 0.1], [0.6, 0.4]])).tolist()
        [1.0, nan]
    """
    return np.array(
        [binary_average_precision(y_true == c, y_prob[:, c]) for c in range(y_prob.shape[1])],
        dtype=np.float64,
    )


def macro_average(per_class: np.ndarray) -> float:
    """Mean over the classes whose value is defined; ``nan`` when none is.

    Example:
        >>> macro_average(np.array([1.0, np.nan, 0.5]))
        0.75
    """
    defined = np.asarray(per_class, dtype=np.float64)
    defined = defined[~np.isnan(defined)]
    return float(defined.mean()) if len(defined) else float("nan")
