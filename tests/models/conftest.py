"""Shared helpers for the models tests: tiny input sizes and random raw pixels."""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def tiny_size(backbone: str) -> int:
    """Smallest side the backbone accepts (32 px for most, 71/75 for xception/inception)."""
    from fracturenet.models import get_backbone

    return max(32, get_backbone(backbone).min_input_size)


def pixels(size: int, channels: int = 3, n: int = 2, seed: int = 0) -> np.ndarray:
    """Random raw pixels in 0-255, float32, NHWC."""
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, channels)).astype("float32")
