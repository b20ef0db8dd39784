"""``fracturenet audit`` on a FracAtlas-like folder: truncated JPEGs, a metadata CSV."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from tests.cli.conftest import run_cli


def _folder(tmp_path):
    root = tmp_path / "data"
    rng = np.random.default_rng(0)
    rows = ["image_id,hand,leg,fractured"]
    for k in range(8):
        cls = "Fractured" if k < 2 else "Non_fractured"
        (root / "images" / cls).mkdir(parents=True, exist_ok=True)
        pixels = (rng.random((48, 40)) * 255).astype(np.uint8)
        path = root / "images" / cls / f"IMG{k}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        if k in (5, 6, 7):  # short of their last bytes, as 53 FracAtlas files are
            path.write_bytes(path.read_bytes()[:-12])
        label = 0 if k == 1 else int(k < 2)  # IMG1 sits in Fractured/ but says 0
        rows.append(f"IMG{k}.jpg,{int(k % 2 == 0)},{int(k % 2 == 1)},{label}")
    (root / "dataset.csv").write_text("\n".join(rows) + "\n")
    return root


def test_html_does_not_stop_at_a_truncated_jpeg_and_lists_them_all(capsys, tmp_path):
    root = _folder(tmp_path)
    page = tmp_path / "audit.html"
    code, out, err = run_cli(capsys, "audit", root / "images", "--html", page, "-q")
    assert code == 0, err
    for k in (5, 6, 7):
        assert f"IMG{k}.jpg" in out and f"IMG{k}.jpg" in page.read_text()
    assert "unreadable files     3" in out
    code, out, err = run_cli(capsys, "audit", root / "images", "--on-error", "raise", "-q")
    assert code == 1 and "3 unreadable file(s) in all" in err and "Traceback" not in err


def test_metadata_flags_report_facets_and_the_label_conflict(capsys, tmp_path):
    root = _folder(tmp_path)
    args = [
        "audit",
        root / "images",
        "--metadata",
        root / "dataset.csv",
        "--metadata-label",
        "fractured:1=Fractured,0=Non_fractured",
        "--metadata-flags",
        "region=hand,leg",
    ]
    code, out, err = run_cli(capsys, *args, "-q")
    assert code == 0, err
    assert "Label conflicts between the layout and the metadata: 1" in out
    assert "IMG1.jpg: Fractured (layout) vs Non_fractured (metadata)" in out
    assert (
        "region       hand: Fractured 1, Non_fractured 3; leg: Fractured 1, Non_fractured 3" in out
    )
    code, out, err = run_cli(capsys, *args, "--json")
    data = json.loads(out)
    assert data["metadata"]["label_conflicts"][0]["layout"] == "Fractured"
    assert data["metadata"]["class_counts_by_attribute"]["region"]["leg"]["Fractured"] == 1
    code, out, err = run_cli(capsys, *args, "--labels-from", "metadata", "--json")
    assert json.loads(out)["class_counts"] == {"Fractured": 1, "Non_fractured": 7}
    code, out, err = run_cli(capsys, "audit", root / "images", "--metadata-label", "x:1")
    code, out, err = run_cli(
        capsys,
        "audit",
        root / "images",
        "--metadata",
        root / "dataset.csv",
        "--metadata-label",
        "fractured:1",
    )
    assert code != 0 and "--metadata-label must look like" in err and "Traceback" not in err
