"""Every registered backbone through every command a user would type: train (head, then
phase 2 from a saved backbone file), evaluate, predict, explain with every method, export, and
a plain-Keras load of the saved model.

Parametrized over the registry, so a newly registered backbone is tested for free. Each
backbone is built and trained once (the module-scoped ``run`` fixture, at the smallest input
the backbone accepts); every check below reuses that run folder. Under pytest-xdist the tests of
one backbone stay on one worker (tests/conftest.py), so no backbone is trained twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pytest

from fracturenet.models import list_backbones
from tests.cli.conftest import run_cli
from tests.models.conftest import tiny_size

# tests/conftest.py keeps the tests of one backbone (one `run`) on one pytest-xdist worker
BACKBONES = [pytest.param(b, marks=pytest.mark.slow) for b in list_backbones()]


@dataclass(frozen=True)
class Run:
    backbone: str
    size: int
    dir: Path  # the run folder written by `fracturenet train`
    tmp: Path


@pytest.fixture(scope="module")
def run(request, phantoms, tmp_path_factory) -> Run:
    """`fracturenet train` from a saved backbone file: one head epoch, one fine-tune epoch."""
    from fracturenet.cli import main
    from fracturenet.models import build_classifier, save_backbone_weights

    backbone = request.param
    size = tiny_size(backbone)
    tmp = tmp_path_factory.mktemp(f"every-{backbone}")
    # a backbone file (what the transfer workflow saves), so phase 2 unfreezes real blocks
    untrained = build_classifier(backbone, num_classes=2, input_shape=(size, size, 1),
                                 weights=None)  # fmt: skip
    weights = save_backbone_weights(untrained, tmp / "bb.h5")
    del untrained
    out = tmp / "transfer"
    code = main([str(a) for a in (
        "train", phantoms.root, "--out", out, "--backbone", backbone, "--weights", weights,
        "--epochs", "1", "--fine-tune-epochs", "1", "--unfreeze", "1",
        "--image-size", size, "--batch-size", "16", "--bootstrap", "0", "-q",
    )])  # fmt: skip
    assert code == 0, f"fracturenet train failed for {backbone}"
    return Run(backbone, size, out, tmp)


def _images(phantoms, n: int = 2) -> list[str]:
    return [str(p) for p in phantoms.paths[:n]]


@pytest.mark.parametrize("run", BACKBONES, indirect=True)
def test_train_runs_the_head_then_fine_tunes(run):
    phases = [row.get("phase") for row in json.loads((run.dir / "history.json").read_text())]
    assert len(phases) == 2 and phases[0] != phases[1], phases  # head, then fine-tune
    assert (run.dir / "model.keras").is_file()


@pytest.mark.parametrize("run", BACKBONES, indirect=True)
def test_evaluate_and_predict_commands(run, capsys, phantoms):
    code, out, err = run_cli(capsys, "evaluate", run.dir, phantoms.root, "--bootstrap", "0",
                             "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["evaluated_on"]["n_images"] == len(phantoms.subset("test"))
    code, out, err = run_cli(capsys, "predict", run.dir, *_images(phantoms), "--json")
    assert code == 0 and len(json.loads(out)["predictions"]) == 2, err


@pytest.mark.parametrize("run", BACKBONES, indirect=True)
def test_explain_command_and_every_method(run, capsys, phantoms, tmp_path):
    from fracturenet.explain import METHODS, explain
    from fracturenet.models import get_backbone, load_model

    image = _images(phantoms, 1)[0]
    code, _, err = run_cli(capsys, "explain", run.dir, image, "--out", tmp_path / "cams", "-q")
    assert code == 0 and (tmp_path / "cams" / "index.html").is_file(), err
    model = load_model(run.dir / "model.keras")
    pixels_ = np.asarray(keras.utils.load_img(image, color_mode="grayscale"), "float32")
    # fewer maps / noise samples than the defaults: the test checks wiring, not quality
    options = {"scorecam": {"max_N": 2}, "faster-scorecam": {"max_N": 2},
               "smoothgrad": {"smooth_samples": 2}}  # fmt: skip
    for method in METHODS:
        result = explain(model, [pixels_], method=method, **options.get(method, {}))
        heatmap = result.heatmaps[0]
        assert heatmap.shape == pixels_.shape and np.isfinite(heatmap).all(), method
        if method == "gradcam":  # the registry's CAM layer is the one used
            assert result.cam_layer == (get_backbone(run.backbone).cam_layer or result.cam_layer)


@pytest.mark.parametrize("run", BACKBONES, indirect=True)
def test_export_command_passes_its_parity_check(run, capsys):
    code, out, err = run_cli(capsys, "export", run.dir, "--out", run.tmp / "saved", "--json",
                             "-q")  # fmt: skip
    assert code == 0 and json.loads(out)["passed"], err


@pytest.mark.parametrize("run", BACKBONES, indirect=True)
def test_saved_model_loads_in_plain_keras_with_the_same_outputs(run):
    from fracturenet.models import load_model

    model = load_model(run.dir / "model.keras")
    # standard layers only (tests/models/test_io.py loads in a process without fracturenet)
    assert all(type(la).__module__.startswith("keras.") for la in model.layers)
    loaded = keras.saving.load_model(run.dir / "model.keras", safe_mode=True, compile=False)
    # the model's own input (grey or RGB: the channels follow the backbone and its weights)
    shape = (1, *model.input_shape[1:])
    x = np.random.default_rng(0).uniform(0, 255, shape).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-5
    )
