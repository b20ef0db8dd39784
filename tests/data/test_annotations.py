"""COCO and YOLO annotations: reading, rasterising to the expected pixels, fitting to the input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fracturenet.data import (
    ImageAnnotation,
    annotation_mask,
    annotations_for,
    fit_mask,
    read_coco,
    read_yolo,
    resize_geometry,
)
from fracturenet.exceptions import DatasetError

FRACATLAS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fracatlas"


def _one(h, w, boxes=(), polygons=()):
    return ImageAnnotation("a.png", h, w, tuple(boxes), tuple(polygons))


def test_box_covers_the_pixels_whose_centres_it_contains():
    mask = annotation_mask(_one(5, 6, [(1.0, 2.0, 3.0, 2.0)]), shape="box")
    expected = np.zeros((5, 6), bool)
    expected[2:4, 1:4] = True
    np.testing.assert_array_equal(mask, expected)
    # fractional edges: centre 0.5 is outside [0.6, 1.6), centre 1.5 inside
    mask = annotation_mask(_one(3, 3, [(0.6, 0.4, 1.0, 1.0)]), shape="box")
    assert np.argwhere(mask).tolist() == [[0, 1]]


def test_polygon_fills_pixel_centres_inside_even_odd():
    triangle = (0.0, 0.0, 4.0, 0.0, 0.0, 4.0)
    mask = annotation_mask(_one(4, 4, [(0, 0, 4, 4)], [(triangle,)]))
    rows, cols = np.indices((4, 4))
    np.testing.assert_array_equal(mask, (cols + 0.5) + (rows + 0.5) < 4)
    outer = (0.0, 0.0, 6.0, 0.0, 6.0, 6.0, 0.0, 6.0)
    hole = (2.0, 2.0, 4.0, 2.0, 4.0, 4.0, 2.0, 4.0)
    ring = annotation_mask(_one(6, 6, [(0, 0, 6, 6)], [(outer, hole)]))
    assert ring.sum() == 36 - 4 and not ring[2:4, 2:4].any()


def test_outline_falls_back_to_the_box_and_box_shape_ignores_outlines():
    tri = (0.0, 0.0, 4.0, 0.0, 0.0, 4.0)
    both = _one(4, 4, [(0, 0, 4, 4), (0, 0, 1, 1)], [(tri,), ()])
    assert annotation_mask(both).sum() == 6  # 6 centres in the triangle; box 2 inside it
    assert annotation_mask(both, shape="box").all()
    with pytest.raises(DatasetError, match="Received: shape='circle'"):
        annotation_mask(both, shape="circle")


def test_coco_and_yolo_read_the_same_box(tmp_path):
    coco = {
        "images": [
            {"id": 7, "file_name": "dir/a.jpg", "width": 10, "height": 8},
            {"id": 8, "file_name": "b.jpg", "width": 4, "height": 4},
        ],
        "annotations": [
            {"image_id": 7, "bbox": [2, 1, 4, 2], "segmentation": [[2, 1, 6, 1, 6, 3, 2, 3]]}
        ],
    }
    (tmp_path / "c.json").write_text(json.dumps(coco))
    (tmp_path / "a.txt").write_text("0 0.4 0.25 0.4 0.25\n\n")
    read = read_coco(tmp_path / "c.json")
    assert read["b.jpg"].boxes == () and len(read["a.jpg"]) == 1
    yolo = read_yolo(tmp_path, {"a.jpg": (8, 10), "b.jpg": (4, 4)})
    assert set(yolo) == {"a.jpg"}
    np.testing.assert_allclose(yolo["a.jpg"].boxes[0], read["a.jpg"].boxes[0])
    np.testing.assert_array_equal(annotation_mask(read["a.jpg"]), annotation_mask(yolo["a.jpg"]))
    assert annotations_for(["/x/a.jpg", "/x/z.jpg"], read) == [read["a.jpg"], None]


def test_bad_files_name_the_file(tmp_path):
    (tmp_path / "bad.json").write_text('{"images": [{"id": 1}]}')
    with pytest.raises(DatasetError, match="bad.json"):
        read_coco(tmp_path / "bad.json")
    with pytest.raises(DatasetError, match="Received: path="):
        read_coco(tmp_path / "missing.json")
    (tmp_path / "a.txt").write_text("0 0.5 0.5\n")
    with pytest.raises(DatasetError, match="a.txt"):
        read_yolo(tmp_path, {"a.jpg": (4, 4)})


@pytest.mark.parametrize("mode", ["letterbox", "crop", "stretch"])
def test_fit_mask_lands_where_resize_puts_the_image(mode):
    mask = np.zeros((60, 30), bool)
    mask[24:40, 2:12] = True  # off-centre: a mode mix-up moves it
    fitted = fit_mask(mask, 30, mode)
    (st, sl, sh, sw), (tt, tl, th, tw) = resize_geometry((60, 30), 30, mode).values()
    ys, xs = np.nonzero(fitted)
    # the region's centre (32, 7) maps to the same point the image geometry maps it to
    cy = tt + (32 - st) * th / sh
    cx = tl + (7 - sl) * tw / sw
    assert abs(ys.mean() + 0.5 - cy) < 0.5 and abs(xs.mean() + 0.5 - cx) < 0.5
    if mode == "letterbox":  # the padding columns never hold the region
        assert not fitted[:, :tl].any() and not fitted[:, tl + tw :].any()


@pytest.mark.skipif(not FRACATLAS.exists(), reason="FracAtlas copy absent (../shared/data)")
def test_fracatlas_outlines_lie_in_their_boxes_and_yolo_matches_coco():
    coco = read_coco(FRACATLAS / "annotations" / "coco.json")
    names = sorted(n for n, a in coco.items() if len(a))[:40]
    yolo = read_yolo(
        FRACATLAS / "annotations" / "yolo", {n: (coco[n].height, coco[n].width) for n in names}
    )
    for name in names:
        outline = annotation_mask(coco[name])
        box = annotation_mask(coco[name], shape="box")
        yolo_box = annotation_mask(yolo[name], shape="box")
        assert outline.any() and (outline & ~box).sum() <= 0.02 * outline.sum() + 4, name
        assert (box & yolo_box).sum() / (box | yolo_box).sum() > 0.9, name


@pytest.mark.skipif(not FRACATLAS.exists(), reason="FracAtlas copy absent (../shared/data)")
def test_fracatlas_outlines_are_in_the_upright_frame_load_image_returns():
    from fracturenet.data import load_image

    coco = read_coco(FRACATLAS / "annotations" / "coco.json")
    # the two fractured images with an EXIF orientation tag (3 and 8); 8 swaps the sides
    for name in ("IMG0002588.jpg", "IMG0002628.jpg"):
        image = load_image(str(FRACATLAS / "images" / "Fractured" / name))
        assert image.shape[:2] == (coco[name].height, coco[name].width), name


def test_manifest_carries_annotations_through_select_and_splits():
    from fracturenet.data import Manifest, train_val_test_split

    names = [f"img{i}.png" for i in range(20)]
    m = Manifest(paths=tuple(f"/d/{n}" for n in names), labels=tuple(i % 2 for i in range(20)),
                 class_names=("normal", "fractured"))  # fmt: skip
    outlines = {n: ImageAnnotation(n, 8, 8, boxes=((i % 4, 0, 2, 2),))
                for i, n in enumerate(names) if i % 2}  # fmt: skip
    m = m.with_annotations(outlines)
    assert [a is not None for a in m.annotations] == [bool(i % 2) for i in range(20)]
    part = train_val_test_split(m, val=0.3, seed=0, groups=None).subset("val")
    assert len(part) < len(m)
    for path, annotation in zip(part.paths, part.annotations, strict=True):
        name = path.rsplit("/", 1)[-1]
        assert annotation == outlines.get(name)  # stays with its image
    picked = m.select([3, 0])
    assert picked.annotations == (outlines["img3.png"], None)
