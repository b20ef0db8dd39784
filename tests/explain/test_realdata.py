"""explain() on a few real bone-break X-rays (any size): maps align to each original."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from fracturenet.explain import explain, load_image
from tests.explain.conftest import flat_classifier

DATA = Path(
    os.environ.get("FRACTURENET_SHARED_DATA")
    or Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bone-break"
)


@pytest.mark.realdata
def test_real_xrays_of_any_size_get_aligned_maps():
    files = sorted(DATA.glob("*/Train/*.jpg"))[:3] if DATA.is_dir() else []
    if not files:
        pytest.skip(f"real data not found at {DATA} (set FRACTURENET_SHARED_DATA)")
    images = [load_image(f) for f in files]
    model = flat_classifier("vgg16")
    result = explain(model, images, method="gradcam")
    for image, heat in zip(images, result.heatmaps, strict=True):
        assert heat.shape == image.shape[:2]
        assert np.isfinite(heat).all() and 0.0 <= heat.min() and heat.max() <= 1.0
