"""The binary and per-facet parts of an :class:`~fracturenet.evaluation.EvaluationReport`.

For a two-class report: which class is positive, which operating point decides (the model's
stored :class:`~fracturenet.models.DecisionThreshold`, a given one, or ``argmax``), the
clinician's metrics at that point (:mod:`~fracturenet.evaluation.binary`) with bootstrap
intervals, and their Markdown. For any report with facets: the per-value table of
:mod:`~fracturenet.evaluation.facets` and its Markdown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fracturenet.evaluation.binary import BINARY_METRICS, binary_bootstrap, binary_metrics
from fracturenet.evaluation.bootstrap import ConfidenceInterval
from fracturenet.evaluation.facets import facet_table
from fracturenet.models.decision import DecisionThreshold, resolve_positive_class

__all__ = [
    "binary_markdown",
    "binary_rows",
    "binary_section",
    "facets_markdown",
    "facets_section",
    "metric_label",
]

_LABELS = {
    "auroc": "AUROC",
    "pr_auc": "PR-AUC (average precision)",
    "sensitivity": "sensitivity",
    "specificity": "specificity",
    "balanced_accuracy": "balanced accuracy",
    "ppv": "PPV (precision)",
    "npv": "NPV",
    "sensitivity_at_90_specificity": "sensitivity at 90 % specificity",
}


def _fmt(x: Any, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def as_decision(decision: DecisionThreshold | Mapping[str, Any] | None) -> DecisionThreshold | None:
    """A :class:`DecisionThreshold` from itself, its dict, or ``None``."""
    if decision is None or isinstance(decision, DecisionThreshold):
        return decision
    if isinstance(decision, Mapping):
        return DecisionThreshold.from_dict(decision)
    raise ValueError(
        "Argument `decision` must be a DecisionThreshold, its dict, or None. "
        f"Received: decision={type(decision).__name__}"
    )


def binary_section(
    y: np.ndarray,
    p: np.ndarray,
    names: Sequence[str],
    *,
    decision: DecisionThreshold | None,
    positive_class: str | int | None,
    bootstrap: int,
    seed: int,
) -> tuple[np.ndarray, dict[str, Any], dict[str, ConfidenceInterval]]:
    """``(y_pred, section, intervals)`` of a two-class report.

    The positive class is the decision's, else ``positive_class``, else the minority class
    of ``y`` (ties: class 1); ``y_pred`` is the decision's labels, else ``argmax``.
    """
    if decision is not None:
        pos = decision.positive_index
        if positive_class is not None and resolve_positive_class(y, positive_class, names) != pos:
            raise ValueError(
                "Argument `positive_class` differs from the decision threshold's positive "
                f"class {names[pos]!r}. Received: positive_class={positive_class!r}"
            )
        y_pred = decision.predict(p)
        point = {"source": "threshold", **decision.to_dict()}
    else:
        pos = resolve_positive_class(y, positive_class, names)
        y_pred = np.argmax(p, axis=1)
        point = {"source": "argmax", "threshold": None, "positive_index": pos}
    how = "given" if positive_class is not None or decision is not None else "minority class"
    section: dict[str, Any] = {
        "positive_class": str(names[pos]),
        "positive_index": int(pos),
        "positive_class_chosen_by": how if decision is None else "decision threshold",
        "operating_point": point,
        **binary_metrics(y, p, y_pred, positive=pos),
    }
    intervals = (
        binary_bootstrap(
            y,
            p,
            y_pred,
            positive=pos,
            n_boot=bootstrap,
            seed=seed,
            metrics=[m for m in BINARY_METRICS if m != "balanced_accuracy"],
        )
        if bootstrap
        else {}
    )
    return y_pred, section, intervals


def binary_rows(
    section: Mapping[str, Any], intervals: Mapping[str, ConfidenceInterval]
) -> list[tuple[str, float, ConfidenceInterval | None]]:
    """``(metric, value, interval)`` of the binary metrics, in report order."""
    return [(m, section[m], intervals.get(m)) for m in BINARY_METRICS if m in section]


def metric_label(metric: str) -> str:
    """The name a report table shows for ``metric`` (``"auroc"`` -> ``"AUROC"``)."""
    return _LABELS.get(metric, metric)


def binary_markdown(section: Mapping[str, Any]) -> list[str]:
    """Lines saying which class is positive and which operating point decides."""
    point = section["operating_point"]
    n_pos, n = section["n_positive"], section["n_positive"] + section["n_negative"]
    lines = [
        f"Positive class: {section['positive_class']} ({n_pos} of {n} images, prevalence "
        f"{section['prevalence']:.1%}; chosen by: {section['positive_class_chosen_by']}).",
    ]
    if point.get("source") != "threshold":
        lines.append(
            "Operating point: argmax (no decision threshold stored with the model); "
            "sensitivity, specificity, PPV, NPV and the confusion matrix are at that point."
        )
    else:
        decision = DecisionThreshold.from_dict(point)
        lines.append(
            f"Operating point: {decision.describe()}; sensitivity, specificity, PPV, NPV, "
            "the count metrics and the confusion matrix are at that point."
        )
    lines.append(
        f"At the operating point: TP {section['tp']}, FP {section['fp']}, TN {section['tn']}, "
        f"FN {section['fn']}. Sensitivity at 90 % specificity is read off this data's own "
        "ROC curve (optimistic as an operating point)."
    )
    return lines


def facets_section(
    y: np.ndarray,
    y_pred: np.ndarray,
    facets: Mapping[str, Sequence[str]],
    positive: int | None,
    level: float = 0.95,
) -> dict[str, list[dict[str, Any]]]:
    """Facet name -> :func:`~fracturenet.evaluation.facets.facet_table` rows."""
    return {
        name: facet_table(y, y_pred, values, positive=positive, level=level)
        for name, values in facets.items()
    }


def _cell(d: Mapping[str, Any]) -> str:
    if d["n"] == 0:
        return "n/a (0)"
    return f"{_fmt(d['value'])} [{_fmt(d['low'])}, {_fmt(d['high'])}] ({d['n']})"


def facets_markdown(facets: Mapping[str, list[dict[str, Any]]], binary: bool) -> list[str]:
    """Markdown tables of the per-facet metrics (95 % Wilson intervals, ``(n)``)."""
    lines: list[str] = []
    for name, rows in facets.items():
        head = "| " + name + " | n | accuracy [95% CI] (n) |"
        rule = "|---|---|---|"
        if binary:
            head += " positives | sensitivity [95% CI] (n) | specificity [95% CI] (n) |"
            rule += "---|---|---|"
        lines += ["", f"Per {name} (Wilson 95 % intervals):", "", head, rule]
        for r in rows:
            line = f"| {r['facet_value']} | {r['n']} | {_cell(r['accuracy'])} |"
            if binary:
                line += (
                    f" {r['n_positive']} | {_cell(r['sensitivity'])} | {_cell(r['specificity'])} |"
                )
            lines.append(line)
    return lines
