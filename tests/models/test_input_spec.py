"""InputSpec: the model's input description, recorded at build, saved, loaded, resolved."""

from __future__ import annotations

import json
import warnings
import zipfile

import keras
import pytest

from fracturenet.data import RESIZE_MODES
from fracturenet.exceptions import ModelFormatError
from fracturenet.models import (
    InputSpec,
    build_classifier,
    input_spec,
    load_model,
    read_metadata,
    save_model,
)
from fracturenet.models.io import METADATA_ENTRY
from tests.models.conftest import stretch_model


def test_fields_round_trip_through_a_dict():
    spec = InputSpec(48, 16, 1, resize_mode="crop", preprocessing="torch")
    assert spec.to_dict() == {
        "height": 48,
        "width": 16,
        "channels": 1,
        "resize_mode": "crop",
        "preprocessing": "torch",
    }
    assert InputSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.size == (48, 16) and spec.shape == (48, 16, 1)
    with pytest.raises(AttributeError):
        spec.height = 3  # frozen


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"height": 0}, "Received: height=0"),
        ({"width": 2.5}, "Received: width=2.5"),
        ({"channels": 2}, "Received: channels=2"),
        ({"channels": True}, "Received: channels=True"),
        ({"resize_mode": "pad"}, "Received: resize_mode='pad'"),
        ({"preprocessing": "imagenet"}, "Received: preprocessing='imagenet'"),
    ],
)
def test_invalid_fields_are_named(kwargs, fragment):
    values = {"height": 16, "width": 16, "channels": 3, **kwargs}
    with pytest.raises(ValueError, match="Argument `") as info:
        InputSpec(**values)
    assert fragment in str(info.value)


def test_resize_modes_are_the_data_layers():
    with pytest.raises(ValueError) as info:
        InputSpec(16, 16, 3, resize_mode="fit")
    assert str(list(RESIZE_MODES)) in str(info.value)


def test_from_dict_names_unknown_and_missing_keys():
    with pytest.raises(ValueError, match=r"unknown: \['size'\], missing: \['width'\]"):
        InputSpec.from_dict({"height": 1, "channels": 3, "size": 4})


def test_build_classifier_records_it():
    model = stretch_model(input_shape=(16, 24, 1))
    assert input_spec(model) == InputSpec(16, 24, 1, "stretch", "tf")
    default = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
    assert input_spec(default) == InputSpec(32, 32, 3, "letterbox", "caffe")
    with pytest.raises(ValueError, match="Received: resize_mode='fill'"):
        build_classifier("smallcnn_tiny", num_classes=2, input_shape=(16, 16, 3),
                         weights=None, resize_mode="fill")  # fmt: skip


def test_round_trip_through_save_and_load(tmp_path):
    model = stretch_model(input_shape=(16, 24, 1))
    path = tmp_path / "m.keras"
    save_model(model, path, class_names=["a", "b"])
    meta = read_metadata(path)
    assert meta["input_spec"] == input_spec(model).to_dict()
    # format 1.0's keys still hold the same values, for older readers
    assert meta["input_shape"] == [16, 24, 1] and meta["resize_mode"] == "stretch"
    assert input_spec(load_model(path)) == input_spec(model) == input_spec(meta)


def _rewrite_metadata(path, edit) -> None:
    """Rewrites the metadata entry of a .keras zip (as an older fracturenet wrote it)."""
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    info = json.loads(entries[METADATA_ENTRY])
    edit(info)
    entries[METADATA_ENTRY] = json.dumps(info).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(("old_mode", "expected"), [(None, "letterbox"), ("stretch", "stretch")])
def test_old_metadata_without_the_spec_is_resolved(tmp_path, old_mode, expected):
    model = stretch_model(input_shape=(16, 24, 3))
    path = tmp_path / "old.keras"
    save_model(model, path)

    def as_format_1_0(info):
        info["format_version"] = "1.0"
        del info["input_spec"]
        del info["resize_mode"]
        if old_mode is not None:  # the Trainer of format 1.0 wrote it as free metadata
            info["resize_mode"] = old_mode

    _rewrite_metadata(path, as_format_1_0)
    assert "input_spec" not in read_metadata(path)
    loaded = load_model(path)
    assert input_spec(loaded) == InputSpec(16, 24, 3, expected, "tf")
    assert input_spec(read_metadata(path)) == input_spec(loaded)


def test_a_model_without_a_recorded_spec_is_resolved_from_its_layers(tmp_path):
    model = stretch_model(input_shape=(16, 24, 3))
    path = tmp_path / "plain.keras"
    model.save(path)  # Keras' own save: no fracturenet metadata
    bare = keras.saving.load_model(path)
    assert input_spec(bare) == InputSpec(16, 24, 3, "letterbox", "tf")


def test_a_plain_keras_model_describes_no_input():
    plain = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten()])
    with pytest.raises(ModelFormatError, match="build_classifier"):
        input_spec(plain)
    with pytest.raises(ModelFormatError, match="Received: input_shape=None"):
        input_spec(None)


def test_save_model_resize_mode_is_deprecated_but_still_applies(tmp_path):
    model = build_classifier("smallcnn_tiny", num_classes=2, input_shape=(16, 16, 3),
                             weights=None)  # fmt: skip
    path = tmp_path / "m.keras"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        save_model(model, path, resize_mode="stretch")
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert read_metadata(path)["input_spec"]["resize_mode"] == "stretch"
    assert input_spec(load_model(path)).resize_mode == "stretch"
    with (
        pytest.raises(ValueError, match="Received: resize_mode='pad'"),
        pytest.warns(DeprecationWarning),
    ):
        save_model(model, tmp_path / "n.keras", resize_mode="pad")
