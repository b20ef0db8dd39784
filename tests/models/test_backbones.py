"""Every registered backbone, at a tiny input size: build, CAM layer, save/load, freezing."""

from __future__ import annotations

import gc

import keras
import numpy as np
import pytest

from fracturenet.models import (
    backbone_layers,
    backbone_of,
    get_backbone,
    list_backbones,
    load_model,
    read_metadata,
    save_model,
    set_trainable,
)
from tests.models.conftest import pixels, tiny_size

BACKBONES = list_backbones()
HEAVY = {"resnet101", "efficientnetv2s", "convnext_tiny", "densenet121", "inceptionv3"}
PARAMS = [pytest.param(b, marks=pytest.mark.slow) if b in HEAVY else b for b in BACKBONES]


@pytest.fixture(scope="module", params=PARAMS)
def built(request):
    """(backbone, model): pytest runs all tests of one backbone, then frees its model."""
    from fracturenet.models import build_classifier

    size = tiny_size(request.param)
    model = build_classifier(
        request.param, num_classes=3, input_shape=(size, size, 3), weights=None
    )
    yield request.param, model
    del model
    gc.collect()


def test_build_is_flat_with_named_layers(built):
    backbone, model = built
    size = tiny_size(backbone)
    assert model.output_shape == (None, 3)
    assert model.input_shape == (None, size, size, 3)
    # The backbone is inlined, never one nested Functional model. (Keras's ConvNeXt itself
    # builds its stem/downsampling stages as small Sequential layers; those are allowed.)
    nested = [lyr for lyr in model.layers if isinstance(lyr, keras.Model)]
    assert all(isinstance(lyr, keras.Sequential) for lyr in nested), nested
    assert len(model.layers) > 15
    names = [layer.name for layer in model.layers]
    for required in (
        "preprocessing",
        "backbone_features",
        "head_pool",
        "head_dropout",
        "predictions",
    ):
        assert required in names
    assert names[-1] == "predictions"
    assert model.get_layer("predictions").dtype_policy.compute_dtype == "float32"
    assert backbone_of(model) == backbone
    # standard Keras layers only: the saved model loads without fracturenet
    custom = [la.name for la in model.layers if not type(la).__module__.startswith("keras.")]
    assert custom == []
    out = keras.ops.convert_to_numpy(model(pixels(size), training=False))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_cam_layer_is_a_4d_feature_map_of_the_backbone(built):
    backbone, model = built
    spec = get_backbone(backbone)
    layer = model.get_layer(spec.cam_layer)
    assert len(layer.output.shape) == 4
    # a deep feature map, not an early layer (SmallCNN's deepest has 128 channels)
    deepest = model.get_layer("backbone_features").output.shape[-1]
    assert layer.output.shape[-1] >= min(256, deepest)
    inner = [lyr.name for lyr in backbone_layers(model)]
    assert spec.cam_layer in inner or spec.cam_layer == "backbone_features"


def test_save_load_round_trip_gives_identical_predictions(built, tmp_path):
    backbone, model = built
    x = pixels(tiny_size(backbone), seed=1)
    path = tmp_path / f"{backbone}.keras"
    save_model(model, path, class_names=["a", "b", "c"])
    loaded = load_model(path)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model(x, training=False)),
        keras.ops.convert_to_numpy(loaded(x, training=False)),
    )
    assert backbone_of(loaded) == backbone
    assert read_metadata(path)["class_names"] == ["a", "b", "c"]
    assert [lyr.name for lyr in loaded.layers] == [lyr.name for lyr in model.layers]


def _trainable_ids(model) -> set[int]:
    return {id(w) for w in model.trainable_weights}


