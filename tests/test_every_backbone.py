"""Every registered backbone through the public API: build, explain, save, plain-Keras load.

Parametrized over the registry, so a newly registered backbone is tested for free.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fracturenet.models import list_backbones
from tests.models.conftest import pixels, tiny_size


@pytest.mark.slow
@pytest.mark.parametrize("backbone", list_backbones())
def test_backbone_builds_explains_and_round_trips(backbone, tmp_path):
    from fracturenet.explain import explain
    from fracturenet.models import build_classifier, get_backbone, save_model

    size = tiny_size(backbone)
    model = build_classifier(backbone, num_classes=3, input_shape=(size, size, 1), weights=None)
    x = pixels(size, channels=1, n=1)
    result = explain(model, [x[0, ..., 0]], method="gradcam")
    assert result.heatmaps[0].shape == (size, size) and np.isfinite(result.heatmaps[0]).all()
    assert result.cam_layer == (get_backbone(backbone).cam_layer or result.cam_layer)
    path = tmp_path / "model.keras"
    save_model(model, path, class_names=["a", "b", "c"])
    # standard layers only (tests/models/test_io.py loads in a process without fracturenet)
    assert all(type(la).__module__.startswith("keras.") for la in model.layers)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-5
    )


@pytest.mark.slow
@pytest.mark.parametrize("backbone", list_backbones())
def test_backbone_through_every_command(backbone, capsys, phantoms, tmp_path):
    """train (from a saved backbone file, head then phase 2), evaluate, predict, explain with
    every method, export: each through the CLI a user would type, on one backbone."""
    import json

    from fracturenet.explain import METHODS, explain
    from fracturenet.models import build_classifier, load_model, save_backbone_weights
    from tests.cli.conftest import run_cli

    size = tiny_size(backbone)
    common = ["--image-size", str(size), "--batch-size", "16", "--bootstrap", "0", "-q"]
    # a backbone file (what the transfer workflow saves), so phase 2 unfreezes real blocks
    untrained = build_classifier(backbone, num_classes=2, input_shape=(size, size, 1),
                                 weights=None)  # fmt: skip
    weights = save_backbone_weights(untrained, tmp_path / "bb.h5")
    run = tmp_path / "transfer"
    code, _, err = run_cli(capsys, "train", phantoms.root, "--out", run, "--backbone", backbone,
                           "--weights", weights, "--epochs", "1", "--fine-tune-epochs", "1",
                           "--unfreeze", "1", *common)  # fmt: skip
    assert code == 0, err
    phases = [row.get("phase") for row in json.loads((run / "history.json").read_text())]
    assert len(phases) == 2 and phases[0] != phases[1], phases  # head, then fine-tune
    code, out, err = run_cli(capsys, "evaluate", run, phantoms.root, "--bootstrap", "0",
                             "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["evaluated_on"]["n_images"] == len(phantoms.subset("test"))
    images = [str(p) for p in phantoms.paths[:2]]
    code, out, err = run_cli(capsys, "predict", run, *images, "--json")
    assert code == 0 and len(json.loads(out)["predictions"]) == 2, err
    code, _, err = run_cli(capsys, "explain", run, images[0], "--out", tmp_path / "cams", "-q")
    assert code == 0 and (tmp_path / "cams" / "index.html").is_file(), err
    model = load_model(run / "model.keras")
    pixels_ = np.asarray(keras.utils.load_img(images[0], color_mode="grayscale"), "float32")
    for method in METHODS:
        # fewer maps / noise samples than the defaults: the test checks wiring, not quality
        options = {"scorecam": {"max_N": 8}, "smoothgrad": {"smooth_samples": 2}}.get(method, {})
        result = explain(model, [pixels_], method=method, **options)
        heatmap = result.heatmaps[0]
        assert heatmap.shape == pixels_.shape and np.isfinite(heatmap).all(), method
    code, out, err = run_cli(capsys, "export", run, "--out", tmp_path / "saved", "--json", "-q")
    assert code == 0 and json.loads(out)["passed"], err
