"""A tiny saved classifier (VGG16, 32 px, random weights) shared by the inference tests."""

from __future__ import annotations

from pathlib import Path

import pytest

CLASSES = ["normal", "fracture", "other"]


@pytest.fixture(scope="session")
def model_file(tmp_path_factory) -> Path:
    """A ``.keras`` file with 3 classes, saved with fracturenet metadata."""
    from fracturenet.models import build_classifier, save_model

    model = build_classifier("vgg16", num_classes=3, input_shape=(32, 32, 3), weights=None)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    save_model(model, path, class_names=CLASSES)
    return path


@pytest.fixture(scope="session")
def predictor(model_file):
    from fracturenet.inference import Predictor

    return Predictor.load(model_file, precision="float32", batch_size=4)
