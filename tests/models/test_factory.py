"""build_classifier arguments, head variants, mixed precision and the feature split."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fracturenet.exceptions import UnknownBackboneError
from fracturenet.models import build_classifier, split_feature_extractor
from tests.models.conftest import pixels

VALID = {
    "backbone": st.just("vgg16"),
    "num_classes": st.integers(2, 5),
    "input_shape": st.sampled_from([(32, 32, 3), (32, 48, 1), (40, 32, 3)]),
    "pooling": st.sampled_from(["avg", "max", "flatten"]),
    "dropout": st.floats(0.0, 0.9),
    "dense_units": st.one_of(st.none(), st.integers(1, 8)),
    "freeze": st.booleans(),
    "name": st.one_of(st.none(), st.sampled_from(["m", "my_model"])),
}
INVALID = {
    "backbone": st.sampled_from(["vgg61", "", "VGG16", 3]),
    "num_classes": st.sampled_from([0, 1, -3, 2.5, True, "3", None]),
    "input_shape": st.sampled_from(
        [(31, 32, 3), (32, 32, 2), (32, 32), (32.0, 32, 3), "32x32", (32, 32, 4), None]
    ),
    "pooling": st.sampled_from(["mean", None, "AVG"]),
    "dropout": st.sampled_from([-0.1, 1.0, 2, "0.3", True, None]),
    "dense_units": st.sampled_from([0, -1, 2.0, True, "8"]),
    "freeze": st.sampled_from([1, "yes", None]),
    "weights": st.sampled_from(["imagenet21k", 3, "weights.pt"]),
    "name": st.sampled_from(["", 3]),
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries(VALID), st.booleans())
def test_valid_arguments_build_the_expected_model(kwargs, binary):
    num_classes = 2 if binary else kwargs["num_classes"]
    model = build_classifier(**{**kwargs, "num_classes": num_classes}, weights=None, binary=binary)
    assert model.output_shape == (None, 1 if binary else num_classes)
    assert model.input_shape == (None, *kwargs["input_shape"])
    assert model.name == (kwargs["name"] or "vgg16_classifier")
    names = [layer.name for layer in model.layers]
    assert ("head_dense" in names) == (kwargs["dense_units"] is not None)
    assert ("to_rgb" in names) == (kwargs["input_shape"][2] == 1)
    assert model.get_layer("head_dropout").rate == pytest.approx(kwargs["dropout"])
    activation = model.get_layer("predictions").activation.__name__
    assert activation == ("sigmoid" if binary else "softmax")
    assert model.get_layer("block1_conv1").trainable == (not kwargs["freeze"])


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(INVALID)).flatmap(lambda key: st.tuples(st.just(key), INVALID[key])))
def test_each_invalid_argument_is_named_in_the_error(bad):
    key, value = bad
    kwargs = {"num_classes": 3, "input_shape": (32, 32, 3), "weights": None, key: value}
    with pytest.raises(ValueError) as info:
        build_classifier(**kwargs)
    message = str(info.value)
    assert f"Received: {key}=" in message or (
        key == "backbone" and "Received: backbone=" in message
    )
    if key == "backbone":
        assert isinstance(info.value, UnknownBackboneError)


def test_binary_needs_two_classes():
    with pytest.raises(ValueError, match="must be 2 when binary=True"):
        build_classifier("vgg16", num_classes=3, binary=True, input_shape=(32, 32, 3), weights=None)


def test_min_input_size_error_mentions_backbone_and_minimum():
    with pytest.raises(ValueError, match=r"'inceptionv3': height and width must be >= 75"):
        build_classifier("inceptionv3", num_classes=2, input_shape=(64, 64, 3), weights=None)


def test_mixed_precision_keeps_predictions_float32():
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        assert model.get_layer("block1_conv1").compute_dtype == "float16"
        assert model.get_layer("preprocessing").compute_dtype == "float16"
        out = model(pixels(32), training=False)
        assert keras.backend.standardize_dtype(out.dtype) == "float32"
    finally:
        keras.config.set_dtype_policy(previous)


def test_split_feature_extractor_shares_the_head_weights():
    model = build_classifier(
        "vgg16", num_classes=3, input_shape=(32, 32, 3), weights=None, dense_units=4, dropout=0.0
    )
    extractor, head = split_feature_extractor(model)
    assert extractor.output_shape == (None, 512)
    assert not any(lyr.name.startswith("block") for lyr in head.layers)
    head_vars = {id(v) for v in head.trainable_weights}
    assert head_vars == {id(v) for v in model.trainable_weights}  # same objects
    x = pixels(32, n=4)
    before = keras.ops.convert_to_numpy(model(x)).copy()
    features = keras.ops.convert_to_numpy(extractor(x))
    head.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    head.fit(features, np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    after_full = keras.ops.convert_to_numpy(model(x))
    assert not np.allclose(before, after_full)  # training the head trained the model
    np.testing.assert_allclose(
        after_full, keras.ops.convert_to_numpy(head(features)), rtol=1e-5, atol=1e-6
    )
