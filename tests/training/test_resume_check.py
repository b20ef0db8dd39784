"""Resume compares settings and data with the saved run; nothing is relabelled or mixed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fracturenet.config import ModelConfig
from fracturenet.exceptions import CheckpointError, ResumeMismatchError
from fracturenet.training import Trainer
from fracturenet.training.resume_check import changed_keys

CFG = ModelConfig("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None, dropout=0.0)
FIT = {"epochs": 1, "feature_cache": "off", "batch_size": 8}


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (8, 32, 32, 3)).astype("float32"), np.arange(8) % 2


def _trainer(run, **kw):
    kw = {"precision": "float32", "verbose": 0, "class_names": ["a", "b"], **kw}
    return Trainer(CFG, run_dir=run, **kw)


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("resume") / "run"
    _trainer(run).fit(_data(), **FIT)
    return run


def test_other_data_and_relabelled_classes_are_refused(one_epoch_run):
    config_before = (one_epoch_run / "config.json").read_text()
    with pytest.raises(ResumeMismatchError) as info:
        _trainer(one_epoch_run, resume=True, class_names=["b", "a"]).fit(
            _data(seed=1), **FIT, lr=0.5
        )
    message = str(info.value)
    assert "class_names: saved [\"a\", \"b\"] -> now [\"b\", \"a\"]" in message
    assert "data.train.sha256" in message and "fit.lr: saved 0.001 -> now 0.5" in message
    assert "3 setting(s) differ" in message
    assert (one_epoch_run / "config.json").read_text() == config_before
    assert not (one_epoch_run / "run.lock").exists()


@pytest.mark.parametrize("role", ["base", "weights"])  # the shared arrays, the epoch's own
def test_a_truncated_checkpoint_is_named_before_training(tmp_path, role):
    run = tmp_path / "run"
    _trainer(run).fit(_data(), **FIT)
    record = json.loads((run / "checkpoints" / "last.json").read_text())
    part = run / "checkpoints" / record["files"][role]["name"]
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=rf"{role} file '{part}' of last.json is corrupt"):
        _trainer(run, resume=True).fit(_data(), **{**FIT, "epochs": 2})


def test_changed_keys_ignores_allowed_keys_and_keys_the_saved_run_lacks():
    saved = {"fit": {"epochs": 1, "lr": 0.1}, "precision": "float32"}
    current = {"fit": {"epochs": 5, "lr": 0.1}, "precision": "float32", "new_field": 1}
    assert changed_keys(saved, current) == []
    assert changed_keys(saved, {"fit": {"epochs": 1}}) == [("fit.lr", 0.1, "<absent>"),
                                                          ("precision", "float32", "<absent>")]


def test_a_changed_input_shape_is_named_image_size_with_both_values():
    from fracturenet.exceptions import ResumeMismatchError
    from fracturenet.training.resume_check import check_resume

    with pytest.raises(ResumeMismatchError) as info:
        check_resume({"model": {"input_shape": [224, 224, 3]}},
                     {"model": {"input_shape": [96, 96, 3]}}, path="runs/x")
    assert "image_size (--image-size; model.input_shape): saved 224 -> now 96" in str(info.value)
    with pytest.raises(ResumeMismatchError) as info:  # not square: the shapes themselves
        check_resume({"model": {"input_shape": [64, 32, 3]}},
                     {"model": {"input_shape": [64, 64, 1]}}, path="runs/x")
    assert "image_size (--image-size; model.input_shape): saved [64, 32, 3] -> now [64, 64, 1]" in str(info.value)
