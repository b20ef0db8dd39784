"""explain(): every method on every backbone, targets, errors and model variants."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fracturenet.exceptions import ExplainError
from fracturenet.explain import METHODS, explain
from tests.explain.conftest import BACKBONES, flat_classifier, region_model

# keep Score-CAM tiny on 2 shared CPU cores
FAST = {
    "scorecam": {"max_N": 2},
    "faster-scorecam": {"max_N": 2},
    "smoothgrad": {"smooth_samples": 2, "seed": 0},
}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_each_method_on_each_backbone(models, backbone, method, rng):
    size = BACKBONES[backbone][1]
    # one model-sized image and one tall, non-square original that gets letterboxed
    images = [rng.uniform(0, 255, (size, size, 3)), rng.uniform(0, 255, (size + 20, size // 2))]
    result = explain(models[backbone], images, method=method, batch_size=2, **FAST.get(method, {}))

    assert len(result) == 2
    assert result.heatmaps[0].shape == (size, size)
    assert result.heatmaps[1].shape == (size + 20, size // 2)
    assert result.input_heatmaps.shape == (2, size, size)
    for heat in [*result.heatmaps, result.input_heatmaps]:
        assert heat.dtype == np.float32
        assert np.isfinite(heat).all()
        assert heat.min() >= 0.0 and heat.max() <= 1.0
    if METHODS[method].uses_layer:
        assert result.cam_layer == BACKBONES[backbone][2]
    np.testing.assert_array_equal(result.target_index, result.predicted_index)
    assert ((result.probability > 0) & (result.probability <= 1)).all()


def test_heatmap_is_aligned_to_the_original_image():
    # saliency of region_model is non-zero only on its input box; after letterboxing a
    # 48x24 image (scale 2/3, 8 px padding left and right) that box is rows 12:24, cols 0:12
    model = region_model(32, box=(8, 16, 8, 16))
    image = np.random.default_rng(1).uniform(0, 255, (48, 24, 3))
    heat = explain(model, [image], method="saliency", target=1).heatmaps[0]
    assert heat.shape == (48, 24)
    inside = heat[11:25, 0:13].sum()
    assert inside / heat.sum() > 0.97
    assert heat[:8].max() == 0.0 and heat[30:].max() == 0.0 and heat[:, 16:].max() == 0.0


def test_targets_by_index_name_and_per_image(vgg16_model, rng):
    images = rng.uniform(0, 255, (2, 48, 48, 3))
    names = ["simple", "comminuted", "greenstick"]
    by_name = explain(vgg16_model, images, target="greenstick", class_names=names)
    by_index = explain(vgg16_model, images, target=2)
    per_image = explain(vgg16_model, images, target=["simple", 2], class_names=names)
    np.testing.assert_array_equal(by_name.target_index, [2, 2])
    np.testing.assert_allclose(by_name.input_heatmaps, by_index.input_heatmaps, atol=1e-6)
    np.testing.assert_array_equal(per_image.target_index, [0, 2])
    assert by_name[0].target_label == "greenstick"
    assert by_name.predicted_label[0] in names


def test_callers_model_is_left_untouched(vgg16_model, rng):
    explain(vgg16_model, rng.uniform(0, 255, (1, 48, 48, 3)), method="gradcam++")
    assert vgg16_model.get_layer("predictions").activation is keras.activations.softmax


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"method": "gradcamm"}, "Received: method='gradcamm'"),
        ({"target": "spiral"}, "Received: target='spiral'"),
        ({"target": 7}, "Received: target=7"),
        ({"target": "simple", "class_names": None}, "class name when `class_names`"),
        ({"layer": "nope"}, "Received: layer='nope'"),
        ({"layer": "head_pool"}, "4-D"),
        ({"resize_mode": "pad"}, "Received: resize_mode='pad'"),
        ({"class_names": ["a", "b"]}, "one name per class (3)"),
        ({"bogus": 1}, "Received: method_kwargs=['bogus']"),
    ],
)
def test_errors_name_the_argument_and_valid_values(vgg16_model, kwargs, fragment):
    kwargs = {"class_names": ["simple", "comminuted", "greenstick"], **kwargs}
    with pytest.raises(ExplainError) as info:
        explain(vgg16_model, np.zeros((1, 48, 48, 3)), **kwargs)
    assert fragment in str(info.value)
    if "method" in kwargs:
        assert "'gradcam++'" in str(info.value) and "'smoothgrad'" in str(info.value)
    if kwargs.get("target") == "spiral":
        assert "'greenstick'" in str(info.value)


def test_bad_images_raise(vgg16_model):
    with pytest.raises(ExplainError, match=r"images\[0\]\.shape"):
        explain(vgg16_model, [np.zeros((4, 4, 3, 2))])
    with pytest.raises(ExplainError, match="original_sizes"):
        explain(vgg16_model, np.zeros((2, 48, 48, 3)), original_sizes=[(10, 10)])


def test_original_sizes_for_prefitted_images(vgg16_model, rng):
    result = explain(vgg16_model, rng.uniform(0, 255, (1, 48, 48, 3)), original_sizes=[(96, 40)])
    assert result.heatmaps[0].shape == (96, 40)


def test_sigmoid_head(rng):
    model = flat_classifier("vgg16", num_classes=1, activation="sigmoid")
    images = rng.uniform(0, 255, (2, 48, 48, 3))
    for method, kwargs in [("gradcam", {}), ("faster-scorecam", {"max_N": 2})]:
        result = explain(
            model, images, method=method, class_names=["intact", "fractured"], **kwargs
        )
        p = np.asarray(model(images))[:, 0]
        np.testing.assert_allclose(result.probability, np.maximum(p, 1 - p), rtol=1e-5)
        assert np.isfinite(result.input_heatmaps).all()
    one = explain(model, images, target=1).input_heatmaps
    zero = explain(model, images, target=0).input_heatmaps
    assert not np.allclose(one, zero)


def test_mixed_bfloat16_model(rng):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = flat_classifier("vgg16")
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert model.get_layer("block5_conv3").compute_dtype == "bfloat16"
    images = rng.uniform(0, 255, (2, 48, 48, 3))
    for method, kwargs in [("gradcam", {}), ("layercam", {}), ("faster-scorecam", {"max_N": 2})]:
        result = explain(model, images, method=method, **kwargs)
        assert result.input_heatmaps.dtype == np.float32
        assert np.isfinite(result.input_heatmaps).all()
        assert 0.0 <= result.input_heatmaps.min() and result.input_heatmaps.max() <= 1.0


def test_saved_and_reloaded_model_gives_the_same_maps(vgg16_model, tmp_path, rng):
    path = tmp_path / "model.keras"
    vgg16_model.save(path)
    loaded = keras.saving.load_model(path)
    images = rng.uniform(0, 255, (2, 48, 48, 3))
    before = explain(vgg16_model, images, method="gradcam")
    after = explain(loaded, images, method="gradcam")
    np.testing.assert_allclose(after.input_heatmaps, before.input_heatmaps, atol=1e-5)
    np.testing.assert_array_equal(after.predicted_index, before.predicted_index)


@pytest.mark.parametrize("wrapper", ["sequential", "functional"])
def test_nested_backbone_is_flattened(wrapper, rng):
    keras.utils.set_random_seed(0)
    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(48, 48, 3))
    pool = keras.layers.GlobalAveragePooling2D(name="head_pool")
    dense = keras.layers.Dense(3, activation="softmax", name="predictions")
    if wrapper == "sequential":
        nested = keras.Sequential([keras.Input((48, 48, 3)), base, pool, dense])
    else:
        x = keras.Input((48, 48, 3))
        nested = keras.Model(x, dense(pool(base(x))))
    flat = keras.Model(base.input, dense(pool(base.output)))  # same layers, one graph
    images = rng.uniform(0, 255, (2, 48, 48, 3))
    got = explain(nested, images, method="gradcam")
    want = explain(flat, images, method="gradcam")
    assert got.cam_layer == "block5_conv3"
    np.testing.assert_allclose(got.input_heatmaps, want.input_heatmaps, atol=1e-5)


def test_subclassed_model_gets_a_clear_error():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(2, 3)
            self.pool = keras.layers.GlobalAveragePooling2D()
            self.out = keras.layers.Dense(2, activation="softmax")

        def call(self, x):
            return self.out(self.pool(self.conv(x)))

    net = Net()
    net(np.zeros((1, 16, 16, 3), "float32"))
    x = keras.Input((16, 16, 3))
    wrapped = keras.Model(x, net(x))
    for model in (net, wrapped):
        with pytest.raises(ExplainError, match="flat functional graph") as info:
            explain(model, np.zeros((1, 16, 16, 3)))
        assert str(info.value).endswith(f"Received: model={model.name!r}")


def test_flat_sequential_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(2, 3, name="conv"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    result = explain(model, np.random.default_rng(0).uniform(0, 255, (1, 16, 16, 3)))
    assert result.cam_layer == "conv" and np.isfinite(result.input_heatmaps).all()
