"""``fracturenet explain --annotations``: outlines on the overlays, a localisation table."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from tests.cli.conftest import run_cli


def _case(tmp_path):
    from fracturenet.models import build_classifier, save_model

    # the plumbing only (random weights); the scores' ground truth is in tests/explain
    tiny = build_classifier("smallcnn_tiny", num_classes=2, input_shape=(32, 32, 3), weights=None)
    model = tmp_path / "m.keras"
    save_model(tiny, model, class_names=["ok", "broken"])
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(rng.integers(40, 220, (64, 32), dtype=np.uint8)).save(folder / name)
    square = [16.0, 8.0, 32.0, 8.0, 32.0, 24.0, 16.0, 24.0]  # x, y pairs
    coco = {
        "images": [
            {"id": i, "file_name": n, "width": 32, "height": 64}
            for i, n in enumerate(("a.png", "b.png", "c.png"))
        ],
        "annotations": [
            {"image_id": i, "bbox": [16, 8, 16, 16], "segmentation": [square]} for i in (0, 1)
        ],
    }
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    return model, folder


def test_outlines_are_drawn_and_methods_scored(capsys, tmp_path):
    model, folder = _case(tmp_path)
    out = tmp_path / "ex"
    code, stdout, err = run_cli(
        capsys, "explain", model, folder, "--out", out, "--method", "saliency",
        "--annotations", tmp_path / "coco.json", "--methods", "saliency,gradcam", "--steps", "2",
        "--target", "1", "--tolerance", "2", "--json",
    )  # fmt: skip
    assert code == 0, err
    info = json.loads(stdout)
    table = json.loads((out / "localisation.json").read_text())
    assert table["n_images"] == 2 and table["not_outlined"] == [str(folder / "c.png")]
    rows = {r["method"]: r for r in table["rows"]}
    assert set(rows) == {"saliency", "gradcam", "centre-gaussian", "random", "brightness"}
    assert rows["gradcam"]["deletion_auc"] is not None
    assert all(0 <= r["pointing"]["low"] <= r["pointing"]["high"] <= 1 for r in rows.values())
    assert table["settings"]["tolerance"] == 2.0 and info["localisation"].endswith(".html")
    page = (out / "localisation.html").read_text()
    assert page.count('<figure class="best">') == 1 and page.count('<figure class="worst">') == 1
    assert "(baseline)" in page
    # the overlay of an outlined image carries magenta (the colour jet does not use)
    png = np.asarray(Image.open(out / "a_saliency.png").convert("RGB"))
    magenta = (png[..., 0] > 240) & (png[..., 1] < 20) & (png[..., 2] > 240)
    assert magenta.sum() > 20
    plain = np.asarray(Image.open(out / "c_saliency.png").convert("RGB"))
    assert ((plain[..., 0] > 240) & (plain[..., 1] < 20) & (plain[..., 2] > 240)).sum() == 0


def test_bad_annotations_are_usage_errors(capsys, tmp_path):
    model, folder = _case(tmp_path)
    code, _, err = run_cli(
        capsys, "explain", model, folder, "--out", tmp_path / "ex",
        "--annotations", tmp_path / "nope.json",
    )  # fmt: skip
    assert code == 2 and "--annotations" in err and "Traceback" not in err
    (tmp_path / "bad.json").write_text("{not json")
    code, _, err = run_cli(
        capsys, "explain", model, folder, "--out", tmp_path / "ex2",
        "--annotations", tmp_path / "bad.json",
    )  # fmt: skip
    assert code == 2 and "bad.json" in err
    code, _, err = run_cli(
        capsys, "explain", model, folder, "--out", tmp_path / "ex3",
        "--annotations", tmp_path / "coco.json", "--methods", "gradcam,cam",
    )  # fmt: skip
    assert code == 2 and "--methods" in err
