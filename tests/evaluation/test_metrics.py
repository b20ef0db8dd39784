"""Metrics agree with scikit-learn on random predictions, ties and degenerate batches."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from fracturenet.evaluation import (
    average_precision_ovr,
    compute_metrics,
    expected_calibration_error,
    reliability_curve,
    roc_auc_ovr,
)


@st.composite
def predictions(draw, max_n: int = 40, max_k: int = 6):
    """Labels from a random subset of classes (some absent, maybe one) and coarse
    probabilities (small integers normalised) so ties are frequent."""
    k = draw(st.integers(2, max_k))
    n = draw(st.integers(1, max_n))
    present = draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True))
    y = np.array(draw(st.lists(st.sampled_from(present), min_size=n, max_size=n)))
    raw = np.array(
        draw(st.lists(st.integers(0, 4), min_size=n * k, max_size=n * k)), dtype=np.float64
    ).reshape(n, k)
    raw[raw.sum(axis=1) == 0] = 1.0
    return y, raw / raw.sum(axis=1, keepdims=True), k


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(predictions())
def test_count_metrics_match_sklearn(case):
    y, p, k = case
    m = compute_metrics(y, p)
    pred = np.argmax(p, axis=1)
    labels = list(range(k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _close(m["accuracy"], skm.accuracy_score(y, pred))
        assert _close(m["balanced_accuracy"], skm.balanced_accuracy_score(y, pred))
        assert _close(m["macro_f1"], skm.f1_score(y, pred, average="macro", zero_division=0))
        assert _close(m["weighted_f1"], skm.f1_score(y, pred, average="weighted", zero_division=0))
        assert _close(
            m["macro_precision"], skm.precision_score(y, pred, average="macro", zero_division=0)
        )
        assert _close(
            m["macro_recall"], skm.recall_score(y, pred, average="macro", zero_division=0)
        )
        assert _close(m["cohen_kappa"], skm.cohen_kappa_score(y, pred))
        assert _close(m["mcc"], skm.matthews_corrcoef(y, pred))
        prec, rec, f1, sup = skm.precision_recall_fscore_support(
            y, pred, labels=labels, zero_division=0
        )
        cm = skm.confusion_matrix(y, pred, labels=labels)
        cm_norm = skm.confusion_matrix(y, pred, labels=labels, normalize="true")
        assert _close(m["log_loss"], skm.log_loss(y, p, labels=labels))
        assert _close(m["brier"], skm.brier_score_loss(y, p, labels=labels, scale_by_half=False))
    for c, pc in enumerate(m["per_class"].values()):
        assert (pc["precision"], pc["recall"], pc["support"]) == (prec[c], rec[c], sup[c])
        assert _close(pc["f1"], f1[c])
    assert m["confusion_matrix"] == cm.tolist()
    np.testing.assert_allclose(m["confusion_matrix_normalized"], cm_norm)


@settings(max_examples=60, deadline=None)
@given(predictions())
def test_ranking_metrics_match_sklearn_with_ties(case):
    y, p, k = case
    auc, ap = roc_auc_ovr(y, p), average_precision_ovr(y, p)
    for c in range(k):
        positives = int(np.sum(y == c))
        if 0 < positives < len(y):
            assert _close(auc[c], skm.roc_auc_score(y == c, p[:, c]))
        else:
            assert math.isnan(auc[c])
        if positives:
            assert _close(ap[c], skm.average_precision_score(y == c, p[:, c]))
        else:
            assert math.isnan(ap[c])
    m = compute_metrics(y, p)
    if len(set(y)) == k and k > 2:
        expected = skm.roc_auc_score(
            y, p, multi_class="ovr", average="macro", labels=list(range(k))
        )
        assert _close(m["roc_auc_macro"], expected)
    defined = auc[~np.isnan(auc)]
    assert _close(m["roc_auc_macro"], float(defined.mean()) if len(defined) else math.nan)


@settings(max_examples=50, deadline=None)
@given(predictions(), st.integers(1, 5))
def test_top_k_matches_sklearn_without_ties(case, top):
    y, p, k = case
    p = p + np.random.default_rng(0).random(p.shape) * 1e-6  # break ties
    p /= p.sum(axis=1, keepdims=True)
    m = compute_metrics(y, p, top_k=(top,))
    if top >= k:
        assert m[f"top_{top}_accuracy"] == 1.0
    elif k > 2:
        assert _close(
            m[f"top_{top}_accuracy"], skm.top_k_accuracy_score(y, p, k=top, labels=list(range(k)))
        )


def test_top_k_ties_go_to_lower_index_so_top1_equals_accuracy():
    y = np.array([0, 1, 2])
    p = np.array([[0.4, 0.4, 0.2], [0.4, 0.4, 0.2], [1 / 3, 1 / 3, 1 / 3]])
    m = compute_metrics(y, p, top_k=(1, 2))
    assert m["top_1_accuracy"] == m["accuracy"] == pytest.approx(1 / 3)
    assert m["top_2_accuracy"] == pytest.approx(2 / 3)


@settings(max_examples=50, deadline=None)
@given(predictions(), st.integers(1, 20))
def test_ece_matches_a_direct_loop(case, n_bins):
    y, p, _ = case
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        inside = (conf > lo) & (conf <= hi) if b else (conf <= hi)
        if inside.any():
            total += (
                inside.sum()
                / len(y)
                * abs((pred[inside] == y[inside]).mean() - conf[inside].mean())
            )
    assert expected_calibration_error(y, p, n_bins) == pytest.approx(total, abs=1e-12)
    assert sum(reliability_curve(y, p, n_bins)["bin_counts"]) == len(y)


def test_single_class_batch_is_defined_as_documented():
    y = np.zeros(4, dtype=int)
    p = np.array([[0.9, 0.1, 0.0], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.2, 0.3]])
    m = compute_metrics(y, p, class_names=["a", "b", "c"])
    assert m["balanced_accuracy"] == m["accuracy"] == 0.75
    assert math.isnan(m["roc_auc_macro"])  # no class has both positives and negatives
    assert math.isnan(m["per_class"]["a"]["roc_auc"])
    assert m["per_class"]["a"]["pr_auc"] == 1.0 and math.isnan(m["per_class"]["c"]["pr_auc"])
    assert m["pr_auc_macro"] == 1.0
    assert m["confusion_matrix_normalized"][2] == [0.0, 0.0, 0.0]
    perfect = compute_metrics(np.zeros(2, int), [[1.0, 0.0], [1.0, 0.0]])
    assert math.isnan(perfect["cohen_kappa"]) and perfect["mcc"] == 0.0


def test_binary_sigmoid_probabilities_are_read_as_class_one():
    m = compute_metrics([0, 1, 1], [0.2, 0.9, 0.4])
    assert m["num_classes"] == 2 and m["accuracy"] == pytest.approx(2 / 3)
    assert m["roc_auc_macro"] == 1.0


@pytest.mark.parametrize(
    ("y", "p", "names", "fragment"),
    [
        ([], np.zeros((0, 2)), None, "y_true.shape=(0,)"),
        ([0, 1], [[0.5, 0.5]], None, "y_prob.shape=(1, 2)"),
        ([0, 2], [[0.5, 0.5], [0.5, 0.5]], None, "y_true range=[0, 2]"),
        ([0, 1], [[2.0, -1.0], [0.5, 0.5]], None, "apply softmax"),
        ([0, 1], [[0.3, 0.3], [0.5, 0.5]], None, "y_prob[0].sum()=0.6"),
        ([0, 1], [[0.5, 0.5], [0.5, 0.5]], ["a"], "len(class_names)=1"),
        ([0.5, 1], [[0.5, 0.5], [0.5, 0.5]], None, "y_true.dtype=float64"),
    ],
)
def test_bad_input_names_the_argument(y, p, names, fragment):
    with pytest.raises(ValueError, match="Received") as err:
        compute_metrics(y, p, class_names=names)
    assert fragment in str(err.value)


def test_bad_top_k_is_rejected():
    with pytest.raises(ValueError, match="k=0"):
        compute_metrics([0, 1], [[0.5, 0.5], [0.5, 0.5]], top_k=(0,))
