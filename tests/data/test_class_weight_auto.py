"""``class_weight="auto"``: balanced weights exactly when the classes are skewed, said why."""

from __future__ import annotations

import pytest

from fracturenet.data import SKEW_RATIO, class_weight_choice, class_weights, imbalance_ratio


def test_skewed_binary_data_is_weighted_balanced():
    labels = [0] * 576 + [1] * 2695  # FracAtlas' counts
    assert imbalance_ratio(labels) == pytest.approx(2695 / 576)
    weights, why = class_weight_choice(labels)
    assert weights == class_weights(labels, "balanced")
    assert weights[0] == pytest.approx(3271 / (2 * 576))
    assert "'auto' -> 'balanced'" in why and "4.68 >= 3.0" in why


def test_near_balanced_data_is_left_unweighted_and_the_boundary_is_inclusive():
    assert class_weights([0] * 10 + [1] * 20, "auto") == {0: 1.0, 1: 1.0}  # Bone Break's 2.0
    _, why = class_weight_choice([0] * 10 + [1] * 20)
    assert "not skewed" in why and "2.00 < 3.0" in why
    at_ratio = [0] * 10 + [1] * int(10 * SKEW_RATIO)
    assert class_weights(at_ratio, "auto") == class_weights(at_ratio, "balanced")


def test_an_explicit_mode_is_kept_and_the_ratio_still_reported():
    weights, why = class_weight_choice([0, 0, 0, 1], "none")
    assert weights == {0: 1.0, 1: 1.0} and why == "class_weight='none' (largest/smallest = 3.00)"
