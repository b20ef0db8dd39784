"""fracturenet.evaluation: metrics, confidence intervals, comparison and calibration.

Everything works on predictions (labels and probabilities), so it is fast and testable
without a model; :func:`evaluate` is the one function that runs a Keras model.

Example:
    >>> from fracturenet.evaluation import EvaluationReport, compare
    >>> r = EvaluationReport.from_predictions([0, 1, 1], [[.9, .1], [.2, .8], [.6, .4]],
    ...                                       class_names=["no", "yes"], bootstrap=200)
    >>> round(r.metrics["macro_f1"], 3)
    0.667
"""

from fracturenet._deprecation import moved_names
from fracturenet.evaluation.binary import (
    BINARY_METRICS,
    binary_bootstrap,
    binary_metrics,
    sensitivity_at_specificity,
)
from fracturenet.evaluation.bootstrap import (
    BOOTSTRAP_METRICS,
    ConfidenceInterval,
    bootstrap_ci,
    paired_bootstrap_diff,
)
from fracturenet.evaluation.calibration import (
    CalibrationResult,
    apply_temperature,
    calibrate,
    fit_temperature,
)
from fracturenet.evaluation.compare import (
    ComparisonResult,
    PairwiseComparison,
    compare,
)
from fracturenet.evaluation.crossval_result import (
    SUMMARY_METRICS,
    CrossValidationResult,
    FoldResult,
)
from fracturenet.evaluation.evaluate import evaluate, predict_proba
from fracturenet.evaluation.facets import facet_table, wilson_interval
from fracturenet.evaluation.metrics import compute_metrics, confusion_matrix, validate_predictions
from fracturenet.evaluation.probability_metrics import (
    brier_score,
    expected_calibration_error,
    log_loss,
    reliability_curve,
)
from fracturenet.evaluation.ranking import average_precision_ovr, roc_auc_ovr
from fracturenet.evaluation.report import HEADLINE_METRICS, EvaluationReport
from fracturenet.evaluation.significance import holm_adjust, mcnemar_test

__all__ = [
    "BINARY_METRICS",
    "BOOTSTRAP_METRICS",
    "HEADLINE_METRICS",
    "SUMMARY_METRICS",
    "CalibrationResult",
    "ComparisonResult",
    "ConfidenceInterval",
    "CrossValidationResult",
    "EvaluationReport",
    "FoldResult",
    "PairwiseComparison",
    "apply_temperature",
    "average_precision_ovr",
    "binary_bootstrap",
    "binary_metrics",
    "bootstrap_ci",
    "brier_score",
    "calibrate",
    "compare",
    "compute_metrics",
    "confusion_matrix",
    "evaluate",
    "expected_calibration_error",
    "facet_table",
    "fit_temperature",
    "holm_adjust",
    "log_loss",
    "mcnemar_test",
    "paired_bootstrap_diff",
    "predict_proba",
    "reliability_curve",
    "roc_auc_ovr",
    "sensitivity_at_specificity",
    "validate_predictions",
    "wilson_interval",
]

# cross-validation trains models: it is a workflow (fracturenet.workflows), above this layer
__getattr__ = moved_names(__name__, {"cross_validate": "fracturenet.workflows"})
