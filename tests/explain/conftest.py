"""Tiny models for the explain tests (until fracturenet.models.build_classifier lands).

They mirror build_classifier's contract: one flat functional graph, raw pixels in,
backbone layers inlined, then head_pool -> head_dropout -> predictions.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

BACKBONES = {
    # name: (keras.applications constructor, input size, CAM layer from the registry)
    "vgg16": (keras.applications.VGG16, 48, "block5_conv3"),
    "resnet50": (keras.applications.ResNet50, 64, "conv5_block3_out"),
}


def flat_classifier(
    backbone: str, *, num_classes: int = 3, size: int | None = None, activation: str = "softmax"
) -> keras.Model:
    constructor, default_size, _ = BACKBONES[backbone]
    size = size or default_size
    keras.utils.set_random_seed(0)
    x = keras.Input((size, size, 3))
    base = constructor(include_top=False, weights=None, input_tensor=x)
    y = keras.layers.GlobalAveragePooling2D(name="head_pool")(base.output)
    y = keras.layers.Dropout(0.2, name="head_dropout")(y)
    y = keras.layers.Dense(num_classes, activation=activation, name="predictions", dtype="float32")(
        y
    )
    return keras.Model(x, y, name=f"{backbone}_classifier")


def region_model(size: int = 32, box: tuple[int, int, int, int] = (8, 16, 8, 16)) -> keras.Model:
    """Class 1 grows with the brightness of the pixels in ``box`` (rows r0:r1, cols c0:c1)."""
    r0, r1, c0, c1 = box
    x = keras.Input((size, size, 3))
    crop = keras.layers.Cropping2D(((r0, size - r1), (c0, size - c1)), name="region")(x)
    pooled = keras.layers.GlobalAveragePooling2D(name="head_pool")(crop)
    dense = keras.layers.Dense(2, activation="softmax", name="predictions")
    model = keras.Model(x, dense(pooled))
    dense.set_weights([np.tile([[-0.005, 0.005]], (3, 1)).astype("float32"), np.zeros(2, "f4")])
    return model


@pytest.fixture(scope="session")
def vgg16_model() -> keras.Model:
    return flat_classifier("vgg16")


@pytest.fixture(scope="session")
def resnet50_model() -> keras.Model:
    return flat_classifier("resnet50")


@pytest.fixture(scope="session")
def models(vgg16_model, resnet50_model) -> dict[str, keras.Model]:
    return {"vgg16": vgg16_model, "resnet50": resnet50_model}


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