def test_freezing_policies_change_exactly_the_expected_weights(built):
    backbone, model = built
    spec = get_backbone(backbone)
    layers = backbone_layers(model)
    head = {
        id(w)
        for name in ("head_norm", "head_dense", "predictions")
        if name in [lyr.name for lyr in model.layers]
        for w in model.get_layer(name).trainable_weights
    }
    non_bn = set()  # what Keras itself calls trainable once each non-BN layer is unfrozen
    for lyr in layers:
        if not isinstance(lyr, keras.layers.BatchNormalization):
            lyr.trainable = True
            non_bn |= {id(w) for w in lyr.trainable_weights}
    try:
        set_trainable(model, "none")
        assert _trainable_ids(model) == head
        set_trainable(model, "all")
        assert _trainable_ids(model) == head | non_bn
        for lyr in layers:
            if isinstance(lyr, keras.layers.BatchNormalization):
                assert not lyr.trainable  # inference mode, per the Keras guide
        counts = []
        for n in range(len(spec.blocks) + 1):
            set_trainable(model, n)
            counts.append(len(model.trainable_weights))
            assert head <= _trainable_ids(model) <= head | non_bn
        assert counts[0] == len(head)
        assert counts[-1] == len(head | non_bn), "blocks do not cover the whole backbone"
        assert all(a < b for a, b in zip(counts, counts[1:], strict=False)), (
            f"empty block: {counts}"
        )
        # Unfreezing from a named layer trains exactly that layer and everything above it.
        names = [lyr.name for lyr in layers]
        pivot = next(
            lyr
            for lyr in layers[len(layers) // 2 :]
            if lyr.trainable_weights
            or (lyr.weights and not isinstance(lyr, keras.layers.BatchNormalization))
        )
        set_trainable(model, pivot.name)
        above = {
            id(w)
            for lyr in layers[names.index(pivot.name) :]
            for w in lyr.weights
            if id(w) in non_bn
        }
        assert _trainable_ids(model) == head | above
    finally:
        set_trainable(model, "none")


@pytest.mark.parametrize("backbone", ["vgg16", "resnet50", "efficientnetb0"])
def test_grayscale_input_is_mapped_to_rgb_inside_the_model(backbone):
    from fracturenet.models import build_classifier

    size = tiny_size(backbone)
    model = build_classifier(backbone, num_classes=2, input_shape=(size, size, 1), weights=None)
    assert model.input_shape == (None, size, size, 1)
    gray = pixels(size, channels=1)
    rgb = np.repeat(gray, 3, axis=-1)
    layer = model.get_layer("preprocessing")
    sub = keras.Model(model.input, layer.output)
    ref = keras.Model(model.get_layer("to_rgb").output, layer.output)
    np.testing.assert_allclose(sub(gray), ref(rgb), rtol=1e-6)


def test_fold_batchnorm_keeps_the_extractor_output(built):
    from fracturenet.models import fold_batchnorm, split_feature_extractor

    name, model = built
    extractor, _ = split_feature_extractor(model)
    saved = model.get_weights()
    rng = np.random.default_rng(1)
    try:  # non-trivial statistics, so a wrong fold shows
        for layer in extractor.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                for v in layer.weights:
                    scale = "variance" in v.path or "gamma" in v.path
                    low, high = (0.8, 1.25) if scale else (-0.1, 0.1)
                    v.assign(rng.uniform(low, high, v.shape).astype("float32"))
        x = pixels(tiny_size(name))
        folded, n = fold_batchnorm(extractor)
        want, got = np.asarray(extractor(x)), np.asarray(folded(x))
        has_bn = any(isinstance(la, keras.layers.BatchNormalization) for la in extractor.layers)
        assert (n > 0) == (has_bn and name not in ("convnext_tiny",))
        # Folding is exact up to float32 rounding, which deep random nets amplify: compare
        # with what a 1e-6 relative change of the input does to the output.
        wobble = np.linalg.norm(np.asarray(extractor(x * (1 + 1e-6))) - want)
        err = np.linalg.norm(got - want)
        assert err <= max(1e-3 * np.linalg.norm(want), 20 * wobble), (err, wobble)
        kinds = {type(la).__name__ for la in folded.layers}
        assert n == 0 or "_FoldedAway" in kinds
    finally:
        model.set_weights(saved)
