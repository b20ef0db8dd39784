"""Weights: files loaded by name/structure with a report, ImageNet cache, offline error."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from fracturenet.exceptions import WeightsMismatchError, WeightsUnavailableError
from fracturenet.models import (
    backbone_layers,
    build_classifier,
    file_sha256,
    get_backbone,
    imagenet_weights_cached,
    imagenet_weights_path,
    list_backbones,
    load_model,
    load_weights_by_name,
    read_metadata,
    save_model,
    weights_info,
)
from tests.models.conftest import tiny_size


def _plain(backbone: str, include_top: bool = False, size: int = 32):
    spec = get_backbone(backbone)
    return spec.constructor(
        include_top=include_top,
        weights=None,
        input_shape=(size, size, 3),
        **dict(spec.constructor_kwargs),
    )


def _assert_backbone_equals(model, reference):
    # compared in order: auto-named layers (rescaling_1 ...) differ between two builds
    ours = [lyr for lyr in backbone_layers(model) if lyr.weights]
    theirs = [lyr for lyr in reference.layers if lyr.weights and lyr.name != "predictions"]
    assert len(ours) == len(theirs) > 0
    for mine, ref in zip(ours, theirs, strict=True):
        for got, want in zip(mine.weights, ref.weights, strict=True):
            np.testing.assert_array_equal(
                keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want)
            )


HEAVY = {"resnet101", "efficientnetv2s", "convnext_tiny", "densenet121", "inceptionv3"}


@pytest.mark.parametrize(
    "backbone",
    [pytest.param(b, marks=pytest.mark.slow) if b in HEAVY else b for b in list_backbones()],
)
def test_keras3_weights_file_loads_into_every_backbone_completely(backbone, tmp_path):
    # Every weight, nested blocks included: ConvNeXt's stem and downsampling blocks are
    # Sequential models inside the backbone and used to stay random (95.8 % matched).
    size = tiny_size(backbone)
    reference = _plain(backbone, size=size)
    path = tmp_path / f"{backbone}.weights.h5"
    reference.save_weights(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "partial weights" warning
        model = build_classifier(backbone, num_classes=2, input_shape=(size, size, 3), weights=path)
    _assert_backbone_equals(model, reference)
    report = load_weights_by_name(model, path, layers=backbone_layers(model))
    assert report.mode == "structure" and report.matched_fraction == 1.0 and report.complete
    assert not report.unmatched and not report.shape_mismatched
    info = weights_info(model)
    assert info["source"] == "file" and info["partial"] is False
    assert info["matched_fraction"] == 1.0 and info["sha256"] == file_sha256(path)


def _drop_layer_group(path, key: str) -> None:
    import h5py

    with h5py.File(path, "a") as f:
        del f["layers"][key]


def test_partial_weights_fail_by_default_and_are_recorded_when_allowed(tmp_path):
    reference = _plain("vgg16")
    path = tmp_path / "vgg16.weights.h5"
    reference.save_weights(path)
    _drop_layer_group(path, "conv2d_3")  # 12 of 13 layers left: 92 %, above the old 50 % bar
    model = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.weights]
    with pytest.raises(WeightsMismatchError, match=r"Only 12 of 13 layers.*allow_partial=True"):
        load_weights_by_name(model, path, layers=backbone_layers(model))
    for old, new in zip(before, model.weights, strict=True):  # nothing was loaded
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))
    with pytest.raises(WeightsMismatchError, match="Not found: \\['block2_conv2'\\]"):
        build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=path)
    with pytest.warns(UserWarning, match=r"Partial weights: 12 of 13 layers \(92.3%\)"):
        partial = build_classifier(
            "vgg16",
            num_classes=2,
            input_shape=(32, 32, 3),
            weights=path,
            allow_partial_weights=True,
        )
    info = weights_info(partial)
    assert info["partial"] is True and info["matched_fraction"] == pytest.approx(12 / 13, abs=1e-4)
    assert info["unmatched"] == ["block2_conv2"]
    saved = tmp_path / "partial.keras"
    save_model(partial, saved)
    assert read_metadata(saved)["weights"] == info
    assert weights_info(load_model(saved)) == info


def test_legacy_full_h5_loads_by_layer_name_and_skips_the_top(tmp_path):
    """Like RadImageNet's files: a Keras 2-style .h5 of the backbone, here with its top."""
    reference = _plain("resnet50", include_top=True)
    path = tmp_path / "RadImageNet-ResNet50.h5"
    reference.save(path)  # legacy HDF5 full-model format, keyed by layer name
    model = build_classifier("resnet50", num_classes=2, input_shape=(32, 32, 1), weights=str(path))
    _assert_backbone_equals(model, reference)
    report = load_weights_by_name(model, path, layers=backbone_layers(model))
    assert report.mode == "name"
    assert len(report.matched) == len([lyr for lyr in backbone_layers(model) if lyr.weights])
    assert "predictions" in report.unused  # the 1000-class top is ignored, not loaded


