"""Shared helpers for the data-layer tests: tiny image writers and the real-data locator."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def real_data_dir() -> Path | None:
    """The Bone Break Train folder: $FRACTURENET_SHARED_DATA or <repo>/../shared/data/bone-break."""
    env = os.environ.get("FRACTURENET_SHARED_DATA")
    path = (
        Path(env)
        if env
        else Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bone-break"
    )
    return path if path.is_dir() else None


@pytest.fixture
def real_data() -> Path:
    path = real_data_dir()
    if path is None:
        pytest.skip(
            "real data absent: ../shared/data/bone-break not found beside the repository "
            "(set FRACTURENET_SHARED_DATA to its path)"
        )
    return path


def write_image(
    path: Path, value: int = 128, size: tuple[int, int] = (24, 16), mode: str = "L"
) -> Path:
    """Writes a constant image of ``size`` (width, height) and returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode in ("L", "I;16") else (value,) * len(mode)
    Image.new(mode, size, color).save(path)
    return path


def gradient(width: int = 32, height: int = 20) -> np.ndarray:
    """An RGB test picture whose every pixel differs, so geometry mistakes show."""
    yy, xx = np.mgrid[0:height, 0:width]
    return np.stack(
        [xx * 255 // max(1, width - 1), yy * 255 // max(1, height - 1), (xx + yy) % 256], axis=2
    ).astype(np.uint8)
