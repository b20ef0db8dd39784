"""The result of :func:`~fracturenet.workflows.cross_validate`: per-fold reports and the pool.

Two views of the same k trained models are kept, because they answer different questions:

* **mean ± sd over folds** of each metric: how much the score moves when the training data
  changes (the spread is the sample standard deviation, ``ddof=1``, over the folds);
* **pooled out-of-fold predictions** (every image predicted once, by the model that did not
  see it) as one :class:`~fracturenet.evaluation.EvaluationReport`, with bootstrap intervals.
  Two backbones' pooled reports on the same images go straight into
  :func:`~fracturenet.evaluation.compare` for a paired verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fracturenet._json_results import JsonRoundTrip, to_jsonable
from fracturenet.evaluation.report import EvaluationReport

__all__ = ["CrossValidationResult", "FoldResult", "SUMMARY_METRICS"]

_FORMAT = "fracturenet.cross_validation"
_FORMAT_VERSION = 1

SUMMARY_METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "weighted_f1",
    "roc_auc_macro",
    "cohen_kappa",
    "mcc",
    "log_loss",
    "ece",
)
"""Scalar metrics summarised as mean ± sd over the folds, in this order."""


def _fmt(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.3f}"


@dataclass(frozen=True)
class FoldResult:
    """One fold: a fresh model trained on ``train_size`` images, tested on the rest.

    Attributes:
        index: 0-based fold number.
        train_size: Images the fold's model was trained on.
        test_size: Held-out images it was evaluated on.
        report: Its :class:`EvaluationReport` on the held-out images (ids are the paths).
        best_epoch: Epoch whose weights the Trainer kept, or ``None``.
        seconds: Wall time of the fold (training + evaluation).
    """

    index: int
    train_size: int
    test_size: int
    report: EvaluationReport
    best_epoch: int | None
    seconds: float


@dataclass(eq=False)
class CrossValidationResult(JsonRoundTrip):
    """Per-fold results, their mean ± sd, and the pooled out-of-fold report.

    Attributes:
        folds: One :class:`FoldResult` per fold.
        oof: Pooled out-of-fold predictions as one :class:`EvaluationReport`, in the order of
            the input manifest (images of its ``"test"`` split excluded).
        model_name: Name of the evaluated recipe (the backbone by default).
        settings: How the run was made (k, groups, seed, epochs, image size, model config...).

    Example:
        >>> from fracturenet.evaluation import EvaluationReport
        >>> r0 = EvaluationReport.from_predictions([0, 1], [[.9, .1], [.2, .8]],
        ...                                        class_names=None, ids=["a", "b"], bootstrap=0)
        >>> r1 = EvaluationReport.from_predictions([0, 1], [[.9, .1], [.6, .4]],
        ...                                        class_names=None, ids=["c", "d"], bootstrap=0)
        >>> folds = (FoldResult(0, 2, 2, r0, 1, 0.1), FoldResult(1, 2, 2, r1, 1, 0.1))
        >>> oof = EvaluationReport.from_predictions([0, 1, 0, 1], np.concatenate(
        ...     [r0.y_prob, r1.y_prob]), class_names=None, ids="abcd", bootstrap=0)
        >>> cv = CrossValidationResult(folds, oof, "demo")
        >>> cv.per_fold("accuracy"), cv.mean("accuracy"), round(cv.sd("accuracy"), 3)
        ([1.0, 0.5], 0.75, 0.354)
    """

    folds: tuple[FoldResult, ...]
    oof: EvaluationReport
    model_name: str
    settings: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        """Number of folds."""
        return len(self.folds)

    def per_fold(self, metric: str) -> list[float]:
        """Returns the value of a scalar ``metric`` in each fold, in fold order.

        Raises:
            KeyError: If ``metric`` is not a scalar metric of the fold reports; the message
                lists the scalar metrics available.
        """
        first = self.folds[0].report.metrics
        if not isinstance(first.get(metric), (int, float)):
            names = sorted(k for k, v in first.items() if isinstance(v, (int, float)))
            raise KeyError(
                f"`metric` must be a scalar metric of the fold reports, one of {names}. "
                f"Received: metric={metric!r}"
            )
        return [float(f.report.metrics[metric]) for f in self.folds]

    def mean(self, metric: str) -> float:
        """Mean of ``metric`` over the folds (folds where it is undefined are skipped)."""
        values = np.asarray(self.per_fold(metric))
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if finite.size else float("nan")

    def sd(self, metric: str) -> float:
        """Sample standard deviation (``ddof=1``) of ``metric`` over the folds; nan if < 2."""
        values = np.asarray(self.per_fold(metric))
        finite = values[np.isfinite(values)]
        return float(finite.std(ddof=1)) if finite.size > 1 else float("nan")

    def summary(self, metrics: tuple[str, ...] = SUMMARY_METRICS) -> dict[str, dict[str, float]]:
        """Returns ``{metric: {"mean", "sd", "pooled"}}`` for each metric.

        Args:
            metrics: Scalar metric names. Defaults to :data:`SUMMARY_METRICS`.

        Returns:
            Mean and sd over folds, and the value on the pooled out-of-fold predictions.
        """
        return {
            m: {"mean": self.mean(m), "sd": self.sd(m), "pooled": float(self.oof.metrics[m])}
            for m in metrics
        }

    def to_markdown(self) -> str:
        """Returns a Markdown summary: settings, mean ± sd, pooled metrics with CIs, folds."""
        s = self.settings
        lines = [
            f"# Cross-validation: {self.model_name}",
            "",
            f"{self.k} folds, groups={s.get('groups')!r}, seed={s.get('seed')}, "
            f"{len(self.oof.ids)} images, image size {s.get('image_size')}, "
            f"epochs={s.get('epochs')}, fine_tune_epochs={s.get('fine_tune_epochs')}.",
            "",
            "| metric | mean ± sd over folds | pooled out-of-fold | pooled 95% CI |",
            "|---|---|---|---|",
        ]
        for m, v in self.summary().items():
            ci = self.oof.intervals.get(m)
            ci_txt = f"[{ci.low:.3f}, {ci.high:.3f}]" if ci is not None else ""
            lines.append(
                f"| {m} | {_fmt(v['mean'])} ± {_fmt(v['sd'])} | {_fmt(v['pooled'])} | {ci_txt} |"
            )
        lines += [
            "",
            "| fold | train | test | accuracy | macro_f1 | best epoch | seconds |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in self.folds:
            lines.append(
                f"| {f.index} | {f.train_size} | {f.test_size} | "
                f"{_fmt(f.report.metrics['accuracy'])} | {_fmt(f.report.metrics['macro_f1'])} | "
                f"{f.best_epoch if f.best_epoch is not None else ''} | {f.seconds:.1f} |"
            )
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        """Returns a strict-JSON-compatible dict of the whole result (predictions included)."""
        return to_jsonable(
            {
                "format": _FORMAT,
                "format_version": _FORMAT_VERSION,
                "model_name": self.model_name,
                "settings": self.settings,
                "summary": self.summary(),
                "folds": [
                    {
                        "index": f.index,
                        "train_size": f.train_size,
                        "test_size": f.test_size,
                        "best_epoch": f.best_epoch,
                        "seconds": f.seconds,
                        "report": f.report.to_dict(),
                    }
                    for f in self.folds
                ],
                "oof": self.oof.to_dict(),
            }
        )

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "the dict") -> CrossValidationResult:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: If ``data`` is not a saved fracturenet cross-validation result.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(
                f"{source} is not a fracturenet cross-validation result (missing "
                f"format={_FORMAT!r}); save one with CrossValidationResult.to_json. "
                f"Received: format={got!r}"
            )
        folds = tuple(
            FoldResult(
                index=int(f["index"]),
                train_size=int(f["train_size"]),
                test_size=int(f["test_size"]),
                report=EvaluationReport.from_dict(f["report"], source=source),
                best_epoch=f["best_epoch"],
                seconds=float(f["seconds"]),
            )
            for f in data["folds"]
        )
        oof = EvaluationReport.from_dict(data["oof"], source=source)
        return cls(folds, oof, data["model_name"], dict(data.get("settings", {})))

