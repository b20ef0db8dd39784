"""Explanations use the data layer's letterbox geometry, so heatmaps land on the right pixels."""

from __future__ import annotations

import numpy as np
import pytest

from fracturenet.data import resize_image, restore_geometry
from fracturenet.explain import fit_images
from tests.explain.conftest import region_model


@pytest.mark.parametrize("hw", [(48, 24), (24, 48), (32, 32), (7, 50)])
def test_fit_then_restore_puts_a_marker_back_in_place(hw):
    image = np.zeros(hw, np.float32)
    r, c = hw[0] // 3, hw[1] // 4
    image[r, c] = 255.0
    batch, sizes = fit_images(region_model(32), [image])
    assert sizes == [hw]
    restored = restore_geometry(batch[0, ..., 0], hw, (32, 32), "letterbox")
    assert restored.shape == hw
    found = np.unravel_index(np.argmax(restored), hw)
    assert abs(found[0] - r) <= 2 and abs(found[1] - c) <= 2


@pytest.mark.parametrize("mode", ["letterbox", "stretch"])
def test_model_inputs_are_exactly_what_the_pipeline_resizes(mode):
    # Same geometry and interpolation as training, or heat would be shifted by a pixel.
    image = np.random.default_rng(0).uniform(0, 255, (37, 61, 3)).astype(np.float32)
    batch, _ = fit_images(region_model(32), [image], resize_mode=mode)
    np.testing.assert_array_equal(batch[0], resize_image(image, 32, mode))


def test_letterbox_pads_black_and_centred():
    model = region_model(32)
    batch, sizes = fit_images(model, [np.full((16, 32), 255, np.uint8)])
    assert batch.shape == (1, 32, 32, 3) and sizes == [(16, 32)]
    assert batch[0, :8].max() == 0 and batch[0, 24:].max() == 0
    assert batch[0, 8:24].min() == 255
    stretched, _ = fit_images(model, [np.full((16, 32), 255, np.uint8)], resize_mode="stretch")
    assert stretched.min() == 255


def test_explain_uses_the_models_resize_mode(monkeypatch):
    import fracturenet.explain.cam as cam
    from fracturenet.explain import explain
    from tests.models.conftest import fitted_as, stretch_model, tall_white_image

    model = stretch_model()
    assert fitted_as(fit_images(model, [tall_white_image()])[0]) == "stretch"
    seen, real = [], cam.prepare_images
    monkeypatch.setattr(
        cam,
        "prepare_images",
        lambda *a, **k: (lambda out: (seen.append(out[0]), out)[1])(real(*a, **k)),
    )
    result = explain(model, [tall_white_image()])
    explain(model, [tall_white_image()], resize_mode="letterbox")  # an explicit mode wins
    assert [fitted_as(batch) for batch in seen] == ["stretch", "letterbox"]
    assert result.heatmaps[0].shape == (32, 16)
