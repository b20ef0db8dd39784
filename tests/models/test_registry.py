"""Registry contents, lookup errors, and preprocessing equal to keras.applications'."""

from __future__ import annotations

import dataclasses
import importlib

import keras
import numpy as np
import pytest

from fracturenet.exceptions import UnknownBackboneError
from fracturenet.models import (
    BackbonePreprocessing,
    get_backbone,
    list_backbones,
    preprocessing_layer,
    register_backbone,
)
from tests.models.conftest import pixels

REQUIRED = [
    "vgg16",
    "vgg19",
    "resnet50",
    "resnet50v2",
    "resnet101",
    "densenet121",
    "efficientnetb0",
    "efficientnetv2s",
    "mobilenetv3large",
    "convnext_tiny",
    "xception",
    "inceptionv3",
]

# keras.applications module whose preprocess_input each backbone's ImageNet weights expect
KERAS_MODULE = {
    "vgg16": "vgg16",
    "vgg19": "vgg19",
    "resnet50": "resnet",
    "resnet101": "resnet",
    "resnet50v2": "resnet_v2",
    "densenet121": "densenet",
    "efficientnetb0": "efficientnet",
    "efficientnetv2s": "efficientnet_v2",
    "mobilenetv3large": "mobilenet_v3",
    "convnext_tiny": "convnext",
    "xception": "xception",
    "inceptionv3": "inception_v3",
}


def test_required_backbones_are_registered():
    assert set(REQUIRED) <= set(list_backbones())
    assert list_backbones() == sorted(list_backbones())


def test_unknown_backbone_error_lists_valid_names():
    with pytest.raises(UnknownBackboneError) as info:
        get_backbone("vgg61")
    message = str(info.value)
    assert message.endswith("Received: backbone='vgg61'")
    assert all(name in message for name in REQUIRED)
    assert isinstance(info.value, ValueError)


def test_register_rejects_duplicates_and_non_specs():
    with pytest.raises(ValueError, match="already registered"):
        register_backbone(get_backbone("vgg16"))
    with pytest.raises(ValueError, match="must be a BackboneSpec"):
        register_backbone("vgg16")  # type: ignore[arg-type]


def test_register_new_backbone_is_listed_and_found():
    spec = dataclasses.replace(get_backbone("vgg16"), name="test_vgg16_copy")
    assert register_backbone(spec) is get_backbone("test_vgg16_copy")
    assert "test_vgg16_copy" in list_backbones()


@pytest.mark.parametrize(
    "field,value",
    [
        ("preprocessing", "imagenet"),
        ("block_boundary", "middle"),
        ("blocks", ()),
        ("min_input_size", 0),
        ("name", "VGG"),
        ("constructor", None),
    ],
)
def test_spec_validates_its_fields(field, value):
    with pytest.raises(ValueError, match=f"Received: {field}="):
        dataclasses.replace(get_backbone("vgg16"), **{field: value})


def test_specs_are_frozen_and_hashable():
    spec = get_backbone("resnet50")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "x"  # type: ignore[misc]
    assert hash(spec) == hash(get_backbone("resnet50"))


LITERAL = ["vgg16", "vgg19", "densenet121", "xception", "inceptionv3"]
COMPUTED = [
    "resnet50",
    "resnet50v2",
    "efficientnetb0",
    "mobilenetv3large",
    "convnext_tiny",
    pytest.param("resnet101", marks=pytest.mark.slow),
    pytest.param("efficientnetv2s", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("backbone", LITERAL)
def test_spec_weights_file_is_the_one_keras_names(backbone):
    spec = get_backbone(backbone)
    source = importlib.import_module(f"keras.src.applications.{KERAS_MODULE[backbone]}")
    text = open(source.__file__).read()
    assert f'"{spec.weights_file}"' in text
    assert spec.weights_url.endswith("/" + spec.weights_file)


class _Captured(Exception):
    pass


@pytest.mark.filterwarnings("ignore:`input_shape` is undefined or non-square:UserWarning")
@pytest.mark.parametrize("backbone", COMPUTED)
def test_spec_weights_file_is_the_one_keras_downloads(backbone, monkeypatch):
    """Keras builds these names at run time: intercept its download call to compare."""
    from keras.src.utils import file_utils

    seen = {}

    def fake_get_file(fname, origin, **kwargs):
        seen.update(fname=fname, origin=origin, subdir=kwargs.get("cache_subdir"))
        raise _Captured

    monkeypatch.setattr(file_utils, "get_file", fake_get_file)
    spec = get_backbone(backbone)
    with pytest.raises(_Captured):
        spec.constructor(
            include_top=False,
            weights="imagenet",
            input_shape=(32, 32, 3),
            **dict(spec.constructor_kwargs),
        )
    assert seen == {"fname": spec.weights_file, "origin": spec.weights_url, "subdir": "models"}


@pytest.mark.parametrize("backbone", REQUIRED)
def test_preprocessing_matches_keras_preprocess_input(backbone):
    spec = get_backbone(backbone)
    module = importlib.import_module(f"keras.applications.{KERAS_MODULE[backbone]}")
    x = pixels(8)
    expected = module.preprocess_input(x.copy())
    got = BackbonePreprocessing(backbone=backbone, mode=spec.preprocessing)(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), expected, rtol=1e-5, atol=1e-4)
    standard = preprocessing_layer(spec.preprocessing)(x)  # what build_classifier uses
    np.testing.assert_allclose(keras.ops.convert_to_numpy(standard), expected, rtol=1e-5, atol=1e-4)


def test_standard_preprocessing_layer_rejects_unknown_mode():
    with pytest.raises(ValueError, match=r"Received: mode='bgr'"):
        preprocessing_layer("bgr")


def test_preprocessing_layer_rejects_unknown_mode():
    with pytest.raises(ValueError, match=r"Received: mode='bgr'"):
        BackbonePreprocessing(backbone="vgg16", mode="bgr")
