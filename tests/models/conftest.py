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


# A non-square image where letterbox and stretch differ: all white, twice as tall as wide.
# Fitted to a 16x16 input, letterbox leaves black columns on both sides (the image lands in
# columns 4..11), stretch fills every column with white.
TALL_WHITE_HW = (32, 16)


def tall_white_image() -> np.ndarray:
    """An all-white ``uint8`` RGB image, twice as tall as wide (``TALL_WHITE_HW``)."""
    return np.full((*TALL_WHITE_HW, 3), 255, np.uint8)


def write_tall_white_images(folder, classes=("a", "b"), per_class: int = 2) -> list[str]:
    """Writes ``tall_white_image()`` PNGs into ``folder/<class>/``, one pixel off the edge
    and centre columns made unique per file; returns their paths."""
    from pathlib import Path

    from PIL import Image

    paths = []
    for name in classes:
        (Path(folder) / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            path = Path(folder) / name / f"{name}-{i}.png"
            image = tall_white_image()
            image[0, 5] = len(paths)  # distinct files (no duplicates), edges and centre white
            Image.fromarray(image).save(path)
            paths.append(str(path))
    return paths


def fitted_as(batch: np.ndarray) -> str:
    """``"stretch"`` or ``"letterbox"``: how ``tall_white_image()`` was fitted to 16x16.

    Reads the first and a middle column of each fitted image in ``(N, 16, 16, C)``.
    """
    batch = np.asarray(batch, np.float32)
    edge, centre = batch[:, :, 0, :], batch[:, :, 8, :]
    assert np.all(centre > 250), "the image's centre column must be white"
    if np.all(edge > 250):
        return "stretch"
    if np.all(edge < 5):
        return "letterbox"
    return "other"


def stretch_model(input_shape=(16, 16, 3), num_classes: int = 2):
    """The smallest classifier there is (SmallCNN-tiny, random weights), built for stretch."""
    from fracturenet.models import build_classifier

    return build_classifier(
        "smallcnn_tiny",
        num_classes=num_classes,
        input_shape=input_shape,
        weights=None,
        resize_mode="stretch",
    )


def save_stretch_model(path, input_shape=(16, 16, 3)):
    """Saves ``stretch_model()`` with class names ``["a", "b"]``; returns ``path``."""
    from fracturenet.models import save_model

    save_model(stretch_model(input_shape), path, class_names=["a", "b"])
    return path
