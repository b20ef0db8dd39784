"""Temperature scaling (Guo et al., 2017): one scalar ``T`` fitted on validation predictions.

``softmax(z / T)`` keeps every argmax (so accuracy and the confusion matrix do not change) and
only sharpens (``T < 1``) or softens (``T > 1``) the probabilities. ``T`` minimises the
validation negative log-likelihood over ``[0.05, 20]``. Probabilities can be passed instead of
logits: ``log p`` are logits of the same softmax, up to a per-row constant that cancels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fracturenet.evaluation.probability_metrics import expected_calibration_error, log_loss

__all__ = ["fit_temperature", "apply_temperature", "calibrate", "CalibrationResult"]

_KINDS = ("auto", "logits", "probs")
_T_RANGE = (0.05, 20.0)


def _as_logits(scores: np.ndarray | Sequence, kind: str) -> np.ndarray:
    if kind not in _KINDS:
        raise ValueError(f"`kind` must be one of {list(_KINDS)}. Received: kind={kind!r}")
    z = np.asarray(scores, dtype=np.float64)
    if z.ndim == 2 and z.shape[1] == 1:
        z = z[:, 0]
    if z.ndim not in (1, 2) or len(z) == 0 or not np.all(np.isfinite(z)):
        raise ValueError(
            "`logits_or_probs` must be a non-empty finite array of shape (n, k), or (n,) for one "
            f"sigmoid unit. Received: shape={np.shape(scores)}"
        )
    binary = z.ndim == 1
    looks_like_probs = (
        z.min() >= 0.0
        and z.max() <= 1.0
        and (binary or bool(np.allclose(z.sum(axis=1), 1.0, atol=1e-3)))
    )
    if kind == "probs" and not looks_like_probs:
        raise ValueError(
            "kind='probs' needs probabilities in [0, 1] whose rows sum to 1. "
            f"Received: range=[{z.min():.4g}, {z.max():.4g}]"
        )
    if kind == "probs" or (kind == "auto" and looks_like_probs):
        p = np.stack([1.0 - z, z], axis=1) if binary else z
        return np.log(np.clip(p, 1e-12, 1.0))
    return np.stack([np.zeros_like(z), z], axis=1) if binary else z


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _nll(z: np.ndarray, y: np.ndarray, temperature: float) -> float:
    s = z / temperature
    m = s.max(axis=1)
    lse = m + np.log(np.exp(s - m[:, None]).sum(axis=1))
    return float(np.mean(lse - s[np.arange(len(y)), y]))


def _labels(y_true: np.ndarray | Sequence[int], n: int, k: int) -> np.ndarray:
    y = np.asarray(y_true).astype(np.int64).reshape(-1)
    if len(y) != n or y.min() < 0 or y.max() >= k:
        raise ValueError(
            f"`y_true` must hold {n} labels in [0, {k}). "
            f"Received: len(y_true)={len(y)}, range=[{y.min()}, {y.max()}]"
        )
    return y


def fit_temperature(
    logits_or_probs: np.ndarray | Sequence,
    y_true: np.ndarray | Sequence[int],
    *,
    kind: str = "auto",
) -> float:
    """Fits the temperature minimising the negative log-likelihood on validation data.

    Args:
        logits_or_probs: Validation logits or probabilities, shape ``(n, k)`` (``(n,)`` for
            one sigmoid unit).
        y_true: Validation labels, shape ``(n,)``.
        kind: ``"logits"``, ``"probs"`` or ``"auto"`` (probabilities if every row lies in
            ``[0, 1]`` and sums to 1). Defaults to `"auto"`.

    Returns:
        The temperature ``T`` in ``[0.05, 20]``; ``T > 1`` means the model was overconfident.

    Raises:
        ValueError: On malformed input or an unknown ``kind``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 3, 500)
        >>> logits = 3.0 * (np.eye(3)[y] + rng.normal(size=(500, 3)))  # overconfident
        >>> fit_temperature(logits, y) > 1.5
        True
    """
    from scipy.optimize import minimize_scalar

    z = _as_logits(logits_or_probs, kind)
    y = _labels(y_true, len(z), z.shape[1])
    lo, hi = np.log(_T_RANGE[0]), np.log(_T_RANGE[1])
    res = minimize_scalar(
        lambda t: _nll(z, y, float(np.exp(t))),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(res.x))


def apply_temperature(
    logits_or_probs: np.ndarray | Sequence, temperature: float, *, kind: str = "auto"
) -> np.ndarray:
    """Returns ``softmax(logits / temperature)``, probabilities of shape ``(n, k)``.

    Args:
        logits_or_probs: Logits or probabilities (see :func:`fit_temperature`).
        temperature: A positive temperature, e.g. from :func:`fit_temperature`.
        kind: ``"logits"``, ``"probs"`` or ``"auto"``. Defaults to `"auto"`.

    Raises:
        ValueError: If ``temperature`` is not a positive finite number, or on malformed input.

    Example:
        >>> apply_temperature(np.array([[0.8, 0.2]]), 2.0).round(3).tolist()
        [[0.667, 0.333]]
    """
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(
            f"`temperature` must be a positive number. Received: temperature={temperature}"
        )
    return _softmax(_as_logits(logits_or_probs, kind) / float(temperature))


@dataclass(frozen=True)
class CalibrationResult:
    """Temperature and calibration before/after on held-out predictions.

    Attributes:
        temperature: Fitted temperature.
        ece_before: Expected calibration error before scaling.
        ece_after: ECE after scaling.
        log_loss_before: Log loss before scaling.
        log_loss_after: Log loss after scaling.
        n_bins: ECE bins.
        held_out: Whether before/after were measured on data other than the fitting data.
    """

    temperature: float
    ece_before: float
    ece_after: float
    log_loss_before: float
    log_loss_after: float
    n_bins: int
    held_out: bool


def calibrate(
    val_logits_or_probs: np.ndarray | Sequence,
    y_val: np.ndarray | Sequence[int],
    test_logits_or_probs: np.ndarray | Sequence | None = None,
    y_test: np.ndarray | Sequence[int] | None = None,
    *,
    kind: str = "auto",
    n_bins: int = 15,
) -> CalibrationResult:
    """Fits a temperature on validation data and measures ECE and log loss before and after.

    Args:
        val_logits_or_probs: Validation logits or probabilities (fits the temperature).
        y_val: Validation labels.
        test_logits_or_probs: Held-out predictions to measure on. Defaults to `None` (the
            validation data itself, an optimistic in-sample figure; ``held_out`` is false).
        y_test: Held-out labels; required with ``test_logits_or_probs``. Defaults to `None`.
        kind: ``"logits"``, ``"probs"`` or ``"auto"``. Defaults to `"auto"`.
        n_bins: ECE bins. Defaults to `15`.

    Returns:
        A :class:`CalibrationResult`.

    Raises:
        ValueError: If only one of the test arguments is given, or on malformed input.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> y = rng.integers(0, 3, 400)
        >>> z = 4.0 * (np.eye(3)[y] + rng.normal(size=(400, 3)))
        >>> r = calibrate(z[:200], y[:200], z[200:], y[200:])
        >>> r.ece_after < r.ece_before, r.held_out
        (True, True)
    """
    if (test_logits_or_probs is None) != (y_test is None):
        raise ValueError(
            "Pass both `test_logits_or_probs` and `y_test`, or neither. Received: "
            f"test_logits_or_probs={'set' if test_logits_or_probs is not None else None}, "
            f"y_test={'set' if y_test is not None else None}"
        )
    temperature = fit_temperature(val_logits_or_probs, y_val, kind=kind)
    held_out = test_logits_or_probs is not None
    scores = test_logits_or_probs if held_out else val_logits_or_probs
    z = _as_logits(scores, kind)
    y = _labels(y_test if held_out else y_val, len(z), z.shape[1])
    before, after = _softmax(z), _softmax(z / temperature)
    return CalibrationResult(
        temperature=temperature,
        ece_before=expected_calibration_error(y, before, n_bins),
        ece_after=expected_calibration_error(y, after, n_bins),
        log_loss_before=log_loss(y, before),
        log_loss_after=log_loss(y, after),
        n_bins=int(n_bins),
        held_out=held_out,
    )
