"""Classification metrics on predictions, in pure NumPy, agreeing with scikit-learn.

Everything here works on integer labels ``y_true`` of shape ``(n,)`` and class probabilities
``y_prob`` of shape ``(n, k)`` (a 1-D array or a single column is read as the probability of
class 1 of a binary problem). Predictions are ``argmax(y_prob)``, ties going to the lower
class index.

Degenerate cases, defined once:

* Precision of a class never predicted, recall of a class never present, and their F1 are 0
  (scikit-learn's ``zero_division=0``). Macro precision/recall/F1 average over the classes
  present in ``y_true`` or in the predictions, as scikit-learn does without ``labels``.
* Balanced accuracy averages recall over the classes present in ``y_true``.
* ROC-AUC of a class with no positive or no negative, and PR-AUC (average precision) of a
  class with no positive, are ``nan``; they are reported per class as ``nan`` and left out of
  the macro averages (``nan`` when no class is defined).
* Cohen's kappa is ``nan`` when chance agreement is 1 (one class in both truth and
  predictions); MCC is 0 when truth or predictions are constant (both as scikit-learn).
* Top-k accuracy breaks ties at the k-th place towards the lower class index (so top-1 equals
  accuracy); scikit-learn breaks them the other way. ``k >= k_classes`` gives 1.0.
* Log loss clips probabilities to ``[eps, 1 - eps]`` with ``eps`` the float64 machine epsilon.
* The Brier score is the multi-class one, ``mean_i sum_c (p_ic - [y_i = c])^2`` in
  ``[0, 2]`` (scikit-learn's ``brier_score_loss(..., scale_by_half=False)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fracturenet.evaluation.probability_metrics import (
    brier_score,
    expected_calibration_error,
    log_loss,
    reliability_curve,
)
from fracturenet.evaluation.ranking import average_precision_ovr, macro_average, roc_auc_ovr

__all__ = [
    "compute_metrics",
    "validate_predictions",
    "confusion_matrix",
    "scores_from_confusion",
    "top_k_accuracy",
]

_PROB_ATOL = 1e-3


def validate_predictions(
    y_true: Sequence[int] | np.ndarray,
    y_prob: Sequence[Sequence[float]] | np.ndarray,
    class_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Checks and normalises labels, probabilities and class names.

    Args:
        y_true: Integer labels, shape ``(n,)``.
        y_prob: Probabilities, shape ``(n, k)``; shape ``(n,)`` or ``(n, 1)`` is read as the
            probability of class 1 of a binary problem.
        class_names: ``k`` names; defaults to ``"0"``, ``"1"``, ...

    Returns:
        ``(y_true, y_prob, class_names)`` as int64 ``(n,)``, float64 ``(n, k)`` and a tuple.

    Raises:
        ValueError: On empty input, mismatched lengths, labels outside ``[0, k)``,
            probabilities that are not finite, outside ``[0, 1]`` or whose rows do not sum to
            1, or a wrong number of class names.

    Example:
        >>> _, p, names = validate_predictions([0, 1], [0.2, 0.9])
        >>> p.tolist(), names
        ([[0.8, 0.2], [0.09999999999999998, 0.9]], ('0', '1'))
    """
    y = np.asarray(y_true)
    p = np.asarray(y_prob, dtype=np.float64)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(
            f"`y_true` must be a non-empty 1-D array of integer labels. Received: y_true.shape={y.shape}"
        )
    if y.dtype.kind not in "iub" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
        raise ValueError(f"`y_true` must hold integer labels. Received: y_true.dtype={y.dtype}")
    if p.ndim == 1 or (p.ndim == 2 and p.shape[1] == 1):
        p = p.reshape(-1)
        p = np.stack([1.0 - p, p], axis=1)
    if p.ndim != 2 or p.shape[0] != len(y):
        raise ValueError(
            "`y_prob` must have shape (n, k) with n = len(y_true) = "
            f"{len(y)}. Received: y_prob.shape={np.shape(y_prob)}"
        )
    if not np.all(np.isfinite(p)) or p.min() < -_PROB_ATOL or p.max() > 1 + _PROB_ATOL:
        raise ValueError(
            "`y_prob` must hold finite probabilities in [0, 1] (apply softmax to logits first). "
            f"Received: y_prob range=[{np.nanmin(p):.4g}, {np.nanmax(p):.4g}]"
        )
    sums = p.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if abs(sums[worst] - 1.0) > _PROB_ATOL:
        raise ValueError(
            "Each row of `y_prob` must sum to 1 (softmax output). "
            f"Received: y_prob[{worst}].sum()={sums[worst]:.6g}"
        )
    k = p.shape[1]
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= k:
        raise ValueError(
            f"`y_true` labels must lie in [0, {k}) for {k} probability columns. "
            f"Received: y_true range=[{y.min()}, {y.max()}]"
        )
    names = tuple(str(i) for i in range(k)) if class_names is None else tuple(class_names)
    if len(names) != k:
        raise ValueError(
            f"`class_names` must have one name per probability column ({k}). "
            f"Received: len(class_names)={len(names)}"
        )
    return y, np.clip(p, 0.0, 1.0), tuple(str(n) for n in names)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of images of true class ``i`` predicted as ``j``.

    Example:
        >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
        [[1, 0], [1, 1]]
    """
    codes = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(codes, minlength=num_classes**2).reshape(num_classes, num_classes)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.broadcast_arrays(np.asarray(num, np.float64), np.asarray(den, np.float64))
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def scores_from_confusion(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Count-based metrics of one confusion matrix or a stack of them (shape ``(..., k, k)``).

    Args:
        cm: Confusion matrices, true classes along the rows.

    Returns:
        Dict with ``accuracy``, ``balanced_accuracy``, ``macro_precision``, ``macro_recall``,
        ``macro_f1``, ``weighted_f1``, ``cohen_kappa``, ``mcc`` (shape ``(...)``) and
        ``precision``, ``recall``, ``f1``, ``support`` (shape ``(..., k)``).

    Example:
        >>> s = scores_from_confusion(np.array([[2, 0], [1, 1]]))
        >>> float(s["accuracy"]), float(s["balanced_accuracy"])
        (0.75, 0.75)
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    n = support.sum(axis=-1)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * tp, support + predicted)
    seen = (support + predicted) > 0
    present = support > 0
    n_seen = seen.sum(axis=-1)
    correct = tp.sum(axis=-1)
    chance = (support * predicted).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pe = chance / n**2
        kappa = np.where(pe < 1.0, (correct / n - pe) / (1.0 - pe), np.nan)
        cov_tp = correct * n - chance
        cov_tt = n**2 - (support**2).sum(axis=-1)
        cov_pp = n**2 - (predicted**2).sum(axis=-1)
        denom = cov_tt * cov_pp
        mcc = np.where(denom > 0, cov_tp / np.sqrt(np.where(denom > 0, denom, 1.0)), 0.0)
    return {
        "accuracy": correct / n,
        "balanced_accuracy": (recall * present).sum(axis=-1) / present.sum(axis=-1),
        "macro_precision": (precision * seen).sum(axis=-1) / n_seen,
        "macro_recall": (recall * seen).sum(axis=-1) / n_seen,
        "macro_f1": (f1 * seen).sum(axis=-1) / n_seen,
        "weighted_f1": (f1 * support).sum(axis=-1) / n,
        "cohen_kappa": kappa,
        "mcc": mcc,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support,
    }


def top_k_accuracy(y_true: np.ndarray, y_prob: np.ndarray, k: int) -> float:
    """Fraction of images whose true class is among the ``k`` most probable.

    Ties at the k-th place go to the lower class index (see the module notes).

    Example:
        >>> top_k_accuracy(np.array([2]), np.array([[0.5, 0.3, 0.2]]), 2)
        0.0
    """
    if int(k) < 1:
        raise ValueError(f"`top_k` values must be >= 1. Received: k={k}")
    if k >= y_prob.shape[1]:
        return 1.0
    ranking = np.argsort(-y_prob, axis=1, kind="mergesort")[:, :k]
    return float(np.mean(np.any(ranking == y_true[:, None], axis=1)))


def compute_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_prob: Sequence[Sequence[float]] | np.ndarray,
    *,
    class_names: Sequence[str] | None = None,
    top_k: Sequence[int] = (1, 3),
    n_bins: int = 15,
    y_pred: Sequence[int] | np.ndarray | None = None,
) -> dict:
    """All the metrics of a classifier's predictions, as a JSON-friendly dict.

    Args:
        y_true: Integer labels, shape ``(n,)``.
        y_prob: Probabilities, shape ``(n, k)`` (or ``(n,)`` for binary, see the module notes).
        class_names: ``k`` class names. Defaults to `None` (``"0"``, ``"1"``, ...).
        top_k: The ``k`` values of ``top_{k}_accuracy`` keys. Defaults to `(1, 3)`.
        n_bins: Bins of the calibration error and reliability data. Defaults to `15`.
        y_pred: Predicted labels, shape ``(n,)``, for the count-based metrics and the
            confusion matrix: a binary model's decision threshold (see
            :class:`~fracturenet.models.DecisionThreshold`). Defaults to `None`:
            ``argmax(y_prob)``. Top-k, ranking and probability metrics never use it.

    Returns:
        Dict with scalars ``n``, ``num_classes``, ``accuracy``, ``balanced_accuracy``,
        ``macro_precision``, ``macro_recall``, ``macro_f1``, ``weighted_f1``,
        ``top_{k}_accuracy``, ``roc_auc_macro``, ``pr_auc_macro``, ``cohen_kappa``, ``mcc``,
        ``log_loss``, ``brier``, ``ece``; ``class_names``; ``per_class`` (name -> precision,
        recall, f1, support, roc_auc, pr_auc); ``confusion_matrix`` (counts) and
        ``confusion_matrix_normalized`` (rows sum to 1, all-zero rows for absent classes);
        ``reliability`` (see
        :func:`~fracturenet.evaluation.probability_metrics.reliability_curve`). Undefined values are ``nan``.

    Raises:
        ValueError: On malformed input (see :func:`validate_predictions`).

    Example:
        >>> m = compute_metrics([0, 1, 1], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]],
        ...                     class_names=["normal", "fracture"])
        >>> round(m["accuracy"], 3), m["per_class"]["fracture"]["recall"], m["roc_auc_macro"]
        (0.667, 0.5, 1.0)
    """
    y, p, names = validate_predictions(y_true, y_prob, class_names)
    k = p.shape[1]
    pred = np.argmax(p, axis=1) if y_pred is None else np.asarray(y_pred, dtype=np.int64)
    if pred.shape != y.shape or pred.min() < 0 or pred.max() >= k:
        raise ValueError(
            f"`y_pred` must hold one label in [0, {k}) per image ({len(y)}). "
            f"Received: y_pred.shape={pred.shape}"
        )
    cm = confusion_matrix(y, pred, k)
    s = scores_from_confusion(cm)
    auc = roc_auc_ovr(y, p)
    ap = average_precision_ovr(y, p)
    out: dict = {"n": len(y), "num_classes": k, "class_names": list(names)}
    for key in ("accuracy", "balanced_accuracy", "macro_precision", "macro_recall"):
        out[key] = float(s[key])
    out["macro_f1"] = float(s["macro_f1"])
    out["weighted_f1"] = float(s["weighted_f1"])
    for kk in top_k:
        out[f"top_{int(kk)}_accuracy"] = top_k_accuracy(y, p, int(kk))
    out["roc_auc_macro"] = macro_average(auc)
    out["pr_auc_macro"] = macro_average(ap)
    out["cohen_kappa"] = float(s["cohen_kappa"])
    out["mcc"] = float(s["mcc"])
    out["log_loss"] = log_loss(y, p)
    out["brier"] = brier_score(y, p)
    out["ece"] = expected_calibration_error(y, p, n_bins)
    out["per_class"] = {
        name: {
            "precision": float(s["precision"][c]),
            "recall": float(s["recall"][c]),
            "f1": float(s["f1"][c]),
            "support": int(s["support"][c]),
            "roc_auc": float(auc[c]),
            "pr_auc": float(ap[c]),
        }
        for c, name in enumerate(names)
    }
    out["confusion_matrix"] = cm.astype(int).tolist()
    out["confusion_matrix_normalized"] = _safe_div(cm, cm.sum(axis=1, keepdims=True)).tolist()
    out["reliability"] = reliability_curve(y, p, n_bins)
    return out
