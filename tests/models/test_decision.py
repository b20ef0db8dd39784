"""Decision thresholds: each rule picks the operating point a brute-force search picks, the
positive class is resolved as documented, and the threshold travels inside model.keras."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fracturenet.models import (
    DecisionThreshold,
    build_classifier,
    choose_threshold,
    decision_threshold_of,
    load_model,
    read_metadata,
    save_model,
)
from fracturenet.models.decision import remember_decision_threshold, resolve_positive_class


def _rates(y_pos: np.ndarray, score: np.ndarray, t: float) -> tuple[float, float]:
    called = score >= t
    return float(called[y_pos].mean()), float((~called[~y_pos]).mean())


@st.composite
def validation_sets(draw):
    n = draw(st.integers(4, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    y = (rng.random(n) < draw(st.floats(0.1, 0.6))).astype(int)
    y[0], y[1] = 0, 1  # both classes
    p1 = rng.integers(0, 21, n) / 20.0  # ties
    return y, np.stack([1 - p1, p1], 1), draw(st.sampled_from([0, 1]))


@settings(max_examples=60, deadline=None)
@given(validation_sets(), st.sampled_from(["youden", "sensitivity:0.9", "specificity:0.8"]))
def test_each_rule_finds_the_brute_force_operating_point(case, rule):
    y, p, pos = case
    d = choose_threshold(y, p, rule=rule, positive_class=pos)
    y_pos, score = y == pos, p[:, pos]
    sens, spec = _rates(y_pos, score, d.threshold)
    assert (sens, spec) == (pytest.approx(d.chosen_on["sensitivity"]),
                            pytest.approx(d.chosen_on["specificity"]))  # fmt: skip
    candidates = [_rates(y_pos, score, t) for t in [*np.unique(score), np.inf]]
    if rule == "youden":
        assert sens + spec - 1 == pytest.approx(max(a + b - 1 for a, b in candidates))
    elif rule == "sensitivity:0.9":
        assert sens >= 0.9
        assert spec == pytest.approx(max(b for a, b in candidates if a >= 0.9))
    else:
        assert spec >= 0.8
        assert sens == pytest.approx(max(a for a, b in candidates if b >= 0.8))


def test_youden_on_a_hand_worked_case_takes_the_midpoint():
    y = np.array([0, 0, 0, 0, 1, 1])
    p1 = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.9])
    d = choose_threshold(y, p1, rule="youden", class_names=["normal", "fracture"], split="val")
    assert d.positive_class == "fracture" and d.threshold == pytest.approx(0.35)
    assert d.chosen_on == {
        "n": 6, "n_positive": 2, "sensitivity": 1.0, "specificity": 0.75, "split": "val"
    }  # fmt: skip


def test_positive_class_is_the_minority_unless_named():
    assert resolve_positive_class([0, 0, 0, 1]) == 1
    assert resolve_positive_class([0, 1, 1, 1]) == 0
    assert resolve_positive_class([0, 0, 1, 1]) == 1  # tie: class 1
    assert resolve_positive_class([1, 1], "a", ["a", "b"]) == 0
    with pytest.raises(ValueError, match=r"positive_class.*Received: positive_class='c'"):
        resolve_positive_class([0, 1], "c", ["a", "b"])


def test_bad_rules_and_one_class_data_are_refused():
    y, p = np.array([0, 1, 0]), np.array([0.2, 0.8, 0.3])
    for rule in ("youden2", "sensitivity:1.5", "specificity", 0.5):
        with pytest.raises(ValueError, match="Argument `rule`"):
            choose_threshold(y, p, rule=rule)
    with pytest.raises(ValueError, match="both classes"):
        choose_threshold(np.array([0, 0]), np.array([0.2, 0.3]), positive_class=1)


def test_the_threshold_is_saved_inside_model_keras_and_loaded_back(tmp_path):
    m = build_classifier("smallcnn_tiny", num_classes=2, input_shape=(16, 16, 3), weights=None)
    d = DecisionThreshold(0.27, 0, "fractured", "youden", {"n": 10, "n_positive": 2})
    remember_decision_threshold(m, d)
    path = tmp_path / "m.keras"
    save_model(m, path, class_names=["fractured", "not_fractured"])
    assert read_metadata(path)["decision_threshold"]["threshold"] == 0.27
    assert not list(tmp_path.glob("*.json"))  # inside the .keras file, no side file
    assert decision_threshold_of(load_model(path)) == d
