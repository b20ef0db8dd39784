"""Localisation scores against outlines, with synthetic ground truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fracturenet.data import fit_mask, resize_geometry
from fracturenet.exceptions import ExplainError
from fracturenet.explain import (
    bootstrap_mean,
    brightness_map,
    compare_localisation,
    explain,
    gaussian_map,
    localisation_scores,
)
from tests.explain.conftest import region_model

# A tall 64x32 radiograph letterboxed into a 32x32 input: the image fills columns 8:24.
# The model looks at input rows 4:12, columns 16:24, which is original rows 8:24, cols 16:32
# (off the centre, so the centred-Gaussian baseline misses it).
BOX = (4, 12, 16, 24)


def _tall_case(n: int = 3):
    rng = np.random.default_rng(0)
    images = [rng.uniform(40, 220, (64, 32)).astype(np.float32) for _ in range(n)]
    mask = np.zeros((64, 32), bool)
    mask[8:24, 16:32] = True
    return images, [mask] * n


def test_point_energy_iou_dice_values():
    heat = np.zeros((2, 10, 10))
    heat[0, 2, 2] = 1.0  # hottest pixel 1 px left of the mask
    heat[1] = 0.0  # all-zero map: every pixel ties for the maximum
    mask = np.zeros((2, 10, 10), bool)
    mask[:, 1:4, 3:6] = True
    strict = localisation_scores(heat, mask, tolerance=0, top_k=0.09)
    loose = localisation_scores(heat, mask, tolerance=1, top_k=0.09)
    assert strict.pointing[0] == 0.0 and loose.pointing[0] == 1.0
    assert strict.pointing[1] == pytest.approx(9 / 100)  # the area share under ties
    assert strict.energy[0] == 0.0 and np.isnan(strict.energy[1])
    heat[0, 1:4, 3:6] = 2.0  # now 9 hottest pixels = the mask, plus one cooler pixel
    s = localisation_scores(heat, mask, tolerance=0, top_k=0.09)
    assert s.pointing[0] == 1.0 and s.energy[0] == pytest.approx(18 / 19)
    assert s.iou[0] == 1.0 and s.dice[0] == 1.0
    half = localisation_scores(heat, mask, tolerance=0, top_k=0.18)  # 18 kept, 9 hit
    assert half.iou[0] == pytest.approx(9 / 18) and half.dice[0] == pytest.approx(18 / 27)
    few = localisation_scores(heat, mask, tolerance=0, top_k=0.05)  # 5 kept, all in the mask
    assert few.iou[0] == pytest.approx(5 / 9) and few.dice[0] == pytest.approx(10 / 14)


def test_score_errors_name_the_argument():
    heat, mask = np.ones((1, 4, 4)), np.zeros((1, 4, 4), bool)
    with pytest.raises(ExplainError, match="empty masks at"):
        localisation_scores(heat, mask)
    mask[0, 0, 0] = True
    with pytest.raises(ExplainError, match="Received: maps.shape"):
        localisation_scores(heat, mask[:, :3])
    with pytest.raises(ExplainError, match="Received: top_k=0"):
        localisation_scores(heat, mask, top_k=0)
    with pytest.raises(ExplainError, match="Received: tolerance=-1"):
        localisation_scores(heat, mask, tolerance=-1)


def test_baselines_and_bootstrap():
    g = gaussian_map((9, 7))
    assert np.unravel_index(g.argmax(), g.shape) == (4, 3) and g.min() > 0
    batch = np.zeros((1, 4, 4, 3))
    batch[0, :, 1:3] = 255.0  # letterbox padding left and right is black
    batch[0, 0, 1] = 51.0
    b = brightness_map(batch)[0]
    assert b[:, 0].max() == 0.0 and b[1:, 1].min() == 1.0 and b[0, 1] == pytest.approx(0.2)
    values = np.r_[np.ones(30), np.zeros(10)]
    mean, low, high = bootstrap_mean(values, n_boot=500, seed=1)
    assert mean == 0.75 and 0.55 < low < 0.75 < high < 0.95
    assert bootstrap_mean(values, n_boot=500, seed=1) == (mean, low, high)
    assert np.isnan(bootstrap_mean([np.nan])[0])


def test_a_model_that_looks_at_a_known_region_hits_it_every_time():
    images, masks = _tall_case(6)
    model = region_model(32, BOX)
    c = compare_localisation(
        model,
        images,
        masks,
        methods=["saliency"],
        target=1,
        tolerance=2,
        n_boot=200,
        faithfulness_steps=4,
    )
    s = c.scores["saliency"]
    assert c.settings["resize_mode"] == "letterbox" and c.settings["input_size"] == [32, 32]
    np.testing.assert_array_equal(s.pointing, 1.0)
    assert s.energy.min() > 0.95
    assert c.best == "saliency" and c.rows[0].method == "saliency"
    # every baseline is beaten with an interval above 0 on the pointing game
    assert c.beats_all_baselines("pointing")
    row = c.rows[0]
    assert row.deletion_auc is not None and row.insertion_auc is not None
    json.dumps(c.to_dict())  # JSON-ready
    assert "saliency" in c.to_markdown() and "(baseline)" in c.to_markdown()


def test_a_map_shifted_by_the_letterbox_padding_is_caught():
    images, masks = _tall_case(1)
    model = region_model(32, BOX)
    result = explain(model, images, method="saliency", target=1)
    fitted = fit_mask(masks[0], 32, "letterbox")
    expected = np.zeros((32, 32), bool)
    expected[BOX[0] : BOX[1], BOX[2] : BOX[3]] = True
    np.testing.assert_array_equal(fitted, expected)  # the outline lands on the model's box
    right = localisation_scores(result.input_heatmaps, fitted[None], tolerance=0)
    assert right.pointing[0] == 1.0 and right.energy[0] > 0.95
    pad = resize_geometry((64, 32), 32)["target"][1]
    assert pad == 8
    shifted = np.roll(result.input_heatmaps, -pad, axis=2)  # map placed as if unpadded
    wrong = localisation_scores(shifted, fitted[None], tolerance=0)
    assert wrong.pointing[0] == 0.0 and wrong.energy[0] < 0.05
    # the same check on the original image's frame agrees (restore_geometry drops the padding)
    back = localisation_scores(result.heatmaps[0][None], masks[0][None], tolerance=0)
    assert back.pointing[0] == 1.0 and back.energy[0] > 0.9


def test_outlines_cut_off_by_a_crop_are_excluded_and_named():
    rng = np.random.default_rng(0)
    images = [rng.uniform(0, 255, (64, 32)) for _ in range(2)]
    top = np.zeros((64, 32), bool)
    top[:8] = True  # cropped away by a centre crop to 32x32
    middle = np.zeros((64, 32), bool)
    middle[30:34, 10:20] = True
    model = region_model(32, BOX)
    c = compare_localisation(
        model,
        images,
        [top, middle],
        names=["top", "mid"],
        methods=["saliency"],
        resize_mode="crop",
        n_boot=50,
        faithfulness_steps=0,
    )
    assert c.excluded == ("top",) and c.names == ("mid",)
    with pytest.raises(ExplainError, match="mask of 'top'"):
        compare_localisation(model, images, [top[:10], middle], names=["top", "mid"])


def test_outline_masks_match_by_file_name_and_check_the_size():
    from fracturenet.data import ImageAnnotation
    from fracturenet.explain import outline_masks

    ann = {"a.png": ImageAnnotation("a.png", 4, 6, boxes=((1, 1, 2, 2),))}
    masks = outline_masks([np.zeros((4, 6)), np.zeros((4, 6))], ["/d/a.png", "/d/b.png"], ann)
    assert masks[0].sum() == 4 and masks[1] is None
    with pytest.raises(ExplainError, match=r"loads as 6x4.*Received: name='/d/a.png'"):
        outline_masks([np.zeros((6, 4))], ["/d/a.png"], ann)  # e.g. a rotated copy


def test_the_default_tolerance_scales_with_the_model_input():
    """15 px at 224 px; a 32 px model gets 15 * 32 / 224 = 2.14 px, not half its input."""
    images, masks = _tall_case(2)
    c = compare_localisation(region_model(32, BOX), images, masks, methods=["saliency"],
                             target=1, n_boot=50, faithfulness_steps=0)  # fmt: skip
    assert c.settings["tolerance"] == pytest.approx(2.14)
    assert c.scores["saliency"].tolerance == pytest.approx(2.14)
