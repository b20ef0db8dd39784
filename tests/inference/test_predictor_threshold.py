"""The Predictor decides a binary model's labels with the threshold stored in model.keras."""

from __future__ import annotations

import numpy as np
import pytest

from fracturenet.inference import Predictor
from fracturenet.models import DecisionThreshold, build_classifier, save_model
from fracturenet.models.decision import remember_decision_threshold


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    m = build_classifier("smallcnn_tiny", num_classes=2, input_shape=(16, 16, 3), weights=None)
    path = tmp_path_factory.mktemp("m") / "model.keras"
    save_model(m, path, class_names=["fractured", "not_fractured"])
    probe = Predictor.load(path, precision="float32", threshold="argmax")
    p0 = probe.predict(np.full((4, 20, 20, 3), 128, np.uint8)).probabilities[0, 0]
    # a cut-off just past the model's P(fractured), on the side that flips argmax's label
    t = float(p0) + 1e-4 if p0 >= 0.5 else float(p0) - 1e-4
    remember_decision_threshold(m, DecisionThreshold(t, 0, "fractured", "youden"))
    with_t = path.with_name("with_threshold.keras")
    save_model(m, with_t, class_names=["fractured", "not_fractured"])
    return path, with_t, float(p0)


def test_predict_uses_the_models_threshold_and_argmax_without_one(model_file):
    plain, with_t, p0 = model_file
    x = np.full((3, 20, 20, 3), 128, np.uint8)
    r_plain = Predictor.load(plain, precision="float32").predict(x)
    r_t = Predictor.load(with_t, precision="float32").predict(x)
    np.testing.assert_allclose(r_plain.probabilities, r_t.probabilities, atol=1e-6)
    argmax_label, other = ("fractured", "not_fractured")[:: 1 if p0 >= 0.5 else -1]
    assert r_plain.labels == [argmax_label] * 3
    assert r_t.labels == [other] * 3
    assert r_t.to_dict()["decision_threshold"]["rule"] == "youden"
    p_other = p0 if other == "fractured" else 1 - p0
    assert r_t.rows()[0]["probability"] == pytest.approx(p_other, abs=1e-5)
    assert r_t.csv_text().splitlines()[1].split(",")[1] == other
    overridden = Predictor.load(with_t, precision="float32", threshold="argmax").predict(x)
    assert overridden.labels == [argmax_label] * 3


def test_bad_threshold_argument_is_refused(model_file):
    with pytest.raises(ValueError, match=r"Argument `threshold`.*Received: threshold=0.3"):
        Predictor.load(model_file[0], precision="float32", threshold=0.3)
