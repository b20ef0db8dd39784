"""overlay(), the grid figure and the batch folder mode."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fracturenet.exceptions import ExplainError, ImageDecodeError
from fracturenet.explain import (
    explain,
    explain_to_folder,
    load_image,
    overlay,
    save_explanation_grid,
)
from fracturenet.explain.overlay import _caption
from tests.explain.conftest import region_model


@pytest.mark.parametrize("shape", [(6, 9), (6, 9, 1), (6, 9, 3)])
def test_overlay_shape_dtype_and_blend(shape):
    image = np.full(shape, 100, dtype=np.uint8)
    heat = np.zeros((6, 9))
    heat[0, 0] = 1.0
    out = overlay(image, heat, alpha=0.5, cmap="gray")
    assert out.shape == (6, 9, 3) and out.dtype == np.uint8
    assert out[0, 0].tolist() == [178, 178, 178]  # (100 + 255) / 2, rounded
    assert out[5, 8].tolist() == [50, 50, 50]  # (100 + 0) / 2
    np.testing.assert_array_equal(overlay(image, heat, alpha=0.0)[..., 0], 100)


def test_overlay_accepts_float_images_and_clips_heat():
    out = overlay(np.full((2, 2, 3), 300.0), np.full((2, 2), 7.0), alpha=1.0, cmap="gray")
    np.testing.assert_array_equal(out, 255)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"heatmap": np.zeros((3, 3))}, "Received: heatmap.shape=(3, 3)"),
        ({"alpha": 1.5}, "Received: alpha=1.5"),
        ({"cmap": "jett"}, "Received: cmap='jett'"),
        ({"image": np.zeros((4, 4, 2))}, "Received: image.shape=(4, 4, 2)"),
    ],
)
def test_overlay_errors(kwargs, fragment):
    args = {"image": np.zeros((4, 4)), "heatmap": np.zeros((4, 4)), **kwargs}
    with pytest.raises(ExplainError) as info:
        overlay(args.pop("image"), args.pop("heatmap"), **args)
    assert fragment in str(info.value)


@pytest.fixture(scope="module")
def small_case():
    model = region_model(32)
    images = [np.random.default_rng(i).uniform(0, 255, (40, 28)).astype("uint8") for i in range(2)]
    return model, images, explain(model, images, method="saliency", class_names=["ok", "broken"])


def test_grid_png_is_written_and_never_overwrites(small_case, tmp_path):
    _, images, result = small_case
    path = save_explanation_grid(images, result, tmp_path / "grid.png", true_labels=["ok", 1])
    with Image.open(path) as png:
        assert png.format == "PNG" and png.size[1] > png.size[0]  # two rows, two columns
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_explanation_grid(images, result, path)
    assert path.read_bytes() == before
    assert _caption(result[1], 0, result.class_names).endswith("true: ok")
    with pytest.raises(ExplainError, match="one entry per image"):
        save_explanation_grid(images[:1], result, tmp_path / "other.png")


def test_folder_mode_writes_one_png_per_image_and_an_index(small_case, tmp_path):
    model, images, _ = small_case
    sources = []
    for i, image in enumerate(images):
        sources.append(tmp_path / "in" / f"knee <{i}>.png")
        sources[-1].parent.mkdir(exist_ok=True)
        Image.fromarray(image).save(sources[-1])
    out = tmp_path / "out"
    index = explain_to_folder(
        model,
        sources,
        out,
        method="saliency",
        class_names=["ok", "broken"],
        true_labels=["broken", "ok"],
    )
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["knee_0_saliency.png", "knee_1_saliency.png"]
    page = index.read_text(encoding="utf-8")
    assert page.count("<tr>") == 3 and "knee &lt;0&gt;.png" in page and "broken" in page
    with pytest.raises(FileExistsError):
        explain_to_folder(model, sources, out, method="saliency")
    (out / "notes.txt").write_text("mine")
    explain_to_folder(model, sources, out, method="saliency", overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"


def test_load_image_errors(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    for name, reason in [
        ("missing.png", "file not found"),
        ("empty.png", "zero-byte"),
        ("junk.png", "not an image"),
    ]:
        with pytest.raises(ImageDecodeError, match=reason):
            load_image(tmp_path / name)
