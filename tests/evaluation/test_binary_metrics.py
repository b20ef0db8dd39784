"""The clinician's binary metrics agree with scikit-learn (ties, skew, both positive classes),
their intervals bracket them, and the report shows them at the model's operating point."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from fracturenet.evaluation import EvaluationReport, binary_bootstrap, binary_metrics
from fracturenet.models import DecisionThreshold


@st.composite
def binary_predictions(draw, max_n: int = 50):
    """Skewed 0/1 labels (any prevalence, maybe one class), coarse scores (many ties), a
    positive class and a threshold."""
    n = draw(st.integers(2, max_n))
    prevalence = draw(st.floats(0.0, 1.0))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    p1 = rng.integers(0, 11, n) / 10.0
    positive = draw(st.sampled_from([0, 1]))
    t = draw(st.sampled_from([0.05, 0.3, 0.5, 0.75, 1.0]))
    return y, np.stack([1 - p1, p1], axis=1), positive, t


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=80, deadline=None)
@given(binary_predictions())
def test_binary_metrics_match_sklearn(case):
    y, p, pos, t = case
    y_pred = DecisionThreshold(t, pos).predict(p)
    m = binary_metrics(y, p, y_pred, positive=pos)
    truth, score, called = (y == pos).astype(int), p[:, pos], (y_pred == pos).astype(int)
    n_pos, n_neg = truth.sum(), len(truth) - truth.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tn, fp, fn, tp = skm.confusion_matrix(truth, called, labels=[0, 1]).ravel()
        assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (tp, fp, tn, fn)
        if n_pos:
            assert _close(m["sensitivity"], skm.recall_score(truth, called))
            assert _close(m["pr_auc"], skm.average_precision_score(truth, score))
        else:
            assert math.isnan(m["sensitivity"]) and math.isnan(m["pr_auc"])
        if n_neg:
            assert _close(m["specificity"], skm.recall_score(1 - truth, 1 - called))
        if n_pos and n_neg:
            assert _close(m["auroc"], skm.roc_auc_score(truth, score))
            assert _close(m["balanced_accuracy"], skm.balanced_accuracy_score(truth, called))
            fpr, tpr, _ = skm.roc_curve(truth, score, drop_intermediate=False)
            assert _close(m["sensitivity_at_90_specificity"], tpr[fpr <= 0.1 + 1e-12].max())
        else:
            assert math.isnan(m["auroc"]) and math.isnan(m["sensitivity_at_90_specificity"])
        if tp + fp:
            assert _close(m["ppv"], skm.precision_score(truth, called))
        else:
            assert math.isnan(m["ppv"])
    assert m["n_positive"] == n_pos and _close(m["prevalence"], n_pos / len(y))


def test_sensitivity_at_90_specificity_on_a_hand_worked_case():
    # 10 negatives, 4 positives; specificity >= 0.9 allows one false positive (score 0.8):
    # then positives scoring >= 0.8 (0.95, 0.85) are found: 2 of 4
    neg = [0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.05]
    pos = [0.95, 0.85, 0.65, 0.35]
    y = np.array([0] * 10 + [1] * 4)
    p1 = np.array(neg + pos)
    m = binary_metrics(y, np.stack([1 - p1, p1], 1), (p1 >= 0.5).astype(int), positive=1)
    assert m["sensitivity_at_90_specificity"] == 0.5


def test_bootstrap_intervals_bracket_the_estimate_and_are_seeded():
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.18).astype(int)
    p1 = np.clip(0.3 * y + rng.random(300) * 0.7, 0, 1)
    p = np.stack([1 - p1, p1], 1)
    pred = (p1 >= 0.5).astype(int)
    a = binary_bootstrap(y, p, pred, positive=1, n_boot=200, seed=3)
    b = binary_bootstrap(y, p, pred, positive=1, n_boot=200, seed=3)
    full = binary_metrics(y, p, pred, positive=1)
    for name, ci in a.items():
        assert ci == b[name]
        assert ci.estimate == pytest.approx(full[name])
        assert ci.low <= ci.estimate <= ci.high, name
        assert ci.high - ci.low > 0.0, name  # 300 images: a real spread
    with pytest.raises(ValueError, match="Unknown binary metric"):
        binary_bootstrap(y, p, pred, positive=1, metrics=["f1"])


def test_bootstrap_intervals_equal_a_direct_loop_over_the_same_resamples():
    from fracturenet.evaluation.bootstrap import resample_indices

    rng = np.random.default_rng(2)
    y = (rng.random(120) < 0.2).astype(int)
    p1 = np.clip(0.35 * y + rng.random(120) * 0.65, 0, 1)
    p, pred = np.stack([1 - p1, p1], 1), (p1 >= 0.4).astype(int)
    cis = binary_bootstrap(y, p, pred, positive=1, n_boot=150, seed=7)
    rows = [binary_metrics(y[i], p[i], pred[i], positive=1) for i in resample_indices(120, 150, 7)]
    for name, ci in cis.items():
        values = np.array([r[name] for r in rows], dtype=np.float64)
        lo, hi = np.percentile(values[~np.isnan(values)], [2.5, 97.5])
        assert (ci.low, ci.high) == (pytest.approx(lo), pytest.approx(hi)), name


def test_report_uses_the_decision_threshold_as_the_operating_point():
    # positive class 0 (the minority, as "fractured" sorts first in FracAtlas)
    y = np.array([0] * 5 + [1] * 20)
    p0 = np.array([0.9, 0.45, 0.4, 0.35, 0.1] + [0.3] * 3 + [0.05] * 17)
    p = np.stack([p0, 1 - p0], 1)
    names = ["fractured", "not_fractured"]
    argmax = EvaluationReport.from_predictions(y, p, class_names=names, bootstrap=0)
    assert argmax.metrics["binary"]["positive_class"] == "fractured"
    assert argmax.metrics["binary"]["positive_class_chosen_by"] == "minority class"
    assert argmax.metrics["binary"]["sensitivity"] == pytest.approx(1 / 5)
    d = DecisionThreshold(0.33, 0, "fractured", "youden")
    r = EvaluationReport.from_predictions(y, p, class_names=names, bootstrap=100, decision=d)
    b = r.metrics["binary"]
    assert (b["sensitivity"], b["specificity"]) == (pytest.approx(4 / 5), pytest.approx(1.0))
    assert r.metrics["confusion_matrix"] == [[4, 1], [0, 20]]  # at the threshold too
    assert r.y_pred.tolist() == d.predict(p).tolist()
    assert r.value("auroc") == pytest.approx(skm.roc_auc_score(y == 0, p0))
    assert r.intervals["sensitivity"].low <= 0.8 <= r.intervals["sensitivity"].high
    text = r.to_markdown()
    for piece in ("| AUROC |", "| sensitivity at 90 % specificity |", "| PR-AUC", "p >= 0.33"):
        assert piece in text
    again = EvaluationReport.from_dict(r.to_dict())
    assert again.y_pred.tolist() == r.y_pred.tolist()
    plain = EvaluationReport.from_dict(json.loads(json.dumps(argmax.to_dict())))  # null -> nan
    assert plain.y_pred.tolist() == argmax.y_pred.tolist()
    assert "Operating point: argmax" in plain.to_markdown()


def test_report_refuses_a_positive_class_that_contradicts_the_threshold():
    p = np.array([[0.8, 0.2], [0.3, 0.7]])
    d = DecisionThreshold(0.5, 1, "b")
    with pytest.raises(ValueError, match="positive_class"):
        EvaluationReport.from_predictions(
            [0, 1], p, class_names=["a", "b"], bootstrap=0, decision=d, positive_class="a"
        )
    with pytest.raises(ValueError, match="two-class"):
        EvaluationReport.from_predictions(
            [0, 1, 2], np.eye(3), class_names=None, bootstrap=0, decision=d
        )
