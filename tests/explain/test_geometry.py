"""Letterbox geometry (private stand-in for fracturenet.data.resize)."""

from __future__ import annotations

import numpy as np
import pytest

from fracturenet.explain import _geometry, fit_images
from tests.explain.conftest import region_model


@pytest.mark.parametrize("hw", [(48, 24), (24, 48), (32, 32), (7, 50)])
def test_fit_then_restore_puts_a_marker_back_in_place(hw):
    image = np.zeros((*hw, 1), np.float32)
    r, c = hw[0] // 3, hw[1] // 4
    image[r, c] = 255.0
    fitted = _geometry.fit_to_input(image, (32, 32), "letterbox")
    restored = _geometry.restore_geometry(fitted[..., 0], hw, (32, 32), "letterbox")
    assert restored.shape == hw
    found = np.unravel_index(np.argmax(restored), hw)
    assert abs(found[0] - r) <= 2 and abs(found[1] - c) <= 2


def test_letterbox_pads_black_and_centred():
    model = region_model(32)
    batch, sizes = fit_images(model, [np.full((16, 32), 255, np.uint8)])
    assert batch.shape == (1, 32, 32, 3) and sizes == [(16, 32)]
    assert batch[0, :8].max() == 0 and batch[0, 24:].max() == 0
    assert batch[0, 8:24].min() == 255
    stretched, _ = fit_images(model, [np.full((16, 32), 255, np.uint8)], resize_mode="stretch")
    assert stretched.min() == 255
