"""`fracturenet demo --quick` end to end in a temporary folder (the README's first command)."""

from __future__ import annotations

import json

import pytest

from fracturenet.cli import main


@pytest.mark.slow
def test_demo_quick_end_to_end(tmp_path, capsys):
    out, cache = tmp_path / "demo", tmp_path / "cache"
    code = main(["demo", "--quick", "--out", str(out), "--cache-dir", str(cache), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["report_html"] == str(out / "report.html")
    html = (out / "report.html").read_text(encoding="utf-8")
    # offline (no cached ImageNet weights): the two small CNNs, trained from scratch
    assert "smallcnn" in html and "smallcnn_tiny" in html and "data:image/png;base64," in html
    assert "random weights" in html  # the report says the backbones were not pretrained
    assert "end to end from random weights (the scratch recipe" in html
    for backbone in ("smallcnn", "smallcnn_tiny"):
        for name in ("metrics.json", "confusion_matrix.png", "gradcam.png",
                     "training_curves.png", "model.keras", "history.csv"):
            assert (out / backbone / name).is_file(), f"{backbone}/{name}"
        # learnable phantoms: above chance (1/8) even with 36 training images per class at
        # 32 px (measured 0.375 and 0.267 on n = 120)
        assert result["metrics"][backbone]["accuracy"] > 0.2, backbone
        assert not (out / backbone / "checkpoints").exists()  # a demo is never resumed
    # the whole folder: one copy of each model (the weights' size does not depend on 32 px)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert size < 200 * 2**20, f"{size / 2**20:.0f} MB"
    assert "verdict" in result["comparison"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["weights"] == {"smallcnn": "none", "smallcnn_tiny": "none"}
    assert metrics["recipes"] == {"smallcnn": "scratch", "smallcnn_tiny": "scratch"}
    assert metrics["backbones"] == ["smallcnn", "smallcnn_tiny"]

    # the phantoms are cached and reused; an existing output folder is never overwritten
    assert main(["demo", "--quick", "--out", str(out), "--cache-dir", str(cache)]) == 1
    assert (out / "report.html").read_text(encoding="utf-8") == html
