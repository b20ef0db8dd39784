"""resize_image() modes and restore_geometry() as its inverse for heat-map overlays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fracturenet.data import resize_geometry, resize_image, restore_geometry
from tests.data.conftest import gradient


def test_letterbox_keeps_aspect_and_pads_black():
    tall = np.full((120, 30, 3), 200, np.uint8)  # a 4:1 strip, like many X-rays
    out = resize_image(tall, 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    cols = np.where(out[32, :, 0] > 0)[0]
    assert (cols.min(), cols.max()) == (24, 39)  # 16 px wide content, centred
    assert (out[:, :24] == 0).all() and (out[:, 40:] == 0).all()


def test_stretch_fills_everything():
    out = resize_image(np.full((120, 30, 3), 200, np.uint8), (32, 48), "stretch")
    assert out.shape == (32, 48, 3) and (out == 200).all()


def test_centre_crop_takes_the_middle():
    img = np.zeros((100, 50), np.uint8)
    img[25:75] = 255  # the centred square is all white
    out = resize_image(img, 20, "crop")
    assert out.shape == (20, 20) and (out == 255).all()


def test_float_multichannel_and_bad_inputs():
    out = resize_image(np.ones((10, 20, 5), np.float32), 8)
    assert out.shape == (8, 8, 5) and out.dtype == np.float32
    with pytest.raises(
        ValueError,
        match=r"mode must be one of \('letterbox', 'stretch', 'crop'\)\. Received: mode='fit'",
    ):
        resize_image(out, 8, "fit")
    with pytest.raises(ValueError, match="Received: size=0"):
        resize_image(out, 0)
    with pytest.raises(ValueError, match=r"Received: image.shape=\(0, 4\)"):
        resize_image(np.zeros((0, 4)), 8)


@pytest.mark.parametrize("mode", ["letterbox", "stretch", "crop"])
def test_restore_geometry_inverts_resize(mode):
    original = gradient(90, 60)[..., 0].astype(np.float32)  # horizontal ramp
    resized = resize_image(original, 64, mode)
    back = restore_geometry(resized, (60, 90), 64, mode)
    assert back.shape == (60, 90) and back.dtype == np.float32
    if mode == "crop":
        geo = resize_geometry((60, 90), 64, mode)["source"]
        top, left, h, w = geo
        assert (back[:, :left] == 0).all() and (back[:, left + w :] == 0).all()
        region = (slice(top, top + h), slice(left + 2, left + w - 2))
    else:
        region = (slice(None), slice(2, -2))
    assert np.abs(back[region] - original[region]).mean() < 3.0


def test_restore_geometry_from_a_coarse_cam():
    cam = np.zeros((7, 7), np.float32)
    cam[:, 3] = 1.0  # the letterboxed tall strip sits in the middle column
    back = restore_geometry(cam, (300, 40), 224)
    assert back.shape == (300, 40) and back.mean() > 0.5
    with pytest.raises(ValueError, match=r"map2d must be a 2-D array"):
        restore_geometry(np.zeros((2, 2, 2)), (3, 3), 4)


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 400),
    w=st.integers(1, 400),
    size=st.integers(1, 64),
    mode=st.sampled_from(["letterbox", "stretch", "crop"]),
)
def test_geometry_boxes_stay_inside_and_keep_aspect(h, w, size, mode):
    geo = resize_geometry((h, w), size, mode)
    st_, sl, sh, sw = geo["source"]
    tt, tl, th, tw = geo["target"]
    assert 0 <= st_ and st_ + sh <= h and 0 <= sl and sl + sw <= w
    assert 0 <= tt and tt + th <= size and 0 <= tl and tl + tw <= size
    if mode == "letterbox":  # whole image, scaled by one factor, rounded to the pixel
        scale = min(size / h, size / w)
        assert (sh, sw) == (h, w) and max(th, tw) == size
        assert abs(th - h * scale) <= 1 and abs(tw - w * scale) <= 1
    elif mode == "crop":  # the largest centred square
        assert sh == sw == min(h, w) and (th, tw) == (size, size)
    out = resize_image(np.zeros((h, w), np.uint8), size, mode)
    assert out.shape == (size, size)
    assert restore_geometry(np.zeros((size, size)), (h, w), size, mode).shape == (h, w)


@settings(deadline=None)
@given(h=st.integers(1, 300), w=st.integers(1, 300), oh=st.integers(1, 64), ow=st.integers(1, 64))
def test_letterbox_keeps_aspect_for_non_square_targets(h, w, oh, ow):
    # The square-target test above cannot tell height from width; a swapped scale can.
    tt, tl, th, tw = resize_geometry((h, w), (oh, ow))["target"]
    scale = min(oh / h, ow / w)
    assert abs(th - h * scale) <= 1 and abs(tw - w * scale) <= 1
    assert th == oh or tw == ow  # it fills one side
    assert (tt, tl) == ((oh - th) // 2, (ow - tw) // 2)


def test_letterbox_non_square_example():
    assert resize_geometry((100, 50), (32, 64))["target"] == (0, 24, 32, 16)
    assert resize_geometry((50, 100), (64, 32))["target"] == (24, 0, 16, 32)
    out = resize_image(np.full((100, 50), 255, np.uint8), (32, 64))
    assert out.shape == (32, 64) and (out[:, 24:40] == 255).all() and (out[:, :24] == 0).all()
