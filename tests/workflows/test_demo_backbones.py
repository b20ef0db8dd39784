"""Which backbones the demo compares, for every state of the ImageNet cache (never the host's).

Each test points ``KERAS_HOME`` at its own folder, so what the machine happens to have in
``~/.keras/models`` does not decide the branch.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fracturenet.models import imagenet_weights_path
from fracturenet.workflows.demo_backbones import (
    IMAGENET_PAIR,
    OFFLINE_PAIR,
    default_backbones,
    weights_availability,
)

INSTALL = "bash ../shared/tools/imagenet-vgg16/install.sh (PYTHON=<your venv's python>)"
#: The machine's own VGG16 file (its Keras cache, KERAS_HOME included), looked up before
#: any test points KERAS_HOME elsewhere.
REAL_VGG16 = imagenet_weights_path("vgg16")


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv("FRACTURENET_OFFLINE", "1")
    return home / "models"


def _place(models: Path, backbone: str) -> None:
    (models / imagenet_weights_path(backbone).name).write_bytes(b"not read here")


def test_no_file_gives_the_small_cnns(keras_home):
    assert default_backbones() == OFFLINE_PAIR


def test_one_file_gives_it_against_the_scratch_reference(keras_home):
    _place(keras_home, "vgg16")
    assert default_backbones() == ("vgg16", "smallcnn")
    status = weights_availability()
    assert status["vgg16"] == "cached"
    assert "resnet50" in status and status["resnet50"] != "cached"


def test_both_files_give_vgg16_and_resnet50(keras_home):
    for backbone in IMAGENET_PAIR:
        _place(keras_home, backbone)
    assert default_backbones() == IMAGENET_PAIR


def test_a_missing_file_is_downloaded_only_when_allowed(keras_home, monkeypatch):
    import fracturenet.models.weights as weights

    fetched = []

    def fake_resolve(spec):
        fetched.append(spec.name)
        target = keras_home / spec.weights_file
        target.write_bytes(b"downloaded")
        return str(target)

    monkeypatch.setattr(weights, "_resolve_imagenet_weights", fake_resolve)
    said = []
    assert weights_availability(download=False, log=said.append)["vgg16"].startswith("not cached")
    assert fetched == [] and len(said) == 2
    status = weights_availability(download=True)
    assert fetched == list(IMAGENET_PAIR) and set(status.values()) == {"downloaded"}
    assert default_backbones() == IMAGENET_PAIR  # the downloads are in the cache now


def test_an_unreachable_host_is_reported_not_raised(keras_home):
    status = weights_availability(download=True)  # FRACTURENET_OFFLINE=1: host unreachable
    assert all("cannot be reached" in why for why in status.values()), status


def test_the_demo_says_which_weights_ran_with_vgg16_alone(keras_home, tmp_path):
    """VGG16 pretrained against SmallCNN from scratch; the report and metrics.json say so."""
    import json

    from fracturenet.workflows import DemoSettings, run_demo

    found = REAL_VGG16 if REAL_VGG16.is_file() else None
    if found is None:
        pytest.skip(f"ImageNet VGG16 is not cached; install it offline with {INSTALL}")
    (keras_home / found.name).symlink_to(found)
    tiny = DemoSettings(images_per_class=6, phantom_size=32, input_size=32, epochs=1,
                        fine_tune_epochs=0, gradcam_images=2)  # fmt: skip
    result = run_demo(tmp_path / "demo", settings=tiny, cache_dir=tmp_path / "cache",
                      verbose=0, precision="float32")  # fmt: skip
    assert result.weights == {"vgg16": "imagenet", "smallcnn": "none"}
    assert result.recipes == {"vgg16": "transfer", "smallcnn": "scratch"}
    assert result.imagenet_files["vgg16"] == "cached"
    assert "cannot be reached" in result.imagenet_files["resnet50"]
    saved = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert saved["weights"] == result.weights and saved["imagenet_files"]["vgg16"] == "cached"
    page = Path(result.report_html).read_text(encoding="utf-8")
    assert "vgg16 started from ImageNet weights" in page
    assert "smallcnn is the from-scratch reference" in page
    assert "resnet50:" in page  # why the second pretrained backbone is missing
