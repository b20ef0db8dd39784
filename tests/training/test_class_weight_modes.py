"""The Trainer's class weights come from the one public formula, ``data.class_weights``."""

from __future__ import annotations

import numpy as np
import pytest

from fracturenet.data import class_weights
from fracturenet.training.fit_arguments import resolve_class_weight


@pytest.mark.parametrize("mode", ["balanced", "sqrt", "none"])
def test_trainer_modes_are_the_public_function(mode):
    y = np.array([0, 0, 0, 1, 2, 2])
    x = np.zeros((len(y), 4, 4, 1), "float32")
    assert resolve_class_weight(mode, (x, y), 3) == class_weights(y, mode, num_classes=3)
    batches = [(x[:4], y[:4]), (x[4:], y[4:])]  # a dataset of (images, labels) batches
    assert resolve_class_weight(mode, batches, 3) == class_weights(y, mode, num_classes=3)


def test_a_class_missing_from_training_gets_weight_one_and_the_others_the_same_formula():
    y = np.array([0, 0, 1])
    weights = resolve_class_weight("balanced", (np.zeros((3, 2)), y), 3)
    assert weights == {0: 3 / (3 * 2), 1: 3 / (3 * 1), 2: 1.0}


def test_dicts_and_none_pass_through_and_unknown_modes_are_refused():
    y = np.array([0, 1])
    assert resolve_class_weight(None, (y, y)) is None
    assert resolve_class_weight({0: 2.0, 1: 1.0}, (y, y)) == {0: 2.0, 1: 1.0}
    with pytest.raises(ValueError, match=r"Argument `class_weight` must be one of .*'sqrt'"):
        resolve_class_weight("inverse", (y, y))
