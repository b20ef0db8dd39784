"""Grey pictures stored as RGB are resized on one channel: same pixels, a third of the work."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from fracturenet.data import Manifest, load_resized, make_dataset
from tests.data.conftest import gradient

module = sys.modules["fracturenet.data.load_resized"]  # the package rebinds the name


def _grey_rgb(tmp_path, ext: str, width: int = 70, height: int = 45) -> str:
    grey = gradient(width, height)[:, :, 0:1].repeat(3, axis=2)  # three equal channels
    path = str(tmp_path / f"grey.{ext}")
    Image.fromarray(grey, "RGB").save(path)
    return path


@pytest.mark.parametrize("ext", ["png", "jpg"])
@pytest.mark.parametrize("mode", ["letterbox", "stretch", "crop"])
def test_grey_rgb_takes_one_channel_and_gives_the_rgb_resize_pixels(
    tmp_path, monkeypatch, ext, mode
):
    path = _grey_rgb(tmp_path, ext)
    planes = module._load_resized_planes(path, (24, 32), mode)
    assert planes.shape == (24, 32, 1)
    out = load_resized(path, (24, 32), mode)
    monkeypatch.setattr(module, "_grey_plane", lambda image: None)  # the three-channel resize
    rgb = load_resized(path, (24, 32), mode)
    assert rgb.shape == out.shape == (24, 32, 3)
    assert np.array_equal(out, rgb)


def test_one_different_pixel_keeps_three_channels(tmp_path):
    grey = gradient(40, 30)[:, :, 0:1].repeat(3, axis=2)
    grey[17, 23, 2] ^= 64  # one blue value differs: the picture has colour
    path = str(tmp_path / "almost.png")
    Image.fromarray(grey, "RGB").save(path)
    # 32 px: no box reduction first, which could average the one difference away (the check
    # looks at the picture that is resized, so the pixels would still be the RGB path's).
    out = module._load_resized_planes(path, 32)
    assert out.shape == (32, 32, 3) and not np.array_equal(out[..., 0], out[..., 2])
    assert module._load_resized_planes(str(_grey_rgb(tmp_path, "png")), 32).shape == (32, 32, 1)


@pytest.mark.parametrize("channels", [1, 3])
def test_pipeline_broadcasts_grey_planes_like_load_resized(tmp_path, channels):
    paths = [_grey_rgb(tmp_path, "png")]
    colour = str(tmp_path / "colour.png")
    Image.fromarray(gradient(50, 40)).save(colour)
    paths.append(colour)
    x, _ = next(
        iter(
            make_dataset(
                Manifest(paths, (0, 1), ("a", "b")), image_size=16, batch_size=2, channels=channels
            )
        )
    )
    rgb = np.stack([load_resized(p, 16) for p in paths]).astype(np.float32)
    if channels == 3:
        assert np.array_equal(x.numpy(), rgb)
    else:
        luma = np.round(rgb @ np.asarray([0.299, 0.587, 0.114], np.float32))[..., None]
        assert np.array_equal(x.numpy(), luma)
