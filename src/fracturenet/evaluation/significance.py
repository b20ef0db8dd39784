"""Significance tests for paired classifiers: McNemar's test and Holm's adjustment."""

from __future__ import annotations

import numpy as np

__all__ = ["mcnemar_test", "holm_adjust", "EXACT_BELOW"]

EXACT_BELOW = 25
"""McNemar uses the exact binomial test when fewer images than this are discordant."""


def mcnemar_test(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int, float, str]:
    """McNemar's test of equal accuracy on paired predictions.

    Args:
        correct_a: Whether model a got each image right, shape ``(n,)``.
        correct_b: Same for model b.

    Returns:
        ``(b, c, p_value, method)``: images only a got right, images only b got right, the
        two-sided p-value and ``"exact"`` or ``"chi2-cc"``.

    Example:
        >>> a = np.array([1, 1, 1, 1, 0], bool); b = np.array([0, 0, 0, 1, 0], bool)
        >>> mcnemar_test(a, b)
        (3, 0, 0.25, 'exact')
    """
    from scipy import stats

    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = only_a + only_b
    if discordant == 0:
        return only_a, only_b, 1.0, "exact"
    if discordant < EXACT_BELOW:
        p = stats.binomtest(min(only_a, only_b), discordant, 0.5).pvalue
        return only_a, only_b, float(min(1.0, p)), "exact"
    statistic = (abs(only_a - only_b) - 1) ** 2 / discordant
    return only_a, only_b, float(stats.chi2.sf(statistic, df=1)), "chi2-cc"


def holm_adjust(p_values: list[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error control over several tests).

    Example:
        >>> holm_adjust([0.01, 0.04, 0.03])
        [0.03, 0.06, 0.06]
    """
    order = np.argsort(p_values, kind="mergesort")
    m = len(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted.tolist()
