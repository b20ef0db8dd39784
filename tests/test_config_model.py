"""One configuration model: the config classes mirror the functions, the CLI derives from them."""

from __future__ import annotations

import dataclasses
import inspect
import json

import numpy as np
import pytest

from fracturenet.config import DataConfig, ModelConfig, RunConfig, TrainerConfig, TrainingConfig
from fracturenet.data import make_dataset
from fracturenet.models import build_classifier
from fracturenet.training import Trainer


def _parameters(function, leave_out=()):
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if name not in ("self", *leave_out) and p.kind is not p.VAR_KEYWORD
    }


def _fields(config):
    return {f.name: getattr(config(), f.name) for f in dataclasses.fields(config)}


@pytest.mark.parametrize(
    ("config", "function", "leave_out", "required"),
    [
        (ModelConfig, build_classifier, (), {"num_classes"}),
        (DataConfig, make_dataset, ("manifest",), set()),
        (TrainerConfig, Trainer.__init__, ("model", "strategy", "hardware", "class_names"), set()),
        (TrainingConfig, Trainer.fit, ("train", "val"), set()),
    ],
    ids=["build_classifier", "make_dataset", "Trainer", "Trainer.fit"],
)
def test_each_config_mirrors_its_function_names_and_defaults(config, function, leave_out, required):
    params, fields = _parameters(function, leave_out), _fields(config)
    assert set(fields) == set(params), f"{config.__name__} vs {function.__qualname__}"
    for name, default in params.items():
        if name in required:  # the function requires it; the config holds a placeholder
            assert default is inspect.Parameter.empty
            continue
        assert fields[name] == default, f"{config.__name__}.{name}: {fields[name]!r} != {default!r}"


def test_the_cli_settings_take_their_defaults_from_the_configuration():
    from fracturenet.commands.train_config import CLI_ONLY, FIELDS, SETTINGS, cli_value

    assert set(SETTINGS) == set(FIELDS) | set(CLI_ONLY)
    defaults = RunConfig()
    for key, path in FIELDS.items():
        section, name = path.split(".")
        value = getattr(getattr(defaults, section), name)
        assert SETTINGS[key][1] == cli_value(key, value), key


def test_default_settings_give_the_default_configuration():
    from fracturenet.commands.train_config import SETTINGS, run_config

    settings = {key: default for key, (_, default, _) in SETTINGS.items()}
    config = run_config(settings, num_classes=2, weights="imagenet", verbose=1)
    assert config.model == ModelConfig()
    assert config.training == TrainingConfig()
    assert config.trainer == TrainerConfig()
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_a_run_folder_records_every_model_and_fit_field(tmp_path):
    cfg = ModelConfig("smallcnn_tiny", num_classes=2, input_shape=(16, 16, 3), weights=None)
    x = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3)).astype("float32")
    y = np.array([0, 1] * 4)
    trainer = Trainer(cfg, run_dir=tmp_path / "run", precision="float32", verbose=0)
    trainer.fit((x, y), (x, y), **TrainingConfig(epochs=1, batch_size=8).kwargs())
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert set(record["model"]) == {f.name for f in dataclasses.fields(ModelConfig)}
    assert set(record["fit"]) == {f.name for f in dataclasses.fields(TrainingConfig)}
    assert ModelConfig.from_dict(record["model"]) == cfg
    assert record["fit"]["recipe"]["name"] == "scratch"  # the resolved recipe, with its reason


def test_from_dict_names_unknown_keys_and_sections():
    with pytest.raises(ValueError, match=r"Unknown ModelConfig keys \['backbon'\]"):
        ModelConfig.from_dict({"backbon": "vgg16"})
    with pytest.raises(ValueError, match=r"Unknown RunConfig sections \['fit'\]"):
        RunConfig.from_dict({"fit": {}})
