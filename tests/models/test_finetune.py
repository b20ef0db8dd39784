"""Exact fine-tuning expectations on VGG16 and ResNet50, and bad policies."""

from __future__ import annotations

import keras
import pytest

from fracturenet.models import build_classifier, set_trainable, trainable_summary


@pytest.fixture(scope="module")
def vgg():
    return build_classifier(
        "vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None, dense_units=8,
        feature_norm=False,  # exact parameter counts below; head_norm is tested separately
    )


def _trainable_layers(model):
    return trainable_summary(model)["trainable_layers"]


def test_vgg16_policies_by_layer_name(vgg):
    set_trainable(vgg, "none")
    assert _trainable_layers(vgg) == ["head_dense", "predictions"]
    set_trainable(vgg, 1)
    assert _trainable_layers(vgg) == [
        "block5_conv1",
        "block5_conv2",
        "block5_conv3",
        "head_dense",
        "predictions",
    ]
    set_trainable(vgg, 2)
    assert _trainable_layers(vgg)[:3] == ["block4_conv1", "block4_conv2", "block4_conv3"]
    set_trainable(vgg, "block5_conv2")
    assert _trainable_layers(vgg) == ["block5_conv2", "block5_conv3", "head_dense", "predictions"]
    set_trainable(vgg, "all")
    summary = trainable_summary(vgg)
    # only the fixed preprocessing constants (caffe: a frozen 3x3 Dense plus bias) stay frozen
    assert summary["non_trainable_params"] == vgg.get_layer("preprocessing").count_params() == 12
    # VGG16 no-top has 14,714,688 parameters; head: 512*8+8 + 8*2+2
    assert summary["trainable_params"] == 14_714_688 + 4104 + 18
    set_trainable(vgg, "none")
    assert trainable_summary(vgg)["trainable_params"] == 4104 + 18


@pytest.mark.parametrize("policy", ["some", 6, -1, True, 1.5, "preprocessing", "predictions"])
def test_invalid_policies_are_rejected(vgg, policy):
    with pytest.raises(ValueError, match="Received: policy="):
        set_trainable(vgg, policy)


def test_batchnorm_stays_in_inference_mode_when_fine_tuning():
    model = build_classifier(
        "resnet50", num_classes=2, input_shape=(32, 32, 3), weights=None, freeze=False
    )
    bns = [lyr for lyr in model.layers if isinstance(lyr, keras.layers.BatchNormalization)
           and lyr.name != "head_norm"]  # the head's own BatchNorm always trains
    assert bns and not any(lyr.trainable for lyr in bns)
    assert model.get_layer("conv1_conv").trainable
    summary = trainable_summary(model)
    assert summary["non_trainable_params"] > 0
    assert summary["total_params"] == model.count_params()


def test_batchnorm_trains_only_when_asked():
    model = build_classifier("resnet50", num_classes=2, input_shape=(32, 32, 3), weights=None)
    bns = [lyr for lyr in model.layers if isinstance(lyr, keras.layers.BatchNormalization)
           and lyr.name != "head_norm"]  # the head's own BatchNorm always trains
    set_trainable(model, 1, train_batchnorm=True)
    top = [b for b in bns if b.name.startswith("conv5_")]
    low = [b for b in bns if b.name.startswith("conv2_")]
    assert top and all(b.trainable for b in top)
    assert low and not any(b.trainable for b in low)
    set_trainable(model, "all")
    assert not any(b.trainable for b in bns)


def test_head_norm_is_part_of_the_head():
    model = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
    set_trainable(model, "none")
    assert _trainable_layers(model) == ["head_norm", "predictions"]
    plain = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None,
                             feature_norm=False)
    assert "head_norm" not in [lyr.name for lyr in plain.layers]


def test_head_norm_default_follows_the_weights_and_the_backbones_own_batchnorm(tmp_path):
    """feature_norm=None: off only for a random backbone with BatchNorm (trained end to end)."""
    from fracturenet.models import save_backbone_weights

    def names(model):
        return [lyr.name for lyr in model.layers]

    small = build_classifier("smallcnn", num_classes=2, input_shape=(16, 16, 1), weights=None)
    assert "head_norm" not in names(small)  # SmallCNN has BatchNorm: it would cost accuracy
    vgg = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 1), weights=None)
    assert "head_norm" in names(vgg)  # VGG16 has none: its random features need it
    path = save_backbone_weights(small, tmp_path / "small.weights.h5")
    pretrained = build_classifier("smallcnn", num_classes=2, input_shape=(16, 16, 1),
                                  weights=path)  # fmt: skip
    assert "head_norm" in names(pretrained)  # a standardised linear probe on loaded features
    forced = build_classifier("smallcnn", num_classes=2, input_shape=(16, 16, 1), weights=None,
                              feature_norm=True)  # fmt: skip
    assert "head_norm" in names(forced)