def test_weights_of_another_backbone_are_an_error_and_change_nothing(tmp_path):
    path = tmp_path / "resnet.weights.h5"
    _plain("resnet50").save_weights(path)
    model = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.weights]
    with pytest.raises(WeightsMismatchError, match=r"Only 0 of 13 layers"):
        load_weights_by_name(model, path, layers=backbone_layers(model))
    for old, new in zip(before, model.weights, strict=True):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))
    with pytest.raises(WeightsMismatchError, match="Received: weights="):
        build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=path)


def test_missing_weights_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.h5"
    with pytest.raises(WeightsUnavailableError, match="nope.h5' does not exist"):
        build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=missing)


def test_offline_imagenet_error_names_file_source_and_destination(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("FRACTURENET_OFFLINE", "1")
    spec = get_backbone("vgg16")
    assert not imagenet_weights_cached("vgg16")
    with pytest.raises(WeightsUnavailableError) as info:
        build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3))
    message = str(info.value)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert spec.weights_url in message
    assert str(tmp_path / "models" / spec.weights_file) in message
    assert "weights=" in message and "KERAS_HOME" in message
    assert message.endswith("Received: weights='imagenet'")


def test_unreachable_host_is_not_waited_on(tmp_path, monkeypatch):
    from fracturenet.models import weights as weights_module

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("FRACTURENET_OFFLINE", raising=False)
    monkeypatch.setattr(weights_module, "_host_reachable", lambda url: False)
    with pytest.raises(WeightsUnavailableError, match="cannot be reached"):
        build_classifier("resnet50", num_classes=2, input_shape=(32, 32, 3))


def test_cached_imagenet_file_is_used_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("FRACTURENET_OFFLINE", "1")
    reference = _plain("vgg16")
    target = imagenet_weights_path("vgg16")
    assert target == tmp_path / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    target.parent.mkdir(parents=True)
    reference.save(target)  # same legacy HDF5 layout as the file Keras downloads
    assert imagenet_weights_cached("vgg16")
    model = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3))
    _assert_backbone_equals(model, reference)


def test_auto_named_layers_match_across_builds_in_one_process(tmp_path):
    # ConvNeXt's last LayerNormalization has no name: Keras numbers it per process
    # (layer_normalization, then layer_normalization_1), so a backbone file saved from the
    # first build did not load into the second (94 of 95 layers matched, load refused).
    from fracturenet.models import build_classifier, save_backbone_weights

    first = build_classifier("convnext_tiny", num_classes=2, input_shape=(32, 32, 1),
                             weights=None)  # fmt: skip
    path = save_backbone_weights(first, tmp_path / "convnext.h5")
    second = build_classifier("convnext_tiny", num_classes=2, input_shape=(32, 32, 1),
                              weights=str(path))  # fmt: skip
    auto = [la.name for la in second.layers if la.name.startswith("layer_normalization")]
    assert auto and auto != [la.name for la in first.layers
                             if la.name.startswith("layer_normalization")]  # fmt: skip
    x = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 1)).astype("float32")
    a, b = (keras.Model(m.input, m.get_layer("backbone_features").output) for m in (first, second))
    np.testing.assert_allclose(np.asarray(a(x)), np.asarray(b(x)), atol=1e-5)


def test_inception_file_loads_into_a_later_build_whose_auto_names_shifted(tmp_path):
    # InceptionV3's convs are all unnamed: the second build in a process is numbered on from
    # the first, so names pointed at other layers of the file (56.9 % matched, load refused).
    from fracturenet.models import build_classifier, save_backbone_weights

    first = build_classifier("inceptionv3", num_classes=2, input_shape=(75, 75, 1), weights=None)
    path = save_backbone_weights(first, tmp_path / "inception.h5")
    second = build_classifier("inceptionv3", num_classes=2, input_shape=(75, 75, 1),
                              weights=str(path))  # fmt: skip
    x = np.random.default_rng(0).uniform(0, 255, (1, 75, 75, 1)).astype("float32")
    a, b = (keras.Model(m.input, m.get_layer("mixed10").output) for m in (first, second))
    np.testing.assert_allclose(np.asarray(a(x)), np.asarray(b(x)), atol=1e-4)
