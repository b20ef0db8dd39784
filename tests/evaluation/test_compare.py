"""compare(): McNemar, paired bootstrap, verdicts, exporters and refusals."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from scipy import stats

from fracturenet.evaluation import EvaluationReport, compare, holm_adjust, mcnemar_test
from fracturenet.exceptions import ComparisonError


def _report(y, pred, name, k=3, ids=None, names=None):
    p = np.full((len(y), k), 0.1 / (k - 1))
    p[np.arange(len(y)), pred] = 0.9
    return EvaluationReport.from_predictions(
        y,
        p,
        class_names=names or [f"c{i}" for i in range(k)],
        ids=ids,
        model_name=name,
        bootstrap=100,
    )


@pytest.fixture
def labels():
    return np.random.default_rng(0).integers(0, 3, 200)


def _with_accuracy(y, acc, seed):
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(y)) > acc
    return np.where(wrong, (y + 1) % 3, y)


def test_mcnemar_exact_and_chi2_branches_match_scipy():
    a = np.array([True] * 10 + [False] * 2 + [True] * 5)
    b = np.array([False] * 10 + [True] * 2 + [True] * 5)
    only_a, only_b, p, method = mcnemar_test(a, b)
    assert (only_a, only_b, method) == (10, 2, "exact")
    assert p == pytest.approx(stats.binomtest(2, 12, 0.5).pvalue)
    a = np.array([True] * 30 + [False] * 10)
    only_a, only_b, p, method = mcnemar_test(a, ~a)
    assert method == "chi2-cc" and p == pytest.approx(stats.chi2.sf((20 - 1) ** 2 / 40, 1))
    assert mcnemar_test(a, a)[2:] == (1.0, "exact")


def test_clearly_better_model_is_called_significant(labels):
    good = _report(labels, _with_accuracy(labels, 0.95, 1), "ResNet50")
    poor = _report(labels, _with_accuracy(labels, 0.6, 2), "VGG16")
    result = compare(good, poor, n_boot=500)
    pair = result.pairs[0]
    assert pair.accuracy_diff.low > 0 and pair.p_value < 0.001
    assert result.verdict.startswith("ResNet50 is significantly more accurate than VGG16")


def test_near_identical_models_give_no_significant_difference(labels):
    base = _with_accuracy(labels, 0.8, 1)
    other = base.copy()
    other[:3] = labels[:3]  # a handful of images differ
    other[3:6] = (labels[3:6] + 1) % 3
    result = compare(_report(labels, base, "A"), _report(labels, other, "B"), n_boot=500)
    assert result.pairs[0].accuracy_diff.spans(0.0)
    assert result.verdict.startswith("No significant difference between A and B")


def test_three_models_give_three_holm_adjusted_pairs(labels):
    reports = [
        _report(labels, _with_accuracy(labels, a, s), None) for s, a in enumerate((0.9, 0.8, 0.7))
    ]
    result = compare(*reports, n_boot=200)
    assert result.names == ("model_1", "model_2", "model_3")
    assert [(p.a, p.b) for p in result.pairs] == [
        ("model_1", "model_2"),
        ("model_1", "model_3"),
        ("model_2", "model_3"),
    ]
    raw = [p.p_value for p in result.pairs]
    assert [p.p_value_adjusted for p in result.pairs] == holm_adjust(raw)
    assert all(p.p_value_adjusted >= p.p_value for p in result.pairs)
    assert "McNemar p (Holm-adjusted)" in result.to_markdown()
    assert all("Holm-adjusted over 3 pairs" in p.verdict for p in result.pairs)


def test_reports_are_loaded_from_json_and_exported(labels, tmp_path):
    a = _report(labels, _with_accuracy(labels, 0.9, 1), "A")
    b = _report(labels, _with_accuracy(labels, 0.85, 2), "B")
    result = compare(a.to_json(tmp_path / "a.json"), b.to_json(tmp_path / "b.json"), n_boot=200)
    assert result.names == ("A", "B")
    data = json.loads(open(result.to_json(tmp_path / "cmp.json")).read())
    assert data["verdict"] == result.verdict and data["n_images"] == len(labels)
    md = result.to_markdown()
    assert "| metric | A | B |" in md and result.pairs[0].verdict in md
    page = open(result.to_html(tmp_path / "cmp.html")).read()
    assert len(re.findall(r"data:image/png;base64,", page)) == 1


def test_refuses_different_images_labels_or_classes(labels):
    a = _report(labels, labels, "A")
    with pytest.raises(ComparisonError, match="different images"):
        compare(a, _report(labels[:-1], labels[:-1], "B"))
    shuffled_ids = [str(i) for i in range(len(labels))][::-1]
    with pytest.raises(ComparisonError, match="first difference at position 0"):
        compare(a, _report(labels, labels, "B", ids=shuffled_ids))
    flipped = labels.copy()
    flipped[5] = (flipped[5] + 1) % 3
    with pytest.raises(ComparisonError, match=r"y_true\[5\]"):
        compare(a, _report(flipped, labels, "B"))
    with pytest.raises(ComparisonError, match="class names"):
        compare(a, _report(labels, labels, "B", names=["x", "y", "z"]))


def test_bad_arguments(labels):
    a = _report(labels, labels, "A")
    with pytest.raises(ValueError, match="at least two"):
        compare(a)
    with pytest.raises(ValueError, match=r"names=\['x', 'x'\]"):
        compare(a, a, names=["x", "x"])
    with pytest.raises(ValueError, match="alpha=2"):
        compare(a, a, alpha=2)
    assert compare(a, a, n_boot=50).names == ("A (1)", "A (2)")


def test_multi_model_verdict_is_decided_on_the_holm_adjusted_p():
    # A beats B on 20 vs 7 discordant images of 300: raw McNemar p = 0.021 and the accuracy
    # interval excludes 0. With C and D copies of B, Holm multiplies that p by 6 (> alpha),
    # so the verdict must not call A significantly better (it did with the raw p).
    y = np.zeros(300, dtype=int)
    pred_b = y.copy()
    pred_b[:20] = 1  # B wrong where only A is right
    pred_a = y.copy()
    pred_a[20:27] = 1  # A wrong where only B is right
    reports = [_report(y, pred_a, "A")] + [_report(y, pred_b, n) for n in "BCD"]
    result = compare(*reports, n_boot=1000)
    ab = result.pairs[0]
    assert (ab.a, ab.b, ab.only_a_correct, ab.only_b_correct) == ("A", "B", 20, 7)
    assert ab.p_value < 0.05 < ab.p_value_adjusted and ab.accuracy_diff.low > 0
    assert "significantly more accurate" not in ab.verdict
    assert "not significant at alpha = 0.05 after Holm's adjustment" in ab.verdict
    assert f"McNemar p = {ab.p_value_adjusted:.3g} (Holm-adjusted over 6 pairs" in ab.verdict
    two = compare(reports[0], reports[1], n_boot=1000).pairs[0]
    assert two.verdict.startswith("A is significantly more accurate than B")
    assert "adjusted" not in two.verdict


def test_verdict_weighs_macro_f1_and_says_when_the_metrics_disagree():
    # A majority-class model is as accurate as a balanced one on 70/30 labels but its
    # macro-F1 is far lower: an accuracy-only verdict said "No significant difference".
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(int)
    majority = np.zeros_like(y)
    balanced = np.where(rng.random(400) < 0.7, y, 1 - y)
    result = compare(
        _report(y, balanced, "VGG16", k=2), _report(y, majority, "const", k=2), n_boot=1000
    )
    pair = result.pairs[0]
    assert pair.accuracy_diff.spans(0.0) and pair.macro_f1_diff.low > 0
    assert pair.verdict.startswith("The metrics disagree: VGG16 has a higher macro-F1 than const")


def test_every_table_and_verdict_states_split_n_and_selection(labels, tmp_path):
    info = {"split": "test", "used_for_selection": False}
    a = _report(labels, labels, "A")
    a.info.update(info)
    b = _report(labels, _with_accuracy(labels, 0.7, 1), "B")
    b.info.update(info)
    result = compare(a, b, n_boot=200)
    where = f"test split, n = {len(labels)} images, not used for model selection"
    assert where in result.verdict
    assert f"A: {where}." in result.to_markdown() and f"B: {where}." in result.to_markdown()
    data = result.to_dict()["evaluated_on"]
    assert data == {
        "split": "test",
        "n_images": len(labels),
        "used_for_selection": {"A": False, "B": False},
    }
    assert where in open(result.to_html(tmp_path / "c.html")).read()


def test_selection_split_reports_are_refused_unless_allowed(labels):
    # `fracturenet train` without a Test split stores metrics on the validation split that
    # picked the best epoch; compare printed a verdict on them as if they were test results.
    sel = {"split": "val", "used_for_selection": True}
    a = _report(labels, _with_accuracy(labels, 0.95, 1), "A")
    b = _report(labels, _with_accuracy(labels, 0.6, 2), "B")
    a.info.update(sel)
    b.info.update(sel)
    with pytest.raises(ComparisonError, match=r"\['A', 'B'\].*allow_selection_split=True"):
        compare(a, b, n_boot=100)
    result = compare(a, b, n_boot=100, allow_selection_split=True)
    assert result.verdict.startswith(
        "On a split used for model selection (optimistic, not a test result"
    )
    assert "val split, n = 200 images, used for model selection" in result.verdict
    assert result.to_dict()["evaluated_on"]["used_for_selection"] == {"A": True, "B": True}


def test_reports_on_training_images_are_refused_unless_allowed(labels):
    # `evaluate` counts evaluated images that are in the model's training split; compare used
    # to print a verdict on such a report as if it were a test result.
    a = _report(labels, _with_accuracy(labels, 0.95, 1), "A")
    b = _report(labels, _with_accuracy(labels, 0.6, 2), "B")
    a.info.update(split="test", used_for_selection=False)
    b.info.update(split="test", used_for_selection=False)
    leak = {"sets": {"train": {"n": 800, "shared": 7, "used_for_selection": False}}}
    b.info["selection_check"] = leak
    with pytest.raises(
        ComparisonError, match=r"\[.B.\].*allow_training_overlap=True.*7 of 200 evaluated images"
    ):
        compare(a, b, n_boot=100)
    result = compare(a, b, n_boot=100, allow_training_overlap=True)
    assert result.verdict.startswith("With training images among the evaluated ones (leakage")
    # a selection set shared with the evaluated images is not leakage, and is not refused here
    b.info["selection_check"] = {"sets": {"val": {"shared": 7, "used_for_selection": True}}}
    assert not compare(a, b, n_boot=100).verdict.startswith("With training images")
