"""Every registered backbone through the public API: build, explain, save, plain-Keras load.

Parametrized over the registry, so a newly registered backbone is tested for free.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fracturenet.models import list_backbones
from tests.models.conftest import pixels, tiny_size


@pytest.mark.slow
@pytest.mark.parametrize("backbone", list_backbones())
def test_backbone_builds_explains_and_round_trips(backbone, tmp_path):
    from fracturenet.explain import explain
    from fracturenet.models import build_classifier, get_backbone, save_model

    size = tiny_size(backbone)
    model = build_classifier(backbone, num_classes=3, input_shape=(size, size, 1), weights=None)
    x = pixels(size, channels=1, n=1)
    result = explain(model, [x[0, ..., 0]], method="gradcam")
    assert result.heatmaps[0].shape == (size, size) and np.isfinite(result.heatmaps[0]).all()
    assert result.cam_layer == (get_backbone(backbone).cam_layer or result.cam_layer)
    path = tmp_path / "model.keras"
    save_model(model, path, class_names=["a", "b", "c"])
    # standard layers only (tests/models/test_io.py loads in a process without fracturenet)
    assert all(type(la).__module__.startswith("keras.") for la in model.layers)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-5
    )
