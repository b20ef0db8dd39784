"""The result of evaluating one model: :class:`EvaluationReport` and its exporters.

A report keeps the predictions themselves (labels, probabilities and image ids), not only the
numbers, so that two saved reports can later be compared image by image.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fracturenet._json_results import JsonRoundTrip, from_jsonable, to_jsonable, write_new_file
from fracturenet.evaluation.bootstrap import ConfidenceInterval, bootstrap_ci
from fracturenet.evaluation.facets import resolve_facets
from fracturenet.evaluation.html_pages import html_page, markdown_tables_to_html
from fracturenet.evaluation.metrics import compute_metrics, validate_predictions
from fracturenet.evaluation.operating_point import (
    as_decision,
    binary_markdown,
    binary_rows,
    binary_section,
    facets_markdown,
    facets_section,
    metric_label,
)
from fracturenet.evaluation.provenance import (
    PROVENANCE_KEYS,
    describe_split,
    leakage_warning,
    provenance_lines,
    used_for_selection,
)

__all__ = ["EvaluationReport", "HEADLINE_METRICS"]

_FORMAT = "fracturenet.evaluation_report"
_FORMAT_VERSION = 1

HEADLINE_METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "weighted_f1",
    "top_1_accuracy",
    "top_3_accuracy",
    "roc_auc_macro",
    "pr_auc_macro",
    "cohen_kappa",
    "mcc",
    "log_loss",
    "brier",
    "ece",
)
"""Scalar metrics shown in the Markdown and HTML summaries, in this order."""

_CI_METRICS = (  # every headline metric the bootstrap can resample
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "weighted_f1",
    "roc_auc_macro",
    "cohen_kappa",
    "mcc",
    "log_loss",
    "brier",
    "ece",
)


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


@dataclass(eq=False)
class EvaluationReport(JsonRoundTrip):
    """Metrics, bootstrap intervals and the predictions of one model on one test set.

    Attributes:
        metrics: Output of :func:`~fracturenet.evaluation.compute_metrics`.
        intervals: Metric name -> 95 % percentile-bootstrap :class:`ConfidenceInterval`
            (accuracy, balanced accuracy, macro- and weighted F1, macro ROC-AUC, Cohen's
            kappa, MCC, log-loss, Brier score, ECE); empty if bootstrap=0.
        y_true: Integer labels, shape ``(n,)``.
        y_prob: Probabilities, shape ``(n, k)``.
        ids: One id per image (file path, or the index as a string).
        class_names: ``k`` class names.
        model_name: Name shown in reports and comparisons, or ``None``.
        info: Provenance: ``bootstrap``, ``seed``, ``split`` and ``used_for_selection``
            (whether that split picked the epoch or model; ``None`` when unknown),
            ``selection_check`` (how many evaluated images are in each of the model's
            training and selection sets, by file content), ``skipped`` files, the model's
            ``backbone``, ``input_shape``, ``precision``, ``weights`` source and ``versions``
            (see :func:`~fracturenet.models.provenance.model_provenance`), and whatever
            the producer adds (``tta``, ``data`` fingerprints, ...).

    Example:
        >>> r = EvaluationReport.from_predictions([0, 1, 1], [[.8, .2], [.3, .7], [.6, .4]],
        ...                                       class_names=["a", "b"], bootstrap=100)
        >>> round(r.metrics["accuracy"], 3), r.intervals["accuracy"].level, r.ids
        (0.667, 0.95, ('0', '1', '2'))
    """

    metrics: dict
    intervals: dict[str, ConfidenceInterval]
    y_true: np.ndarray
    y_prob: np.ndarray
    ids: tuple[str, ...]
    class_names: tuple[str, ...]
    model_name: str | None = None
    info: dict = field(default_factory=dict)

    @classmethod
    def from_predictions(
        cls,
        y_true: Sequence[int] | np.ndarray,
        y_prob: Sequence[Sequence[float]] | np.ndarray,
        *,
        class_names: Sequence[str] | None,
        ids: Sequence[str | int] | None = None,
        model_name: str | None = None,
        bootstrap: int = 1000,
        seed: int = 0,
        info: dict | None = None,
        decision: Any = None,
        positive_class: str | int | None = None,
        facets: Mapping[str, Sequence[Any] | Mapping[Any, Any]] | None = None,
    ) -> EvaluationReport:
        """Builds a report from labels and predicted probabilities.

        A two-class report also gets ``metrics["binary"]`` (see
        :mod:`~fracturenet.evaluation.binary`: AUROC, PR-AUC, sensitivity and specificity
        at the operating point, sensitivity at 90 % specificity, balanced accuracy, PPV,
        NPV) with bootstrap intervals; the operating point is ``decision`` when given
        (count metrics and the confusion matrix are then at that threshold), else argmax.

        Args:
            y_true: Integer labels, shape ``(n,)``.
            y_prob: Probabilities, shape ``(n, k)`` (``(n,)`` for a sigmoid output).
            class_names: ``k`` names, or `None` for ``"0"``, ``"1"``, ...
            ids: Image ids (paths); defaults to the indices. Defaults to `None`.
            model_name: Name shown in reports and comparisons. Defaults to `None`.
            bootstrap: Number of bootstrap resamples for the intervals; 0 skips them.
                Defaults to `1000`.
            seed: Seed of the bootstrap. Defaults to `0`.
            info: Extra provenance stored with the report. Defaults to `None`.
            decision: A binary model's :class:`~fracturenet.models.DecisionThreshold` (or
                its dict): the operating point. Defaults to `None` (argmax).
            positive_class: Name or index of the positive class of a two-class report.
                Defaults to `None`: the decision's, else the minority class of ``y_true``
                (ties: class 1); the report says which and why.
            facets: Per-image attributes to break the metrics down by: name -> one value
                per image (in ``ids`` order) or a mapping from id, file name or file stem to
                value (see :func:`~fracturenet.evaluation.facets.resolve_facets`); stored in
                ``metrics["facets"]``. Defaults to `None`.

        Returns:
            The report.

        Raises:
            ValueError: On malformed predictions, a wrong number of ids or a negative
                ``bootstrap``, a decision for a report that is not two-class, or facets
                with the wrong number of values.
        """
        y, p, names = validate_predictions(y_true, y_prob, class_names)
        id_tuple = tuple(str(i) for i in (range(len(y)) if ids is None else ids))
        if len(id_tuple) != len(y):
            raise ValueError(
                f"`ids` must have one entry per image ({len(y)}). Received: len(ids)={len(id_tuple)}"
            )
        if int(bootstrap) < 0:
            raise ValueError(f"`bootstrap` must be >= 0 resamples. Received: bootstrap={bootstrap}")
        decision = as_decision(decision)
        if p.shape[1] != 2 and (decision is not None or positive_class is not None):
            raise ValueError(
                "A decision threshold or positive class needs a two-class report. "
                f"Received: {p.shape[1]} classes"
            )
        y_pred, binary, binary_ci = (None, None, {})
        if p.shape[1] == 2:
            y_pred, binary, binary_ci = binary_section(
                y,
                p,
                names,
                decision=decision,
                positive_class=positive_class,
                bootstrap=int(bootstrap),
                seed=seed,
            )
        metrics = compute_metrics(y, p, class_names=names, y_pred=y_pred)
        intervals = (
            bootstrap_ci(y, p, metrics=_CI_METRICS, n_boot=int(bootstrap), seed=seed, y_pred=y_pred)
            if bootstrap
            else {}
        )
        intervals.update(binary_ci)
        if binary is not None:
            metrics["binary"] = binary
        if facets:
            pred = np.argmax(p, axis=1) if y_pred is None else y_pred
            pos = binary["positive_index"] if binary is not None else None
            metrics["facets"] = facets_section(y, pred, resolve_facets(facets, id_tuple), pos)
        meta = {"bootstrap": int(bootstrap), "seed": int(seed), **(info or {})}
        return cls(metrics, intervals, y, p, id_tuple, names, model_name, meta)

    @property
    def y_pred(self) -> np.ndarray:
        """Predicted labels at the report's operating point (argmax of ``y_prob``, or a
        binary model's decision threshold)."""
        point = (self.metrics.get("binary") or {}).get("operating_point") or {}
        # "source", not "threshold": a JSON round trip reads argmax's null threshold as nan
        decision = as_decision(point) if point.get("source") == "threshold" else None
        return decision.predict(self.y_prob) if decision else np.argmax(self.y_prob, axis=1)

    def to_dict(self) -> dict:
        """Returns a strict-JSON-compatible dict (nan as ``None``) of the whole report."""
        return to_jsonable(
            {
                "format": _FORMAT,
                "format_version": _FORMAT_VERSION,
                "model_name": self.model_name,
                "class_names": list(self.class_names),
                "metrics": self.metrics,
                "intervals": {k: ci.to_dict() for k, ci in self.intervals.items()},
                "info": self.info,
                "evaluated_on": {
                    "split": self.info.get("split"),
                    "n_images": len(self.y_true),
                    "used_for_selection": used_for_selection(self.info),
                    # evaluated images whose content is in each of the model's data sets
                    "shared_with_model_data": {
                        k: v.get("shared")
                        for k, v in (
                            (self.info.get("selection_check") or {}).get("sets") or {}
                        ).items()
                    },
                    "leakage": leakage_warning(self.info, len(self.y_true)),
                    "summary": describe_split(self.info, len(self.y_true)),
                },
                "ids": list(self.ids),
                "y_true": self.y_true,
                "y_prob": self.y_prob,
            }
        )

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "the dict") -> EvaluationReport:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: If ``data`` is not a fracturenet evaluation report.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(
                f"{source} is not a fracturenet evaluation report (missing "
                f"format={_FORMAT!r}); save one with EvaluationReport.to_json. "
                f"Received: format={data.get('format') if isinstance(data, dict) else type(data).__name__!r}"
            )
        return cls(
            metrics=from_jsonable(data["metrics"]),
            intervals={
                k: ConfidenceInterval(**from_jsonable(v)) for k, v in data["intervals"].items()
            },
            y_true=np.asarray(data["y_true"], dtype=np.int64),
            y_prob=np.asarray(data["y_prob"], dtype=np.float64),
            ids=tuple(data["ids"]),
            class_names=tuple(data["class_names"]),
            model_name=data.get("model_name"),
            info=data.get("info", {}),
        )

    def headline_rows(self) -> list[tuple[str, float, ConfidenceInterval | None]]:
        """Returns ``(metric, value, interval or None)`` for the headline metrics present
        (a two-class report's binary metrics first; see :meth:`value`)."""
        binary = self.metrics.get("binary")
        first = binary_rows(binary, self.intervals) if binary else []
        return first + [
            (m, self.metrics[m], self.intervals.get(m))
            for m in HEADLINE_METRICS
            # two classes: balanced accuracy is among the binary rows, and top-k (argmax
            # ranks; top-2 is always 1) would contradict the threshold's accuracy
            if m in self.metrics
            and not (binary and (m == "balanced_accuracy" or m.startswith("top_")))
        ]

    def value(self, metric: str) -> float:
        """The value of a headline metric (binary ones included), ``nan`` when absent.

        Example:
            >>> r = EvaluationReport.from_predictions([0, 1, 1], [[.8, .2], [.3, .7], [.6, .4]],
            ...                                       class_names=["a", "b"], bootstrap=0,
            ...                                       positive_class="b")
            >>> r.value("sensitivity"), r.value("accuracy") == r.metrics["accuracy"]
            (0.5, True)
        """
        if metric in self.metrics and not isinstance(self.metrics[metric], (dict, list)):
            return self.metrics[metric]
        return (self.metrics.get("binary") or {}).get(metric, float("nan"))

    def to_markdown(self) -> str:
        """Returns a Markdown summary: headline metrics with intervals, per-class table and
        confusion matrix.

        Example:
            >>> r = EvaluationReport.from_predictions([0, 1], [[.8, .2], [.3, .7]],
            ...                                       class_names=["a", "b"], bootstrap=0)
            >>> print(r.to_markdown().splitlines()[0])
            # Evaluation of model (n = 2 images, 2 classes)
        """
        m = self.metrics
        level = next(iter(self.intervals.values())).level if self.intervals else 0.95
        lines = [
            f"# Evaluation of {self.model_name or 'model'} (n = {m['n']} images, "
            f"{m['num_classes']} classes)",
            "",
            *provenance_lines(self.info, m["n"]),
            "",
            f"| metric | value | {level:.0%} CI |",
            "|---|---|---|",
        ]
        for name, value, ci in self.headline_rows():
            interval = f"[{_fmt(ci.low)}, {_fmt(ci.high)}]" if ci else ""
            lines.append(f"| {metric_label(name)} | {_fmt(value)} | {interval} |")
        if m.get("binary"):
            lines += ["", *binary_markdown(m["binary"])]
        lines += ["", "| class | precision | recall | F1 | support | ROC-AUC | PR-AUC |"]
        lines.append("|---|---|---|---|---|---|---|")
        for name, pc in m["per_class"].items():
            lines.append(
                f"| {name} | {_fmt(pc['precision'])} | {_fmt(pc['recall'])} | {_fmt(pc['f1'])} "
                f"| {pc['support']} | {_fmt(pc['roc_auc'])} | {_fmt(pc['pr_auc'])} |"
            )
        lines += ["", "Confusion matrix (rows: true, columns: predicted):", ""]
        lines.append("| true \\ predicted | " + " | ".join(self.class_names) + " |")
        lines.append("|---" * (len(self.class_names) + 1) + "|")
        for name, row in zip(self.class_names, m["confusion_matrix"], strict=True):
            lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
        if m.get("facets"):
            lines += facets_markdown(m["facets"], binary=bool(m.get("binary")))
        settings = {k: v for k, v in self.info.items() if k not in PROVENANCE_KEYS}
        if settings:
            lines += ["", "Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items())]
        return "\n".join(lines) + "\n"

    def to_html(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
        """Writes a self-contained HTML page: the Markdown tables plus confusion matrix, ROC
        curves, reliability diagram and per-class bars embedded as base64 PNG.

        Args:
            path: Output file; its folder is created if needed.
            overwrite: Replace an existing file. Defaults to `False`.

        Returns:
            The path written.

        Raises:
            FileExistsError: If ``path`` exists and ``overwrite`` is false.
        """
        from fracturenet.evaluation import plots

        figures = [
            plots.plot_confusion_matrix(self.metrics["confusion_matrix"], self.class_names),
            plots.plot_roc_curves(
                self.y_true,
                self.y_prob,
                self.class_names,
                [pc["roc_auc"] for pc in self.metrics["per_class"].values()],
            ),
            plots.plot_reliability_diagram(self.metrics["reliability"]),
            plots.plot_per_class(self.metrics["per_class"]),
        ]
        images = "\n".join(
            f'<img alt="figure {i}" src="data:image/png;base64,{plots.figure_to_base64_png(f)}">'
            for i, f in enumerate(figures)
        )
        title = f"Evaluation of {self.model_name or 'model'}"
        page = html_page(title, markdown_tables_to_html(self.to_markdown()) + images)
        return write_new_file(path, page, overwrite=overwrite)
