"""`fracturenet demo --quick` end to end in a temporary folder (the README's first command)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fracturenet.cli import main


@pytest.mark.slow
def test_demo_quick_end_to_end(tmp_path, capsys, monkeypatch):
    # no ImageNet file, whatever this machine caches: the offline branch on every machine
    # (tests/workflows/test_demo_backbones.py forces the others)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    # mixed_bfloat16 is what `precision="auto"` picks on CPUs with AVX512-BF16 (and recent
    # GPUs); forced here so every machine runs the path that once crashed in Grad-CAM
    out, cache = tmp_path / "demo", tmp_path / "cache"
    code = main(["demo", "--quick", "--out", str(out), "--cache-dir", str(cache), "--json",
                 "--precision", "mixed_bfloat16", "--offline"])
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
        config = json.loads((out / backbone / "config.json").read_text())
        assert config["precision"] == "mixed_bfloat16", config["precision"]
    # the whole folder: one copy of each model (the weights' size does not depend on 32 px)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert size < 200 * 2**20, f"{size / 2**20:.0f} MB"
    assert "verdict" in result["comparison"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["weights"] == {"smallcnn": "none", "smallcnn_tiny": "none"}
    assert metrics["recipes"] == {"smallcnn": "scratch", "smallcnn_tiny": "scratch"}
    assert metrics["backbones"] == ["smallcnn", "smallcnn_tiny"]
    assert all(why.startswith("not cached at") for why in metrics["imagenet_files"].values())

    # the phantoms are cached and reused; an existing output folder is never overwritten
    assert main(["demo", "--quick", "--out", str(out), "--cache-dir", str(cache)]) == 1
    assert (out / "report.html").read_text(encoding="utf-8") == html


def test_demo_runs_in_float32_too(tmp_path, monkeypatch):
    """The other branch of `precision="auto"`, on a budget that only checks the plumbing."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("FRACTURENET_OFFLINE", "1")
    from fracturenet.workflows import DemoSettings, run_demo

    tiny = DemoSettings(images_per_class=6, phantom_size=32, input_size=32, epochs=1,
                        fine_tune_epochs=0, gradcam_images=2)
    result = run_demo(tmp_path / "demo", settings=tiny, cache_dir=tmp_path / "cache",
                      verbose=0, precision="float32")
    assert Path(result.report_html).is_file()
    for backbone in result.metrics:
        config = json.loads((tmp_path / "demo" / backbone / "config.json").read_text())
        assert config["precision"] == "float32"
        assert (tmp_path / "demo" / backbone / "gradcam.png").is_file()
