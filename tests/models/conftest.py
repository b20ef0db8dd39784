"""Shared helpers for the models tests: tiny input sizes and a per-module model cache."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def tiny_size(backbone: str) -> int:
    """Smallest side the backbone accepts (32 px for most, 71/75 for xception/inception)."""
    from fracturenet.models import get_backbone

    return max(32, get_backbone(backbone).min_input_size)


def pixels(size: int, channels: int = 3, n: int = 2, seed: int = 0) -> np.ndarray:
    """Random raw pixels in 0-255, float32, NHWC."""
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, channels)).astype("float32")


@pytest.fixture(scope="module")
def model_cache():
    """Builds each backbone once per test module (random weights, tiny input)."""
    from fracturenet.models import build_classifier

    cache: dict[str, object] = {}

    def get(backbone: str):
        if backbone not in cache:
            size = tiny_size(backbone)
            cache[backbone] = build_classifier(
                backbone, num_classes=3, input_shape=(size, size, 3), weights=None
            )
        return cache[backbone]

    yield get
    cache.clear()
